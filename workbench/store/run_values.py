"""``run_values``: one row per run with its params, latest metrics and tags as maps.

The long tables (``params``, ``tags``, ``metric_series``) stay the record; this table is
derived from them and kept equal to them by every write, in the write's transaction.
A search reads one row per run from it instead of three long tables: filtering,
ordering and spreading into columns then scan 10k rows, not 160k (issue 16: a
filtered, ordered search at 10k runs went from 23 to about 10 ms).

A write that adds or changes values passes the values it left (:func:`touch_values`:
the rows its upsert returned): they are merged into the runs' maps, read and written
by primary key, without reading the long tables. A write that deletes calls
:func:`touch` with its runs, whose rows are then recomputed from the long tables.
Outside a transaction begun with :func:`begin` either happens at once; inside one,
both are collected and :func:`settle` applies them once, just before the COMMIT (an
import of a thousand runs scans each long table once, not a thousand times).
:func:`drift` lists the runs whose row differs from the long tables (tests check it
after every kind of write); :func:`rebuild` recomputes all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "BY_KEY_SQL",
    "RUN_VALUES_DDL",
    "abandon",
    "begin",
    "drift",
    "rebuild",
    "refresh",
    "rows_of",
    "settle",
    "touch",
    "touch_values",
]

RUN_VALUES_DDL = """
-- Derived from params, metric_series and tags (see workbench/store/run_values.py). A
-- run with none of the three has no row.
CREATE TABLE run_values (
    run_id VARCHAR PRIMARY KEY,
    params MAP(VARCHAR, VARCHAR),
    metrics MAP(VARCHAR, DOUBLE),
    tags MAP(VARCHAR, VARCHAR)
);
"""

#: The rows ``run_values`` should hold for the runs ``{runs}`` selects (a subquery of
#: ``run_id``), computed from the long tables.
_COMPUTE = """
SELECT i.run_id, p.m AS params, m.m AS metrics, t.m AS tags
FROM ({runs}) i
LEFT JOIN (SELECT run_id, map(list(key ORDER BY key), list(value ORDER BY key)) AS m
           FROM params WHERE run_id IN ({runs}) GROUP BY run_id) p USING (run_id)
LEFT JOIN (SELECT run_id, map(list(key ORDER BY key), list(value ORDER BY key)) AS m
           FROM metric_series WHERE run_id IN ({runs}) GROUP BY run_id) m USING (run_id)
LEFT JOIN (SELECT run_id, map(list(key ORDER BY key), list(value ORDER BY key)) AS m
           FROM tags WHERE run_id IN ({runs}) GROUP BY run_id) t USING (run_id)
WHERE p.m IS NOT NULL OR m.m IS NOT NULL OR t.m IS NOT NULL
"""

_GIVEN = "SELECT DISTINCT unnest($ids::VARCHAR[]) AS run_id"
_ANY = "SELECT run_id FROM params UNION SELECT run_id FROM metric_series UNION SELECT run_id FROM tags"


#: The rows of the runs bound as one list (found through the primary key's index).
BY_KEY_SQL = (
    "SELECT run_id, params, metrics, tags FROM run_values WHERE run_id IN (SELECT unnest(?::VARCHAR[]))"
)

#: The map columns of ``run_values`` and the type of their values.
_COLUMNS = {"params": "VARCHAR", "metrics": "DOUBLE", "tags": "VARCHAR"}


class _Pending:
    """What a transaction touched: runs to recompute, and values to merge per column."""

    def __init__(self) -> None:
        self.runs: set[str] = set()
        self.values: dict[str, dict[tuple[str, str], Any]] = {c: {} for c in _COLUMNS}


#: Connection (by id) -> what the transaction begun on it touched.
_open: dict[int, _Pending] = {}


def begin(con: duckdb.DuckDBPyConnection) -> None:
    """Collect what is touched on ``con`` until :func:`settle` or :func:`abandon`
    (call it right after BEGIN)."""
    _open[id(con)] = _Pending()


def touch(con: duckdb.DuckDBPyConnection, run_ids: Iterable[str]) -> None:
    """Say that params, tags or metric series of these runs were deleted on ``con``
    (their rows are recomputed from the long tables)."""
    pending = _open.get(id(con))
    if pending is None:
        refresh(con, run_ids)
    else:
        pending.runs.update(run_ids)


def touch_values(con: duckdb.DuckDBPyConnection, column: str, rows: Iterable[tuple[str, str, Any]]) -> None:
    """Say that these keys were written on ``con`` and now hold these values
    (``(run_id, key, value)`` as the table holds them after the write: a series' latest
    value for ``metrics``). ``column``: ``params``, ``metrics`` or ``tags``."""
    pending = _open.get(id(con))
    if pending is None:
        _merge(con, column, {(r, k): v for r, k, v in rows})
    else:
        pending.values[column].update(((r, k), v) for r, k, v in rows)


def settle(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the rows of what was touched since :func:`begin` up to date (call it right
    before COMMIT, inside the transaction)."""
    pending = _open.pop(id(con), None)
    if pending is None:
        return
    if pending.runs:
        refresh(con, pending.runs)
    for column, values in pending.values.items():
        # A recomputed run has these values already.
        rest = {rk: v for rk, v in values.items() if rk[0] not in pending.runs}
        if rest:
            _merge(con, column, rest)


