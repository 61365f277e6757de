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
    artifacts = artifact_dicts(
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


def dataset_rows(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Input artifacts of kind ``dataset`` of the given runs, with their metadata."""
    return artifact_dicts(
        con,
        "SELECT run_id, path, kind, sha256, size, name, meta FROM artifacts "
        "WHERE direction = 'input' AND kind = 'dataset' AND run_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY created_at, rowid",
        [list(run_ids)],
    )
