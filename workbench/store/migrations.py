"""The store's schema as ordered, named migrations, and the check that applies them.

Each migration runs once, in order, inside the transaction that records it in
``_workbench_migrations``. A store whose recorded version is above ``SCHEMA_VERSION``
was written by a newer Workbench and is refused, never altered.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..errors import StoreCorruptError, StoreVersionError
from .blocks import BLOCKS_DDL, insert_blocks
from .run_values import RUN_VALUES_DDL, rebuild
from .session import ALIAS

if TYPE_CHECKING:
    import duckdb

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "ensure_schema", "schema_version"]


class Migration(NamedTuple):
    """One step of the schema: a name saying what it adds, and its SQL (or a function
    running SQL on the connection, for a step that must look at the store first)."""

    name: str
    sql: str | Callable[[duckdb.DuckDBPyConnection], None]


#: The metric points, 4 bytes a value where float32 holds it exactly (what a GPU logs),
#: and one row per (run, key) series with its latest point and extent. ``metrics``,
#: ``latest_metrics`` and ``metric_spans`` are views over them, so readers are unchanged.
METRIC_TABLES = """
-- One row per (run, key): its id in metric_points, its latest point (MLflow's: highest
-- step, then newest time, then largest value; the step is max_step), its step and
-- time extent and its point count, maintained at each write.
CREATE TABLE metric_series (
    sid BIGINT NOT NULL,
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    min_step BIGINT NOT NULL,
    max_step BIGINT NOT NULL,
    n BIGINT NOT NULL,
    value DOUBLE NOT NULL,
    timestamp BIGINT NOT NULL,
    min_ts BIGINT NOT NULL,
    max_ts BIGINT NOT NULL,
    PRIMARY KEY (run_id, key)
);
-- Every point, append-only, without an index. A value is in value32 when float32 holds
-- it exactly, else in value64 (NaN, 0.1, ...): one of them is NULL, and nothing is lost.
-- The series id, not its run id and key, keeps a point at a few bytes.
CREATE TABLE metric_points (
    sid BIGINT NOT NULL,
    step BIGINT NOT NULL,
    value32 FLOAT,
    value64 DOUBLE,
    timestamp BIGINT NOT NULL
);
"""

METRIC_VIEWS = """
CREATE VIEW metrics AS
SELECT s.run_id, s.key, p.step, coalesce(p.value32::DOUBLE, p.value64) AS value, p.timestamp
FROM metric_points p JOIN metric_series s USING (sid);
CREATE VIEW latest_metrics AS
SELECT run_id, key, max_step AS step, value, timestamp FROM metric_series;
CREATE VIEW metric_spans AS
SELECT run_id, key, min_step, max_step, n, min_ts, max_ts FROM metric_series;
"""


def _split_metric_points(con: duckdb.DuckDBPyConnection) -> None:
    """Move the points of ``metrics`` into ``metric_points`` and the rows of
    ``latest_metrics`` and ``metric_spans`` into ``metric_series``, and leave views of
    the old names (20-35 s for 110M points on 2 cores, in one transaction)."""
    con.execute(METRIC_TABLES)
    n_points = con.execute("SELECT count(*) FROM metrics").fetchone()[0]
    n_spans, n_summed, n_untimed = con.execute(
        "SELECT count(*), coalesce(sum(n), 0), count(*) FILTER (WHERE min_ts IS NULL OR max_ts IS NULL) "
        "FROM metric_spans"
    ).fetchone()
    n_latest, n_both = con.execute(
        "SELECT (SELECT count(*) FROM latest_metrics), (SELECT count(*) FROM latest_metrics l "
        "JOIN metric_spans s USING (run_id, key) WHERE l.step = s.max_step)"
    ).fetchone()
    # Series ids follow the order series were created in (the row order of
    # latest_metrics, and of the points), so one series' points lie in few row groups.
    from_summaries = n_points == n_summed and n_spans == n_latest == n_both
    if from_summaries:
        source = (
            "SELECT l.run_id, l.key, s.min_step, s.max_step, s.n, l.value, l.timestamp, "
            "coalesce(s.min_ts, 0), coalesce(s.max_ts, 0), l.rowid AS o "
            "FROM latest_metrics l JOIN metric_spans s USING (run_id, key)"
        )
    else:  # summaries that disagree with the points (a store edited by hand): from the points
        # (A window, not arg_max over a struct, which reads -0.0 back as 0.0.)
        source = (
            "SELECT run_id, key, min(step), max(step), count(*), "
            "first(value ORDER BY step DESC, timestamp DESC, value DESC), "
            "max(timestamp) FILTER (WHERE step = max_step), min(timestamp), max(timestamp), min(o) AS o "
            "FROM (SELECT *, rowid AS o, max(step) OVER (PARTITION BY run_id, key) AS max_step FROM metrics) "
            "GROUP BY run_id, key"
        )
    con.execute(
        f"INSERT INTO metric_series SELECT row_number() OVER (ORDER BY o), * EXCLUDE (o) FROM ({source})"
    )
    # DuckDB refuses to cast a double beyond float32's range (TRY_CAST gives NULL), and
    # NaN = NaN there: a NaN stays 8 bytes, with its sign and payload.
    fits = "NOT isnan(m.value) AND TRY_CAST(m.value AS FLOAT) = m.value"
    moved = con.execute(
        f"INSERT INTO metric_points SELECT s.sid, m.step, CASE WHEN {fits} THEN TRY_CAST(m.value AS FLOAT) END, "
        f"CASE WHEN {fits} THEN NULL ELSE m.value END, m.timestamp "
        "FROM metrics m JOIN metric_series s USING (run_id, key)"
    ).fetchone()[0]
    if moved != n_points:
        raise StoreCorruptError(
            f"moving the metric points found {moved:,} of {n_points:,}; the store was not changed"
        )
    if from_summaries and n_untimed:  # spans written before they kept times
        con.execute(
            "UPDATE metric_series SET min_ts = t.lo, max_ts = t.hi FROM "
            "(SELECT sid, min(timestamp) AS lo, max(timestamp) AS hi FROM metric_points GROUP BY sid) t "
            "WHERE metric_series.sid = t.sid"
        )
    con.execute("DROP TABLE metrics; DROP TABLE latest_metrics; DROP TABLE metric_spans")
    con.execute(METRIC_VIEWS)


def _add_metric_blocks(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``metric_blocks`` and summarize the points already stored (2.3 s for the
    110M points of bench_scale's large store, on 2 cores)."""
    con.execute(BLOCKS_DDL)
    insert_blocks(con, "metric_points")