def _merge(con: duckdb.DuckDBPyConnection, column: str, values: dict[tuple[str, str], Any]) -> None:
    """Set these values in the runs' ``column`` maps (a run without a row gets one).

    The runs' rows are read by key, merged here and written back (DELETE and INSERT by
    key): every statement finds its rows through the primary key's index, where an
    UPDATE joined to the new values scanned all of ``run_values`` (11 ms a flush at
    100k runs, against about 2 now).
    """
    import pyarrow as pa

    if not values:
        return
    ids = sorted({r for r, _ in values})
    rows = {run_id: dict(zip(_COLUMNS, maps)) for run_id, maps in rows_of(con, ids).items()}
    for (run_id, key), value in values.items():
        row = rows.setdefault(run_id, dict.fromkeys(_COLUMNS))
        row[column] = {**(row[column] or {}), key: value}
    con.execute("DELETE FROM run_values WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    table = {"run_id": pa.array(ids, pa.string())}
    for name, kind in _COLUMNS.items():
        table[name] = pa.array(
            [None if rows[r][name] is None else sorted(rows[r][name].items()) for r in ids],
            pa.map_(pa.string(), pa.float64() if kind == "DOUBLE" else pa.string()),
        )
    con.register("_rv_new", pa.table(table))
    try:
        con.execute("INSERT INTO run_values SELECT * FROM _rv_new")
    finally:
        con.unregister("_rv_new")


def rows_of(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> dict[str, tuple[Any, Any, Any]]:
    """run_id -> its (params, metrics, tags) maps as dicts, for those of these runs that
    have a row."""
    return {r[0]: r[1:] for r in con.execute(BY_KEY_SQL, [list(run_ids)]).fetchall()}


def abandon(con: duckdb.DuckDBPyConnection) -> None:
    """Forget what was touched since :func:`begin` (the transaction rolled back)."""
    _open.pop(id(con), None)


def refresh(con: duckdb.DuckDBPyConnection, run_ids: Iterable[str]) -> None:
    """Recompute the ``run_values`` rows of these runs from the long tables."""
    ids = sorted(set(run_ids))
    if not ids:
        return
    con.execute("DELETE FROM run_values WHERE run_id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": ids})
    con.execute("INSERT INTO run_values " + _COMPUTE.format(runs=_GIVEN), {"ids": ids})


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every row (a migration's fill, or a repair)."""
    con.execute("DELETE FROM run_values")
    con.execute("INSERT INTO run_values " + _COMPUTE.format(runs=_ANY))


def drift(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The runs whose ``run_values`` row is not what the long tables hold (missing,
    extra or different; the order of a map's keys does not count), sorted; empty when
    the table is right."""
    rows = con.execute(
        "WITH want AS (" + _COMPUTE.format(runs=_ANY) + ") "
        "SELECT coalesce(w.run_id, h.run_id) AS run_id FROM want w FULL JOIN run_values h USING (run_id) "
        "WHERE w.run_id IS NULL OR h.run_id IS NULL "
        "OR list_sort(map_entries(w.params)) IS DISTINCT FROM list_sort(map_entries(h.params)) "
        "OR list_sort(map_entries(w.metrics)) IS DISTINCT FROM list_sort(map_entries(h.metrics)) "
        "OR list_sort(map_entries(w.tags)) IS DISTINCT FROM list_sort(map_entries(h.tags)) ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]
