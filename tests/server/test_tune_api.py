"""GET tunes/<id>: a tune's optimisation history for the panel, from runs written as
`wb.tune` writes them (tags tune_id, trial, study, objective, direction), no kernels."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

import workbench as wb

TUNE = "7f3a9c21d4e8"


def _trial(
    number: int, status: str, rmse: float | None, alpha: float, *, tune: str = TUNE, **tags: str
) -> str:
    base = {"tune_id": tune, "trial": str(number), "study": f"study-{tune[:4]}", "objective": "rmse"}
    with wb.start_run(
        name=f"t{number}", params={"alpha": alpha}, tags={**base, "direction": "minimize", **tags}
    ) as r:
        if rmse is not None:
            wb.log_metric("rmse", rmse)
        if status != "finished":
            wb.end_run(status)
    return r.run_id


def _seed() -> dict[int, str]:
    ids = {
        0: _trial(0, "finished", 5.0, 0.1),
        1: _trial(1, "finished", 3.0, 0.5),
        2: _trial(2, "killed", 9.0, 0.9, pruned="3"),
        3: _trial(3, "finished", 4.0, 0.3),
        4: _trial(4, "failed", None, 0.7),
    }
    _trial(0, "finished", 1.0, 0.2, tune="7f3b000000aa")  # another tune, same 3-char prefix
    wb.flush()
    return ids


async def _get(jp_fetch, tune_id):
    resp = await jp_fetch("workbench", "api", "tunes", tune_id)
    return json.loads(resp.body)


async def test_tune_history_lists_trials_best_so_far_and_chart(jp_fetch):
    ids = _seed()
    data = await _get(jp_fetch, TUNE[:6])
    assert (data["tune_id"], data["objective"], data["direction"]) == (TUNE, "rmse", "minimize")
    trials = data["trials"]
    assert [t["trial"] for t in trials] == [0, 1, 2, 3, 4]
    assert [t["run_id"] for t in trials] == [ids[i] for i in range(5)]
    assert [t["state"] for t in trials] == ["complete", "complete", "pruned", "complete", "fail"]
    assert [t["value"] for t in trials] == [5.0, 3.0, None, 4.0, None]
    assert [t["best_so_far"] for t in trials] == [5.0, 3.0, 3.0, 3.0, 3.0]
    assert trials[1]["params"] == {"alpha": "0.5"}
    assert data["best"]["trial"] == 1 and data["best"]["run_id"] == ids[1]
    # The chart: a point per valued trial, the best-so-far step line over every trial.
    chart = data["chart"]
    rows = chart["data"]["values"]
    assert [(r["trial"], r["value"]) for r in rows if r["series"] == "trial value"] == [
        (0, 5.0),
        (1, 3.0),
        (3, 4.0),
    ]
    assert [r["value"] for r in rows if r["series"] == "best so far"] == [5.0, 3.0, 3.0, 3.0, 3.0]
    assert [layer["mark"]["type"] for layer in chart["layer"]] == ["line", "point"]
    # Domains with a margin: no point sits on the plot's edge.
    assert chart["encoding"]["x"]["scale"]["domain"] == [-0.5, 4.5]
    assert chart["encoding"]["y"]["scale"]["domain"] == pytest.approx([2.84, 5.16])
    # The study's name finds the same tune.
    assert (await _get(jp_fetch, "study-7f3a"))["tune_id"] == TUNE


async def test_tune_history_errors_are_one_line(jp_fetch):
    _seed()
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("workbench", "api", "tunes", "0000beef")
    assert err.value.code == 404
    assert json.loads(err.value.response.body)["message"].startswith("no runs of a tune '0000beef'")
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("workbench", "api", "tunes", "7f3")
    assert err.value.code == 400
    assert "names several tunes" in json.loads(err.value.response.body)["message"]
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("workbench", "api", "tunes", "no%20spaces")
    assert err.value.code == 400
    assert "give a tune id or study name" in json.loads(err.value.response.body)["message"]
