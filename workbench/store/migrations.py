"""The store's schema as ordered, named migrations, and the check that applies them.

Each migration runs once, in order, inside the transaction that records it in
``_workbench_migrations``. A store whose recorded version is above ``SCHEMA_VERSION``
was written by a newer Workbench and is refused, never altered.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..errors import StoreCorruptError, StoreVersionError
from .session import ALIAS

if TYPE_CHECKING:
    import duckdb

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "ensure_schema", "schema_version"]


class Migration(NamedTuple):
    """One step of the schema: a name saying what it adds, and its SQL."""

    name: str
    sql: str


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
            con.execute(sql)
            con.execute("INSERT INTO _workbench_migrations VALUES (?, ?, current_timestamp)", [number, name])
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
