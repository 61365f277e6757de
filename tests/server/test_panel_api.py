"""Endpoints the panel's table relies on: default columns, deleted rows marked, and bad
input logged as one warning line instead of a traceback."""

from __future__ import annotations

import json
import logging

import pytest
from tornado.httpclient import HTTPClientError

import workbench as wb


def _seed():
    ids = []
    for i, (lr, depth) in enumerate([(0.1, 2), (0.1, 3), (0.2, 2)]):
        with wb.start_run(name=f"r{i}", experiment="cols", params={"lr": lr, "depth": depth, "n": 60}) as r:
            wb.log_metric("rmse", 50.0 + i)
        ids.append(r.run_id)
    wb.flush()
    return ids


async def _get(jp_fetch, *path, **params):
    resp = await jp_fetch("workbench", "api", *path, params=params)
    return json.loads(resp.body)


async def test_columns_endpoint_gives_the_defaults(jp_fetch):
    _seed()
    data = await _get(jp_fetch, "columns", experiment="cols")
    assert data["total"] == 3
    assert data["default_params"] == ["depth", "lr"] and data["constant_params"] == ["n"]
    assert data["default_metrics"] == ["rmse"]
    narrowed = await _get(jp_fetch, "columns", filter="params.lr = '0.1'")
    assert narrowed["default_params"] == ["depth"] and sorted(narrowed["constant_params"]) == ["lr", "n"]


async def test_deleted_rows_are_marked(jp_fetch):
    ids = _seed()
    wb.delete_run(ids[0])
    rows = (await _get(jp_fetch, "runs", deleted="1"))["runs"]
    assert {r["run_id"]: r["deleted"] for r in rows} == {ids[0]: True, ids[1]: False, ids[2]: False}
    assert all("deleted" not in r for r in (await _get(jp_fetch, "runs"))["runs"])


async def test_bad_filter_is_one_warning_line_not_a_traceback(jp_fetch, caplog):
    _seed()
    with caplog.at_level(logging.WARNING):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("workbench", "api", "runs", params={"filter": "metrics.rmse <"})
    assert err.value.code == 400
    text = caplog.text
    assert "Traceback" not in text and "Uncaught exception" not in text
    ours = [
        r
        for r in caplog.records
        if r.getMessage().startswith("Workbench: GET") and "/workbench/api/runs:" in r.getMessage()
    ]
    assert len(ours) == 1 and ours[0].levelno == logging.WARNING and "\n" not in ours[0].getMessage()


async def test_tags_and_description_edits(jp_fetch):
    ids = _seed()
    resp = await jp_fetch(
        "workbench",
        "api",
        "runs",
        ids[0][:8],
        "tags",
        method="PATCH",
        body=json.dumps({"set": {"team": "a"}}),
    )
    assert json.loads(resp.body) == {"run_id": ids[0], "tags": {"team": "a"}}
    resp = await jp_fetch(
        "workbench",
        "api",
        "runs",
        ids[0],
        "tags",
        method="PATCH",
        body=json.dumps({"set": {"owner": "me"}, "delete": ["team"]}),
    )
    assert json.loads(resp.body)["tags"] == {"owner": "me"}
    resp = await jp_fetch(
        "workbench", "api", "runs", ids[0], "description", method="PUT", body=json.dumps({"text": "# Why"})
    )
    assert json.loads(resp.body)["tags"]["mlflow.note.content"] == "# Why"
    assert wb.get_run(ids[0]).tags == {"owner": "me", "mlflow.note.content": "# Why"}
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "workbench",
            "api",
            "runs",
            ids[0],
            "tags",
            method="PATCH",
            body=json.dumps({"set": {"sweep_id": "x"}}),
        )
    assert err.value.code == 400 and "cannot be edited" in json.loads(err.value.response.body)["message"]


async def test_artifact_download_and_notebook_copy(jp_fetch, jp_root_dir, tmp_path):
    model = tmp_path / "model.csv"
    model.write_text("a,b\n1,2\n")
    with wb.start_run(name="art") as r:
        wb.log_artifact(model)
    wb.flush()
    sha = wb.get_run(r.run_id).artifacts[0]["sha256"]
    resp = await jp_fetch("workbench", "api", "runs", r.run_id, "artifacts", sha, params={"download": "1"})
    assert resp.body == b"a,b\n1,2\n"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="model.csv"'
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("workbench", "api", "runs", r.run_id, "artifacts", "0" * 64)
    assert err.value.code == 404
    # No notebook recorded for an API run: a 404 that says so.
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "workbench",
            "api",
            "runs",
            r.run_id,
            "notebook",
            method="POST",
            body=json.dumps({"which": "snapshot"}),
        )
    assert err.value.code == 404 and "no notebook snapshot" in json.loads(err.value.response.body)["message"]


async def test_run_charts_split_system_metrics_and_finals(jp_fetch):
    with wb.start_run(name="curves") as r:
        for s in range(5):
            wb.log_metric("loss", 1.0 / (s + 1), step=s)
            wb.log_metric("system/cpu_utilization_percentage", 10.0 + s, step=s)
        wb.log_metric("rmse", 3.0)
    wb.flush()
    data = await _get(jp_fetch, "runs", r.run_id, "charts", width="280")
    assert data["finals"] == {"rmse": 3.0}
    assert {row["key"] for row in data["metrics"]["data"]["values"]} == {"loss"}
    assert {row["key"] for row in data["system"]["data"]["values"]} == {"system/cpu_utilization_percentage"}
    assert data["metrics"]["width"] == 280


async def test_register_move_alias_and_compare_models(jp_fetch):
    ids = []
    for i, rmse in enumerate([50.0, 48.0]):
        with wb.start_run(name=f"m{i}") as r:
            wb.log_model({"coef": [i]}, name="model")
            wb.log_metric("rmse", rmse)
        ids.append(r.run_id)
    wb.flush()
    resp = await jp_fetch(
        "workbench",
        "api",
        "models",
        method="POST",
        body=json.dumps({"run_id": ids[0], "name": "m", "alias": "champion"}),
    )
    assert resp.code == 201 and json.loads(resp.body)["version"] == 1
    await jp_fetch(
        "workbench", "api", "models", method="POST", body=json.dumps({"run_id": ids[1], "name": "m"})
    )
    resp = await jp_fetch(
        "workbench",
        "api",
        "models",
        "m",
        "aliases",
        "challenger",
        method="PUT",
        body=json.dumps({"version": 2}),
    )
    assert json.loads(resp.body)["version"] == 2
    cmp = await _get(jp_fetch, "models", "m", "compare")
    assert cmp["challenger_wins"] is True and cmp["metrics"][0]["better"] == "challenger"
    # Promote the challenger: champion moves to v2.
    await jp_fetch(
        "workbench",
        "api",
        "models",
        "m",
        "aliases",
        "champion",
        method="PUT",
        body=json.dumps({"version": 2}),
    )
    assert {v.version: v.aliases for v in wb.registry.models("m")}[2] == ["challenger", "champion"]
    models = await _get(jp_fetch, "models")
    assert models["models"][0]["aliases"] == {"challenger": 2, "champion": 2}
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "workbench",
            "api",
            "models",
            "m",
            "aliases",
            "champion",
            method="PUT",
            body=json.dumps({"version": "x"}),
        )
    assert err.value.code == 400
