"""The store's schema as ordered, named migrations.

Each migration runs once, in order, inside the transaction that records it in
``_workbench_migrations``. A store whose recorded version is above ``SCHEMA_VERSION``
was written by a newer Workbench and is refused, never altered.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
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
    (
        "spool_applied: spool files already folded in, so a fold interrupted after its "
        "commit never applies a file twice",
        """
        CREATE TABLE spool_applied (
            name VARCHAR PRIMARY KEY,
            applied_at BIGINT NOT NULL
        );
        """,
    ),
    (
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
    (
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
    (
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
]

SCHEMA_VERSION = len(MIGRATIONS)
