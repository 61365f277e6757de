"""The SQL of the bridges (MLflow plugins, importers, exporters): runs written with given
ids and times, idempotently, and the few records MLflow has that Workbench's own schema
lacks (experiment ids, tags and deletion; MLflow 3 logged models; registry metadata).

Every function takes a connection from :meth:`Store.session`; :func:`transaction` wraps
several of them in one transaction, so an import lands whole or not at all.

The bridge tables are created on first use with ``CREATE TABLE IF NOT EXISTS``
(:data:`BRIDGE_TABLES`), so this module needs no change to the migrations; the same
statements can become a numbered migration unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

# The experiment, logged-model and registry records live in :mod:`.imports_meta`; their
# functions are re-exported here (see __all__), where the bridges find them.
from . import run_values
from .imports_meta import (
    delete_experiment_tag,
    delete_model_version,
    delete_registered_model,
    dump_json,
    experiment_rows,
    load_json,
    logged_models,
    model_version_meta,
    registered_model_meta,
    set_experiment,
    set_experiment_deleted,
    set_logged_model,
    set_model_version,
    set_model_version_meta,
    set_registered_model_meta,
)
from .records import now_ms
from .sql import rows_as_dicts
from .writes import RUN_COLUMNS, write_metrics

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "BRIDGE_TABLES",
    "add_artifacts",
    "clear_runs",
    "delete_experiment_tag",
    "delete_metrics",
    "delete_model_version",
    "delete_registered_model",
    "delete_run_artifacts",
    "delete_tag",
    "existing_run_ids",
    "ensure_tables",
    "experiment_rows",
    "import_digests",
    "insert_points",
    "insert_run",
    "logged_models",
    "metric_points",
    "model_version_meta",
    "point_counts",
    "record_imports",
    "registered_model_meta",
    "run_artifacts",
    "run_rows",
    "set_deleted",
    "set_experiment",
    "set_experiment_deleted",
    "set_logged_model",
    "set_model_version",
    "set_model_version_meta",
    "set_registered_model_meta",
    "transaction",
    "update_run",
    "upsert_key_values",
    "upsert_runs",
]

#: The bridge's tables. JSON text columns hold small maps (tags, params, file lists).
BRIDGE_TABLES = """
CREATE TABLE IF NOT EXISTS experiment_meta (
    name VARCHAR PRIMARY KEY,
    experiment_id VARCHAR,
    artifact_location VARCHAR,
    deleted_at BIGINT,
    last_update_time BIGINT,
    tags VARCHAR
);
CREATE TABLE IF NOT EXISTS logged_models (
    model_id VARCHAR PRIMARY KEY,
    experiment VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    source_run_id VARCHAR,
    output_step BIGINT,
    model_type VARCHAR,
    status VARCHAR NOT NULL,
    status_message VARCHAR,
    creation_time BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    tags VARCHAR,
    params VARCHAR,
    files VARCHAR,
    deleted_at BIGINT
);
CREATE TABLE IF NOT EXISTS registered_model_meta (
    name VARCHAR PRIMARY KEY,
    description VARCHAR,
    tags VARCHAR,
    creation_time BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_version_meta (
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    source VARCHAR,
    model_id VARCHAR,
    description VARCHAR,
    tags VARCHAR,
    last_updated_time BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS imported_runs (
    run_id VARCHAR PRIMARY KEY,
    origin VARCHAR NOT NULL,
    digest VARCHAR NOT NULL,
    imported_at BIGINT NOT NULL
);
"""

# Columns update_run may set: the ones MLflow can change after a run started.
_UPDATABLE = frozenset(
    {
        "status",
        "end_time",
        "run_name",
        "parent_run_id",
        "host",
        "pid",
        "pid_started",
        "heartbeat",
        "notebook_path",
        "git_commit",
        "git_branch",
        "error",
    }
)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the bridge tables where they do not exist yet."""
    con.execute(BRIDGE_TABLES)


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction around the block: committed when it ends, rolled back on any error."""
    import duckdb

    con.execute("BEGIN")
    run_values.begin(con)
    try:
        yield con
        run_values.settle(con)
        con.execute("COMMIT")
    except BaseException:
        run_values.abandon(con)
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


# -- runs --------------------------------------------------------------------------------
def insert_run(con: duckdb.DuckDBPyConnection, row: Mapping[str, Any]) -> None:
    """Insert one run row (columns of ``writes.RUN_COLUMNS``); an existing id is kept as is."""
    cols = [c for c in RUN_COLUMNS if c in row]
    con.execute(
        f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
        "ON CONFLICT (run_id) DO NOTHING",
        [row[c] for c in cols],
    )


def upsert_runs(con: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert runs with their given ids and times, replacing the row of an id already there
    (its params, tags, metrics and artifacts are left to the caller)."""
    if not rows:
        return
    import pyarrow as pa

    cols = [c for c in RUN_COLUMNS if any(c in r for r in rows)]
    ints = {"start_time", "end_time", "pid", "pid_started", "heartbeat", "execution_count"}
    tbl = pa.table(
        {c: pa.array([r.get(c) for r in rows], pa.int64() if c in ints else pa.string()) for c in cols}
    )
    con.register("_imp_runs", tbl)
    try:
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "run_id")
        con.execute(
            f"INSERT INTO runs ({', '.join(cols)}) SELECT * FROM _imp_runs "
            f"ON CONFLICT (run_id) DO UPDATE SET {updates}"
        )
    finally:
        con.unregister("_imp_runs")


def update_run(con: duckdb.DuckDBPyConnection, run_id: str, values: Mapping[str, Any]) -> None:
    """Set some columns of a run (only those MLflow may change after the start)."""
    cols = [c for c in values if c in _UPDATABLE]
    if cols:
        # Column names come from the allow-list above, never from input.
        con.execute(
            f"UPDATE runs SET {', '.join(f'{c} = ?' for c in cols)} WHERE run_id = ?",
            [values[c] for c in cols] + [run_id],
        )


def set_deleted(con: duckdb.DuckDBPyConnection, run_id: str, deleted: bool) -> None:
    """Soft-delete or restore one run."""
    con.execute("UPDATE runs SET deleted_at = ? WHERE run_id = ?", [now_ms() if deleted else None, run_id])


def upsert_key_values(
    con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[str, str, str]], replace: bool = True
) -> None:
    """Write params or tags ``(run_id, key, value)``; the last value of a key wins, and
    with ``replace=False`` a key already stored keeps its value."""
    if table not in ("params", "tags"):
        raise ValueError(f"not a key-value table: {table}")
    if not rows:
        return
    import pyarrow as pa

    run_ids, keys, values = zip(*rows)
    con.register("_imp_kv", pa.table({"run_id": run_ids, "key": keys, "value": values}))
    try:
        conflict = "DO UPDATE SET value = excluded.value" if replace else "DO NOTHING"
        # RETURNING: the rows written (with DO NOTHING, a key kept is not among them).
        written = con.execute(
            f"INSERT INTO {table} SELECT run_id, key, last(value ORDER BY rn) FROM "
            "(SELECT *, row_number() OVER () AS rn FROM _imp_kv) GROUP BY run_id, key "
            f"ON CONFLICT (run_id, key) {conflict} RETURNING run_id, key, value"
        ).fetchall()
    finally:
        con.unregister("_imp_kv")
    run_values.touch_values(con, table, written)


