"""Writing batches: each batch in one transaction, as Arrow tables DuckDB scans directly.

A batch's id, and the spool files it came from, are recorded in the same transaction,
so a batch retried after a commit that did happen (the error came later, e.g. from the
checkpoint of a full disk), or a fold interrupted after its commit, changes nothing.
"""

from __future__ import annotations

import contextlib
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import procs
from . import run_values
from .blocks import insert_blocks
from .points import series_points
from .records import CONTEXT_COLUMNS, Batch, now_ms

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ARTIFACT_COLUMNS",
    "RUN_COLUMNS",
    "STALE_HEARTBEAT_MS",
    "APPLIED_BATCHES_KEEP_MS",
    "apply",
    "apply_rows",
    "empty_metrics_table",
    "metrics_table",
    "prune_applied_batches",
    "reap_dead_runs",
    "set_deleted",
    "write_metrics",
]

# A run on another host is presumed dead when its heartbeat is older than this.
STALE_HEARTBEAT_MS = 10 * 60 * 1000
#: How long the ids of applied batches are kept (a retry or a rescue file folded later
#: than this could apply a batch twice).
APPLIED_BATCHES_KEEP_MS = 60 * 24 * 3600 * 1000

RUN_COLUMNS = (
    "run_id",
    "experiment",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "source",
    "parent_run_id",
    "error",
    "host",
    "pid",
    "pid_started",
    "heartbeat",
    "notebook_path",
    "notebook_sha",
    "cell_id",
    "cell_source",
    "git_commit",
    "git_branch",
    "git_dirty",
    "env_hash",
    "execution_count",
    "python_version",
)
ARTIFACT_COLUMNS = (
    "run_id",
    "path",
    "kind",
    "sha256",
    "size",
    "direction",
    "stored_path",
    "created_at",
    "name",
    "meta",
)
# Context columns a run may fill in after it started (captured in the background).
_CONTEXT_UPDATABLE = frozenset(CONTEXT_COLUMNS) - {"host", "pid"}


