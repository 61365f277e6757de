"""Fixtures for the bridges: a fresh Workbench store behind ``workbench:///...``, MLflow's
process-wide state reset after each test."""

from __future__ import annotations

import mlflow  # a missing reference library fails the suite, never skips it
import pytest


def _reset_mlflow() -> None:
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils
    import mlflow.tracking.fluent as fluent

    while mlflow.active_run() is not None:
        mlflow.end_run()
    from workbench.bridges.mlflow_store import flush_all

    flush_all()
    import os

    for var in (
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_EXPERIMENT_NAME",
        "MLFLOW_TRACKING_URI",
        "MLFLOW_REGISTRY_URI",
    ):
        os.environ.pop(var, None)
    tracking_utils._tracking_uri = None
    registry_utils._registry_uri = None
    fluent._active_experiment_id = None


@pytest.fixture
def wb_store(tmp_path, monkeypatch):
    """A Workbench store folder; MLflow's tracking URI points at it."""
    import workbench as wb

    store = tmp_path / "wbstore" / ".workbench"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    wb.set_store(str(store))
    mlflow.set_tracking_uri(f"workbench://{store}")
    yield store
    _reset_mlflow()
    wb.set_store(None)
