"""The tracking API: start a run, log to it, end it.

``wb.start_run`` makes a :class:`Run` active; the module-level ``log_*`` functions log to
the innermost active run. A logging call validates its input and appends to the run's
in-memory buffer: no I/O, about a microsecond. A background thread per store writes what
has accumulated in one transaction: every second, as soon as a run ends, when a run's
buffer passes ``FLUSH_POINTS``, and at interpreter exit. ``flush()`` writes synchronously.

The package's modules: :mod:`.run` (the Run), :mod:`.points` (its buffer),
:mod:`.writer` (group commit, rescue at exit), :mod:`.files` (files a run opened),
:mod:`.lifecycle` (active runs, writers, exit and fork, ``reset()`` for tests),
:mod:`.context` and :mod:`.autolog` (what ``%%track`` records), :mod:`.model_io`.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..env import WORKBENCH_PARENT_RUN_ID, WORKBENCH_SOURCE, WORKBENCH_TAGS, WORKBENCH_WATCH_FILES
from ..errors import InvalidInputError, NoActiveRunError
from ..store import Store, get_store
from . import system_metrics as _system_metrics
from .files import SYNC_HASH_BYTES, wait_for_file_records
from .lifecycle import active_runs as _stack
from .lifecycle import before_final_flush, reset, writer_for, writers
from .run import DEFAULT_EXPERIMENT, STATUSES, Run, check_status, check_text, create_run
from .writer import FLUSH_INTERVAL_S, FLUSH_POINTS, GROUP_COMMIT_S, HEARTBEAT_S, MAX_BUFFERED_POINTS

__all__ = [
    "DEFAULT_EXPERIMENT",
    "FLUSH_INTERVAL_S",
    "FLUSH_POINTS",
    "GROUP_COMMIT_S",
    "HEARTBEAT_S",
    "MAX_BUFFERED_POINTS",
    "STATUSES",
    "SYNC_HASH_BYTES",
    "Run",
    "active_run",
    "before_final_flush",
    "current_store",
    "end_run",
    "flush",
    "last_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "reset",
    "release_store",
    "set_store",
    "set_tag",
    "set_tags",
    "start_run",
    "use_dataset",
    "wait_for_file_records",
    "writer_for",
]

_last_run: Run | None = None
_store_override: str | None = None


def current_store() -> Store:
    """The store new runs go to: ``set_store``'s, else the one ``resolve_store`` finds."""
    return get_store(_store_override)


def set_store(path: str | os.PathLike[str] | None) -> Path:
    """Use the store in directory ``path`` for the runs started from now on.

    ``None`` goes back to the default rule ($WORKBENCH_STORE, then the nearest
    ``.workbench/`` walking up from the working directory).

    Returns
    -------
    Path
        The store directory now in use.
    """
    global _store_override
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise InvalidInputError(f"set_store takes a directory path, got {type(path).__name__}")
    _store_override = None if path is None else os.fspath(path)
    return current_store().directory


def release_store(path: str | os.PathLike[str] | None = None) -> None:
    """Make this process let go of a store's DuckDB file now (by default the current one).

    After each use a process keeps the file attached for ``$WORKBENCH_LINGER_MS``
    (default 250 ms) so its next read starts warm; other Workbench processes get it as
    soon as they ask. Call this before opening the file with ``duckdb.connect`` in the
    same process, which DuckDB refuses while the file is attached.
    """
    (current_store() if path is None else get_store(path)).release()


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    nested: bool = False,
    source: str | None = None,
    parent_run_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    watch_files: bool | None = None,
    system_metrics: bool | None = None,
) -> Run:
    """Start a run and make it the active one.

    Use it as a context manager (``with wb.start_run(): ...``) to end the run
    automatically: ``finished`` normally, ``failed`` (with the traceback) on an exception,
    ``killed`` on KeyboardInterrupt. Otherwise call :func:`end_run`.

    Parameters
    ----------
    name
        Run name; a readable random one (``swift-otter-412``) by default.
    experiment
        Experiment name; ``"Default"`` by default.
    params, tags
        Initial parameters and tags.
    nested
        Allow starting while another run is active; the new run's parent is that run.
    source
        What started the run (``api``, ``magic``, ``rerun``, ``sweep``); by default
        ``$WORKBENCH_SOURCE`` or ``api``.
    parent_run_id
        The run this one derives from; by default ``$WORKBENCH_PARENT_RUN_ID``.
    context
        Extra run context columns (notebook path, git state, ...), used by the magics.
    watch_files
        Note the files the run opens from Python and record them (hashed) as inputs
        and outputs when it ends, for lineage. On unless ``$WORKBENCH_WATCH_FILES=0``.
    system_metrics
        Sample CPU, memory, disk, network and GPU every
        ``$WORKBENCH_SYSTEM_METRICS_INTERVAL`` seconds (10) while the run is active, as
        ``system/...`` metrics under MLflow's names. On unless
        ``$WORKBENCH_SYSTEM_METRICS=0``.

    Returns
    -------
    Run
        The new active run.

    Raises
    ------
    InvalidInputError
        A run is already active and ``nested`` is false, or an argument has the wrong type.
    """
    if _stack and not nested:
        cur = _stack[-1]
        raise InvalidInputError(
            f"run {cur.run_name} ({cur.run_id[:8]}) is still active; end it with wb.end_run() "
            "first, or pass nested=True to start a child run"
        )
    for label, val in (("name", name), ("experiment", experiment)):
        if val is not None and (not isinstance(val, str) or not val.strip()):
            raise InvalidInputError(f"run {label} must be a non-empty string, got {val!r}")
        if val is not None:
            check_text(f"run {label}", val)
    store = current_store()
    writer = writer_for(store)
    if writer.error is not None:
        warnings.warn(
            f"Workbench's last write to {store.directory} failed ({writer.error}); retrying",
            RuntimeWarning,
            stacklevel=2,
        )
    if parent_run_id is None:
        parent_run_id = (
            _stack[-1].run_id if nested and _stack else os.environ.get(WORKBENCH_PARENT_RUN_ID) or None
        )
    source = source or os.environ.get(WORKBENCH_SOURCE) or "api"
    env_tags = _env_tags()
    if env_tags:
        tags = {**env_tags, **(tags or {})}
    if watch_files is None:
        watch_files = os.environ.get(WORKBENCH_WATCH_FILES, "1") != "0"
    run = create_run(writer, name, experiment, parent_run_id, source, params, tags, context, watch_files)
    if _system_metrics.enabled(system_metrics):
        _system_metrics.attach(run, writer)
    global _last_run
    if not _stack:  # a nested run's card is its outer run's
        _last_run = run
    _stack.append(run)
    return run


