"""``Store``: the only code in Workbench that speaks SQL.

Every operation is one short session: take the cross-process lock, ATTACH the DuckDB
file to a long-lived in-memory DuckDB instance, run one transaction, DETACH, release.
Attaching costs about 0.3 ms where opening a new connection costs about 12 ms, so a
batch write is a few milliseconds and no process keeps the file from the others.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import procs
from ..errors import (
    AmbiguousRunError,
    InvalidInputError,
    NotFoundError,
    RunNotFoundError,
    StoreCorruptError,
    StoreVersionError,
)
from ..paths import DB_FILENAME, resolve_store
from ..search import build_query
from .lock import StoreLock
from .schema import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = ["Batch", "RunRecord", "Store", "get_store"]

log = logging.getLogger(__name__)

# A run on another host is presumed dead when its heartbeat is older than this.
STALE_HEARTBEAT_MS = 10 * 60 * 1000
_ALIAS = "wb"


@dataclass
class Batch:
    """Rows gathered by the tracking buffer, written by :meth:`Store.write` in one transaction.

    Column-oriented lists keep the conversion to Arrow cheap.
    """

    experiments: dict[str, int] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    params: list[tuple[str, str, str]] = field(default_factory=list)
    tags: list[tuple[str, str, str]] = field(default_factory=list)
    #: Per run: ``(run_id, keys, steps, values, unix_times)`` as parallel sequences
    #: (steps as int64 and values/times as float64 buffers, e.g. ``array.array``).
    metrics: list[tuple[str, Sequence[str], Sequence[int], Sequence[float], Sequence[float]]] = field(
        default_factory=list
    )
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    ends: list[tuple[str, str, int, str | None]] = field(default_factory=list)
    heartbeats: list[str] = field(default_factory=list)
    #: ``(run_id, {column: value})`` updates of a run's context columns.
    contexts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Rows for the environments table (env_hash, python, platform, packages, created_at).
    environments: list[dict[str, Any]] = field(default_factory=list)
    #: When the batch was made (the heartbeat time it carries).
    created_ms: int = field(default_factory=lambda: _now_ms())
    #: The metrics as one Arrow table, when read back from a spool file.
    metrics_table: Any = None

    def is_empty(self) -> bool:
        """True when there is nothing to write."""
        return not (
            self.experiments
            or self.runs
            or self.params
            or self.tags
            or self.metrics
            or self.metrics_table is not None
            or self.artifacts
            or self.ends
            or self.heartbeats
            or self.contexts
            or self.environments
        )

    @property
    def n_points(self) -> int:
        """Number of metric points in the batch."""
        return sum(len(m[1]) for m in self.metrics) + (
            0 if self.metrics_table is None else self.metrics_table.num_rows
        )


@dataclass(frozen=True)
class RunRecord:
    """Everything recorded about one run, as returned by :meth:`Store.get_run`."""

    run_id: str
    run_name: str
    experiment: str
    status: str
    start_time: int
    end_time: int | None
    source: str
    parent_run_id: str | None
    error: str | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifacts: list[dict[str, Any]]
    context: dict[str, Any]
    deleted: bool
    children: list[str]

    @property
    def duration_s(self) -> float | None:
        """Wall time in seconds, or None while the run has not ended."""
        return None if self.end_time is None else (self.end_time - self.start_time) / 1000

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__} | {"duration_s": self.duration_s}


_CONTEXT_COLUMNS = (
    "host",
    "pid",
    "notebook_path",
    "notebook_sha",
    "cell_id",
    "cell_source",
    "execution_count",
    "git_commit",
    "git_branch",
    "git_dirty",
    "git_diff",
    "env_hash",
    "python_version",
    "gpu",
)
# Context columns a run may fill in after it started (captured in the background).
_CONTEXT_UPDATABLE = frozenset(_CONTEXT_COLUMNS) - {"host", "pid"}
_ARTIFACT_COLUMNS = (
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
# Model and alias names: what a URL path segment and a shell word hold without quoting.
_REGISTRY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")

_RUN_COLUMNS = (
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


class Store:
    """A Workbench store: one directory holding ``workbench.duckdb`` and its artifacts.

    Use :func:`get_store` rather than the constructor, so every user of one directory in
    a process shares its lock.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.db_path = self.directory / DB_FILENAME
        self.artifact_dir = self.directory / "artifacts"
        self.spool_dir = self.directory / "spool"
        self.lock = StoreLock(self.directory / "workbench.lock")
        self._con: duckdb.DuckDBPyConnection | None = None
        self._con_pid = -1
        self._migrated = False

    def __repr__(self) -> str:
        return f"Store({str(self.directory)!r})"

    # -- sessions ------------------------------------------------------------------
    def _memory_connection(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        if self._con is None or self._con_pid != os.getpid():
            # A DuckDB instance must not cross a fork: make a new one in the child.
            self._con = duckdb.connect(":memory:")
            self._con_pid = os.getpid()
        return self._con

    @contextlib.contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the store for one unit of work and yield a connection whose default
        catalog is the store. Commit or roll back inside; the file is released after.

        Spooled batches of other processes are folded in first, so what a session reads
        includes everything any process has flushed.
        """
        with self.lock, self._attached() as con:
            yield con

    @contextlib.contextmanager
    def _attached(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # The caller holds self.lock.
        import duckdb

        con = self._memory_connection()
        existed = self.db_path.exists() and self.db_path.stat().st_size > 0
        try:
            con.execute(f"ATTACH '{_sql_str(str(self.db_path))}' AS {_ALIAS}")
        except duckdb.Error as e:
            if existed:
                raise StoreCorruptError(
                    f"{self.db_path} is not a readable Workbench store ({_first_line(e)}). "
                    "It was left untouched: move it aside to start a new store, or point "
                    "--store / $WORKBENCH_STORE at another directory"
                ) from None
            raise
        try:
            con.execute(f"USE {_ALIAS}")
            self._ensure_schema(con)
            self._fold_spool(con)
            yield con
        except BaseException:
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            raise
        finally:
            con.execute("USE memory")
            con.execute(f"DETACH {_ALIAS}")

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        import duckdb

        try:
            version = con.execute("SELECT max(version) FROM _workbench_migrations").fetchone()[0]
        except duckdb.CatalogException:
            version = None
        if version == SCHEMA_VERSION:
            return  # the common case: one cheap query per session
        has_table = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? "
            "AND table_name = '_workbench_migrations'",
            [_ALIAS],
        ).fetchone()[0]
        if has_table:
            version = con.execute("SELECT coalesce(max(version), 0) FROM _workbench_migrations").fetchone()[0]
        else:
            other = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = ?", [_ALIAS]
            ).fetchone()[0]
            if other:
                raise StoreCorruptError(
                    f"{self.db_path} is a DuckDB file but not a Workbench store (it has tables "
                    "but no _workbench_migrations table); it was left untouched"
                )
            version = 0
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"{self.db_path} has schema version {version}, written by a newer Workbench; "
                f"this version reads up to {SCHEMA_VERSION}. Upgrade workbench "
                "(pip install -U workbench); the store was not changed"
            )
        if version == SCHEMA_VERSION:
            return
        con.execute("BEGIN")
        if not has_table:
            con.execute(
                "CREATE TABLE _workbench_migrations (version INTEGER PRIMARY KEY, "
                "name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
        for number, (name, sql) in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            con.execute(sql)
            con.execute("INSERT INTO _workbench_migrations VALUES (?, ?, current_timestamp)", [number, name])
        con.execute("COMMIT")

    def schema_version(self) -> int:
        """The schema version recorded in the store (creating the store if needed)."""
        with self.session() as con:
            return con.execute("SELECT max(version) FROM _workbench_migrations").fetchone()[0]

    # -- writes ----------------------------------------------------------------------
    def write(self, batch: Batch) -> None:
        """Write one batch from the tracking buffer; never waits for another process.

        With the lock free, the batch is written in one transaction. While another
        process holds the store, it goes to a spool file instead (about 0.5 ms), which
        the next session of any process folds in before doing anything else.
        """
        if batch.is_empty():
            return
        if not self.lock.try_acquire():
            self._spool(batch)
            return
        try:
            with self._attached() as con:
                self._apply(con, batch)
        finally:
            self.lock.release()

    # -- the spool -----------------------------------------------------------------
    def _spool(self, batch: Batch) -> Path:
        import pyarrow as pa
        import pyarrow.ipc as ipc

        global _spool_seq
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        _spool_seq += 1
        # Names sort by time, so folding applies one process's batches in order.
        name = f"{time.time_ns():020d}-{os.getpid()}-{_spool_seq:08d}.arrow"
        table = (
            _metrics_table(batch)
            if (batch.metrics or batch.metrics_table is not None)
            else _empty_metrics_table()
        )
        rest = {
            "experiments": batch.experiments,
            "runs": batch.runs,
            "params": batch.params,
            "tags": batch.tags,
            "artifacts": batch.artifacts,
            "ends": batch.ends,
            "heartbeats": batch.heartbeats,
            "contexts": batch.contexts,
            "environments": batch.environments,
            "created_ms": batch.created_ms,
        }
        table = table.replace_schema_metadata({b"workbench_batch": json.dumps(rest).encode()})
        tmp = self.spool_dir / (name + ".tmp")
        with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, self.spool_dir / name)  # readers never see a half-written file
        return self.spool_dir / name

    def _fold_spool(self, con: duckdb.DuckDBPyConnection) -> int:
        """Apply every spool file not yet applied, oldest first; returns how many."""
        try:
            names = sorted(n for n in os.listdir(self.spool_dir) if n.endswith(".arrow"))
        except FileNotFoundError:
            return 0
        if not names:
            return 0
        import duckdb

        applied = {r[0] for r in con.execute("SELECT name FROM spool_applied").fetchall()}
        pending = [n for n in names if n not in applied]
        if len(pending) > 1:
            # All in one transaction when they can be; file by file (to find a bad one) if not.
            try:
                batches = [_read_spool(self.spool_dir / n) for n in pending]
                self._apply(con, _merge(batches), spool_names=pending)
                applied.update(pending)
            except (duckdb.Error, OSError, ValueError, KeyError):
                pass
        done = []
        for name in names:
            path = self.spool_dir / name
            if name not in applied:
                try:
                    self._apply(con, _read_spool(path), spool_names=[name])
                except (duckdb.Error, OSError, ValueError, KeyError) as e:
                    # One bad file must not block the store; keep it aside for a person.
                    bad = self.spool_dir / "bad"
                    bad.mkdir(exist_ok=True)
                    os.replace(path, bad / name)
                    log.warning("workbench: could not apply spool file %s (%s); moved to %s", name, e, bad)
                    continue
            path.unlink(missing_ok=True)
            done.append(name)
        if done:
            con.execute("DELETE FROM spool_applied WHERE name IN (SELECT unnest(?::VARCHAR[]))", [done])
        return len(done)

    def _apply(self, con: duckdb.DuckDBPyConnection, batch: Batch, spool_names: Sequence[str] = ()) -> None:
        """Write a batch in one transaction (recording the spool files it came from)."""
        con.execute("BEGIN")
        try:
            self._apply_rows(con, batch)
            if spool_names:
                con.execute(
                    "INSERT INTO spool_applied SELECT unnest(?::VARCHAR[]), ?", [list(spool_names), _now_ms()]
                )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _apply_rows(self, con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
        import pyarrow as pa

        if batch.experiments:
            exp = pa.table(
                {
                    "name": list(batch.experiments),
                    "created_at": pa.array(list(batch.experiments.values()), pa.int64()),
                }
            )
            con.register("_exp", exp)
            con.execute("INSERT INTO experiments SELECT * FROM _exp ON CONFLICT DO NOTHING")
            con.unregister("_exp")
        if batch.runs:
            cols = {c: [r.get(c) for r in batch.runs] for c in _RUN_COLUMNS}
            types = {
                "start_time": pa.int64(),
                "end_time": pa.int64(),
                "pid": pa.int32(),
                "pid_started": pa.int64(),
                "execution_count": pa.int32(),
                "heartbeat": pa.int64(),
                "git_dirty": pa.bool_(),
            }
            tbl = pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in cols.items()})
            con.register("_runs", tbl)
            con.execute(f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) SELECT * FROM _runs")
            con.unregister("_runs")
        for table, rows in (("params", batch.params), ("tags", batch.tags)):
            if rows:
                run_ids, keys, values = zip(*rows)
                tbl = pa.table({"run_id": run_ids, "key": keys, "value": values})
                con.register("_kv", tbl)
                # Same key twice in one batch: the last one wins, as it would in order.
                con.execute(
                    f"INSERT INTO {table} SELECT run_id, key, last(value ORDER BY rn) FROM "
                    "(SELECT *, row_number() OVER () AS rn FROM _kv) GROUP BY run_id, key "
                    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"
                )
                con.unregister("_kv")
        if batch.metrics or batch.metrics_table is not None:
            self._write_metrics(con, batch)
        if batch.artifacts:
            cols = _ARTIFACT_COLUMNS
            tbl = pa.table(
                {
                    c: pa.array(
                        # .get: spool files written before name/meta existed lack them.
                        [a.get(c) for a in batch.artifacts],
                        pa.int64() if c in ("size", "created_at") else pa.string(),
                    )
                    for c in cols
                }
            )
            con.register("_art", tbl)
            con.execute(f"INSERT INTO artifacts ({', '.join(cols)}) SELECT * FROM _art")
            con.unregister("_art")
        for env in batch.environments:
            con.execute(
                "INSERT INTO environments VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [env["env_hash"], env["python"], env["platform"], env["packages"], env["created_at"]],
            )
        for run_id, ctx in batch.contexts:
            cols = [c for c in ctx if c in _CONTEXT_UPDATABLE]
            if cols:
                # Column names come from the fixed allow-list above, never from input.
                con.execute(
                    f"UPDATE runs SET {', '.join(f'{c} = ?' for c in cols)} WHERE run_id = ?",
                    [ctx[c] for c in cols] + [run_id],
                )
        if batch.heartbeats:
            con.execute(
                "UPDATE runs SET heartbeat = ? WHERE run_id IN (SELECT unnest(?))",
                [batch.created_ms, batch.heartbeats],
            )
        if batch.ends:
            run_ids, statuses, end_times, errors = zip(*batch.ends)
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

    def _write_metrics(self, con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
        tbl = _metrics_table(batch)
        con.register("_m", tbl)
        con.execute("INSERT INTO metrics SELECT run_id::VARCHAR, key, step, value, timestamp FROM _m")
        # MLflow's notion of "latest": highest step, then newest.
        con.execute(
            """
            INSERT INTO latest_metrics
            SELECT run_id::VARCHAR, key, max(step), arg_max(value, (step, timestamp)),
                   arg_max(timestamp, (step, timestamp))
            FROM _m GROUP BY run_id, key
            ON CONFLICT (run_id, key) DO UPDATE SET
                step = excluded.step, value = excluded.value, timestamp = excluded.timestamp
            WHERE (excluded.step, excluded.timestamp) >= (latest_metrics.step, latest_metrics.timestamp)
            """
        )
        con.execute(
            """
            INSERT INTO metric_spans
            SELECT run_id::VARCHAR, key, min(step), max(step), count(*) FROM _m GROUP BY run_id, key
            ON CONFLICT (run_id, key) DO UPDATE SET
                min_step = least(metric_spans.min_step, excluded.min_step),
                max_step = greatest(metric_spans.max_step, excluded.max_step),
                n = metric_spans.n + excluded.n
            """
        )
        con.unregister("_m")

    def set_deleted(self, run_id: str, deleted: bool) -> None:
        """Soft-delete (or restore) a run: it is hidden from searches but kept whole."""
        with self.session() as con:
            con.execute(
                "UPDATE runs SET deleted_at = ? WHERE run_id = ?",
                [_now_ms() if deleted else None, run_id],
            )

    # -- blobs -------------------------------------------------------------------------
    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int, Path]:
        """Copy a file into the store's content-addressed blob folder (once per content).

        Returns ``(sha256, size, stored_path)``. Hashing streams the file, so size is no
        concern.
        """
        import shutil

        from ..datasets import sha256_file

        digest, size = sha256_file(path)
        dest = self._publish_blob(digest, lambda tmp: shutil.copyfile(path, tmp))
        return digest, size, dest

    def put_bytes(self, data: bytes) -> str:
        """Store bytes as a blob (once per content); returns their sha256."""
        import hashlib

        digest = hashlib.sha256(data).hexdigest()
        self._publish_blob(digest, lambda tmp: tmp.write_bytes(data))
        return digest

    def _publish_blob(self, digest: str, write: Any) -> Path:
        dest = self.blob_path(digest)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f"{digest}.tmp{os.getpid()}-{threading.get_ident()}")
            write(tmp)
            os.replace(tmp, dest)  # concurrent writers of the same content end up with one file
        return dest

    def blob_path(self, digest: str) -> Path:
        """Where the blob with this sha256 lives (it may not exist)."""
        return self.artifact_dir / digest[:2] / digest

    def environment(self, env_hash: str) -> dict[str, Any] | None:
        """The recorded environment (python, platform, packages) with this hash."""
        with self.session() as con:
            row = con.execute(
                "SELECT env_hash, python, platform, packages FROM environments WHERE env_hash = ?", [env_hash]
            ).fetchone()
        if row is None:
            return None
        return {"env_hash": row[0], "python": row[1], "platform": row[2], "packages": json.loads(row[3])}

    # -- liveness ----------------------------------------------------------------------
    def reap_dead_runs(self, con: duckdb.DuckDBPyConnection) -> int:
        """Mark ``killed`` the runs still ``running`` whose process is gone.

        On this host the pid is checked (with its start time, against pid reuse); runs of
        other hosts are judged by their heartbeat. Returns how many runs were marked.
        """
        rows = con.execute(
            "SELECT run_id, host, pid, pid_started, heartbeat FROM runs WHERE status = 'running'"
        ).fetchall()
        if not rows:
            return 0
        host, now = procs.hostname(), _now_ms()
        dead = []
        for run_id, run_host, pid, started, heartbeat in rows:
            if run_host == host:
                if not procs.is_alive(pid, started):
                    dead.append((run_id, heartbeat or now, f"process {pid} ended without ending the run"))
            elif heartbeat is not None and now - heartbeat > STALE_HEARTBEAT_MS:
                dead.append((run_id, heartbeat, f"no heartbeat from {run_host} since {heartbeat}"))
        if dead:
            con.execute("BEGIN")
            for run_id, end, why in dead:
                con.execute(
                    "UPDATE runs SET status = 'killed', end_time = ?, error = coalesce(error, ?) "
                    "WHERE run_id = ? AND status = 'running'",
                    [end, why, run_id],
                )
            con.execute("COMMIT")
        return len(dead)

    # -- reads -----------------------------------------------------------------------
    def resolve_run_id(self, ref: str, con: duckdb.DuckDBPyConnection | None = None) -> str:
        """Return the full run id for an id or unique prefix.

        Raises
        ------
        RunNotFoundError, AmbiguousRunError
        """
        if con is None:
            with self.session() as c:
                return self.resolve_run_id(ref, c)
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

    def resolve_run_ids(self, refs: Sequence[str]) -> list[str]:
        """Resolve several ids or prefixes in one session (see :meth:`resolve_run_id`)."""
        with self.session() as con:
            return [self.resolve_run_id(r, con) for r in refs]

    def search_runs(
        self,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        experiment: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """Runs matching a filter, one row each, shaped like MLflow's ``search_runs``.

        See :func:`workbench.runs` for the columns and the filter grammar.
        """
        import pandas as pd

        query = build_query(filter, order_by)  # parse before touching the store
        where, params = _run_conditions(query.where, query.where_params, experiment, include_deleted)
        page = ""
        if limit is not None:
            page = f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with self.session() as con:
            self.reap_dead_runs(con)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _sel AS SELECT row_number() OVER () AS _ord, * FROM ("
                "SELECT r.run_id, r.run_name, r.experiment, r.status, r.start_time, r.end_time, "
                f"r.source, r.parent_run_id FROM runs r WHERE {where} "
                f"ORDER BY {query.order}{page})",
                params + query.order_params,
            )
            base = con.execute("SELECT * FROM _sel ORDER BY _ord").df()
            wide = {
                prefix: con.execute(
                    f"SELECT t.run_id, t.key, t.value FROM {table} t JOIN _sel USING (run_id)"
                ).df()
                for prefix, table in (("params", "params"), ("metrics", "latest_metrics"), ("tags", "tags"))
            }
            con.execute("DROP TABLE _sel")
        base = base.drop(columns="_ord")
        for col in ("start_time", "end_time"):
            base[col] = pd.to_datetime(base[col], unit="ms", utc=True)
        frames = [base.set_index("run_id")]
        for prefix, long in wide.items():
            if len(long):
                w = long.pivot(index="run_id", columns="key", values="value")
                w.columns = [f"{prefix}.{k}" for k in w.columns]
                frames.append(w.reindex(sorted(w.columns), axis=1))
        out = frames[0].join(frames[1:]) if len(frames) > 1 else frames[0]
        return out.reset_index()

    def count_runs(
        self,
        filter: str | None = None,
        experiment: str | Sequence[str] | None = None,
        include_deleted: bool = False,
    ) -> int:
        """How many runs :meth:`search_runs` would find (for pagination)."""
        query = build_query(filter, None)
        where, params = _run_conditions(query.where, query.where_params, experiment, include_deleted)
        with self.session() as con:
            return con.execute(f"SELECT count(*) FROM runs r WHERE {where}", params).fetchone()[0]

    def get_run(self, ref: str) -> RunRecord:
        """Everything recorded about one run (id or unique prefix)."""
        with self.session() as con:
            self.reap_dead_runs(con)
            run_id = self.resolve_run_id(ref, con)
            cur = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
            names = [d[0] for d in cur.description]
            row = dict(zip(names, cur.fetchone()))
            params = dict(
                con.execute(
                    "SELECT key, value FROM params WHERE run_id = ? ORDER BY key", [run_id]
                ).fetchall()
            )
            metrics = dict(
                con.execute(
                    "SELECT key, value FROM latest_metrics WHERE run_id = ? ORDER BY key", [run_id]
                ).fetchall()
            )
            tags = dict(
                con.execute("SELECT key, value FROM tags WHERE run_id = ? ORDER BY key", [run_id]).fetchall()
            )
            artifacts = self._artifact_dicts(
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
            context={c: row[c] for c in _CONTEXT_COLUMNS},
            deleted=row["deleted_at"] is not None,
            children=children,
        )

    def metric_history(self, run_ids: Sequence[str], keys: Sequence[str] | None = None) -> pd.DataFrame:
        """Every point of the given metrics for the given (full) run ids, as a DataFrame
        with columns ``run_id, key, step, value, timestamp``."""
        import pandas as pd

        sql = (
            "SELECT m.run_id, m.key, m.step, m.value, m.timestamp FROM metrics m "
            "JOIN (SELECT unnest(?::VARCHAR[]) AS run_id, generate_subscripts(?::VARCHAR[], 1) AS o) s "
            "USING (run_id)"
        )
        params: list[Any] = [list(run_ids), list(run_ids)]
        if keys is not None:
            sql += " WHERE m.key IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(keys))
        sql += " ORDER BY s.o, m.key, m.step, m.timestamp"
        with self.session() as con:
            df = con.execute(sql, params).df()
        df["timestamp"] = pd.to_datetime(df["timestamp"], unit="ms", utc=True)
        return df

    def metric_series(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None, max_points: int = 1000
    ) -> list[dict[str, Any]]:
        """Metric curves for charts, each at most ``max_points`` points.

        A longer series is cut into ``max_points // 2`` step ranges and keeps, per range,
        its lowest and highest point (in step order), so spikes and the curve's envelope
        survive, which averaging would smooth away.

        Run ids may be given by unique prefix.

        Returns
        -------
        list of dict
            ``{"run_id", "key", "steps", "values"}`` per (run, key), ordered by the given
            run ids, then key.
        """
        buckets = max(1, int(max_points) // 2)
        key_filter, params = "", [list(run_ids)]
        if keys is not None:
            key_filter = " AND key = ANY(?::VARCHAR[])"
            params.append(list(keys))
        with self.session() as con:
            run_ids = [self.resolve_run_id(r, con) for r in run_ids]
            params[0] = list(run_ids)
            spans = con.execute(
                f"SELECT run_id, key, min_step, max_step, n FROM metric_spans "
                f"WHERE run_id = ANY(?::VARCHAR[]){key_filter}",
                params,
            ).fetchall()
            # Series of the same span share one bucketing formula, so each group is one
            # scan with constants (a join or CASE per row costs twice as much).
            groups: dict[tuple[int, float], set[tuple[str, str]]] = {}
            for run_id, key, s0, s1, n in spans:
                width = (s1 - s0 + 1) / buckets if n > max_points else 0.0
                groups.setdefault((s0, width), set()).add((run_id, key))
            rows = []
            for (s0, width), pairs in groups.items():
                bucket = "step" if width == 0.0 else "floor((step - ?) / ?)"
                bparams = [] if width == 0.0 else [s0, width]
                found = con.execute(
                    f"SELECT run_id, key, {bucket} AS b, arg_min(step, value), min(value), "
                    "arg_max(step, value), max(value) FROM metrics "
                    "WHERE run_id = ANY(?::VARCHAR[]) AND key = ANY(?::VARCHAR[]) GROUP BY ALL ORDER BY b",
                    [*bparams, sorted({p[0] for p in pairs}), sorted({p[1] for p in pairs})],
                ).fetchall()
                rows.extend(r for r in found if (r[0], r[1]) in pairs)
        series: dict[tuple[str, str], dict[str, Any]] = {}
        for run_id, key, _bucket, lo_step, lo, hi_step, hi in rows:
            s = series.setdefault((run_id, key), {"run_id": run_id, "key": key, "steps": [], "values": []})
            pts = [(lo_step, lo)] if lo_step == hi_step else sorted([(lo_step, lo), (hi_step, hi)])
            for st, v in pts:
                s["steps"].append(st)
                s["values"].append(v)
        order = {r: i for i, r in enumerate(run_ids)}
        return sorted(series.values(), key=lambda s: (order.get(s["run_id"], 0), s["key"]))

    def experiments(self) -> list[dict[str, Any]]:
        """Experiments with their run counts, newest first."""
        with self.session() as con:
            cur = con.execute(
                "SELECT e.name, e.created_at, count(r.run_id) AS runs, max(r.start_time) AS last_run "
                "FROM experiments e LEFT JOIN runs r ON r.experiment = e.name AND r.deleted_at IS NULL "
                "GROUP BY e.name, e.created_at ORDER BY e.created_at DESC, e.name"
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    # -- lineage -------------------------------------------------------------------
    @staticmethod
    def _artifact_dicts(
        con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]
    ) -> list[dict[str, Any]]:
        cur = con.execute(sql, params)
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        for row in rows:
            if "meta" in row:
                row["meta"] = json.loads(row["meta"]) if row["meta"] else {}
        return rows

    def lineage_step(
        self, run_ids: Sequence[str], shas: Sequence[str], con: duckdb.DuckDBPyConnection | None = None
    ) -> dict[str, Any]:
        """One breadth-first step of the lineage graph.

        Returns ``artifacts``: every artifact row of the given runs or with one of the
        given hashes (each with ``run_id``); ``runs``: a summary of every run those rows,
        the given runs, their parents and their reruns name (deleted runs excluded).
        Pass ``con`` (from :meth:`session`) to run many steps in one session.
        """
        with contextlib.nullcontext(con) if con is not None else self.session() as con:
            artifacts = self._artifact_dicts(
                con,
                "SELECT a.run_id, a.path, a.kind, a.sha256, a.size, a.direction, a.name, a.created_at "
                "FROM artifacts a JOIN runs r USING (run_id) WHERE r.deleted_at IS NULL AND "
                "(a.run_id IN (SELECT unnest(?::VARCHAR[])) OR a.sha256 IN (SELECT unnest(?::VARCHAR[]))) "
                "ORDER BY a.created_at, a.rowid",
                [list(run_ids), list(shas)],
            )
            ids = sorted({*run_ids, *(a["run_id"] for a in artifacts)})
            cur = con.execute(
                "SELECT run_id, run_name, status, experiment, source, parent_run_id, start_time FROM runs "
                "WHERE deleted_at IS NULL AND (run_id IN (SELECT unnest(?::VARCHAR[])) "
                "OR parent_run_id IN (SELECT unnest(?::VARCHAR[])) "
                "OR run_id IN (SELECT parent_run_id FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))))",
                [ids, list(run_ids), list(run_ids)],
            )
            cols = [d[0] for d in cur.description]
            runs = {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}
        return {"artifacts": artifacts, "runs": runs}

    def dataset_rows(self, run_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Input artifacts of kind ``dataset`` of the given runs, with their metadata."""
        with self.session() as con:
            return self._artifact_dicts(
                con,
                "SELECT run_id, path, kind, sha256, size, name, meta FROM artifacts "
                "WHERE direction = 'input' AND kind = 'dataset' AND run_id IN (SELECT unnest(?::VARCHAR[])) "
                "ORDER BY created_at, rowid",
                [list(run_ids)],
            )

    # -- model registry ------------------------------------------------------------
    @staticmethod
    def check_registry_name(what: str, name: Any) -> str:
        """``name`` if it is a valid model or alias name, else a clear error."""
        if not isinstance(name, str) or not _REGISTRY_NAME.match(name):
            raise InvalidInputError(
                f"{what} {name!r} is not valid: use 1-128 letters, digits, '_', '.' or '-', "
                "starting with a letter or digit"
            )
        return name

    def register_model_version(self, name: str, run_id: str, artifact: dict[str, Any]) -> int:
        """Add the next version of model ``name`` (created on first use); returns it.

        The version number is taken under the store lock, so concurrent registrations
        from several processes get distinct, consecutive numbers.
        """
        self.check_registry_name("model name", name)
        with self.session() as con:
            con.execute("BEGIN")
            try:
                version = con.execute(
                    "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE name = ?", [name]
                ).fetchone()[0]
                con.execute(
                    "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        name,
                        version,
                        run_id,
                        artifact["sha256"],
                        artifact["path"],
                        artifact.get("stored_path"),
                        _now_ms(),
                    ],
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return int(version)

    def set_model_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` of model ``name`` at ``version`` (moving it if it exists)."""
        self.check_registry_name("alias", alias)
        if alias.isdigit():
            raise InvalidInputError(
                f"alias {alias!r} is not valid: an alias cannot be a number (versions are)"
            )
        with self.session() as con:
            self._check_version(con, name, version)
            con.execute(
                "INSERT INTO model_aliases VALUES (?, ?, ?, ?) ON CONFLICT (name, alias) DO UPDATE "
                "SET version = excluded.version, updated_at = excluded.updated_at",
                [name, alias, version, _now_ms()],
            )

    def delete_model_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from model ``name``."""
        with self.session() as con:
            found = con.execute(
                "DELETE FROM model_aliases WHERE name = ? AND alias = ? RETURNING version", [name, alias]
            ).fetchall()
        if not found:
            raise NotFoundError(f"model {name!r} has no alias {alias!r}")

    def _check_version(self, con: duckdb.DuckDBPyConnection, name: str, version: int) -> None:
        versions = [
            r[0]
            for r in con.execute(
                "SELECT version FROM model_versions WHERE name = ? ORDER BY 1", [name]
            ).fetchall()
        ]
        if not versions:
            raise NotFoundError(f"no registered model named {name!r}")
        if version not in versions:
            raise NotFoundError(
                f"model {name!r} has no version {version}: it has versions {', '.join(map(str, versions))}"
            )

    def model_versions(self, name: str | None = None) -> list[dict[str, Any]]:
        """Registered model versions (all models, or one), each with its aliases, run name
        and the run's final metrics; ordered by name, then version."""
        with self.session() as con:
            cur = con.execute(
                "SELECT v.name, v.version, v.run_id, r.run_name, v.sha256, v.path, v.stored_path, v.created_at, "
                "coalesce((SELECT list(a.alias ORDER BY a.alias) FROM model_aliases a "
                "  WHERE a.name = v.name AND a.version = v.version), []) AS aliases, "
                "coalesce((SELECT map(list(m.key ORDER BY m.key), list(m.value ORDER BY m.key)) "
                "  FROM latest_metrics m WHERE m.run_id = v.run_id), MAP {}) AS metrics "
                "FROM model_versions v LEFT JOIN runs r USING (run_id) "
                "WHERE ? IS NULL OR v.name = ? ORDER BY v.name, v.version",
                [name, name],
            )
            cols = [d[0] for d in cur.description]
            rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        for row in rows:
            row["metrics"] = dict(row["metrics"]) if row["metrics"] else {}
        return rows

    def resolve_model_version(
        self, name: str, version: int | None = None, alias: str | None = None
    ) -> dict[str, Any]:
        """One model version, by number, by alias, or the latest when neither is given."""
        versions = self.model_versions(name)
        if not versions:
            raise NotFoundError(f"no registered model named {name!r}")
        if alias is not None:
            for v in versions:
                if alias in v["aliases"]:
                    return v
            known = sorted({a for v in versions for a in v["aliases"]})
            raise NotFoundError(
                f"model {name!r} has no alias {alias!r}"
                + (f": its aliases are {', '.join(known)}" if known else ": it has no aliases")
            )
        if version is None:
            return versions[-1]
        for v in versions:
            if v["version"] == version:
                return v
        raise NotFoundError(
            f"model {name!r} has no version {version}: it has versions "
            + ", ".join(str(v["version"]) for v in versions)
        )

    # -- model card sections ------------------------------------------------------------
    def set_card_sections(self, run_id: str, sections: dict[str, str]) -> None:
        """Store the author's model card text for a run (replacing earlier text)."""
        with self.session() as con:
            con.execute(
                "INSERT INTO card_sections VALUES (?, ?, ?) ON CONFLICT (run_id) DO UPDATE "
                "SET sections = excluded.sections, updated_at = excluded.updated_at",
                [run_id, json.dumps(sections), _now_ms()],
            )

    def card_sections(self, run_id: str) -> dict[str, str]:
        """The author's model card text recorded for a run ({} when none)."""
        with self.session() as con:
            row = con.execute("SELECT sections FROM card_sections WHERE run_id = ?", [run_id]).fetchone()
        return json.loads(row[0]) if row else {}


def _run_conditions(
    filter_sql: str,
    filter_params: Sequence[Any],
    experiment: str | Sequence[str] | None,
    include_deleted: bool,
) -> tuple[str, list[Any]]:
    """The WHERE clause (over ``runs r``) shared by searching and counting runs."""
    where, params = [f"({filter_sql})"], list(filter_params)
    if not include_deleted:
        where.append("r.deleted_at IS NULL")
    if experiment is not None:
        where.append("r.experiment IN (SELECT unnest(?::VARCHAR[]))")
        params.append([experiment] if isinstance(experiment, str) else list(experiment))
    return " AND ".join(where), params


def _metrics_table(batch: Batch) -> Any:
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


def _empty_metrics_table() -> Any:
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


def _read_spool(path: Path) -> Batch:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with pa.memory_map(str(path)) as src:
        table = ipc.open_file(src).read_all()
    rest = json.loads(table.schema.metadata[b"workbench_batch"])
    return Batch(
        experiments=rest["experiments"],
        runs=rest["runs"],
        params=[tuple(p) for p in rest["params"]],
        tags=[tuple(t) for t in rest["tags"]],
        artifacts=rest["artifacts"],
        ends=[tuple(e) for e in rest["ends"]],
        heartbeats=rest["heartbeats"],
        contexts=[tuple(c) for c in rest.get("contexts", [])],
        environments=rest.get("environments", []),
        created_ms=rest["created_ms"],
        metrics_table=table.replace_schema_metadata(None) if table.num_rows else None,
    )


def _merge(batches: Sequence[Batch]) -> Batch:
    """One batch holding several, in order (for folding many spool files at once)."""
    import pyarrow as pa

    out = Batch(created_ms=max(b.created_ms for b in batches))
    for b in batches:
        out.experiments.update(b.experiments)
        out.runs.extend(b.runs)
        out.params.extend(b.params)
        out.tags.extend(b.tags)
        out.artifacts.extend(b.artifacts)
        out.ends.extend(b.ends)
        out.heartbeats.extend(b.heartbeats)
        out.contexts.extend(b.contexts)
        out.environments.extend(b.environments)
    tables = [b.metrics_table for b in batches if b.metrics_table is not None]
    if tables:
        out.metrics_table = pa.concat_tables(tables)
    return out


_spool_seq = 0


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _now_ms() -> int:
    return int(time.time() * 1000)


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def get_store(path: str | os.PathLike[str] | None = None) -> Store:
    """The process-wide :class:`Store` for a directory resolved by ``resolve_store``."""
    directory = resolve_store(path)
    with _stores_lock:
        store = _stores.get(directory)
        if store is None:
            store = _stores[directory] = Store(directory)
        return store
