"""Every REST endpoint through a real jupyter_server: results, paging, errors, auth."""

from __future__ import annotations

import json
import math

import pytest
from tornado.httpclient import HTTPClientError

import workbench as wb


def _seed(n=3):
    ids = []
    for i in range(n):
        with wb.start_run(name=f"run{i}", experiment="api", params={"alpha": i, "model": "ridge"}) as r:
            for s in range(50):
                wb.log_metric("loss", 1.0 / (s + 1 + i), step=s)
            wb.log_metric("rmse", 50.0 + i)
            ids.append(r.run_id)
    wb.flush()
    return ids


async def _get(jp_fetch, *path, **params):
    resp = await jp_fetch("workbench", "api", *path, params=params)
    return json.loads(resp.body)


async def _error(jp_fetch, *path, method="GET", body=None, **params):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("workbench", "api", *path, params=params, method=method, body=body)
    return err.value.code, json.loads(err.value.response.body)["message"]


async def test_info_and_experiments(jp_fetch, store_dir):
    _seed()
    info = await _get(jp_fetch, "info")
    assert info["store"] == str(store_dir) and info["version"] == wb.__version__
    exps = await _get(jp_fetch, "experiments")
    assert [(e["name"], e["runs"]) for e in exps["experiments"]] == [("api", 3)]


async def test_runs_filter_order_and_pages(jp_fetch):
    _seed(5)
    data = await _get(jp_fetch, "runs", filter="metrics.rmse >= 51", order_by="metrics.rmse DESC", limit="2")
    assert data["total"] == 4
    assert [r["run_name"] for r in data["runs"]] == ["run4", "run3"]
    row = data["runs"][0]
    assert row["params"] == {"alpha": "4", "model": "ridge"} and row["metrics"]["rmse"] == 54.0
    assert row["origin"] == "api" and isinstance(row["start_time"], int)
    assert data["columns"] == {"params": ["alpha", "model"], "metrics": ["loss", "rmse"]}
    page2 = await _get(
        jp_fetch, "runs", filter="metrics.rmse >= 51", order_by="metrics.rmse DESC", limit="2", offset="2"
    )
    assert [r["run_name"] for r in page2["runs"]] == ["run2", "run1"]


async def test_one_run_compare_delete_restore(jp_fetch):
    ids = _seed(2)
    run = await _get(jp_fetch, "runs", ids[0][:8])
    assert run["run_id"] == ids[0] and run["params"]["alpha"] == "0" and run["context"]["host"]
    cmp = await _get(jp_fetch, "compare", ids=",".join(i[:8] for i in ids))
    assert cmp["differing_params"] == ["alpha"] and cmp["best"]["rmse"] == 0
    assert cmp["sources"] == [None, None] and cmp["notebooks_differ"] is False
    resp = await jp_fetch("workbench", "api", "runs", ids[0], method="DELETE")
    assert json.loads(resp.body)["deleted"] is True
    assert (await _get(jp_fetch, "runs"))["total"] == 1
    await jp_fetch("workbench", "api", "runs", ids[0], "restore", method="POST", body="")
    assert (await _get(jp_fetch, "runs"))["total"] == 2


async def test_metrics_are_downsampled_within_bounds_and_keep_spikes(jp_fetch):
    with wb.start_run() as r:
        for s in range(20_000):
            wb.log_metric("loss", math.sin(s / 500) + (10.0 if s == 12_345 else 0.0), step=s)
        wb.log_metric("short", 1.0)
    wb.flush()
    data = await _get(jp_fetch, "metrics", ids=r.run_id, max_points="200")
    by_key = {s["key"]: s for s in data["series"]}
    loss = by_key["loss"]
    assert 100 <= len(loss["steps"]) <= 200
    assert loss["steps"] == sorted(loss["steps"]) and loss["steps"][0] == 0 and loss["steps"][-1] == 19_999
    assert max(loss["values"]) > 9  # the spike survives downsampling
    assert by_key["short"]["steps"] == [0]
    data = await _get(jp_fetch, "metrics", ids=r.run_id, keys="short")
    assert [s["key"] for s in data["series"]] == ["short"]


@pytest.mark.parametrize(
    "path, params, status, message",
    [
        (("runs",), {"filter": "metrics.rmse <"}, 400, "invalid filter at position 14"),
        (("runs",), {"filter": "x = 1; DROP TABLE runs"}, 400, "invalid filter at position 0"),
        (("runs",), {"limit": "0"}, 400, "limit must be from 1 to 1000"),
        (("runs",), {"offset": "many"}, 400, "offset must be a whole number"),
        (("runs", "zzzz"), {}, 404, "no run matches 'zzzz'"),
        (("compare",), {}, 400, "give run ids as ?ids="),
        (("metrics",), {"ids": "zzzz"}, 404, "no run matches"),
        (("metrics",), {"ids": "{id}", "max_points": "1"}, 400, "max_points must be from 2"),
        (("jobs", "abc123"), {}, 404, "no job 'abc123'"),
        (("runs", "{id}", "parameters"), {}, 400, "has no notebook snapshot"),
    ],
)
async def test_errors_are_mapped_to_statuses_with_a_message(jp_fetch, path, params, status, message):
    (rid,) = _seed(1)
    path = tuple(p.format(id=rid) for p in path)
    params = {k: v.format(id=rid) for k, v in params.items()}
    code, msg = await _error(jp_fetch, *path, **params)
    assert code == status and message in msg


