"""Workbench: experiment tracking for Jupyter, stored in a local DuckDB file.

``import workbench as wb`` gives the tracking and query API; ``%load_ext workbench``
registers the notebook magics. Importing this package loads no heavy dependency
(DuckDB, pandas, pyarrow load on first use).
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

from .api import delete_run, experiments, get_run, metric_history, restore_run, runs
from .bridges import export_mlflow, import_mlflow, import_tensorboard
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
from .tracking import (
    Run,
    active_run,
    end_run,
    flush,
    last_run,
    log_artifact,
    log_metric,
    log_metrics,
    log_model,
    log_param,
    log_params,
    release_store,
    set_store,
    set_tag,
    set_tags,
    start_run,
    use_dataset,
)

if TYPE_CHECKING:
    from .bridges.bundle import export_runs, import_runs
    from .lineage import Lineage, lineage
    from .registry import (
        ModelVersion,
        compare_models,
        delete_model_alias,
        get_model_version,
        load_model,
        models,
        register_model,
        set_model_alias,
    )
    from .rerun import reproduce, rerun, sweep, tune

# Loaded on first use (``wb.sweep``, ``wb.lineage``...), not by ``import workbench``: the
# rerun service, lineage, the registry and bundles were a third of the modules a
# ``workbench runs`` process imported (issue 16: ``runs -n 20`` under 0.4 s).
_LAZY = {
    "export_runs": ".bridges.bundle",
    "import_runs": ".bridges.bundle",
    "Lineage": ".lineage",
    "lineage": ".lineage",
    **dict.fromkeys(
        [
            "ModelVersion",
            "compare_models",
            "delete_model_alias",
            "get_model_version",
            "load_model",
            "models",
            "register_model",
            "set_model_alias",
        ],
        ".registry",
    ),
    **dict.fromkeys(["reproduce", "rerun", "sweep", "tune"], ".rerun"),
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(where, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _sweep_progress(total: int, in_kernel: bool, kind: str = "sweep") -> Any:
    # The rerun service does not import views; this package wires its progress display
    # in, loaded (with ipywidgets) only when a sweep or tune starts.
    from .widgets.progress import progress_display

    return progress_display(total, in_kernel, kind)


class _Package(types.ModuleType):
    """This package. Two submodules share their name with a public function
    (``workbench.lineage``, ``workbench.rerun``): when one is first imported, by whatever
    code, Python binds it as an attribute of this package, where the function must stay.
    The function is bound instead, as ``from .lineage import lineage`` did when they were
    imported with the package; and the rerun service gets its progress display then."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("lineage", "rerun") and isinstance(value, types.ModuleType):
            if name == "rerun":
                value.set_progress_display(_sweep_progress)
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "AmbiguousRunError",
    "FilterSyntaxError",
    "InvalidInputError",
    "Lineage",
    "ModelVersion",
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
    "compare_models",
    "delete_model_alias",
    "delete_run",
    "end_run",
    "experiments",
    "export_mlflow",
    "export_runs",
    "flush",
    "get_model_version",
    "get_run",
    "import_mlflow",
    "import_runs",
    "import_tensorboard",
    "last_run",
    "lineage",
    "load_model",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "metric_history",
    "model_card",
    "models",
    "register_model",
    "reproduce",
    "rerun",
    "restore_run",
    "runs",
    "runs_widget",
    "set_model_alias",
    "release_store",
    "set_store",
    "set_tag",
    "set_tags",
    "start_run",
    "sweep",
    "tune",
    "use_dataset",
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


def model_card(
    ref: str,
    format: str = "md",
    *,
    sections: dict[str, Any] | None = None,
    path: Any = None,
    **kwargs: Any,
) -> str:
    """A model card for a run or a registered model version (``NAME/3``, ``NAME@champion``).

    Filled from what the run recorded (parameters, final metrics and their curves,
    datasets with hashes and profiles, environment, git commit, lineage, registry
    version) and the author's words: a ``%%card`` cell in the notebook, or ``sections``
    (section name -> text). Empty sections are listed as a to-do at the end.

    Parameters
    ----------
    ref
        Run id (or unique prefix) or model reference.
    format
        ``md`` (Hugging Face model card), ``html`` (one self-contained file with charts)
        ``json`` (a Model Card Toolkit v0.0.2 document) or ``record`` (the Workbench
        record the card is built from, as JSON).
    path
        Also write the card to this file.

    Returns
    -------
    str
        The card's text.
    """
    from .card import model_card as _model_card

    return _model_card(ref, format, sections=sections, path=path, **kwargs)