def _env_tags() -> dict[str, str]:
    # Tags a rerun/sweep gives every run of the notebook it executes (sweep_id, job id).
    raw = os.environ.get(WORKBENCH_TAGS)
    if not raw:
        return {}
    try:
        tags = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def last_run() -> Run | None:
    """The run started most recently in this process (active or ended), or None."""
    return _last_run


def active_run() -> Run | None:
    """The innermost active run, or None."""
    return _stack[-1] if _stack else None


def end_run(status: str = "finished") -> None:
    """End the active run with ``status`` (``finished``, ``failed`` or ``killed``).

    Returns at once; the background writer commits the run within milliseconds, and
    :func:`flush` waits for it.

    Raises
    ------
    NoActiveRunError
        No run is active.
    InvalidInputError
        ``status`` is not one of the accepted values.
    """
    status = check_status(status)
    if not _stack:
        raise NoActiveRunError("end a run")
    _stack[-1].end(status)


def _active(what: str) -> Run:
    if not _stack:
        raise NoActiveRunError(what)
    return _stack[-1]


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Record one value of a metric in the active run (see :meth:`Run.log_metric`).

    Costs about a microsecond: the value is buffered and written in batches.

    Raises
    ------
    NoActiveRunError
        No run is active.
    InvalidInputError
        Non-string key, non-numeric/NaN/infinite value or non-integer step.
    """
    if not _stack:
        raise NoActiveRunError(f"log metric {key!r}")
    _stack[-1].log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Record several metrics in the active run, all at the same step."""
    _active("log metrics").log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    """Record a parameter of the active run (stored as a string)."""
    _active(f"log param {key!r}").log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Record several parameters of the active run."""
    _active("log params").log_params(params)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _active(f"set tag {key!r}").set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run."""
    _active("set tags").set_tags(tags)


def log_artifact(path: str | os.PathLike[str], kind: str = "file", name: str | None = None) -> str:
    """Copy a file or directory into the store as an output of the active run.

    Returns
    -------
    str
        The file's sha256 (content address).
    """
    return _active("log an artifact").log_artifact(path, kind, name)


def use_dataset(data: Any, name: str | None = None, *, role: str | None = None, profile: bool = True) -> str:
    """Record a dataset (file path or DataFrame) the active run reads, with its content
    hash and a DuckDB column profile; see :meth:`Run.use_dataset`. Returns the hash."""
    return _active("record a dataset").use_dataset(data, name, role=role, profile=profile)


def log_model(model: Any, name: str | None = None) -> str:
    """Save a model (object or saved file/directory) as an output of the active run;
    see :meth:`Run.log_model`. Returns its sha256."""
    return _active("log a model").log_model(model, name)


def flush(store: Store | None = None) -> None:
    """Write everything buffered in this process (for ``store``, or every store) now.

    Raises
    ------
    WorkbenchError
        The store cannot be written (``StoreWriteError``: disk full, read-only...;
        ``StoreCorruptError``, ``StoreVersionError``), in one line; the data stays
        buffered and is retried, each batch applied at most once.
    """
    wait_for_file_records()
    for w in writers():
        if store is None or w.store is store:
            w.flush()