def apply(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    spool_names: Sequence[str] = (),
    batch_ids: Sequence[str] = (),
) -> bool:
    """Write a batch in one transaction, recording its ids and the spool files it came
    from. Returns False, changing nothing, when one of ``batch_ids`` was applied before."""
    import duckdb

    con.execute("BEGIN")
    run_values.begin(con)
    try:
        if batch_ids:
            try:
                con.execute(
                    "INSERT INTO applied_batches SELECT unnest(?::VARCHAR[]), ?", [list(batch_ids), now_ms()]
                )
            except duckdb.ConstraintException:
                _rollback(con)
                return False
        apply_rows(con, batch)
        if spool_names:
            con.execute(
                "INSERT INTO spool_applied SELECT unnest(?::VARCHAR[]), ?", [list(spool_names), now_ms()]
            )
        run_values.settle(con)
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return True


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # After a failed COMMIT DuckDB has no transaction left ("cannot rollback"): the
    # original error is the one to report.
    import duckdb

    run_values.abandon(con)
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def prune_applied_batches(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the ids of batches applied longer ago than ``APPLIED_BATCHES_KEEP_MS``."""
    con.execute("DELETE FROM applied_batches WHERE applied_at < ?", [now_ms() - APPLIED_BATCHES_KEEP_MS])


def apply_rows(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Every row of a batch, inside the caller's transaction (in dependency order)."""
    if batch.experiments:
        _insert_experiments(con, batch.experiments)
    if batch.runs:
        _insert_runs(con, batch.runs)
    for table, rows in (("params", batch.params), ("tags", batch.tags)):
        if rows:
            _upsert_key_values(con, table, rows)
    if batch.metrics or batch.metrics_table is not None:
        write_metrics(con, batch)
    if batch.artifacts:
        _insert_artifacts(con, batch.artifacts)
    for env in batch.environments:
        con.execute(
            "INSERT INTO environments VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [env["env_hash"], env["python"], env["platform"], env["packages"], env["created_at"]],
        )
    if batch.contexts:
        _update_contexts(con, batch.contexts)
    if batch.heartbeats:
        con.execute(
            "UPDATE runs SET heartbeat = ? WHERE run_id IN (SELECT unnest(?))",
            [batch.created_ms, batch.heartbeats],
        )
    if batch.ends:
        _update_ends(con, batch.ends)


def _insert_experiments(con: duckdb.DuckDBPyConnection, experiments: dict[str, int]) -> None:
    import pyarrow as pa

    exp = pa.table(
        {"name": list(experiments), "created_at": pa.array(list(experiments.values()), pa.int64())}
    )
    con.register("_exp", exp)
    con.execute("INSERT INTO experiments SELECT * FROM _exp ON CONFLICT DO NOTHING")
    con.unregister("_exp")


def _insert_runs(con: duckdb.DuckDBPyConnection, runs: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    types = {
        "start_time": pa.int64(),
        "end_time": pa.int64(),
        "pid": pa.int32(),
        "pid_started": pa.int64(),
        "execution_count": pa.int32(),
        "heartbeat": pa.int64(),
        "git_dirty": pa.bool_(),
    }
    tbl = pa.table({c: pa.array([r.get(c) for r in runs], types.get(c, pa.string())) for c in RUN_COLUMNS})
    con.register("_runs", tbl)
    con.execute(f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) SELECT * FROM _runs")
    con.unregister("_runs")


def _upsert_key_values(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[str, str, str]]) -> None:
    import pyarrow as pa

    run_ids, keys, values = zip(*rows)
    con.register("_kv", pa.table({"run_id": run_ids, "key": keys, "value": values}))
    # Same key twice in one batch: the last one wins, as it would in order. ``table`` is
    # "params" or "tags", never input.
    written = con.execute(
        f"INSERT INTO {table} SELECT run_id, key, last(value ORDER BY rn) FROM "
        "(SELECT *, row_number() OVER () AS rn FROM _kv) GROUP BY run_id, key "
        "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value RETURNING run_id, key, value"
    ).fetchall()
    con.unregister("_kv")
    run_values.touch_values(con, table, written)


def _insert_artifacts(con: duckdb.DuckDBPyConnection, artifacts: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    tbl = pa.table(
        {
            c: pa.array(
                # .get: spool files written before name/meta existed lack them.
                [a.get(c) for a in artifacts],
                pa.int64() if c in ("size", "created_at") else pa.string(),
            )
            for c in ARTIFACT_COLUMNS
        }
    )
    con.register("_art", tbl)
    con.execute(f"INSERT INTO artifacts ({', '.join(ARTIFACT_COLUMNS)}) SELECT * FROM _art")
    con.unregister("_art")


def _update_contexts(con: duckdb.DuckDBPyConnection, contexts: list[tuple[str, dict[str, Any]]]) -> None:
    for run_id, ctx in contexts:
        cols = [c for c in ctx if c in _CONTEXT_UPDATABLE]
        if cols:
            # Column names come from the fixed allow-list above, never from input.
            con.execute(
                f"UPDATE runs SET {', '.join(f'{c} = ?' for c in cols)} WHERE run_id = ?",
                [ctx[c] for c in cols] + [run_id],
            )


def _update_ends(con: duckdb.DuckDBPyConnection, ends: list[tuple[str, str, int, str | None]]) -> None:
    import pyarrow as pa

    run_ids, statuses, end_times, errors = zip(*ends)
    tbl = pa.table(
        {
            "run_id": run_ids,
            "status": statuses,
            "end_time": pa.array(end_times, pa.int64()),
            "error": pa.array(errors, pa.string()),
        }
    )
    con.register("_ends", tbl)
    con.execute(
        "UPDATE runs SET status = e.status, end_time = e.end_time, "
        "error = coalesce(e.error, runs.error), heartbeat = e.end_time "
        "FROM _ends e WHERE runs.run_id = e.run_id"
    )
    con.unregister("_ends")


def write_metrics(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Append the batch's metric points and their block summaries, and update each
    series' latest point and extent."""
    points = series_points(batch)
    if points is None:
        return
    import numpy as np

    con.register("_g", points.summary())
    try:
        rows = con.execute(_UPSERT_SERIES).fetchall()
    finally:
        con.unregister("_g")
    found = {(r, k): sid for r, k, sid, _ in rows}
    run_values.touch_values(con, "metrics", [(r, k, v) for r, k, _, v in rows])
    sids = np.array([found[s] for s in points.series], np.int64)
    con.register("_p", points.points_table(sids))
    try:
        con.execute("INSERT INTO metric_points SELECT sid, step, value32, value64, timestamp FROM _p")
        insert_blocks(con, "_p")
    finally:
        con.unregister("_p")


# MLflow's notion of "latest" (its sqlalchemy store's _update_latest_metrics_if_necessary):
# highest step, then newest timestamp, then the largest value, so the same points give the
# same latest value whatever order or batches they arrive in. A new series gets the next
# id; every series of the batch is returned with its id.
_NEWER = (
    "(excluded.max_step, excluded.timestamp, excluded.value) "
    "> (metric_series.max_step, metric_series.timestamp, metric_series.value)"
)
_UPSERT_SERIES = f"""
INSERT INTO metric_series (sid, run_id, key, min_step, max_step, n, value, timestamp, min_ts, max_ts)
SELECT (SELECT coalesce(max(sid), 0) FROM metric_series) + row_number() OVER (),
       run_id, key, min_step, max_step, n, value, timestamp, min_ts, max_ts
FROM _g
ON CONFLICT (run_id, key) DO UPDATE SET
    value = CASE WHEN {_NEWER} THEN excluded.value ELSE metric_series.value END,
    timestamp = CASE WHEN {_NEWER} THEN excluded.timestamp ELSE metric_series.timestamp END,
    min_step = least(metric_series.min_step, excluded.min_step),
    max_step = greatest(metric_series.max_step, excluded.max_step),
    n = metric_series.n + excluded.n,
    min_ts = least(metric_series.min_ts, excluded.min_ts),
    max_ts = greatest(metric_series.max_ts, excluded.max_ts)
RETURNING run_id, key, sid, value
"""


def metrics_table(batch: Batch) -> Any:
    """The batch's metric points as one Arrow table (run_id dictionary-encoded)."""
    if batch.metrics_table is not None:
        return batch.metrics_table
    import itertools

    import numpy as np
    import pyarrow as pa

    def col(x: Sequence[Any], dtype: Any) -> Any:
        return np.frombuffer(x, dtype=dtype) if isinstance(x, array) else np.asarray(x, dtype)

    lengths = [len(m[1]) for m in batch.metrics]
    # A million points of one run must not become a million Python strings.
    run_col = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)),
        pa.array([m[0] for m in batch.metrics], pa.string()),
    )
    return pa.table(
        {
            "run_id": run_col,
            "key": pa.array(list(itertools.chain.from_iterable(m[1] for m in batch.metrics)), pa.string()),
            "step": np.concatenate([col(m[2], np.int64) for m in batch.metrics]),
            "value": np.concatenate([col(m[3], np.float64) for m in batch.metrics]),
            "timestamp": (np.concatenate([col(m[4], np.float64) for m in batch.metrics]) * 1000).astype(
                np.int64
            ),
        }
    )


