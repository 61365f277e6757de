"""The queries behind the lineage graph: artifacts by run or content hash, and the runs
around them. The graph itself is built in :mod:`workbench.lineage`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .queries import artifact_dicts

if TYPE_CHECKING:
    import duckdb

__all__ = ["dataset_rows", "lineage_step"]


def lineage_step(
    con: duckdb.DuckDBPyConnection, run_ids: Sequence[str], shas: Sequence[str]
) -> dict[str, Any]:
    """One breadth-first step of the lineage graph (see :meth:`Store.lineage_step`)."""
    # The few matching artifacts are found first, then joined to the runs: a join of the
    # whole artifacts table to the runs table before the OR filter cost a full hash join
    # per step (a walk takes a dozen steps; issue 16, at 100k runs).
    artifacts = artifact_dicts(
        con,
        "WITH a AS MATERIALIZED (SELECT *, rowid AS _row FROM artifacts "
        "WHERE list_contains(?::VARCHAR[], run_id) OR list_contains(?::VARCHAR[], sha256)) "
        "SELECT a.run_id, a.path, a.kind, a.sha256, a.size, a.direction, a.name, a.created_at "
        "FROM a JOIN runs r USING (run_id) WHERE r.deleted_at IS NULL ORDER BY a.created_at, a._row",
        [list(run_ids), list(shas)],
    )
    ids = sorted({*run_ids, *(a["run_id"] for a in artifacts)})
    cur = con.execute(
        "SELECT run_id, run_name, status, experiment, source, parent_run_id, start_time FROM runs "
        "WHERE deleted_at IS NULL AND (list_contains(?::VARCHAR[], run_id) "
        "OR list_contains(?::VARCHAR[], parent_run_id) "
        "OR list_contains((SELECT list(parent_run_id) FROM runs "
        "WHERE list_contains(?::VARCHAR[], run_id)), run_id))",
        [ids, list(run_ids), list(run_ids)],
    )
    cols = [d[0] for d in cur.description]
    runs = {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}
    return {"artifacts": artifacts, "runs": runs}


def dataset_rows(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Input artifacts of kind ``dataset`` of the given runs, with their metadata."""
    return artifact_dicts(
        con,
        "SELECT run_id, path, kind, sha256, size, name, meta FROM artifacts "
        "WHERE direction = 'input' AND kind = 'dataset' AND run_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY created_at, rowid",
        [list(run_ids)],
    )
