"""Reading runs: id resolution, search, one run in full, metric histories and series.

Each function takes a connection from :meth:`Store.session` and runs its queries there;
shaping results into DataFrames is left to the caller, outside the lock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import AmbiguousRunError, InvalidInputError, RunNotFoundError
from . import run_values
from .blocks import block_buckets, blocks_layout, covered_sids
from .points import POINT_VALUE
from .records import CONTEXT_COLUMNS, RunRecord
from .search import VALUES_JOIN, Query, prepare_session
from .sql import int_list, rows_as_dicts

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = [
    "ALL_ROWS",
    "BASE_COLUMNS",
    "artifact_dicts",
    "wide_frame",
    "wide_runs_frame",
    "wide_runs_query",
    "count_runs",
    "environment",
    "experiments",
    "get_run",
    "metric_buckets",
    "metric_history",
    "resolve_run_id",
    "resolve_run_ids",
    "runs_frame",
    "select_runs",
    "series_from_buckets",
]


def resolve_run_id(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """The full run id for an id or unique prefix.

    Raises
    ------
    InvalidInputError, RunNotFoundError, AmbiguousRunError
    """
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInputError(f"a run id must be a non-empty string, got {ref!r}")
    ref = ref.strip()
    rows = con.execute(
        "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id LIMIT 11", [ref]
    ).fetchall()
    exact = [r[0] for r in rows if r[0] == ref]
    if exact:
        return exact[0]
    if not rows:
        raise RunNotFoundError(ref)
    if len(rows) > 1:
        raise AmbiguousRunError(ref, [r[0] for r in rows])
    return rows[0][0]


def resolve_run_ids(con: duckdb.DuckDBPyConnection, refs: Sequence[str]) -> list[str]:
    """:func:`resolve_run_id` of each ref, in order: full ids in one query (a prefix
    lookup per id scans the runs table each time), the rest one by one."""
    exact_refs = [r.strip() for r in refs if isinstance(r, str) and r.strip()]
    exact = {
        r[0]
        for r in con.execute(
            "SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [exact_refs]
        ).fetchall()
    }
    return [
        ref.strip() if isinstance(ref, str) and ref.strip() in exact else resolve_run_id(con, ref)
        for ref in refs
    ]


def _run_conditions(
    query: Query, experiment: str | Sequence[str] | None, include_deleted: bool
) -> tuple[str, list[Any]]:
    """The WHERE clause (over ``runs r``) shared by searching and counting runs."""
    where, params = [f"({query.where})"], list(query.where_params)
    if not include_deleted:
        where.append("r.deleted_at IS NULL")
    if experiment is not None:
        where.append("r.experiment IN (SELECT unnest(?::VARCHAR[]))")
        params.append([experiment] if isinstance(experiment, str) else list(experiment))
    return " AND ".join(where), params


#: The run columns every wide read starts with, as :meth:`Store.search_runs` names them.
BASE_COLUMNS = (
    "run_id",
    "run_name",
    "experiment",
    "status",
    "start_time",
    "end_time",
    "source",
    "parent_run_id",
)


#: The wide columns' sources: (column prefix, table of run_id, key, value); the prefix is
#: also the name of the source's map column in ``run_values``.
_WIDE_SOURCES = (("params", "params"), ("metrics", "latest_metrics"), ("tags", "tags"))


def _select(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    experiment: str | Sequence[str] | None,
    include_deleted: bool,
    limit: int | None,
    offset: int,
) -> None:
    """Put the runs a query finds, in order (``_ord``), in the session's ``_sel`` table."""
    sql, params = _selection(con, query, experiment, include_deleted, limit, offset)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _sel AS SELECT row_number() OVER () AS _ord, * FROM ({sql})", params
    )


def _selection(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    experiment: str | Sequence[str] | None,
    include_deleted: bool,
    limit: int | None,
    offset: int,
    values: bool = False,
) -> tuple[str, list[Any]]:
    """The SQL (and its parameters) of the runs a query finds, ``BASE_COLUMNS`` in order
    (then, with ``values``, their params, latest metrics and tags as three maps: the
    columns of ``run_values``); prepares the session for it.

    Ask for ``values`` only without a ``limit``: the join comes before the ORDER BY, so a
    page of 200 of 100k runs would read the maps of all 100k (:func:`values_of` reads
    those of a page's runs).
    """
    where, params = _run_conditions(query, experiment, include_deleted)
    prepare_session(con, query)
    page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    cols = ", ".join(f"r.{c}" for c in BASE_COLUMNS)
    source = query.source
    if values:
        cols += ", " + ", ".join(f"v.{prefix}" for prefix, _ in _WIDE_SOURCES)
        source = f"runs r {VALUES_JOIN}"
    sql = f"SELECT {cols} FROM {source} WHERE {where} ORDER BY {query.order}{page}"
    return sql, params + query.order_params


