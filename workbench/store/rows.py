"""A page of runs as plain Python rows, for callers that print a few runs and must not
pay for pandas (``workbench runs -n 20``: importing pandas alone took 0.3 s of 0.7 s).

Same runs, order and columns as :func:`.queries.wide_runs_query` gives
:meth:`Store.search_runs`; the pivot is done here, in Python, on the ``run_values`` maps
of the selected runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import queries, writes
from .queries import BASE_COLUMNS
from .search import Query, build_query

if TYPE_CHECKING:
    import duckdb

    from .store import Store

__all__ = ["BASE_COLUMNS", "nested_rows", "runs_rows", "wide_rows"]

#: (column prefix, table of run_id, key, value), in the order their columns come.
_SOURCES = queries._WIDE_SOURCES


def runs_rows(
    store: Store,
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    experiment: str | Sequence[str] | None = None,
    include_deleted: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """:meth:`Store.search_runs` as column names and plain tuples (see :func:`wide_rows`),
    in one session of ``store``."""
    query = build_query(filter, order_by)  # parse before touching the store
    with store.session() as con:
        writes.reap_dead_runs(con)
        return wide_rows(con, query, experiment, include_deleted, limit, offset)


def wide_rows(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    experiment: str | Sequence[str] | None,
    include_deleted: bool,
    limit: int | None,
    offset: int,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The runs a query finds, in order: the column names (``BASE_COLUMNS``, then
    ``params.*``, ``metrics.*`` and ``tags.*`` of the keys these runs have, each group
    sorted) and one tuple per run, None where a run lacks a key. Times are epoch ms.

    The selection with each run's ``run_values`` maps (a page: its runs' maps in a second
    query), spread here.
    """
    inline = limit is None
    sql, params = queries._selection(con, query, experiment, include_deleted, limit, offset, values=inline)
    found = con.execute(sql, params).fetchall()
    if not inline:
        found = [(*r, *m) for r, m in zip(found, queries.values_of(con, [r[0] for r in found]))]
    n = len(BASE_COLUMNS)
    names = list(BASE_COLUMNS)
    columns: list[tuple[int, str]] = []
    for i, (prefix, _) in enumerate(_SOURCES):
        keys = sorted({k for r in found if r[n + i] for k in r[n + i]})
        names += [f"{prefix}.{k}" for k in keys]
        columns += [(n + i, k) for k in keys]
    rows = [(*r[:n], *((r[i] or {}).get(k) for i, k in columns)) for r in found]
    return names, rows


def nested_rows(
    names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """:func:`wide_rows`' result as one dict per run, for a caller that sends it on as
    JSON (the panel's page): the base columns, then ``params``, ``metrics`` and ``tags``
    dicts of the keys the run has; with the (sorted) keys of each kind on the page."""
    n = len(BASE_COLUMNS)
    wide = [(i, *name.split(".", 1)) for i, name in enumerate(names) if i >= n]
    keys: dict[str, list[str]] = {prefix: [] for prefix, _ in _SOURCES}
    for _, prefix, key in wide:
        keys[prefix].append(key)
    out = []
    for row in rows:
        d: dict[str, Any] = dict(zip(BASE_COLUMNS, row))
        for prefix in keys:
            d[prefix] = {}
        for i, prefix, key in wide:
            if row[i] is not None:
                d[prefix][key] = row[i]
        out.append(d)
    return out, keys
