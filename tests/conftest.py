"""Every test gets its own store directory and working directory; none touches ~ or the repo."""

from __future__ import annotations

import os

import pytest

import workbench as wb
from workbench import tracking

# The real jupyter_server fixtures (jp_fetch...) for tests/server.
pytest_plugins = ("pytest_jupyter.jupyter_server",)

# System metrics are on by default, and a run lasting over a second takes a sample when
# it ends: off for the suite (kernels and servers inherit it), so tests that check a
# run's exact metrics stay exact. tests/unit/test_system_metrics.py turns them on.
os.environ["WORKBENCH_SYSTEM_METRICS"] = "0"


@pytest.fixture(autouse=True)
def store_dir(tmp_path, monkeypatch):
    """A fresh store directory, exported as $WORKBENCH_STORE so subprocesses use it too."""
    d = tmp_path / "store"
    monkeypatch.setenv("WORKBENCH_STORE", str(d))
    monkeypatch.chdir(tmp_path)
    wb.set_store(None)
    yield d
    # Leave no active run behind for the next test.
    while tracking.active_run() is not None:
        tracking.active_run().end("killed")
    try:
        wb.flush()
    finally:
        # Tests that break their store on purpose leave unwritable data behind: drop it.
        tracking.reset()
        wb.set_store(None)
    _check_run_values(tmp_path)


def _check_run_values(root) -> None:
    """Every store a test wrote keeps ``run_values`` equal to its long tables: whatever
    the test did (tracking, imports, bundles, edits, the MLflow bridge, reruns), no
    write path may leave it behind. A store that cannot be opened now (damaged on
    purpose, still held by a process, or older than run_values) is skipped."""
    import duckdb

    from workbench.store import run_values
    from workbench.store.sessions import _kept_stores

    for store in list(_kept_stores):
        store.release()
    for db in sorted(root.rglob("workbench.duckdb"))[:20]:
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.Error:
            continue
        try:
            try:
                drift = run_values.drift(con)
            except duckdb.CatalogException:
                continue
            assert not drift, f"run_values of {db} differs from its long tables for runs {drift[:5]}"
        finally:
            con.close()
