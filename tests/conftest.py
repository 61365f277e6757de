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
