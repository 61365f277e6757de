"""Finding the store, its schema version, and refusing stores it must not touch."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

import workbench as wb
from workbench.paths import resolve_store
from workbench.store import SCHEMA_VERSION, get_store


def test_resolution_order(tmp_path, monkeypatch):
    project = tmp_path / "project"
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.delenv("WORKBENCH_STORE")
    # None anywhere: created in the starting directory.
    assert resolve_store(start=str(deep)) == deep / ".workbench"
    # The nearest one walking up wins, like git's .git.
    (project / ".workbench").mkdir()
    assert resolve_store(start=str(deep)) == project / ".workbench"
    # The environment overrides the walk; an explicit path overrides both.
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "env"))
    assert resolve_store(start=str(deep)) == tmp_path / "env"
    assert resolve_store(tmp_path / "arg", start=str(deep)) == tmp_path / "arg"
    assert resolve_store(tmp_path / "arg" / "workbench.duckdb") == tmp_path / "arg"


def test_new_store_records_its_schema_version(store_dir):
    store = get_store()
    assert store.schema_version() == SCHEMA_VERSION
    assert (store_dir / "workbench.duckdb").exists()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_newer_schema_is_refused_and_left_untouched(store_dir):
    import duckdb

    store = get_store()
    store.schema_version()
    store.release()  # the process keeps the file for a moment after a session
    con = duckdb.connect(str(store.db_path))
    con.execute("INSERT INTO _workbench_migrations VALUES (99, 'from the future', current_timestamp)")
    con.close()
    before = _digest(store.db_path)
    with pytest.raises(wb.StoreVersionError, match="schema version 99.*newer Workbench"):
        wb.runs()
    with pytest.raises(wb.StoreVersionError):
        wb.start_run()
    assert _digest(store.db_path) == before


def test_corrupt_store_is_refused_and_left_untouched(store_dir):
    store_dir.mkdir(parents=True)
    db = store_dir / "workbench.duckdb"
    db.write_bytes(b"this is not a database" * 200)
    before = _digest(db)
    with pytest.raises(wb.StoreCorruptError, match="not a readable Workbench store.*left untouched"):
        wb.runs()
    with pytest.raises(wb.StoreCorruptError):
        wb.start_run()
    assert wb.active_run() is None
    assert _digest(db) == before
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "runs"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: ") and "Traceback" not in proc.stderr
    assert _digest(db) == before


def test_store_broken_while_logging_keeps_the_points_in_a_rescue_file(store_dir):
    # The store is fine when the run starts, then becomes unreadable before the last
    # points are written: they are saved beside it at exit, not dropped.
    script = """
import workbench as wb
run = wb.start_run(name="x")
wb.log_metric("early", 1.0)
wb.flush()
db = run.store.db_path
db.write_bytes(b"garbage" * 1000)
for i in range(100):
    wb.log_metric("late", float(i))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "unwritten data was saved to" in proc.stderr, proc.stderr
    rescued = list((store_dir / "unflushed").glob("*.json"))
    assert len(rescued) == 1
    text = rescued[0].read_text()
    assert '"late"' in text and "99.0" in text


def test_duckdb_file_of_another_application_is_refused(store_dir):
    import duckdb

    store_dir.mkdir(parents=True)
    con = duckdb.connect(str(store_dir / "workbench.duckdb"))
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.close()
    with pytest.raises(wb.StoreCorruptError, match="not a Workbench store"):
        wb.runs()


def test_experiments_are_listed_with_counts():
    for exp in ["a", "a", "b"]:
        with wb.start_run(experiment=exp):
            pass
    counts = {e["name"]: e["runs"] for e in wb.experiments()}
    assert counts == {"a": 2, "b": 1}