def delete_tag(con: duckdb.DuckDBPyConnection, run_id: str, key: str) -> bool:
    """Remove one tag of a run; False when it had none."""
    found = bool(
        con.execute("DELETE FROM tags WHERE run_id = ? AND key = ? RETURNING key", [run_id, key]).fetchall()
    )
    if found:
        run_values.touch(con, [run_id])
    return found


def insert_points(con: duckdb.DuckDBPyConnection, points: Any, dedupe: bool = True) -> int:
    """Append metric points (an Arrow table ``run_id, key, step, value, timestamp`` with
    times in milliseconds), keeping latest values and step spans up to date.

    With ``dedupe`` a point already stored (same run, key, step, time and value) or
    repeated in ``points`` is written once, as MLflow's sqlite store does. Returns how
    many points were written.
    """
    from .records import Batch

    if points.num_rows == 0:
        return 0
    if dedupe:
        import pyarrow.compute as pc

        lo, hi = pc.min(points["timestamp"]).as_py(), pc.max(points["timestamp"]).as_py()
        con.register("_imp_in", points)
        try:
            # Only the stored points of these runs in the batch's time range can be equal
            # to one of it: the range keeps the scan to the newest row groups.
            points = con.sql(
                "SELECT DISTINCT i.run_id::VARCHAR AS run_id, i.key, i.step, i.value, i.timestamp "
                "FROM _imp_in i ANTI JOIN (SELECT * FROM metrics WHERE timestamp BETWEEN ? AND ? "
                "AND run_id IN (SELECT DISTINCT run_id::VARCHAR FROM _imp_in)) m "
                "ON m.run_id = i.run_id::VARCHAR AND m.key = i.key AND m.step = i.step "
                "AND m.timestamp = i.timestamp AND m.value IS NOT DISTINCT FROM i.value",
                params=[lo, hi],
            ).to_arrow_table()
        finally:
            con.unregister("_imp_in")
        if points.num_rows == 0:
            return 0
    write_metrics(con, Batch(metrics_table=points))
    return points.num_rows


