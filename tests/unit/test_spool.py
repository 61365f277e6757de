"""The spool: a writer that finds the store busy never waits, and nothing is applied twice."""

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
    store.release()
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
    get_store().release()
    con = duckdb.connect(str(store_dir / "workbench.duckdb"))
    versions = [
        r[0] for r in con.execute("SELECT version FROM _workbench_migrations ORDER BY version").fetchall()
    ]
    con.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def _framed(path, table, rest):
    """Write a spool file with a valid checksum around ``table`` (whatever it holds)."""
    import hashlib

    import pyarrow as pa
    import pyarrow.ipc as ipc

    from workbench.store.spool import _HEADER, MAGIC

    table = table.replace_schema_metadata({b"workbench_batch": json.dumps(rest).encode()})
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    payload = sink.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        _HEADER.pack(MAGIC, hashlib.sha256(payload).digest(), payload.size) + payload.to_pybytes()
    )
    return path


def _rest(run_id, **over):
    now = int(time.time() * 1000)
    rest = {
        "experiments": {"Default": now},
        "runs": [
            {
                "run_id": run_id,
                "experiment": "Default",
                "run_name": "victim",
                "status": "running",
                "start_time": now,
                "source": "api",
            }
        ],
        "params": [],
        "tags": [],
        "artifacts": [],
        "ends": [[run_id, "finished", now + 1, None]],
        "heartbeats": [],
        "contexts": [],
        "environments": [],
        "created_ms": now,
        "batch_id": "b" * 32,
    }
    rest.update(over)
    return rest


def _points(run_id="c" * 32, key="x", step=0, value=1.0, ts=None, step_type=None):
    import pyarrow as pa

    return pa.table(
        {
            "run_id": pa.array([run_id], pa.dictionary(pa.int32(), pa.string())),
            "key": pa.array([key], pa.string()),
            "step": pa.array([step], step_type or pa.int64()),
            "value": pa.array([value], pa.float64()),
            "timestamp": pa.array([int(time.time() * 1000) if ts is None else ts], pa.int64()),
        }
    )


BAD_CONTENT = {
    "nan value": lambda: (_points(value=float("nan")), _rest("c" * 32)),
    "infinite value": lambda: (_points(value=float("inf")), _rest("c" * 32)),
    "timestamp in year 3000": lambda: (_points(ts=32_503_680_000_000), _rest("c" * 32)),
    "negative timestamp": lambda: (_points(ts=-5), _rest("c" * 32)),
    "step not int64": lambda: (_points(step=1.5, step_type=__import__("pyarrow").float64()), _rest("c" * 32)),
    "bad run id in points": lambda: (_points(run_id="../../x y"), _rest("c" * 32)),
    "empty key": lambda: (_points(key=""), _rest("c" * 32)),
    "lone surrogate in a tag": lambda: (_points(), _rest("c" * 32, tags=[["c" * 32, "t", "bad\udcff"]])),
    "bad run id in a row": lambda: (_points(), _rest("not a run id!")),
    "unknown status": lambda: (_points(), _rest("c" * 32, ends=[["c" * 32, "exploded", 5, None]])),
    "string start time": lambda: (
        _points(),
        _rest("c" * 32, runs=[{**_rest("c" * 32)["runs"][0], "start_time": "yesterday"}]),
    ),
    "param not a triple": lambda: (_points(), _rest("c" * 32, params=[["c" * 32, "a"]])),
    "created_ms far future": lambda: (_points(), _rest("c" * 32, created_ms=10**15)),
}


@pytest.mark.parametrize("case", sorted(BAD_CONTENT))
def test_reliability_1_a_spool_file_holding_invalid_values_is_set_aside_and_the_rest_folds(
    store_dir, case, caplog
):
    from workbench.store.store import Batch

    store = get_store()
    with wb.start_run() as run:
        wb.log_metric("x", 1.0)
    wb.flush()
    table, rest = BAD_CONTENT[case]()
    victim = _framed(store.spool_dir / "00000000000000000001-1-00000001.arrow", table, rest)
    store._spool(Batch(metrics=[(run.run_id, ["y"], [0], [2.0], [time.time()])]))
    with caplog.at_level("WARNING"):
        assert wb.get_run(run.run_id).metrics == {"x": 1.0, "y": 2.0}
    assert [p.name for p in (store.spool_dir / "bad").iterdir()] == [victim.name]
    assert victim.name in caplog.text and "moved to" in caplog.text
    assert list(store.spool_dir.glob("*.arrow")) == []
    df = wb.runs()
    assert list(df["run_id"]) == [run.run_id]  # nothing of the victim was loaded
    assert len(wb.metric_history(list(df["run_id"]))) == 2  # and the store stays readable


