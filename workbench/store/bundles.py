"""The SQL of run bundles: the selected runs' rows written as Parquet files, and a bundle's
Parquet files merged into the store by run id.

Every function takes a connection from :meth:`Store.session`. :func:`merge_tables` runs in
one transaction, so an import lands whole or not at all. The bundle files themselves (zip,
manifest, hashes, blobs) are handled by :mod:`workbench.bridges.bundle`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import run_values
from .sql import quote_literal
from .writes import write_metrics

if TYPE_CHECKING:
    import duckdb

__all__ = ["TABLES", "blob_digests", "export_tables", "merge_tables"]

#: The store tables a bundle carries, in the order they are merged.
TABLES = (
    "experiments",
    "environments",
    "runs",
    "params",
    "tags",
    "metrics",
    "artifacts",
    "card_sections",
    "model_versions",
    "model_aliases",
)

# The run columns that say which run a row is: two stores holding the same run id with
# different values here hold different runs, which is a conflict. (Status and end time
# may legitimately move on from ``running``; the process columns describe the machine.)
_RUN_IDENTITY = (
    "experiment",
    "run_name",
    "start_time",
    "source",
    "parent_run_id",
    "notebook_sha",
    "cell_id",
    "git_commit",
)

_IDS = "(SELECT run_id FROM _bundle_ids)"


def _selects() -> dict[str, str]:
    # Absolute blob paths of the exporting machine never travel: a row says only whether
    # its content is stored (and so is in the bundle); the importing store sets its own.
    return {
        "experiments": "SELECT * FROM experiments WHERE name IN "
        f"(SELECT experiment FROM runs WHERE run_id IN {_IDS}) ORDER BY name",
        "environments": "SELECT * FROM environments WHERE env_hash IN "
        f"(SELECT env_hash FROM runs WHERE run_id IN {_IDS}) ORDER BY env_hash",
        "runs": f"SELECT * FROM runs WHERE run_id IN {_IDS} ORDER BY start_time, run_id",
        "params": f"SELECT * FROM params WHERE run_id IN {_IDS} ORDER BY run_id, key",
        "tags": f"SELECT * FROM tags WHERE run_id IN {_IDS} ORDER BY run_id, key",
        "metrics": f"SELECT * FROM metrics WHERE run_id IN {_IDS} ORDER BY run_id, key, step, timestamp",
        "artifacts": "SELECT * EXCLUDE (stored_path), stored_path IS NOT NULL AS stored FROM artifacts "
        f"WHERE run_id IN {_IDS} ORDER BY run_id, created_at, path",
        "card_sections": f"SELECT * FROM card_sections WHERE run_id IN {_IDS} ORDER BY run_id",
        "model_versions": "SELECT * EXCLUDE (stored_path), stored_path IS NOT NULL AS stored "
        f"FROM model_versions WHERE run_id IN {_IDS} ORDER BY name, version",
        "model_aliases": "SELECT a.* FROM model_aliases a JOIN model_versions v USING (name, version) "
        f"WHERE v.run_id IN {_IDS} ORDER BY a.name, a.alias",
    }


def _settle(con: duckdb.DuckDBPyConnection) -> None:
    # DuckDB 2 refuses register() while an earlier execute() has rows left unread (a
    # fetchone() elsewhere in the session); a finished statement clears that.
    con.execute("SELECT 1").fetchall()


@contextlib.contextmanager
def _run_ids(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> Iterator[None]:
    import pyarrow as pa

    _settle(con)
    con.register("_bundle_ids", pa.table({"run_id": pa.array(list(run_ids), pa.string())}))
    try:
        yield
    finally:
        con.unregister("_bundle_ids")


def export_tables(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str], folder: Path) -> dict[str, int]:
    """Write the rows of these runs, one Parquet file per table of :data:`TABLES`, into
    ``folder`` (``<table>.parquet``). Returns the row count of each table."""
    counts: dict[str, int] = {}
    with _run_ids(con, run_ids):
        for name, select in _selects().items():
            path = folder / f"{name}.parquet"
            # A file path cannot be a bound parameter of COPY; it is ours, quoted.
            row = con.execute(
                f"COPY ({select}) TO {quote_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)"
            ).fetchone()
            counts[name] = int(row[0]) if row else 0
    return counts


def blob_digests(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> list[str]:
    """The sha256 of every stored blob these runs refer to: notebook snapshots, stored
    artifacts (executed notebooks, files, models) and registered model files."""
    with _run_ids(con, run_ids):
        rows = con.execute(
            f"SELECT notebook_sha FROM runs WHERE run_id IN {_IDS} AND notebook_sha IS NOT NULL "
            f"UNION SELECT sha256 FROM artifacts WHERE run_id IN {_IDS} AND stored_path IS NOT NULL "
            f"UNION SELECT sha256 FROM model_versions WHERE run_id IN {_IDS} AND stored_path IS NOT NULL "
            "ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]


def merge_tables(
    con: duckdb.DuckDBPyConnection, files: Mapping[str, Path], blob_paths: Mapping[str, str]
) -> dict[str, Any]:
    """Merge a bundle's tables (``files``: table name -> Parquet file, names from
    :data:`TABLES`) into the store, by run id, in one transaction.

    New runs are added whole. A run the store has gains what the bundle has and it lacks:
    metric points, params, tags, artifact rows, and its end when the store still has it
    ``running``. A value that differs from the store's (a param, a tag, a point at the
    same step and time, a registered version or alias, a run's identity) is a conflict:
    the store's value is kept and the conflict reported. Merging the same tables again
    changes nothing.

    ``blob_paths`` maps the sha256 of each blob now in the store to its path, for the
    rows that refer to stored content.

    Returns
    -------
    dict
        ``run_ids`` (of the bundle), ``added`` and ``updated`` (run ids), ``points``
        (metric points added) and ``conflicts`` (one line each).
    """
    import duckdb
    import pyarrow as pa

    for name, path in files.items():
        if name not in TABLES:
            raise ValueError(f"not a bundle table: {name}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _b_{name} AS SELECT * FROM read_parquet({quote_literal(str(path))})"
        )
    for name in TABLES:
        if name not in files:  # an older bundle without this table: an empty one
            con.execute(f"CREATE OR REPLACE TEMP TABLE _b_{name} AS SELECT * FROM {name} LIMIT 0")
            if name in ("artifacts", "model_versions"):
                con.execute(f"ALTER TABLE _b_{name} DROP COLUMN stored_path")
                con.execute(f"ALTER TABLE _b_{name} ADD COLUMN stored BOOLEAN")
    _settle(con)
    con.register(
        "_b_paths",
        pa.table(
            {
                "sha256": pa.array(list(blob_paths), pa.string()),
                "path": pa.array(list(blob_paths.values()), pa.string()),
            }
        ),
    )
    con.execute("BEGIN")
    run_values.begin(con)
    try:
        out = _merge(con)
        run_values.settle(con)
        con.execute("COMMIT")
    except BaseException:
        run_values.abandon(con)
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_b_paths")
        for name in TABLES:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DROP TABLE IF EXISTS _b_{name}")
    return out


def _common(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns of ``table`` the bundle's copy also has (an older bundle has fewer)."""
    theirs = set(_columns(con, f"_b_{table}"))
    return [c for c in _columns(con, table) if c in theirs]


