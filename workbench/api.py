"""Reading runs back: the query half of the public Python API."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError
from .run_edits import DEFAULT_METRIC_COLUMNS as DEFAULT_METRIC_COLUMNS
from .run_edits import DEFAULT_PARAM_COLUMNS as DEFAULT_PARAM_COLUMNS
from .run_edits import DESCRIPTION_TAG as DESCRIPTION_TAG
from .run_edits import MAX_DESCRIPTION as MAX_DESCRIPTION
from .run_edits import MAX_TAG_KEY as MAX_TAG_KEY
from .run_edits import MAX_TAG_VALUE as MAX_TAG_VALUE
from .run_edits import NOTEBOOK_COPIES as NOTEBOOK_COPIES
from .run_edits import OBJECTIVE_TAG as OBJECTIVE_TAG
from .run_edits import PROTECTED_TAG_PREFIXES as PROTECTED_TAG_PREFIXES
from .run_edits import PROTECTED_TAGS as PROTECTED_TAGS
from .run_edits import SWEEP_TAGS as SWEEP_TAGS
from .run_edits import (
    artifact_file,
    deleted_run_ids,
    describe_columns,
    get_run,
    notebook_copy,
    open_store,
    run_columns,
    run_tags,
    set_run_description,
    set_run_tags,
)
from .run_edits import check_text as _check_text
from .store.lock import limit_wait
from .store.rows import runs_rows as _runs_rows
from .store.store import Store

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "artifact_file",
    "delete_run",
    "deleted_run_ids",
    "describe_columns",
    "experiments",
    "get_run",
    "iter_runs",
    "limit_store_wait",
    "metric_history",
    "notebook_copy",
    "open_store",
    "restore_run",
    "run_columns",
    "run_tags",
    "runs",
    "runs_rows",
    "set_run_description",
    "set_run_tags",
]

# Within ``with limit_store_wait(seconds):`` this thread waits at most that long for a
# store another process holds, then gets StoreBusyError (the server's 503).
limit_store_wait = limit_wait


def _check_search(filter: Any, order_by: Any, experiment: Any, limit: Any) -> None:
    """The checks :func:`runs`, :func:`iter_runs` and :func:`runs_rows` share."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInputError(f"limit must be a non-negative integer, got {limit!r}")
    _check_text("filter", filter, many=False)
    _check_text("order_by", order_by)
    _check_text("experiment", experiment)


def runs(
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    experiment: str | Sequence[str] | None = None,
    *,
    include_deleted: bool = False,
    limit: int | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> pd.DataFrame:
    """Search runs; one row per run, shaped like MLflow's ``search_runs``.

    Parameters
    ----------
    filter
        MLflow's search grammar plus ``OR`` and parentheses, e.g.
        ``"metrics.rmse < 55 and params.model = 'ridge'"``,
        ``"attributes.status = 'FINISHED'"``, ``"tags.team IN ('a', 'b')"``.
    order_by
        E.g. ``["metrics.rmse ASC"]`` or ``"metrics.rmse ASC, params.alpha DESC"``.
        Default: newest first.
    experiment
        Restrict to one experiment name (or a list of names).
    include_deleted
        Include soft-deleted runs.
    limit
        At most this many rows.
    store
        A store directory; by default the current one.

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id, run_name, experiment, status, start_time, end_time, source,
        parent_run_id`` then ``params.<name>`` (strings), ``metrics.<name>`` (latest
        value, float) and ``tags.<name>``.

    Raises
    ------
    FilterSyntaxError
        The filter or order_by does not parse (the message shows where).
    """
    _check_search(filter, order_by, experiment, limit)
    return open_store(store).search_runs(filter, order_by, experiment, include_deleted, limit)


def iter_runs(
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    experiment: str | Sequence[str] | None = None,
    *,
    include_deleted: bool = False,
    limit: int | None = None,
    batch_rows: int = 8192,
    store: str | os.PathLike[str] | Store | None = None,
) -> Iterator[pd.DataFrame]:
    """:func:`runs` as consecutive DataFrames of at most about ``batch_rows`` rows, read
    from the store as they are consumed, so memory stays flat for any number of runs
    (the CLI's CSV export). Every batch has the same columns; the first comes even when
    no run matches. Bad input raises at the first ``next()``, before any batch.

    The store is held until the iterator is exhausted or closed.
    """
    _check_search(filter, order_by, experiment, limit)
    return open_store(store).iter_runs(filter, order_by, experiment, include_deleted, limit, batch_rows)


def runs_rows(
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    experiment: str | Sequence[str] | None = None,
    *,
    include_deleted: bool = False,
    limit: int | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """:func:`runs` as plain Python rows, without pandas: the column names (those of
    :func:`runs`) and one tuple per run, None where a run lacks a key, ``start_time``
    and ``end_time`` in epoch milliseconds. For printing a few runs from a fresh process
    (``workbench runs -n 20``), where importing pandas would cost more than the query.

    Raises
    ------
    FilterSyntaxError, InvalidInputError
        As :func:`runs`.
    """
    _check_search(filter, order_by, experiment, limit)
    return _runs_rows(open_store(store), filter, order_by, experiment, include_deleted, limit)


def metric_history(
    run_ids: str | Sequence[str],
    key: str | Sequence[str] | None = None,
    *,
    store: str | os.PathLike[str] | Store | None = None,
) -> pd.DataFrame:
    """Every logged point of metric ``key`` for the given runs.

    Parameters
    ----------
    run_ids
        One run id (or prefix) or a list of them.
    key
        A metric name, a list of names, or None for all metrics.

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id, key, step, value, timestamp``, in the order of ``run_ids``,
        then by key and step.
    """
    _check_text("run_ids", run_ids, optional=False)
    _check_text("key", key)
    s = open_store(store)
    ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    if not ids:
        raise InvalidInputError("metric_history needs at least one run id")
    keys: list[str] | None
    if key is None:
        keys = None
    elif isinstance(key, str):
        keys = [key]
    else:
        keys = list(key)
        if not all(isinstance(k, str) for k in keys):
            raise InvalidInputError(f"metric keys must be strings, got {key!r}")
    # One session resolves the prefixes and reads the points.
    return s.metric_history(ids, keys)


def experiments(*, store: str | os.PathLike[str] | Store | None = None) -> list[dict[str, Any]]:
    """Experiments with their number of (non-deleted) runs."""
    return open_store(store).experiments()


def delete_run(run_id: str, *, store: str | os.PathLike[str] | Store | None = None) -> str:
    """Soft-delete a run (hidden from searches, kept whole; :func:`restore_run` undoes it).

    Returns the full run id.
    """
    s = open_store(store)
    full = s.resolve_run_id(run_id)
    s.set_deleted(full, True)
    return full


def restore_run(run_id: str, *, store: str | os.PathLike[str] | Store | None = None) -> str:
    """Undo :func:`delete_run`. Returns the full run id."""
    s = open_store(store)
    full = s.resolve_run_id(run_id)
    s.set_deleted(full, False)
    return full