def empty_metrics_table() -> Any:
    """An Arrow table of no metric points, with :func:`metrics_table`'s schema."""
    import pyarrow as pa

    return pa.table(
        {
            "run_id": pa.array([], pa.dictionary(pa.int32(), pa.string())),
            "key": pa.array([], pa.string()),
            "step": pa.array([], pa.int64()),
            "value": pa.array([], pa.float64()),
            "timestamp": pa.array([], pa.int64()),
        }
    )


def set_deleted(con: duckdb.DuckDBPyConnection, run_id: str, deleted: bool) -> None:
    """Soft-delete (or restore) a run."""
    con.execute("UPDATE runs SET deleted_at = ? WHERE run_id = ?", [now_ms() if deleted else None, run_id])


def reap_dead_runs(con: duckdb.DuckDBPyConnection) -> int:
    """Mark ``killed`` the runs still ``running`` whose process is gone; returns how many.

    On this host the pid is checked (with its start time, against pid reuse); runs of
    other hosts are judged by their heartbeat.
    """
    rows = con.execute(
        "SELECT run_id, host, pid, pid_started, heartbeat FROM runs WHERE status = 'running'"
    ).fetchall()
    if not rows:
        return 0
    host, now = procs.hostname(), now_ms()
    dead = []
    for run_id, run_host, pid, started, heartbeat in rows:
        if run_host == host:
            if not procs.is_alive(pid, started):
                dead.append((run_id, heartbeat or now, f"process {pid} ended without ending the run"))
        elif heartbeat is not None and now - heartbeat > STALE_HEARTBEAT_MS:
            dead.append((run_id, heartbeat, f"no heartbeat from {run_host} since {heartbeat}"))
    if dead:
        import duckdb

        con.execute("BEGIN")
        try:
            for run_id, end, why in dead:
                con.execute(
                    "UPDATE runs SET status = 'killed', end_time = ?, error = coalesce(error, ?) "
                    "WHERE run_id = ? AND status = 'running'",
                    [end, why, run_id],
                )
            con.execute("COMMIT")
        except duckdb.Error:
            # Marking is a courtesy of readers: a store that cannot be written now (disk
            # full) must still be readable. The next reader tries again.
            _rollback(con)
            return 0
        except BaseException:
            _rollback(con)
            raise
    return len(dead)