def _merge(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    conflicts: list[str] = []
    run_ids = [r[0] for r in con.execute("SELECT run_id FROM _b_runs ORDER BY start_time, run_id").fetchall()]
    existing = {
        r[0]
        for r in con.execute(
            "SELECT run_id FROM runs WHERE run_id IN (SELECT run_id FROM _b_runs)"
        ).fetchall()
    }
    updated: set[str] = set()

    for table, key in (("experiments", "name"), ("environments", "env_hash")):
        cols = ", ".join(_common(con, table))
        con.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _b_{table} b "
            f"WHERE b.{key} NOT IN (SELECT {key} FROM {table})"
        )
    _merge_runs(con, existing, updated, conflicts)
    _merge_key_values(con, existing, updated, conflicts)
    points = _merge_points(con, existing, updated, conflicts)
    _merge_artifacts(con, existing, updated, conflicts)
    _merge_cards(con, existing, updated, conflicts)
    _merge_registry(con, existing, updated, conflicts)
    return {
        "run_ids": run_ids,
        "added": [r for r in run_ids if r not in existing],
        "updated": [r for r in run_ids if r in updated],
        "points": points,
        "conflicts": conflicts,
    }


def _merge_runs(
    con: duckdb.DuckDBPyConnection, existing: set[str], updated: set[str], conflicts: list[str]
) -> None:
    """New runs whole; known ones checked, and ended if the store has them running."""
    cols = _common(con, "runs")
    names = ", ".join(cols)
    con.execute(
        f"INSERT INTO runs ({names}) SELECT {names} FROM _b_runs "
        "WHERE run_id NOT IN (SELECT run_id FROM runs)"
    )
    for col in (c for c in _RUN_IDENTITY if c in cols):
        for run_id, ours, theirs in con.execute(
            f"SELECT b.run_id, s.{col}, b.{col} FROM _b_runs b JOIN runs s USING (run_id) "
            f"WHERE b.run_id IN (SELECT unnest(?::VARCHAR[])) AND s.{col} IS DISTINCT FROM b.{col}",
            [sorted(existing)],
        ).fetchall():
            conflicts.append(
                f"run {run_id[:8]}: {col} is {ours!r} here, {theirs!r} in the bundle (kept {ours!r})"
            )
    ended = con.execute(
        "UPDATE runs SET status = b.status, end_time = b.end_time, error = b.error, heartbeat = b.heartbeat "
        "FROM _b_runs b WHERE runs.run_id = b.run_id AND runs.status = 'running' AND b.status <> 'running' "
        "RETURNING runs.run_id"
    ).fetchall()
    updated.update(r[0] for r in ended)
    for run_id, ours, theirs in con.execute(
        "SELECT b.run_id, s.status || coalesce(' at ' || s.end_time, ''), b.status || coalesce(' at ' || b.end_time, '') "
        "FROM _b_runs b JOIN runs s USING (run_id) WHERE b.status <> 'running' AND s.status <> 'running' "
        "AND (s.status <> b.status OR s.end_time IS DISTINCT FROM b.end_time)"
    ).fetchall():
        conflicts.append(f"run {run_id[:8]}: ended {ours} here, {theirs} in the bundle (kept this store's)")