async def test_rerun_refuses_bad_input_before_starting(jp_fetch):
    (rid,) = _seed(1)
    code, msg = await _error(
        jp_fetch, "runs", rid, "rerun", method="POST", body=json.dumps({"params": {"a": 1}})
    )
    assert code == 400 and "no notebook snapshot" in msg
    code, msg = await _error(jp_fetch, "runs", rid, "rerun", method="POST", body="not json")
    assert code == 400 and "must be JSON" in msg


async def test_requests_without_the_token_are_refused(jp_fetch, jp_base_url, http_server_client):
    _seed(1)
    for path in ("info", "runs", "experiments"):
        with pytest.raises(HTTPClientError) as err:
            await http_server_client.fetch(f"{jp_base_url}workbench/api/{path}", raise_error=True)
        assert err.value.code == 403


async def test_a_corrupt_store_is_a_409(jp_fetch, store_dir):
    store_dir.mkdir(parents=True, exist_ok=True)
    (store_dir / "workbench.duckdb").write_bytes(b"garbage" * 100)
    code, msg = await _error(jp_fetch, "runs")
    assert code == 409 and "not a readable Workbench store" in msg


async def test_rerun_through_the_api_starts_a_job_and_links_the_new_run(jp_fetch, tmp_path, monkeypatch):
    import asyncio

    from tests.notebooks.conftest import execute, make_notebook

    path = tmp_path / "nb.ipynb"
    make_notebook(
        path,
        [
            ("alpha = 1.0", ["parameters"]),
            "%load_ext workbench",
            "%%track --metrics score\nscore = alpha * 3",
        ],
    )
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    execute(path)
    (rid,) = list(wb.runs()["run_id"])
    params = await _get(jp_fetch, "runs", rid, "parameters")
    assert params["parameters"] == {"alpha": 1.0} and params["defaults"] == {"alpha": 1.0}
    code, msg = await _error(
        jp_fetch, "runs", rid, "rerun", method="POST", body=json.dumps({"params": {"beta": 2}})
    )
    assert code == 400 and "its parameters cell defines: alpha" in msg
    resp = await jp_fetch(
        "workbench", "api", "runs", rid, "rerun", method="POST", body=json.dumps({"params": {"alpha": 2}})
    )
    assert resp.code == 202
    job_id = json.loads(resp.body)["job_id"]
    for _ in range(300):
        job = await _get(jp_fetch, "jobs", job_id)
        if job["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.2)
    assert job["status"] == "finished", job
    new = await _get(jp_fetch, "runs", job["run_ids"][0])
    assert (
        new["parent_run_id"] == rid
        and new["metrics"] == {"score": 6.0}
        and new["origin"] == f"rerun of {rid[:8]}"
    )


@pytest.fixture
def unconfigured(jp_server_config, monkeypatch):
    monkeypatch.delenv("WORKBENCH_STORE")
    jp_server_config["WorkbenchApp"] = {"db_path": ""}
    return jp_server_config


async def test_the_store_is_found_from_the_notebook_directory_the_panel_asks_for(
    unconfigured, jp_fetch, jp_root_dir
):
    project = jp_root_dir / "project"
    (project / "notebooks").mkdir(parents=True)
    with wb.start_run(name="in-project"):
        pass
    wb.flush()
    other = wb.set_store(project / ".workbench")
    with wb.start_run(name="project-run"):
        pass
    wb.flush()
    info = await _get(jp_fetch, "info", path="project/notebooks")
    assert info["store"] == str(other)
    runs = await _get(jp_fetch, "runs", path="project/notebooks")
    assert [r["run_name"] for r in runs["runs"]] == ["project-run"]
    code, msg = await _error(jp_fetch, "runs", path="../../etc")
    assert code == 400 and "outside the server's root" in msg


async def test_reliability_8_a_get_never_creates_a_store_or_folders(unconfigured, jp_fetch, jp_root_dir):
    code, msg = await _error(jp_fetch, "runs", path="q/r/s/t")
    assert code == 404 and "'q/r/s/t' does not exist" in msg
    assert not (jp_root_dir / "q").exists()
    # An existing folder without a store of its own reads the server root's store.
    (jp_root_dir / "plain").mkdir()
    info = await _get(jp_fetch, "info", path="plain")
    from workbench.paths import resolve_store

    assert info["store"] == str(resolve_store(start=str(jp_root_dir)))
    assert not (jp_root_dir / "plain" / ".workbench").exists()


async def test_charts_are_the_python_specs_the_notebook_draws(jp_fetch):
    from workbench.render.comparison import curves_chart, parallel_chart

    ids = _seed(3)
    curves = await _get(jp_fetch, "charts", kind="curves", ids=",".join(ids), key="loss")
    assert curves["spec"] == json.loads(json.dumps(curves_chart(ids, "loss")))
    assert curves["spec"]["$schema"].endswith("vega-lite/v5.json")
    par = await _get(jp_fetch, "charts", kind="parallel", ids=",".join(ids), metric="rmse")
    assert par["spec"] == json.loads(json.dumps(parallel_chart(ids, "rmse")))
    code, msg = await _error(jp_fetch, "charts", kind="pie", ids=ids[0])
    assert code == 400 and "kind must be curves or parallel" in msg
    code, msg = await _error(jp_fetch, "charts", kind="curves", ids=ids[0])
    assert code == 400 and "?key=" in msg
    code, _ = await _error(jp_fetch, "charts", kind="curves", ids="ffffffff", key="loss")
    assert code == 404
