"""A notebook's kernel started the way JupyterLab starts it: through the Jupyter server's
`/api/sessions`, so the server hands the kernel the notebook's path and ipykernel sets
`__session__` itself (nothing here sets JPY_SESSION_NAME). Cells go over the kernel's
websocket as JupyterLab sends them; outputs are folded as a front end folds them
(`update_display_data` replaces the output with the same display id)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid

import pytest

import workbench as wb
from tests.notebooks.conftest import make_notebook
from workbench.store import get_store

pytestmark = pytest.mark.slow

VEGALITE = "application/vnd.vegalite.v5+json"
TRACKED = (
    "%%track --name via-server --metrics rmse\n"
    "import workbench as wb\n"
    "for step in range(40):\n"
    "    wb.log_metric('loss', alpha / (step + 1), step=step)\n"
    "rmse = 40 + alpha"
)


def _request(code: str, session: str) -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "session": session,
            "username": "test",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": True, "allow_stdin": False},
        "channel": "shell",
        "buffers": [],
    }


async def _execute(ws, code: str, session: str, until=None) -> list[dict]:
    """Run one cell; its outputs as a front end shows them once the kernel is idle (and,
    with ``until``, once ``until(outputs)`` holds: updates may come after idle)."""
    msg = _request(code, session)
    await ws.write_message(json.dumps(msg))
    outputs: list[dict] = []
    by_display: dict[str, int] = {}
    idle = False
    while not (idle and (until is None or until(outputs))):
        reply = json.loads(await asyncio.wait_for(ws.read_message(), timeout=60))
        if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
            continue
        kind, content = reply["msg_type"], reply["content"]
        if kind == "status" and content["execution_state"] == "idle":
            idle = True
            continue
        display_id = content.get("transient", {}).get("display_id")
        if kind == "update_display_data":
            outputs[by_display[display_id]] = {"data": content["data"]}
        elif kind in ("display_data", "execute_result", "stream", "error"):
            if display_id:
                by_display[display_id] = len(outputs)
            outputs.append({"type": kind, **content})
    return outputs


async def test_track_under_a_server_started_kernel_records_the_notebook_and_draws_live(
    jp_fetch, jp_ws_fetch, jp_root_dir
):
    path = jp_root_dir / "train.ipynb"
    make_notebook(path, [("alpha = 2.0", ["parameters"]), "%load_ext workbench", TRACKED])
    assert "JPY_SESSION_NAME" not in os.environ
    resp = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps(
            {"path": "train.ipynb", "name": "train.ipynb", "type": "notebook", "kernel": {"name": "python3"}}
        ),
    )
    session = json.loads(resp.body)
    ws = await jp_ws_fetch("api", "kernels", session["kernel"]["id"], "channels")
    try:
        cells = ["alpha = 2.0", "%load_ext workbench", TRACKED]
        for code in cells[:2]:
            out = await _execute(ws, code, session["id"])
            assert not [o for o in out if o.get("type") == "error"], out
        # ipykernel's own __session__: the path the server gave it.
        out = await _execute(ws, "print(__session__)", session["id"])
        assert out[0]["text"].strip() == str(path)
        # The chart's final state is drawn just after the cell returns (off the cell's
        # path), so a front end sees it replace the placeholder a moment after idle.
        out = await _execute(
            ws, TRACKED, session["id"], until=lambda o: any(VEGALITE in x.get("data", {}) for x in o)
        )
    finally:
        ws.close()
        await jp_fetch("api", "sessions", session["id"], method="DELETE")

    assert not [o for o in out if o.get("type") == "error"], out
    rec = wb.get_run(wb.runs("attributes.run_name = 'via-server'")["run_id"][0])
    assert rec.status == "finished" and rec.experiment == "train"
    assert rec.params == {"alpha": "2.0"}  # from the cell tagged parameters
    assert rec.metrics == {"loss": 2.0 / 40, "rmse": 42.0}
    assert rec.context["notebook_path"] == str(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert rec.context["notebook_sha"] == sha
    assert get_store().blob_path(sha).read_bytes() == path.read_bytes()

    # The live chart: one Vega-Lite output under the cell, its data ending at the last step.
    charts = [o["data"][VEGALITE] for o in out if VEGALITE in o.get("data", {})]
    assert len(charts) == 1, out
    rows = [r for r in charts[0]["data"]["values"] if r["key"] == "loss"]
    assert [r["step"] for r in rows] == list(range(40))
    assert rows[-1]["value"] == 2.0 / 40