def delete_metrics(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> None:
    """Remove every metric point (and latest value and span) of these runs."""
    ids = [list(run_ids)]
    for table in ("metric_points", "metric_blocks"):
        con.execute(
            f"DELETE FROM {table} WHERE sid IN "
            "(SELECT sid FROM metric_series WHERE run_id IN (SELECT unnest(?::VARCHAR[])))",
            ids,
        )
    con.execute("DELETE FROM metric_series WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", ids)
    run_values.touch(con, run_ids)


def metric_points(
    con: duckdb.DuckDBPyConnection, run_id: str, key: str | None = None
) -> list[tuple[str, int, float, int]]:
    """``(key, step, value, timestamp)`` of a run's points (one key or all), in MLflow's
    order: time, then step, then value."""
    sql = "SELECT key, step, value, timestamp FROM metrics WHERE run_id = ?"
    params: list[Any] = [run_id]
    if key is not None:
        sql += " AND key = ?"
        params.append(key)
    return con.execute(sql + " ORDER BY key, timestamp, step, value", params).fetchall()


def point_counts(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> dict[str, int]:
    """How many metric points each of these runs has."""
    return dict(
        con.execute(
            "SELECT run_id, sum(n)::BIGINT FROM metric_spans WHERE run_id IN (SELECT unnest(?::VARCHAR[])) "
            "GROUP BY run_id",
            [list(run_ids)],
        ).fetchall()
    )


def run_rows(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The runs with these ids (missing ones left out), each a dict of its columns plus
    ``params``, ``tags``, ``metrics`` (key -> (value, timestamp, step), the latest point)
    and ``datasets`` (its input dataset rows, ``meta`` parsed)."""
    ids = list(run_ids)
    if not ids:
        return {}
    rows = {
        r["run_id"]: r | {"params": {}, "tags": {}, "metrics": {}, "datasets": []}
        for r in rows_as_dicts(
            con.execute("SELECT * FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        )
    }
    if not rows:
        return {}
    found = list(rows)
    for table in ("params", "tags"):
        for run_id, key, value in con.execute(
            f"SELECT run_id, key, value FROM {table} WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [found]
        ).fetchall():
            rows[run_id][table][key] = value
    for run_id, key, value, ts, step in con.execute(
        "SELECT run_id, key, value, timestamp, step FROM latest_metrics "
        "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
        [found],
    ).fetchall():
        rows[run_id]["metrics"][key] = (value, ts, step)
    for d in rows_as_dicts(
        con.execute(
            "SELECT run_id, path, name, sha256, size, meta FROM artifacts WHERE kind = 'dataset' "
            "AND direction = 'input' AND run_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY created_at, rowid",
            [found],
        )
    ):
        d["meta"] = load_json(d["meta"], {})
        rows[d.pop("run_id")]["datasets"].append(d)
    return rows


# -- artifacts -------------------------------------------------------------------------
def add_artifacts(
    con: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, Any]], replace: bool = False
) -> None:
    """Record artifact rows. With ``replace``, a row for the same run, direction, kind and
    name (an MLflow artifact path logged again) replaces the earlier one."""
    for a in rows:
        if replace and a.get("name") is not None:
            con.execute(
                "DELETE FROM artifacts WHERE run_id = ? AND direction = ? AND kind = ? AND name = ?",
                [a["run_id"], a["direction"], a["kind"], a["name"]],
            )
        con.execute(
            "INSERT INTO artifacts (run_id, path, kind, sha256, size, direction, stored_path, created_at, "
            "name, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                a["run_id"],
                a["path"],
                a["kind"],
                a["sha256"],
                a["size"],
                a["direction"],
                a.get("stored_path"),
                a.get("created_at") or now_ms(),
                a.get("name"),
                dump_json(a.get("meta")),
            ],
        )


def run_artifacts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """The output artifacts of a run (``meta`` parsed), oldest first."""
    rows = rows_as_dicts(
        con.execute(
            "SELECT path, kind, sha256, size, stored_path, created_at, name, meta FROM artifacts "
            "WHERE run_id = ? AND direction = 'output' ORDER BY created_at, rowid",
            [run_id],
        )
    )
    for r in rows:
        r["meta"] = load_json(r["meta"], {})
    return rows


def delete_run_artifacts(con: duckdb.DuckDBPyConnection, run_id: str, kinds: Sequence[str]) -> None:
    """Forget a run's output artifacts of these kinds (the blobs stay)."""
    con.execute(
        "DELETE FROM artifacts WHERE run_id = ? AND direction = 'output' AND kind IN (SELECT unnest(?::VARCHAR[]))",
        [run_id, list(kinds)],
    )


# -- import bookkeeping ------------------------------------------------------------------
def import_digests(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> dict[str, str]:
    """run_id -> digest of what an earlier import wrote, for the given runs."""
    return dict(
        con.execute(
            "SELECT run_id, digest FROM imported_runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
            [list(run_ids)],
        ).fetchall()
    )


def record_imports(con: duckdb.DuckDBPyConnection, origin: str, digests: Mapping[str, str]) -> None:
    """Remember the digest of each run just imported from ``origin``."""
    now = now_ms()
    for run_id, digest in digests.items():
        con.execute("INSERT OR REPLACE INTO imported_runs VALUES (?, ?, ?, ?)", [run_id, origin, digest, now])


def clear_runs(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> None:
    """Remove the params, tags, metric points and artifact rows of these runs (their run
    rows stay), before an import writes them anew."""
    ids = list(run_ids)
    if not ids:
        return
    for table in ("params", "tags", "artifacts"):
        con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    delete_metrics(con, ids)  # touches the runs


def existing_run_ids(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> set[str]:
    """Which of these run ids the store has."""
    return {
        r[0]
        for r in con.execute(
            "SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [list(run_ids)]
        ).fetchall()
    }
