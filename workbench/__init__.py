"""Workbench: experiment tracking for Jupyter, stored in a local DuckDB file.

``import workbench as wb`` gives the tracking and query API; ``%load_ext workbench``
registers the notebook magics. Importing this package loads no heavy dependency
(DuckDB, pandas, pyarrow load on first use).
"""

from __future__ import annotations

from typing import Any

from .api import delete_run, experiments, get_run, metric_history, restore_run, runs
from .errors import (
    AmbiguousRunError,
    FilterSyntaxError,
    InvalidInputError,
    NoActiveRunError,
    RunNotFoundError,
    StoreBusyError,
    StoreCorruptError,
    StoreVersionError,
    WorkbenchError,
)
from .rerun import reproduce, rerun, sweep
from .tracking import (
    Run,
    active_run,
    end_run,
    flush,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_store,
    set_tag,
    set_tags,
    start_run,
)

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "AmbiguousRunError",
    "FilterSyntaxError",
    "InvalidInputError",
    "NoActiveRunError",
    "Run",
    "RunNotFoundError",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreVersionError",
    "WorkbenchError",
    "__version__",
    "active_run",
    "compare",
    "delete_run",
    "end_run",
    "experiments",
    "flush",
    "get_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "metric_history",
    "reproduce",
    "rerun",
    "restore_run",
    "runs",
    "runs_widget",
    "set_store",
    "set_tag",
    "set_tags",
    "start_run",
    "sweep",
]


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%%track`` and ``%wb`` magics (``%load_ext workbench``)."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Detach the magics (``%unload_ext workbench``; ``%reload_ext`` calls it)."""
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The jupyter_server extension (imported only by the server, never by kernels)."""
    from .server.app import WorkbenchApp

    return [{"module": "workbench", "app": WorkbenchApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt JupyterLab extension lives in the package."""
    return [{"src": "labextension", "dest": "jupyterlab-workbench"}]


def compare(run_ids: Any, **kwargs: Any) -> Any:
    """Compare runs in the notebook: parameter diff (differences highlighted), final
    metrics side by side, overlaid metric curves and parallel coordinates.

    Parameters
    ----------
    run_ids
        Run ids or unique prefixes.

    Returns
    -------
    CompareView
        An ipywidgets view (with a static HTML fallback for saved notebooks).
    """
    from .widgets import compare as _compare

    return _compare(run_ids, **kwargs)


def runs_widget(
    filter: str | None = None, order_by: Any = None, experiment: str | None = None, **kwargs: Any
) -> Any:
    """An interactive runs table: filter box (search syntax, errors inline), sortable
    columns, row selection and a Compare button. ``%wb runs`` shows the same."""
    from .widgets import runs_widget as _runs_widget

    return _runs_widget(filter, order_by, experiment, **kwargs)