def _merge_key_values(
    con: duckdb.DuckDBPyConnection, existing: set[str], updated: set[str], conflicts: list[str]
) -> None:
    """Params and tags: missing keys added, differing values reported."""
    for table in ("params", "tags"):
        for run_id, key, ours, theirs in con.execute(
            f"SELECT b.run_id, b.key, s.value, b.value FROM _b_{table} b JOIN {table} s USING (run_id, key) "
            "WHERE s.value <> b.value ORDER BY b.run_id, b.key"
        ).fetchall():
            what = "param" if table == "params" else "tag"
            conflicts.append(
                f"run {run_id[:8]}: {what} {key} is {ours!r} here, {theirs!r} in the bundle (kept {ours!r})"
            )
        added = con.execute(
            f"INSERT INTO {table} (run_id, key, value) SELECT b.run_id, b.key, b.value FROM _b_{table} b "
            f"ANTI JOIN {table} s USING (run_id, key) RETURNING run_id, key, value"
        ).fetchall()
        run_values.touch_values(con, table, added)
        updated.update(r[0] for r in added if r[0] in existing)


def _merge_points(
    con: duckdb.DuckDBPyConnection, existing: set[str], updated: set[str], conflicts: list[str]
) -> int:
    """Metric points the store lacks, appended (one at a step and time the store has with
    another value is a conflict); returns how many."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _b_have AS SELECT * FROM metrics WHERE run_id IN (SELECT run_id FROM _b_runs)"
    )
    for run_id, key, n in con.execute(
        "SELECT b.run_id, b.key, count(*) FROM _b_metrics b "
        "SEMI JOIN _b_have s ON s.run_id = b.run_id AND s.key = b.key AND s.step = b.step "
        "AND s.timestamp = b.timestamp "
        "ANTI JOIN _b_have t ON t.run_id = b.run_id AND t.key = b.key AND t.step = b.step "
        "AND t.timestamp = b.timestamp AND t.value = b.value GROUP BY ALL ORDER BY 1, 2"
    ).fetchall():
        conflicts.append(
            f"run {run_id[:8]}: metric {key} has {n} point(s) with other values at the same step and time "
            "here (kept this store's)"
        )
    new_points = con.sql(
        "SELECT b.run_id, b.key, b.step, b.value, b.timestamp FROM _b_metrics b "
        "ANTI JOIN _b_have s ON s.run_id = b.run_id AND s.key = b.key AND s.step = b.step "
        "AND s.timestamp = b.timestamp"
    ).to_arrow_table()
    con.execute("DROP TABLE _b_have")
    points = new_points.num_rows
    if points:
        from .records import Batch

        write_metrics(con, Batch(metrics_table=new_points))
        updated.update(r for r in set(new_points.column("run_id").to_pylist()) if r in existing)
    return points


def _merge_artifacts(
    con: duckdb.DuckDBPyConnection, existing: set[str], updated: set[str], conflicts: list[str]
) -> None:
    """Artifact rows (lineage: what each run read and wrote, by content hash)."""
    acols = [c for c in _common(con, "artifacts") if c != "stored_path"]
    same = " AND ".join(
        f"s.{c} IS NOT DISTINCT FROM b.{c}"
        for c in ("run_id", "direction", "kind", "sha256", "path", "name")
        if c in acols
    )
    names = ", ".join(acols)
    added = con.execute(
        f"INSERT INTO artifacts ({names}, stored_path) SELECT {', '.join('b.' + c for c in acols)}, "
        "CASE WHEN b.stored THEN p.path END FROM _b_artifacts b LEFT JOIN _b_paths p USING (sha256) "
        f"WHERE NOT EXISTS (SELECT 1 FROM artifacts s WHERE {same}) RETURNING run_id"
    ).fetchall()
    updated.update(r[0] for r in added if r[0] in existing)


def _merge_cards(
    con: duckdb.DuckDBPyConnection, existing: set[str], updated: set[str], conflicts: list[str]
) -> None:
    """The author's card text, where the store has none."""
    for (run_id,) in con.execute(
        "SELECT b.run_id FROM _b_card_sections b JOIN card_sections s USING (run_id) WHERE s.sections <> b.sections"
    ).fetchall():
        conflicts.append(f"run {run_id[:8]}: its model card text differs here (kept this store's)")
    con.execute(
        "INSERT INTO card_sections SELECT run_id, sections, updated_at FROM _b_card_sections "
        "WHERE run_id NOT IN (SELECT run_id FROM card_sections)"
    )


