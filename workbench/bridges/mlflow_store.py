"""MLflow's tracking store, backed by a Workbench store: ``mlflow.set_tracking_uri("workbench:")``.

MLflow finds this class through the ``mlflow.tracking_store`` entry point for the
``workbench`` scheme. Runs logged through MLflow's fluent API, its client or any of its
autologging integrations land in the Workbench store as Workbench runs, and Workbench's
own runs read back through MLflow.

Logging (``log_metric``, ``log_param``, ``set_tag``, ``log_batch``) is validated at once,
as MLflow validates it, and written in batches: within a second, before any read through
this store, when a run ends, and at exit. Everything else is written before it returns.
Methods MLflow's store defines and this one does not support raise
:class:`WorkbenchNotSupported`, an ``MlflowException`` with MLflow's ``NOT_IMPLEMENTED``
code that is also a ``NotImplementedError``.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.tracking.abstract_store import AbstractStore

from ..errors import InvalidInputError
from . import _common
from ._common import DEFAULT_EXPERIMENT, store_for_uri

# The parts of the store, one module each; their names are re-exported here, where
# MLflow's entry point, the other bridges and the tests have always found them.
from .mlflow_buffer import FLUSH_INTERVAL_S, FLUSH_POINTS, buffer_for, flush_all
from .mlflow_convert import dataset_input, dataset_row, mlflow_tags, record_model_artifact
from .mlflow_experiments import ExperimentsMixin
from .mlflow_logged_models import LoggedModelsMixin
from .mlflow_logging import LoggingMixin
from .mlflow_runs import RunsMixin
from .mlflow_store_base import StoreBase, WorkbenchNotSupported, mlflow_error, not_found

__all__ = ["WorkbenchNotSupported", "WorkbenchStore"]

# The names these had before the store was split into modules.
_mlflow_tags = mlflow_tags
_dataset_row = dataset_row
_dataset_input = dataset_input
_not_found = not_found
_mlflow_error = mlflow_error
_buffer_for = buffer_for


class WorkbenchStore(ExperimentsMixin, RunsMixin, LoggingMixin, LoggedModelsMixin, AbstractStore):
    """MLflow's ``AbstractStore`` over a Workbench store.

    Parameters
    ----------
    store_uri
        ``workbench:`` (the store Workbench would use here) or
        ``workbench:///abs/path/.workbench``.
    artifact_uri
        Ignored: artifacts always go to the Workbench store's content-addressed folder.
    """

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None) -> None:
        super().__init__()
        try:
            self.store = store_for_uri(store_uri)
        except InvalidInputError as e:
            raise MlflowException(str(e), INVALID_PARAMETER_VALUE) from None
        self.store_uri = _common.store_uri(self.store)
        self._buffer = _buffer_for(self.store)
        # run_id -> (experiment name, deleted, params): what logging checks against.
        self._runs: dict[str, dict[str, Any]] = {}
        self._runs_lock = threading.Lock()
        _live.add(self)

    def __repr__(self) -> str:
        return f"WorkbenchStore({self.store_uri!r})"


#: Every live store, so tests and exit can flush them all.
_live: weakref.WeakSet[WorkbenchStore] = weakref.WeakSet()

# Base-class methods that work through the methods above.
_INHERITED = {
    "log_metric",
    "log_param",
    "log_metric_async",
    "log_param_async",
    "set_tag_async",
    "log_batch_async",
    "end_async_logging",
    "flush_async_logging",
    "shut_down_async_logging",
    "search_runs",
    "get_metric_history_bulk_interval_from_steps",
    "get_metric_history_bulk_interval",
    "set_model_versions_tags",
    "supports_workspaces",
    "supports_trace_archival",
}


def _unsupported(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise WorkbenchNotSupported(name)

    method.__name__ = name
    method.__doc__ = f"Not supported by the Workbench store (raises WorkbenchNotSupported): {name}."
    return method


def _defines(cls: type, base: type, name: str) -> bool:
    """Whether ``cls`` defines ``name`` itself or through a mixin (not through ``base``)."""
    return any(name in k.__dict__ for k in cls.__mro__ if not issubclass(base, k))


def install_unsupported(cls: type, base: type, keep: set[str]) -> None:
    """Make every public method of ``base`` that ``cls`` does not define raise
    :class:`WorkbenchNotSupported`, naming it."""
    for name in dir(base):
        if name.startswith("_") or name in keep or _defines(cls, base, name):
            continue
        if isinstance(getattr(base, name, None), property) or not callable(getattr(base, name, None)):
            continue
        setattr(cls, name, _unsupported(name))


install_unsupported(WorkbenchStore, AbstractStore, _INHERITED)
WorkbenchStore.__abstractmethods__ = frozenset()


def get_store(store_uri: str | None = None, artifact_uri: str | None = None) -> WorkbenchStore:
    """Entry point for ``mlflow.tracking_store``: the store for a ``workbench:`` URI."""
    return WorkbenchStore(store_uri, artifact_uri)


_ = DEFAULT_EXPERIMENT  # re-exported name kept for readers of this module
_ = (FLUSH_INTERVAL_S, FLUSH_POINTS, flush_all, record_model_artifact, StoreBase)  # re-exported
