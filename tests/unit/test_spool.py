"""The spool: a writer that finds the store busy never waits, and nothing is applied twice."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

import workbench as wb
from workbench.store import SCHEMA_VERSION, get_store
from workbench.store.schema import MIGRATIONS

HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from workbench.store.lock import StoreLock
    lock = StoreLock(Path(sys.argv[1]) / "workbench.lock")
    lock.acquire()
    print("holding", flush=True)
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.01)
    lock.release()
    """
)


def test_writes_while_another_process_holds_the_store_are_spooled_then_folded(
    store_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT", "20")
    with wb.start_run(name="before"):  # this process has met the store already
        pass
    wb.flush()
    release = tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store_dir), str(release)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with wb.start_run(name="while-busy") as run:
            for i in range(10_000):
                wb.log_metric("x", float(i))
        wb.flush()  # returns although the store is held: the batch went to the spool
        spooled = list((store_dir / "spool").glob("*.arrow"))
        assert spooled, "the busy store should have made the writer spool"
    finally:
        release.write_text("")
        holder.wait(timeout=30)
    # The next session (this read) folds the spool in first.
    rec = wb.get_run(run.run_id)
    assert rec.status == "finished" and rec.metrics == {"x": 9999.0}
    assert len(wb.metric_history(run.run_id, "x")) == 10_000
    assert list((store_dir / "spool").glob("*.arrow")) == []


def test_a_fold_interrupted_after_its_commit_does_not_apply_a_file_twice(store_dir):
    store = get_store()
    with wb.start_run() as run:
        for i in range(100):
            wb.log_metric("x", float(i))
    wb.flush()
    # Spool one more batch by hand, then apply it the way a fold does, but "crash"
    # before the file is removed: the next fold must skip it.
    from workbench.store.store import Batch, _read_spool

    path = store._spool(
        Batch(metrics=[(run.run_id, ["y"] * 5, [0, 1, 2, 3, 4], [1.0] * 5, [time.time()] * 5)])
    )
    with store.lock:
        con = store._memory_connection()
        con.execute(f"ATTACH '{store.db_path}' AS crash")
        con.execute("USE crash")
        store._apply(con, _read_spool(path), spool_names=[path.name])
        con.execute("USE memory")
        con.execute("DETACH crash")
    assert path.exists()
    assert len(wb.metric_history(run.run_id, "y")) == 5  # not 10
    assert not path.exists()


def test_an_unreadable_spool_file_is_set_aside_and_does_not_block_the_store(store_dir):
    from workbench.store.store import Batch

    store = get_store()
    with wb.start_run() as run:
        wb.log_metric("x", 1.0)
    wb.flush()
    (store_dir / "spool").mkdir(exist_ok=True)
    (store_dir / "spool" / "00000000000000000001-1-00000001.arrow").write_bytes(b"garbage")
    store._spool(Batch(metrics=[(run.run_id, ["y"], [0], [2.0], [time.time()])]))
    # The good file is folded (the all-at-once attempt fails, file by file succeeds).
    assert wb.get_run(run.run_id).metrics == {"x": 1.0, "y": 2.0}
    assert [p.name for p in (store_dir / "spool" / "bad").iterdir()] == [
        "00000000000000000001-1-00000001.arrow"
    ]


def test_an_older_store_is_migrated_in_place_and_keeps_its_runs(store_dir):
    # A store as version 1 of the schema left it, with a run in it.
    store_dir.mkdir(parents=True)
    con = duckdb.connect(str(store_dir / "workbench.duckdb"))
    con.execute(
        "CREATE TABLE _workbench_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    con.execute(MIGRATIONS[0][1])
    con.execute("INSERT INTO _workbench_migrations VALUES (1, ?, current_timestamp)", [MIGRATIONS[0][0]])
    con.execute("INSERT INTO experiments VALUES ('old', 0)")
    con.execute(
        "INSERT INTO runs (run_id, experiment, run_name, status, start_time, source) VALUES ('a' || repeat('0', 31), 'old', 'legacy', 'finished', 1, 'api')"
    )
    con.close()
    assert get_store().schema_version() == SCHEMA_VERSION > 1
    df = wb.runs()
    assert list(df["run_name"]) == ["legacy"]
    con = duckdb.connect(str(store_dir / "workbench.duckdb"))
    versions = [
        r[0] for r in con.execute("SELECT version FROM _workbench_migrations ORDER BY version").fetchall()
    ]
    con.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1))


@pytest.fixture(autouse=True)
def _no_leftover(store_dir):
    yield
    shutil.rmtree(store_dir / "spool" / "bad", ignore_errors=True)