def select_runs(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    experiment: str | Sequence[str] | None,
    include_deleted: bool,
    limit: int | None,
    offset: int,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The runs a query finds, in order, and their params, latest metrics and tags in long
    form (``{"params": df, "metrics": df, "tags": df}``); :func:`runs_frame` joins them."""
    _select(con, query, experiment, include_deleted, limit, offset)
    base = con.execute("SELECT * FROM _sel ORDER BY _ord").df()
    wide = {
        prefix: con.execute(f"SELECT t.run_id, t.key, t.value FROM {table} t JOIN _sel USING (run_id)").df()
        for prefix, table in (("params", "params"), ("metrics", "latest_metrics"), ("tags", "tags"))
    }
    con.execute("DROP TABLE _sel")
    return base, wide


def wide_runs_query(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    experiment: str | Sequence[str] | None,
    include_deleted: bool,
    limit: int | None,
    offset: int,
) -> tuple[str, list[Any], list[str]]:
    """Select the runs a query finds into the session's ``_sel`` table and return the
    SQL (with its parameters and column names) that reads them as :func:`runs_frame`
    shapes them, pivoted inside DuckDB: one row per run, in order. The SQL takes the
    range ``lo, hi`` of rows to read (1-based, ``lo`` excluded; :data:`ALL_ROWS` for
    all) before the returned parameters.

    The pivot in DuckDB costs what a raw DuckDB pivot costs, where pivoting long rows in
    pandas cost 2-4x more (issue 16), and the result can be streamed in batches. Columns
    are aliased by position: keys differing only in case are distinct keys, while SQL
    identifiers are not.
    """
    _select(con, query, experiment, include_deleted, limit, offset)
    found = con.execute(
        " UNION ALL ".join(
            f"SELECT DISTINCT {i} AS src, key FROM {table} JOIN _sel USING (run_id)"
            for i, (_, table) in enumerate(_WIDE_SOURCES)
        )
    ).fetchall()
    names = list(BASE_COLUMNS)
    cols, joins, keys_params = [f"s.{c}" for c in names], [], []
    for i, (prefix, table) in enumerate(_WIDE_SOURCES):
        keys = sorted(k for src, k in found if src == i)
        if not keys:
            continue
        aggs = ", ".join(f"first(value) FILTER (WHERE key = ?) AS c{j}" for j in range(len(keys)))
        keys_params += keys
        joins.append(
            f"LEFT JOIN (SELECT run_id, {aggs} FROM {table} JOIN s USING (run_id) GROUP BY run_id) "
            f"w{i} USING (run_id)"
        )
        cols += [f"w{i}.c{j}" for j in range(len(keys))]
        names += [f"{prefix}.{k}" for k in keys]
    # Rows ``lo < _ord <= hi`` only: a stream reads the runs a range at a time, so
    # neither DuckDB nor pandas ever holds the whole result (the ORDER BY alone would
    # make DuckDB materialize all of it).
    sql = (
        "WITH s AS (SELECT * FROM _sel WHERE _ord > ? AND _ord <= ?) "
        f"SELECT {', '.join(cols)} FROM s {' '.join(joins)} ORDER BY s._ord"
    )
    return sql, keys_params, names


def values_of(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> list[tuple[Any, Any, Any]]:
    """The ``run_values`` maps (params, metrics, tags) of these runs, in their order;
    ``(None, None, None)`` for a run without a row."""
    found = run_values.rows_of(con, run_ids)
    return [found.get(r, (None, None, None)) for r in run_ids]


def wide_runs_frame(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    experiment: str | Sequence[str] | None,
    include_deleted: bool,
    limit: int | None,
    offset: int,
) -> pd.DataFrame:
    """The runs a query finds, one row each in order, shaped as :func:`wide_frame`
    shapes :func:`wide_runs_query`'s result, for a caller that wants them all at once.

    One query: the selection with each run's ``run_values`` maps, straight into Arrow
    (a page: its runs' maps in a second one); the maps are spread into columns in Arrow
    (:mod:`.pivot`) and the DataFrame is made once. Reading params, latest metrics and
    tags from their long tables (one scan of each, joined to the selection) cost 8 ms
    more at 10k runs (issue 16).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from .pivot import spread

    inline = limit is None
    sql, params = _selection(con, query, experiment, include_deleted, limit, offset, values=inline)
    # ``con.sql``: Arrow from ``execute`` copies every row (DuckDB warns). The caller
    # leaves no unfetched result on ``con`` (``Store._wide_runs`` reaps with fetchall).
    base = con.sql(sql, params=params).to_arrow_table()
    n = base.num_rows
    maps = base
    if not inline:
        ids = base.column("run_id").to_pylist()
        maps = con.sql(run_values.BY_KEY_SQL, params=[ids]).to_arrow_table()
        maps = maps.take(pc.index_in(base.column("run_id"), value_set=maps.column("run_id")))
    columns: dict[str, Any] = {}
    for name in BASE_COLUMNS:
        column = base.column(name)
        if name in ("start_time", "end_time"):
            column = column.cast(pa.timestamp("ms", tz="UTC")).cast(pa.timestamp("us", tz="UTC"))
        columns[name] = column
    for prefix, _ in _WIDE_SOURCES:
        column = maps.column(prefix).combine_chunks()
        # As a list of (key, value) structs, which Arrow's list kernels take.
        column = column.cast(pa.list_(pa.struct([("key", pa.string()), ("value", column.type.item_type)])))
        entries = pc.list_flatten(column)
        rows = pa.table(
            {
                "_ord": pc.add(pc.list_parent_indices(column), 1),
                "key": entries.field("key"),
                "value": entries.field("value"),
            }
        )
        for key, column in spread(n, rows):
            columns[f"{prefix}.{key}"] = column
    df = pa.table(columns).to_pandas()
    # As DuckDB's own DataFrames have it (what this returned before): a text column of
    # the run itself with no value at all (parent_run_id, mostly) holds None, not NaN.
    for name in BASE_COLUMNS:
        kind = base.schema.field(name).type
        if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and base.column(name).null_count == n:
            df[name] = np.full(n, None, dtype=object)
    return df


#: ``wide_runs_query``'s range covering every selected run.
ALL_ROWS = (0, 2**62)


def wide_frame(df: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """A :func:`wide_runs_query` result (or one batch of it) with its column names and
    times as :func:`runs_frame` gives them."""
    import pandas as pd

    df.columns = list(names)
    for col in ("start_time", "end_time"):
        df[col] = pd.to_datetime(df[col], unit="ms", utc=True)
    return df


def runs_frame(base: pd.DataFrame, long: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per run with ``params.*``, ``metrics.*`` and ``tags.*`` columns, as MLflow's
    ``search_runs`` shapes it."""
    import pandas as pd

    base = base.drop(columns="_ord")
    for col in ("start_time", "end_time"):
        base[col] = pd.to_datetime(base[col], unit="ms", utc=True)
    frames = [base.set_index("run_id")]
    for prefix, rows in long.items():
        if len(rows):
            w = rows.pivot(index="run_id", columns="key", values="value")
            w.columns = [f"{prefix}.{k}" for k in w.columns]
            frames.append(w.reindex(sorted(w.columns), axis=1))
    out = frames[0].join(frames[1:]) if len(frames) > 1 else frames[0]
    return out.reset_index()


def count_runs(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    experiment: str | Sequence[str] | None,
    include_deleted: bool,
) -> int:
    """How many runs :func:`select_runs` would find without a limit."""
    where, params = _run_conditions(query, experiment, include_deleted)
    prepare_session(con, query)
    return con.execute(f"SELECT count(*) FROM {query.source} WHERE {where}", params).fetchone()[0]


def artifact_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """Artifact rows as dicts, their JSON ``meta`` (when selected) parsed."""
    rows = rows_as_dicts(con.execute(sql, params))
    for row in rows:
        if "meta" in row:
            row["meta"] = json.loads(row["meta"]) if row["meta"] else {}
    return rows


def get_run(con: duckdb.DuckDBPyConnection, run_id: str) -> RunRecord:
    """Everything recorded about the run with this full id."""
    row = rows_as_dicts(con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]))[0]
    params, metrics, tags = (
        dict(
            con.execute(f"SELECT key, value FROM {table} WHERE run_id = ? ORDER BY key", [run_id]).fetchall()
        )
        for table in ("params", "latest_metrics", "tags")
    )
    artifacts = artifact_dicts(
        con,
        "SELECT path, kind, sha256, size, direction, stored_path, created_at, name, meta "
        "FROM artifacts WHERE run_id = ? ORDER BY created_at, rowid",
        [run_id],
    )
    children = [
        r[0]
        for r in con.execute(
            "SELECT run_id FROM runs WHERE parent_run_id = ? ORDER BY start_time", [run_id]
        ).fetchall()
    ]
    return RunRecord(
        run_id=run_id,
        run_name=row["run_name"],
        experiment=row["experiment"],
        status=row["status"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        source=row["source"],
        parent_run_id=row["parent_run_id"],
        error=row["error"],
        params=params,
        metrics=metrics,
        tags=tags,
        artifacts=artifacts,
        context={c: row[c] for c in CONTEXT_COLUMNS},
        deleted=row["deleted_at"] is not None,
        children=children,
    )


def series_of(
    con: duckdb.DuckDBPyConnection, run_ids: Sequence[str], keys: Sequence[str] | None
) -> list[tuple[int, str, str, int, int, int]]:
    """``(sid, run_id, key, min_step, max_step, n)`` of each series of these runs (of these
    keys) that has points: every write of points updates ``metric_series`` in the same
    transaction, so a series missing here has none."""
    sql = "SELECT sid, run_id, key, min_step, max_step, n FROM metric_series WHERE run_id = ANY(?::VARCHAR[])"
    params: list[Any] = [list(run_ids)]
    if keys is not None:
        sql += " AND key = ANY(?::VARCHAR[])"
        params.append(list(keys))
    return con.execute(sql, params).fetchall()


def _points(sids: Sequence[int]) -> str:
    """A subquery of these series' points, columns ``sid, step, v, timestamp``.

    By series id, not through the ``metrics`` view: the ids skip other series' row groups
    (they were written in id order), and grouping by an integer costs half of grouping by
    run id and key (bench_scale, 10 runs x 1M points).
    """
    return (
        f"(SELECT sid, step, {POINT_VALUE} AS v, timestamp FROM metric_points "
        f"WHERE sid IN ({int_list(sids)}))"
    )


def metric_history(
    con: duckdb.DuckDBPyConnection, run_ids: Sequence[str], keys: Sequence[str] | None
) -> pd.DataFrame:
    """Every point of the given metrics of the given (full) run ids, in run order, then
    key and step; ``timestamp`` in milliseconds. A run given twice is read twice."""
    import numpy as np

    found: dict[str, list[tuple[str, int]]] = {}
    for sid, run_id, key, *_ in series_of(con, run_ids, keys):
        found.setdefault(run_id, []).append((key, sid))
    listed = [(rid, key, sid) for rid in run_ids for key, sid in sorted(found.get(rid, ()))]
    sids = [sid for _, _, sid in listed]
    df = con.execute(
        f"SELECT o, step, v AS value, timestamp FROM {_points(sids)} p JOIN "
        "(SELECT unnest(?::BIGINT[]) AS sid, generate_subscripts(?::BIGINT[], 1) - 1 AS o) USING (sid) "
        "ORDER BY o, step, timestamp",
        [sids, sids],
    ).df()
    o = df.pop("o").to_numpy().astype(np.int64)
    df.insert(0, "key", np.array([k for _, k, _ in listed], dtype=object)[o])
    df.insert(0, "run_id", np.array([r for r, _, _ in listed], dtype=object)[o])
    return df


def metric_buckets(
    con: duckdb.DuckDBPyConnection,
    run_ids: Sequence[str],
    keys: Sequence[str] | None,
    max_points: int,
    after: Sequence[int | None] | None = None,
) -> list[tuple[Any, ...]]:
    """Per (run, key, bucket): ``(run_id, key, bucket, lo_step, lo, hi_step, hi)``.

    A series longer than ``max_points`` is cut into at most ``max_points // 2`` step
    ranges: whole blocks of ``metric_blocks`` where the series spans enough of them
    (its points are not read), else equal ranges of its points. Shorter ones keep every
    step as its own bucket. With ``after`` (one cursor per run, aligned with ``run_ids``;
    None for none), only the points past each run's cursor count, bucketed over that
    range from the points: a live chart's next points.
    """
    buckets = max(1, int(max_points) // 2)
    known = series_of(con, run_ids, keys)
    name = {row[0]: row[1:3] for row in known}
    rows: list[tuple[Any, ...]] = []
    cursors: dict[int, int | None] = {}
    if after is None:
        spans = {sid: (s0, s1, n) for sid, _, _, s0, s1, n in known}
        layouts = {
            sid: layout
            for sid, (s0, s1, n) in spans.items()
            if n > max_points and (layout := blocks_layout(s0, s1, buckets)) is not None
        }
        summarized = covered_sids(con, {sid: spans[sid][2] for sid in layouts})
        by_layout: dict[tuple[int, int], list[int]] = {}
        for sid in sorted(summarized):
            by_layout.setdefault(layouts[sid], []).append(sid)
        for (first, per), sids in by_layout.items():
            rows.extend((*name[sid], b, *rest) for sid, b, *rest in block_buckets(con, sids, first, per))
        spans = {sid: span for sid, span in spans.items() if sid not in summarized}
    else:
        at = dict(zip(run_ids, after))
        cursors = {sid: at[run_id] for sid, run_id, *_ in known}
        spans = {
            sid: (s0, s1, n)
            for sid, s0, s1, n in con.execute(
                f"SELECT sid, min(step), max(step), count(*) FROM {_past(cursors)} GROUP BY sid",
                [list(cursors), list(cursors.values())],
            ).fetchall()
        }
    # Series of the same span share one bucketing formula, so each group is one
    # scan with constants (a join or CASE per row costs twice as much).
    groups: dict[tuple[int, float], list[int]] = {}
    for sid, (s0, s1, n) in sorted(spans.items()):
        width = (s1 - s0 + 1) / buckets if n > max_points else 0.0
        groups.setdefault((s0, width), []).append(sid)
    for (s0, width), sids in groups.items():
        bucket = "step" if width == 0.0 else "floor((step - ?) / ?)"
        bparams: list[Any] = [] if width == 0.0 else [s0, width]
        if after is None:
            src, params = f"{_points(sids)} m", []
        else:
            part = {sid: cursors[sid] for sid in sids}
            src, params = _past(part), [list(part), list(part.values())]
        found = con.execute(
            f"SELECT sid, {bucket} AS b, arg_min(step, v), min(v), arg_max(step, v), max(v) "
            f"FROM {src} GROUP BY ALL ORDER BY b",
            [*bparams, *params],
        ).fetchall()
        rows.extend((*name[sid], b, *rest) for sid, b, *rest in found)
    return rows


def _past(cursors: dict[int, int | None]) -> str:
    """The points of these series past their cursors (parameters: the series ids, then
    their cursors; a NULL cursor keeps every point)."""
    return (
        f"{_points(list(cursors))} m JOIN (SELECT unnest(?::BIGINT[]) AS c_sid, "
        "unnest(?::BIGINT[]) AS c_after) ON m.sid = c_sid WHERE (c_after IS NULL OR step > c_after)"
    )


def series_from_buckets(rows: Sequence[tuple[Any, ...]], run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """``{"run_id", "key", "steps", "values"}`` per (run, key) from :func:`metric_buckets`
    rows, each bucket's low and high point in step order; ordered by run_ids, then key."""
    series: dict[tuple[str, str], dict[str, Any]] = {}
    for run_id, key, _bucket, lo_step, lo, hi_step, hi in rows:
        s = series.setdefault((run_id, key), {"run_id": run_id, "key": key, "steps": [], "values": []})
        pts = [(lo_step, lo)] if lo_step == hi_step else sorted([(lo_step, lo), (hi_step, hi)])
        for st, v in pts:
            s["steps"].append(st)
            s["values"].append(v)
    order = {r: i for i, r in enumerate(run_ids)}
    return sorted(series.values(), key=lambda s: (order.get(s["run_id"], 0), s["key"]))


def experiments(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Experiments with their run counts, newest first."""
    return rows_as_dicts(
        con.execute(
            "SELECT e.name, e.created_at, count(r.run_id) AS runs, max(r.start_time) AS last_run "
            "FROM experiments e LEFT JOIN runs r ON r.experiment = e.name AND r.deleted_at IS NULL "
            "GROUP BY e.name, e.created_at ORDER BY e.created_at DESC, e.name"
        )
    )


def environment(con: duckdb.DuckDBPyConnection, env_hash: str) -> dict[str, Any] | None:
    """The recorded environment (python, platform, packages) with this hash."""
    row = con.execute(
        "SELECT env_hash, python, platform, packages FROM environments WHERE env_hash = ?", [env_hash]
    ).fetchone()
    if row is None:
        return None
    return {"env_hash": row[0], "python": row[1], "platform": row[2], "packages": json.loads(row[3])}
