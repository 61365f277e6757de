"""GET metrics?after_step=: a live chart's next points equal the tail of the full curves."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

import workbench as wb


async def _series(jp_fetch, **params):
    resp = await jp_fetch("workbench", "api", "metrics", params=params)
    return {(s["run_id"], s["key"]): s for s in json.loads(resp.body)["series"]}


def _log(run, key, steps, scale=1.0):
    for s in steps:
        run.log_metric(key, scale * ((s * 7919) % 101) / 10.0, step=s)


async def test_incremental_points_equal_the_tail_of_the_full_series(jp_fetch):
    a = wb.start_run(name="a")
    _log(a, "loss", range(0, 60))
    _log(a, "val", range(0, 60, 10))
    b = wb.start_run(name="b", nested=True)
    _log(b, "loss", range(0, 20), scale=2.0)
    wb.flush()
    ids = f"{a.run_id},{b.run_id}"
    before = await _series(jp_fetch, ids=ids)
    # Both runs go on logging, past the first answer; b starts a metric it had not.
    _log(a, "loss", range(60, 130))
    _log(a, "val", range(60, 130, 10))
    _log(b, "loss", range(20, 45), scale=2.0)
    _log(b, "val", range(0, 45, 5), scale=2.0)
    wb.flush()
    full = await _series(jp_fetch, ids=ids)
    for key in ("loss", "val"):
        cursors = [
            before[(r, key)]["steps"][-1] if (r, key) in before else None for r in (a.run_id, b.run_id)
        ]
        after = ",".join("" if c is None else str(c) for c in cursors)
        new = await _series(jp_fetch, ids=ids, keys=key, after_step=after)
        for run_id in (a.run_id, b.run_id):
            old = before.get((run_id, key), {"steps": [], "values": []})
            got = new[(run_id, key)]
            assert old["steps"] + got["steps"] == full[(run_id, key)]["steps"], (run_id, key)
            assert old["values"] + got["values"] == full[(run_id, key)]["values"], (run_id, key)
    # One step for every run; a run with nothing past its cursor has no series.
    tail = await _series(jp_fetch, ids=ids, keys="loss", after_step="44")
    assert tail[(a.run_id, "loss")]["steps"] == list(range(45, 130))
    assert (b.run_id, "loss") not in tail
    b.end()
    a.end()


async def test_a_long_tail_is_downsampled_over_its_own_range(jp_fetch):
    with wb.start_run() as r:
        for s in range(5000):
            r.log_metric("loss", 100.0 if s == 3210 else s % 17, step=s)
    wb.flush()
    tail = (await _series(jp_fetch, ids=r.run_id, after_step="999", max_points="200"))[(r.run_id, "loss")]
    assert 100 <= len(tail["steps"]) <= 200
    # 100 step ranges of 40 over steps 1000-4999: each keeps its lowest and highest point.
    assert 1000 <= tail["steps"][0] < 1040 and 4960 <= tail["steps"][-1] <= 4999
    assert tail["steps"] == sorted(tail["steps"])
    assert max(tail["values"]) == 100.0  # the spike survives


@pytest.mark.parametrize(
    "after, message",
    [
        ("x", "after_step must be whole numbers (steps), comma-separated, got 'x'"),
        ("1,2,3", "after_step must be one step or one per id (2), got 3"),
        ("99999999999999999999", "after_step must be whole numbers (steps), comma-separated"),
    ],
)
async def test_bad_cursors_are_refused_in_one_line(jp_fetch, after, message):
    with wb.start_run() as r:
        r.log_metric("loss", 1.0, step=0)
    with wb.start_run() as q:
        q.log_metric("loss", 1.0, step=0)
    wb.flush()
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "workbench", "api", "metrics", params={"ids": f"{r.run_id},{q.run_id}", "after_step": after}
        )
    assert err.value.code == 400
    assert json.loads(err.value.response.body)["message"].startswith(message)
