"""GET runs/<id>/parameters gives the run's values beside the notebook's defaults, and
POST runs/<id>/rerun keeps the run's values for what it does not change (reliability 9);
a parameters cell that does not parse is a 400 naming its line (reliability 12)."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError

import workbench as wb
from tests.notebooks.conftest import execute, make_notebook

pytestmark = pytest.mark.slow


def _record(path, cells, monkeypatch, **kwargs):
    make_notebook(path, cells)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    execute(path, **kwargs)
    monkeypatch.delenv("JPY_SESSION_NAME")
    (rid,) = list(wb.runs()["run_id"])
    return rid


async def test_reliability_9_parameters_show_the_runs_values_beside_the_defaults(
    jp_fetch, tmp_path, monkeypatch
):
    rid = _record(
        tmp_path / "nb.ipynb",
        [
            ("alpha = 1.0\nlabel = 'base'\nseed = int('7')", ["parameters"]),
            "%load_ext workbench",
            "label = '42'  # the run's value differs from the default",
            "%%track --metrics score\nscore = alpha * 3",
        ],
        monkeypatch,
    )
    resp = await jp_fetch("workbench", "api", "runs", rid, "parameters")
    assert json.loads(resp.body) == {
        "parameters": {"alpha": 1.0, "label": "42", "seed": 7},
        "defaults": {"alpha": 1.0, "label": "base", "seed": None},
        "items": [
            {
                "name": "alpha",
                "value": 1.0,
                "default": 1.0,
                "default_source": "1.0",
                "type": "float",
                "recorded": True,
            },
            {
                "name": "label",
                "value": "42",  # text, as its default is: not the number 42
                "default": "base",
                "default_source": "'base'",
                "type": "str",
                "recorded": True,
            },
            {
                "name": "seed",
                "value": 7,
                "default": None,
                "default_source": "int('7')",
                "type": "expression",
                "recorded": True,
            },
        ],
    }

    resp = await jp_fetch(
        "workbench", "api", "runs", rid, "rerun", method="POST", body=json.dumps({"params": {"alpha": 2}})
    )
    job_id = json.loads(resp.body)["job_id"]
    for _ in range(600):
        job = json.loads((await jp_fetch("workbench", "api", "jobs", job_id)).body)
        if job["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.2)
    assert job["status"] == "finished", job
    new = wb.get_run(job["run_ids"][0])
    assert new.params == {"alpha": "2", "label": "42", "seed": "7"} and new.metrics == {"score": 6.0}
    (art,) = [a for a in new.artifacts if a["kind"] == "notebook"]
    executed = json.loads(open(art["stored_path"]).read())
    (injected,) = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert 'label = "42"' in "".join(injected["source"])  # the run's text, not the default 'base'


async def test_reliability_12_a_parameters_cell_that_does_not_parse_is_a_400_naming_the_line(
    jp_fetch, tmp_path, monkeypatch
):
    rid = _record(
        tmp_path / "broken.ipynb",
        [("alpha = 1.0\nbeta = = 2", ["parameters"]), "%load_ext workbench", "%%track\nx = 1"],
        monkeypatch,
        allow_errors=True,
    )
    for method, path, body in (
        ("GET", "parameters", None),
        ("POST", "rerun", json.dumps({"params": {"alpha": 2}})),
    ):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("workbench", "api", "runs", rid, path, method=method, body=body)
        message = json.loads(err.value.response.body)["message"]
        assert err.value.code == 400
        assert "the cell tagged 'parameters' (cell 1) does not parse: line 2: invalid syntax" in message