def _merge_registry(
    con: duckdb.DuckDBPyConnection, existing: set[str], updated: set[str], conflicts: list[str]
) -> None:
    """The registry entries pointing at these runs: kept by number and alias."""
    for name, version, ours, theirs in con.execute(
        "SELECT b.name, b.version, s.run_id, b.run_id FROM _b_model_versions b JOIN model_versions s "
        "USING (name, version) WHERE s.run_id <> b.run_id OR s.sha256 <> b.sha256 ORDER BY 1, 2"
    ).fetchall():
        conflicts.append(
            f"model {name} version {version} is run {ours[:8]} here, run {theirs[:8]} in the bundle "
            "(kept this store's; register the bundle's run again to get a new version)"
        )
    con.execute(
        "INSERT INTO model_versions (name, version, run_id, sha256, path, stored_path, created_at) "
        "SELECT b.name, b.version, b.run_id, b.sha256, b.path, CASE WHEN b.stored THEN p.path END, b.created_at "
        "FROM _b_model_versions b LEFT JOIN _b_paths p USING (sha256) "
        "ANTI JOIN model_versions s USING (name, version)"
    )
    for name, alias, ours, theirs in con.execute(
        "SELECT b.name, b.alias, s.version, b.version FROM _b_model_aliases b JOIN model_aliases s "
        "USING (name, alias) WHERE s.version <> b.version ORDER BY 1, 2"
    ).fetchall():
        conflicts.append(f"model {name}@{alias} is version {ours} here, {theirs} in the bundle (kept {ours})")
    con.execute(
        "INSERT INTO model_aliases SELECT b.name, b.alias, b.version, b.updated_at FROM _b_model_aliases b "
        "JOIN _b_model_versions bv USING (name, version) JOIN model_versions s USING (name, version) "
        "WHERE s.run_id = bv.run_id AND s.sha256 = bv.sha256 "
        "AND NOT EXISTS (SELECT 1 FROM model_aliases a WHERE a.name = b.name AND a.alias = b.alias)"
    )