def _add_run_values(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``run_values`` and fill it from the long tables."""
    con.execute(RUN_VALUES_DDL)
    rebuild(con)


MIGRATIONS: list[Migration] = [
    Migration(
        "core tables: experiments, runs, params, metrics, tags, artifacts",
        """
        CREATE TABLE experiments (
            name VARCHAR PRIMARY KEY,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            experiment VARCHAR NOT NULL,
            run_name VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            start_time BIGINT NOT NULL,
            end_time BIGINT,
            source VARCHAR NOT NULL,
            parent_run_id VARCHAR,
            error VARCHAR,
            host VARCHAR,
            pid INTEGER,
            pid_started BIGINT,
            heartbeat BIGINT,
            notebook_path VARCHAR,
            notebook_sha VARCHAR,
            cell_id VARCHAR,
            cell_source VARCHAR,
            git_commit VARCHAR,
            git_branch VARCHAR,
            git_dirty BOOLEAN,
            env_hash VARCHAR,
            deleted_at BIGINT
        );
        CREATE TABLE params (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            PRIMARY KEY (run_id, key)
        );
        CREATE TABLE tags (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            PRIMARY KEY (run_id, key)
        );
        -- Every point, append-only: no index, so batches append at Arrow speed.
        CREATE TABLE metrics (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            step BIGINT NOT NULL,
            value DOUBLE NOT NULL,
            timestamp BIGINT NOT NULL
        );
        -- The latest point per (run, key), maintained at each flush, so search and the
        -- runs table never aggregate the full history.
        CREATE TABLE latest_metrics (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            step BIGINT NOT NULL,
            value DOUBLE NOT NULL,
            timestamp BIGINT NOT NULL,
            PRIMARY KEY (run_id, key)
        );
        CREATE TABLE artifacts (
            run_id VARCHAR NOT NULL,
            path VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            direction VARCHAR NOT NULL,
            stored_path VARCHAR,
            created_at BIGINT NOT NULL
        );
        """,
    ),
    Migration(
        "spool_applied: spool files already folded in, so a fold interrupted after its "
        "commit never applies a file twice",
        """
        CREATE TABLE spool_applied (
            name VARCHAR PRIMARY KEY,
            applied_at BIGINT NOT NULL
        );
        """,
    ),
    Migration(
        "run context from notebooks: execution count, git diff, python, gpu; environments",
        """
        ALTER TABLE runs ADD COLUMN execution_count INTEGER;
        ALTER TABLE runs ADD COLUMN git_diff VARCHAR;
        ALTER TABLE runs ADD COLUMN python_version VARCHAR;
        ALTER TABLE runs ADD COLUMN gpu VARCHAR;
        -- One row per distinct set of installed packages, referenced by runs.env_hash.
        CREATE TABLE environments (
            env_hash VARCHAR PRIMARY KEY,
            python VARCHAR NOT NULL,
            platform VARCHAR NOT NULL,
            packages VARCHAR NOT NULL,
            created_at BIGINT NOT NULL
        );
        """,
    ),
    Migration(
        "metric_spans: first/last step and point count per (run, key), for chart bucketing",
        """
        CREATE TABLE metric_spans (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            min_step BIGINT NOT NULL,
            max_step BIGINT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (run_id, key)
        );
        INSERT INTO metric_spans
        SELECT run_id, key, min(step), max(step), count(*) FROM metrics GROUP BY run_id, key;
        """,
    ),
    Migration(
        "lineage and registry: artifact name and metadata (dataset profiles, model class), "
        "model versions and aliases, card sections written by the author",
        """
        ALTER TABLE artifacts ADD COLUMN name VARCHAR;
        -- JSON: rows, schema, profile, hash method, role for datasets; class for models.
        ALTER TABLE artifacts ADD COLUMN meta VARCHAR;
        CREATE TABLE model_versions (
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            run_id VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            path VARCHAR NOT NULL,
            stored_path VARCHAR,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE model_aliases (
            name VARCHAR NOT NULL,
            alias VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (name, alias)
        );
        CREATE TABLE card_sections (
            run_id VARCHAR PRIMARY KEY,
            sections VARCHAR NOT NULL,
            updated_at BIGINT NOT NULL
        );
        """,
    ),
    Migration(
        "applied_batches: ids of the batches written, recorded in the transaction that "
        "writes each, so a batch retried after a commit that did happen changes nothing",
        """
        CREATE TABLE applied_batches (
            batch_id VARCHAR PRIMARY KEY,
            applied_at BIGINT NOT NULL
        );
        """,
    ),
    Migration(
        "runs.kernel: the Jupyter kernel spec a notebook's run ran in, so a rerun of a "
        "snapshot that names none (no kernelspec metadata) uses the same",
        """
        ALTER TABLE runs ADD COLUMN kernel VARCHAR;
        """,
    ),
    Migration(
        "metric_spans.min_ts/max_ts: the time range of each (run, key)'s points, so a read "
        "of one run's points scans only the row groups written in that range",
        """
        ALTER TABLE metric_spans ADD COLUMN min_ts BIGINT;
        ALTER TABLE metric_spans ADD COLUMN max_ts BIGINT;
        UPDATE metric_spans SET min_ts = t.lo, max_ts = t.hi
        FROM (SELECT run_id, key, min(timestamp) AS lo, max(timestamp) AS hi FROM metrics GROUP BY ALL) t
        WHERE metric_spans.run_id = t.run_id AND metric_spans.key = t.key;
        """,
    ),
    Migration(
        "metric_points and metric_series: a point's value in 4 bytes where float32 holds it "
        "exactly and its series by id, the latest point and spans in one row per series; "
        "metrics, latest_metrics and metric_spans become views",
        _split_metric_points,
    ),
    Migration(
        "metric_blocks: per series and range of 256 steps, its point count and lowest and "
        "highest point, so a chart of a long curve reads summaries, not every point",
        _add_metric_blocks,
    ),
    Migration(
        "run_values: one row per run with its params, latest metrics and tags as maps, "
        "kept by every write, so a search reads one row per run instead of three long tables",
        _add_run_values,
    ),
]

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the attached store."""
    return con.execute("SELECT max(version) FROM _workbench_migrations").fetchone()[0]


def ensure_schema(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Bring the attached store up to ``SCHEMA_VERSION`` (creating it when empty).

    Raises
    ------
    StoreCorruptError
        The file has tables but is not a Workbench store.
    StoreVersionError
        The store was written by a newer Workbench.
    """
    import duckdb

    try:
        version = schema_version(con)
    except duckdb.CatalogException:
        version = None
    if version == SCHEMA_VERSION:
        return  # the common case: one cheap query per session
    has_table = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? "
        "AND table_name = '_workbench_migrations'",
        [ALIAS],
    ).fetchone()[0]
    if has_table:
        version = con.execute("SELECT coalesce(max(version), 0) FROM _workbench_migrations").fetchone()[0]
    else:
        other = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ?", [ALIAS]
        ).fetchone()[0]
        if other:
            raise StoreCorruptError(
                f"{db_path} is a DuckDB file but not a Workbench store (it has tables "
                "but no _workbench_migrations table); it was left untouched"
            )
        version = 0
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{db_path} has schema version {version}, written by a newer Workbench; "
            f"this version reads up to {SCHEMA_VERSION}. Upgrade workbench "
            "(pip install -U workbench); the store was not changed"
        )
    if version < SCHEMA_VERSION:
        _migrate(con, version, create_table=not has_table)


def _migrate(con: duckdb.DuckDBPyConnection, version: int, create_table: bool) -> None:
    """Apply the migrations after ``version``, in one transaction."""
    import duckdb

    con.execute("BEGIN")
    try:
        if create_table:
            con.execute(
                "CREATE TABLE _workbench_migrations (version INTEGER PRIMARY KEY, "
                "name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
        for number, (name, sql) in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            if callable(sql):
                sql(con)
            else:
                con.execute(sql)
            con.execute("INSERT INTO _workbench_migrations VALUES (?, ?, current_timestamp)", [number, name])
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
