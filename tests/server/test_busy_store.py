"""A store held by another process never freezes the Jupyter server.

Another process holds the store lock for 6 s (a long fold, a sweep's workers writing).
Meanwhile JupyterLab's own endpoints answer at once, and every Workbench endpoint ends
with 200 (it waited) or 503 "store busy" with ``Retry-After`` within 15 s.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest
from tornado.httpclient import HTTPClientError

import workbench as wb
from workbench.server.jobs import JobTable

pytestmark = pytest.mark.slow

HOLD_S = 6.0

_HOLDER = """
import sys, time
from workbench.store.store import get_store
store = get_store(sys.argv[1])
with store.session():
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _seed():
    with wb.start_run(name="a", params={"alpha": 1}) as a:
        for s in range(20):
            wb.log_metric("loss", 1.0 / (s + 1), step=s)
    with wb.start_run(name="b", params={"alpha": 2}) as b:
        wb.log_metric("loss", 0.5)
    wb.flush()
    return a.run_id, b.run_id


async def _timed(jp_fetch, *path, **params):
    """(status, seconds, response headers) of one GET."""
    t0 = time.perf_counter()
    try:
        resp = await jp_fetch(*path, params=params)
        status, headers, body = resp.code, resp.headers, resp.body
    except HTTPClientError as e:
        status, headers, body = e.code, e.response.headers, e.response.body
    return status, time.perf_counter() - t0, headers, body


async def test_busy_store_never_blocks_jupyter_and_answers_200_or_503(jp_fetch, store_dir):
    a, b = _seed()
    # Warm the server's store (first use checks the schema) before the other process takes it.
    assert (await _timed(jp_fetch, "workbench", "api", "info"))[0] == 200
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store_dir), str(HOLD_S)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        t_held = time.perf_counter()
        ids = f"{a},{b}"
        endpoints = [
            ("runs", {}),
            (f"runs/{a}", {}),
            (f"runs/{a}/lineage", {}),
            (f"runs/{a}/card", {"format": "md"}),
            ("compare", {"ids": ids}),
            ("metrics", {"ids": ids}),
            ("charts", {"ids": ids, "kind": "curves", "key": "loss"}),
            ("experiments", {}),
            ("models", {}),
        ]
        # 9 at once: the test's HTTP client runs at most 10 requests at a time, and the
        # 10th slot is for the /api/contents and /api/status checks below.
        wb_calls = [
            asyncio.ensure_future(_timed(jp_fetch, "workbench", "api", *path.split("/"), **params))
            for path, params in endpoints
        ]
        # While those wait on the store, JupyterLab's own endpoints answer at once.
        await asyncio.sleep(0.5)
        for _ in range(3):
            for path in (("api", "contents"), ("api", "status")):
                status, took, _, _ = await _timed(jp_fetch, *path)
                assert status == 200 and took < 0.3, (path, status, took)
        results = await asyncio.wait_for(asyncio.gather(*wb_calls), timeout=15)
        assert time.perf_counter() - t_held < 15
        busy = 0
        for (path, _), (status, took, headers, body) in zip(endpoints, results):
            assert status in (200, 503), (path, status, body)
            assert took < 15, (path, took)
            if status == 503:
                busy += 1
                assert headers["Retry-After"].isdigit()
                assert json.loads(body)["message"].startswith("store busy:")
        # The lock is held 6 s and a request waits 3 s: at least one saw the busy store.
        assert busy >= 1
    finally:
        holder.wait(timeout=30)
    # Once the holder is gone every endpoint answers 200 again.
    for path, params in endpoints:
        status, _, _, body = await _timed(jp_fetch, "workbench", "api", *path.split("/"), **params)
        assert status == 200, (path, body)


async def test_lock_timeout_names_the_holders_pid_in_the_cli_the_api_and_a_503(
    jp_fetch, store_dir, monkeypatch
):
    # $WORKBENCH_LOCK_TIMEOUT=1: a reader gives up after 1 s with a message naming the
    # process that holds the store; the CLI says it in one line with status 1, the server
    # answers 503 with it.
    _seed()
    assert (await _timed(jp_fetch, "workbench", "api", "info"))[0] == 200
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT", "1")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store_dir), "8"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        expected = (
            f"the store {store_dir} stayed locked for 1 s (last holder: process {holder.pid}); "
            "nothing was lost. Retry, or raise $WORKBENCH_LOCK_TIMEOUT"
        )
        cli = subprocess.run(
            [sys.executable, "-m", "workbench", "runs"], capture_output=True, text=True, timeout=60
        )
        assert cli.returncode == 1, cli
        assert cli.stderr == f"Error: {expected}\n"
        with pytest.raises(wb.StoreBusyError) as err:
            wb.runs()
        assert str(err.value) == expected
        status, _, headers, body = await _timed(jp_fetch, "workbench", "api", "runs")
        assert status == 503 and headers["Retry-After"] == "2", (status, body)
        assert json.loads(body) == {"message": f"store busy: {expected}"}
        assert holder.poll() is None  # all of it while the holder still held the store
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_finished_jobs_expire_running_ones_stay():
    class Job:
        def __init__(self, status):
            self.result = type("R", (), {"status": status})()

    assert JobTable().keep_s == 3600  # an hour by default
    table = JobTable(keep_s=0.2)
    table.add("done", Job("finished"))
    table.add("running", Job("running"))
    assert table.get("done") is not None  # seen finished now: kept for keep_s
    time.sleep(0.3)
    assert table.get("done") is None
    assert table.get("running") is not None and len(table) == 1