def test_reliability_1_the_checksum_is_checked_before_arrow_parses_the_file(store_dir, monkeypatch):
    from workbench.store import spool
    from workbench.store.store import Batch

    store = get_store()
    with wb.start_run() as run:
        pass
    wb.flush()
    path = store._spool(
        Batch(metrics=[(run.run_id, ["y"] * 100, list(range(100)), [1.0] * 100, [time.time()] * 100)])
    )
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    parsed = []
    real = spool._parse_arrow
    monkeypatch.setattr(spool, "_parse_arrow", lambda payload: parsed.append(1) or real(payload))
    wb.runs()
    assert parsed == []  # never handed to Arrow
    assert [p.name for p in (store.spool_dir / "bad").iterdir()] == [path.name]
    # The format: magic, sha256 of the payload, its length, then an Arrow IPC file.
    good = store._spool(Batch(metrics=[(run.run_id, ["z"], [0], [1.0], [time.time()])]))
    raw = good.read_bytes()
    assert raw[:8] == spool.MAGIC and raw[48:54] == b"ARROW1"
    import hashlib

    assert raw[8:40] == hashlib.sha256(raw[48:]).digest()


def test_reliability_2_a_batch_applied_twice_changes_nothing(store_dir):
    # A batch whose commit happened although its write reported an error is retried; the
    # retry (direct, or through the spool) is skipped by its id.
    from workbench.store.store import Batch

    store = get_store()
    with wb.start_run() as run:
        pass
    wb.flush()
    batch = Batch(metrics=[(run.run_id, ["y"] * 10, list(range(10)), [1.0] * 10, [time.time()] * 10)])
    store.write(batch, batch_id="a" * 32)
    store.write(batch, batch_id="a" * 32)
    store._spool(batch, "a" * 32)
    store._spool(batch, "a" * 32)
    assert len(wb.metric_history(run.run_id, "y")) == 10
    assert list(store.spool_dir.glob("*.arrow")) == []
    assert not (store.spool_dir / "bad").exists()


def test_reliability_2_a_transient_error_while_folding_leaves_good_spool_files_in_place(
    store_dir, monkeypatch, caplog
):
    from workbench.store import spool
    from workbench.store.store import Batch

    store = get_store()
    with wb.start_run() as run:
        pass
    wb.flush()
    for i in range(3):
        store._spool(Batch(metrics=[(run.run_id, ["y"], [i], [1.0], [time.time()])]))
    real = spool.apply

    def full_disk(*args, **kwargs):
        raise duckdb.IOException('IO Error: Could not write file "x.wal": No space left on device')

    monkeypatch.setattr(spool, "apply", full_disk)
    with caplog.at_level("WARNING"):
        assert wb.get_run(run.run_id).metrics == {}  # readers still read what is stored
    assert "could not fold the spool" in caplog.text and "No space left" in caplog.text
    assert len(list(store.spool_dir.glob("*.arrow"))) == 3
    assert not (store.spool_dir / "bad").exists()
    # A writer must not write past spooled batches it cannot fold: it fails, one line.
    with pytest.raises(wb.WorkbenchError, match="could not fold the spool") as err:
        store.write(Batch(metrics=[(run.run_id, ["z"], [0], [1.0], [time.time()])]))
    assert "\n" not in str(err.value)
    monkeypatch.setattr(spool, "apply", real)
    assert sorted(wb.metric_history(run.run_id, "y")["step"]) == [0, 1, 2]
    assert not (store.spool_dir / "bad").exists()


def test_reliability_2_rescue_files_in_a_fallback_folder_are_folded_once(store_dir, tmp_path, monkeypatch):
    from workbench.store import spool
    from workbench.store.store import Batch

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    store = get_store()
    store._rescue_dirs = None
    with wb.start_run() as run:
        pass
    wb.flush()
    batches = [
        ("e" * 32, Batch(metrics=[(run.run_id, ["y"] * 5, list(range(5)), [1.0] * 5, [time.time()] * 5)])),
        ("f" * 32, Batch(tags=[(run.run_id, "rescued", "yes")])),
    ]
    fallback = store.rescue_dirs()[1]
    assert str(fallback).startswith(str(tmp_path / "state" / "workbench" / "rescue"))
    # The store's own folder cannot take it (a full disk): the fallback folder does.
    monkeypatch.setattr(spool, "write_rescue", _fail_in(store.directory / "unflushed", spool.write_rescue))
    path = store.rescue(batches)
    assert path.parent == fallback
    copy = tmp_path / "copy.json"
    shutil.copy(path, copy)
    rec = wb.get_run(run.run_id)
    assert rec.tags == {"rescued": "yes"} and len(wb.metric_history(run.run_id, "y")) == 5
    assert not path.exists()
    shutil.copy(copy, path)  # the same rescue file again (a clean-up that never happened)
    assert len(wb.metric_history(run.run_id, "y")) == 5
    assert not path.exists()


def _fail_in(directory, real):
    import errno

    def write(d, *args, **kwargs):
        if d == directory:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(d, *args, **kwargs)

    return write


@pytest.fixture(autouse=True)
def _no_leftover(store_dir):
    yield
    shutil.rmtree(store_dir / "spool" / "bad", ignore_errors=True)
