"""A process keeps the store attached for a moment after a session (``store/linger.py``):
its next session starts warm, and no other process waits on it, writes nothing lost,
and no replaced or damaged file is read through a stale attachment. Real processes,
one real DuckDB file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

import workbench as wb
from workbench.store import sessions
from workbench.store.store import get_store

pytestmark = pytest.mark.slow

# A process that keeps the store for a minute after each command's session, and answers
# each line of stdin ("runs": its runs' names; "points RUN": a run's points) on stdout.
KEEPER = textwrap.dedent(
    """
    import json, sys
    import workbench as wb
    from workbench.store.store import get_store
    print(json.dumps({"ready": len(wb.runs())}), flush=True)
    for line in sys.stdin:
        cmd, *arg = line.split()
        if cmd == "runs":
            out = sorted(wb.runs()["run_name"])
        else:
            out = len(wb.metric_history(arg[0], "x"))
        print(json.dumps({"answer": out, "kept": get_store().lock.kept}), flush=True)
    """
)


def _keeper(env_linger_ms: str = "60000") -> subprocess.Popen:
    import os

    env = dict(os.environ, WORKBENCH_LINGER_MS=env_linger_ms)
    proc = subprocess.Popen(
        [sys.executable, "-c", KEEPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert "ready" in json.loads(proc.stdout.readline())
    return proc


def _ask(proc: subprocess.Popen, line: str) -> dict:
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def _record(name: str, n: int) -> str:
    with wb.start_run(name=name) as run:
        for i in range(n):
            wb.log_metric("x", float(i), step=i)
    wb.flush()
    return run.run_id


def test_the_next_session_of_the_process_starts_warm_and_the_moment_ends(monkeypatch):
    _record("a", 10)
    store = get_store()
    attaches = []
    real = sessions.attach_file
    monkeypatch.setattr(sessions, "attach_file", lambda con, path: (attaches.append(1), real(con, path)))
    monkeypatch.setenv("WORKBENCH_LINGER_MS", "60000")
    store.release()
    for _ in range(5):
        assert list(wb.runs()["run_name"]) == ["a"]
    assert attaches == [1] and store.lock.kept
    monkeypatch.setenv("WORKBENCH_LINGER_MS", "50")
    wb.runs()  # arms the short moment
    deadline = time.monotonic() + 30
    while store.lock.kept and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not store.lock.kept
    # Let go means detached and unlocked: DuckDB itself can open the file now.
    duckdb.connect(str(store.db_path), read_only=True).close()
    monkeypatch.setenv("WORKBENCH_LINGER_MS", "0")
    attaches.clear()
    wb.runs()
    wb.runs()
    assert attaches == [1, 1] and not store.lock.kept  # 0 turns it off


def test_a_process_that_keeps_the_store_lets_go_when_another_asks(monkeypatch):
    run_id = _record("first", 100)
    keeper = _keeper()
    try:
        assert _ask(keeper, "runs") == {"answer": ["first"], "kept": True}
        # Without the keeper letting go this waits past the 10 s limit and raises
        # StoreBusyError; it must not: the keeper lets go when asked.
        monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT", "10")
        for _ in range(3):
            assert len(wb.metric_history(run_id, "x")) == 100
            get_store().release()
            assert _ask(keeper, "runs")["kept"]  # the keeper takes it back and keeps it
        # A write while the keeper holds it goes to the spool and is folded by the next
        # session, the keeper's own included: nothing lost, nothing doubled.
        assert _ask(keeper, "runs")["kept"]
        second = _record("second", 1000)
        assert list((get_store().spool_dir).glob("*.arrow"))
        assert _ask(keeper, f"points {second}") == {"answer": 1000, "kept": True}
        assert _ask(keeper, "runs")["answer"] == ["first", "second"]
        assert sorted(wb.runs()["run_name"]) == ["first", "second"]
        assert len(wb.metric_history(second, "x")) == 1000
    finally:
        keeper.stdin.close()
        assert keeper.wait(timeout=60) == 0
    # At exit it let go, its last session written to the file: DuckDB opens it at once.
    get_store().release()
    con = duckdb.connect(str(get_store().db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    con.close()


def test_a_store_replaced_while_kept_is_read_anew_not_through_the_old_attachment(monkeypatch, store_dir):
    monkeypatch.setenv("WORKBENCH_LINGER_MS", "60000")
    _record("old", 5)
    assert list(wb.runs()["run_name"]) == ["old"] and get_store().lock.kept
    # Another process moves the store aside and starts a new one at the same place.
    shutil.move(store_dir, store_dir.with_name("aside"))
    script = "import workbench as wb\nwith wb.start_run(name='new'): wb.log_metric('x', 1.0)\nwb.flush()"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert list(wb.runs()["run_name"]) == ["new"]
    get_store().release()
    con = duckdb.connect(str(store_dir.with_name("aside") / "workbench.duckdb"), read_only=True)
    assert con.execute("SELECT run_name FROM runs").fetchall() == [("old",)]
    con.close()


def test_a_store_file_damaged_while_kept_is_refused_not_read_through_the_attachment(monkeypatch, store_dir):
    monkeypatch.setenv("WORKBENCH_LINGER_MS", "60000")
    _record("a", 5)
    assert len(wb.runs()) == 1 and get_store().lock.kept
    db = store_dir / "workbench.duckdb"
    db.write_bytes(b"garbage" * 1000)  # in place: same inode, new size and time
    with pytest.raises(wb.StoreCorruptError, match="not a readable Workbench store"):
        wb.runs()
    assert db.read_bytes() == b"garbage" * 1000  # left untouched, not written over
    assert not get_store().lock.kept


def test_a_session_opened_inside_another_is_refused_and_the_outer_one_goes_on():
    _record("a", 3)
    store = get_store()
    with store.session() as con:
        with pytest.raises(RuntimeError, match="already open in this thread"):
            with store.session():
                pass
        assert con.execute("SELECT run_name FROM runs").fetchall() == [("a",)]
    assert list(wb.runs()["run_name"]) == ["a"]


def test_release_store_lets_go_of_the_store_set_store_chose(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LINGER_MS", "60000")
    wb.set_store(tmp_path / "other")
    try:
        _record("elsewhere", 3)
        assert list(wb.runs()["run_name"]) == ["elsewhere"]
        chosen = get_store(tmp_path / "other")
        assert chosen.lock.kept
        wb.release_store()
        assert not chosen.lock.kept
    finally:
        wb.set_store(None)
