"""Several processes on one store at once: nothing lost, nothing doubled, no lock errors.

Every process here is a real Python interpreter writing the same DuckDB file through
the public API, as notebook kernels, sweep workers and the Jupyter server do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import workbench as wb

pytestmark = pytest.mark.slow

WRITER = textwrap.dedent(
    """
    import sys, time
    import workbench as wb
    name, n, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    while time.time() < start_at:  # all writers begin at the same instant
        time.sleep(0.001)
    with wb.start_run(name=name, experiment="concurrency"):
        for i in range(n):
            wb.log_metric("x", float(i), step=i)
            if i % 1000 == 999:
                wb.flush()  # many short transactions, interleaved with the others'
    wb.flush()
    print("done", name, flush=True)
    """
)

READER = textwrap.dedent(
    """
    import json, os, sys, time
    import workbench as wb
    stop_file = sys.argv[1]
    seen, queries, errors = [], 0, []
    while not os.path.exists(stop_file):
        t = time.time()
        try:
            df = wb.runs(experiment="concurrency")
            n = 0 if df.empty else len(wb.metric_history(list(df.run_id), "x"))
            seen.append(n)
            queries += 1
        except Exception as e:
            errors.append(repr(e))
        time.sleep(max(0.0, 0.05 - (time.time() - t)))
    print(json.dumps({"seen": seen, "queries": queries, "errors": errors}), flush=True)
    """
)


def _spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _check_points(n_runs: int, n_points: int) -> None:
    df = wb.runs(experiment="concurrency")
    assert len(df) == n_runs
    assert set(df["status"]) == {"finished"}
    hist = wb.metric_history(list(df["run_id"]), "x")
    for run_id, points in hist.groupby("run_id"):
        # Every point exactly once: the steps are 0..n-1 with no gap and no duplicate.
        assert sorted(points["step"]) == list(range(n_points)), run_id
        assert (points["value"] == points["step"].astype(float)).all()
    assert len(hist) == n_runs * n_points
    assert (df["metrics.x"] == n_points - 1).all()


def test_four_writers_and_a_polling_reader_lose_nothing(tmp_path):
    stop_file = tmp_path / "stop"
    reader = _spawn(READER, str(stop_file))
    start_at = time.time() + 3.0
    writers = [_spawn(WRITER, f"w{i}", "20000", str(start_at)) for i in range(4)]
    outs = [w.communicate(timeout=300) for w in writers]
    stop_file.write_text("")
    r_out, r_err = reader.communicate(timeout=120)
    for w, (out, err) in zip(writers, outs):
        assert w.returncode == 0, err
        assert "done" in out
        assert "lock" not in err.lower() and "Traceback" not in err, err
    assert reader.returncode == 0, r_err
    report = json.loads(r_out.strip().splitlines()[-1])
    assert report["errors"] == []
    assert report["queries"] >= 10
    # The reader saw the points arrive in flushed batches, never going backwards.
    assert report["seen"] == sorted(report["seen"])
    assert 0 < max(report["seen"]) <= 80_000
    _check_points(4, 20_000)


def _start_together(store_dir, n: int) -> None:
    assert not store_dir.exists()
    start_at = time.time() + 2.0 + n * 0.25
    writers = [_spawn(WRITER, f"w{i}", "5000", str(start_at)) for i in range(n)]
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        assert "done" in out
        assert "Traceback" not in err and "lock" not in err.lower(), err
    _check_points(n, 5_000)
    assert not (store_dir / "spool" / "bad").exists()


def test_four_processes_starting_together_on_a_store_that_does_not_exist(store_dir):
    _start_together(store_dir, 4)


def test_eight_processes_starting_together_on_a_store_that_does_not_exist(store_dir):
    _start_together(store_dir, 8)


KILLED = textwrap.dedent(
    """
    import time
    import workbench as wb
    wb.start_run(name="doomed", experiment="concurrency")
    for i in range(1000):
        wb.log_metric("x", float(i), step=i)
    wb.flush()
    print("flushed", flush=True)
    i = 1000
    while True:
        wb.log_metric("x", float(i), step=i)
        i += 1
        time.sleep(0.0005)
    """
)


def test_sigkilled_writer_keeps_flushed_points_and_its_run_becomes_killed():
    proc = _spawn(KILLED)
    assert proc.stdout.readline().strip() == "flushed"
    time.sleep(1.5)  # let the background writer flush a little more, too
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    df = wb.runs(experiment="concurrency")
    assert list(df["status"]) == ["killed"]
    rec = wb.get_run(df["run_id"][0])
    assert f"process {proc.pid} ended" in rec.error
    assert rec.end_time is not None
    steps = sorted(wb.metric_history(rec.run_id, "x")["step"])
    assert len(steps) >= 1000
    assert steps == list(range(len(steps)))  # what was flushed is whole


def test_a_live_run_of_another_process_stays_running():
    proc = _spawn(KILLED)
    try:
        assert proc.stdout.readline().strip() == "flushed"
        df = wb.runs(experiment="concurrency")
        assert list(df["status"]) == ["running"]
    finally:
        proc.kill()
        proc.wait(timeout=30)


# A process that logs without flushing and then idles: what reaches the store is what its
# writer thread wrote by itself. argv: mode, then the number of points.
IDLE_LOGGER = textwrap.dedent(
    """
    import sys, time
    import workbench as wb
    from workbench.tracking import writer
    mode, n = sys.argv[1], int(sys.argv[2])
    if mode != "interval":
        writer.FLUSH_INTERVAL_S = 3600.0  # only the trigger under test can write
    run = wb.start_run(name=mode, experiment="writer")
    for i in range(n):
        wb.log_metric("x", float(i), step=i)
    print("logged", flush=True)
    if mode == "points":
        sys.stdin.readline()  # the parent has seen nothing written below the threshold
        wb.log_metric("x", float(n), step=n)  # the 500,000th point
        print("logged", flush=True)
    if mode == "end":
        wb.end_run()
    time.sleep(120)  # never flush(), never exit while the parent looks
    """
)


def _stored_points(mode: str) -> int:
    df = wb.runs(f"attributes.run_name = '{mode}'", experiment="writer")
    return 0 if df.empty else len(wb.metric_history(df["run_id"][0], "x"))


def _wait_for_points(mode: str, n: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while _stored_points(mode) != n:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, f"{_stored_points(mode)} of {n} points stored"
        time.sleep(0.2)


@pytest.mark.parametrize("mode", ["interval", "end", "points"])
def test_the_writer_thread_commits_by_itself(mode):
    # Every second with nothing else happening; at a run's end; past 500,000 buffered
    # points (with the 1 s interval turned off for the last two).
    n = wb.tracking.FLUSH_POINTS - 1 if mode == "points" else 10
    proc = subprocess.Popen(
        [sys.executable, "-c", IDLE_LOGGER, mode, str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "logged"
        if mode == "points":
            time.sleep(3)  # below the threshold, nothing wakes the writer
            assert _stored_points(mode) == 0
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "logged"
            n += 1
        _wait_for_points(mode, n, proc)
        status = wb.runs(f"attributes.run_name = '{mode}'")["status"][0]
        assert status == ("finished" if mode == "end" else "running")
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_run_on_another_host_is_killed_once_its_heartbeat_is_10_minutes_old(monkeypatch):
    from workbench import procs
    from workbench.store import writes

    run = wb.start_run(name="remote")
    wb.log_metric("x", 1.0)
    wb.flush()
    host = procs.hostname()
    # Seen from another machine: the pid means nothing there, only the heartbeat counts.
    monkeypatch.setattr(procs, "hostname", lambda: "another-host")
    assert wb.get_run(run.run_id).status == "running"  # heartbeat fresh
    later = writes.now_ms() + writes.STALE_HEARTBEAT_MS + 60_000
    monkeypatch.setattr(writes, "now_ms", lambda: later)
    rec = wb.get_run(run.run_id)
    assert rec.status == "killed" and rec.error.startswith(f"no heartbeat from {host} since ")
    assert rec.metrics == {"x": 1.0}  # what it flushed is kept
