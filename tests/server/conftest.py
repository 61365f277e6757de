"""A real jupyter_server with the Workbench extension, per test (pytest-jupyter)."""

from __future__ import annotations

import pytest


@pytest.fixture
def jp_server_config(store_dir):
    """Enable the extension and point it at this test's store."""
    return {
        "ServerApp": {"jpserver_extensions": {"workbench": True}},
        "WorkbenchApp": {"db_path": str(store_dir)},
    }
