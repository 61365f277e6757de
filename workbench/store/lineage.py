"""The queries behind the lineage graph: artifacts by run or content hash, and the runs
around them. The graph itself is built in :mod:`workbench.lineage`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .queries import artifact_dicts, resolve_run_id
from .sql import rows_as_dicts

if TYPE_CHECKING:
    import duckdb

__all__ = ["LineageScope", "dataset_rows", "lineage_scope", "lineage_step"]


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


# -- a whole walk in one query -----------------------------------------------------------
# A walk of ``depth`` hops asks ``lineage_step`` a dozen questions, each a scan of the
# artifacts and runs tables (issue 16: 24 steps, ~240 ms at 100k runs). Instead one
# statement finds the runs the walk can expand, by a recursive query over the few
# artifact rows that can link two runs (those with a hash some run read), and reads
# everything the walk's steps could return; :class:`LineageScope` answers the steps.
#
# ``scope``: the runs within ``depth - 1`` hops of the focus, each with the direction it
# was reached in (``sign``: -1 upstream, +1 downstream), the runs a walk may expand. An
# upstream hop goes from a run's input to an output of the same content, by another run,
# no later; and to its parent. A downstream hop from an output to an input no earlier,
# and to the children. Deleted runs are not passed through. These are the conditions of
# lineage_step and the walk (workbench.lineage._expand), so every run the walk expands is
# here (and the walk's depth counts the same hops; ``hop`` is any path's length, not only
# the shortest, so no run is cut off by the order the walk meets it in).
#
# Then, one row of two lists: every artifact a step can return (those of the runs in
# scope, and every row sharing a hash with what they read, going upstream, or wrote,
# going downstream; rows of deleted runs left out), in lineage_step's order; and every
# run a step can name (the scope, deleted ones too so a deleted focus is seen; the runs
# of those artifacts; the scope's parents and children), in table order, the order
# lineage_step's scan gives. Each IN is its own branch so DuckDB pushes it into the scan.
_SCOPE = """
WITH RECURSIVE
dead AS MATERIALIZED (SELECT run_id FROM runs WHERE deleted_at IS NOT NULL),
live AS MATERIALIZED (
    SELECT run_id, sha256, direction, created_at FROM artifacts
    WHERE sha256 IN (SELECT sha256 FROM artifacts WHERE direction = 'input')
      AND run_id NOT IN (SELECT run_id FROM dead)
),
kin AS MATERIALIZED (
    SELECT run_id AS child, parent_run_id AS parent FROM runs
    WHERE parent_run_id IS NOT NULL AND deleted_at IS NULL
      AND parent_run_id NOT IN (SELECT run_id FROM dead)
),
walk(run_id, sign, hop) AS (
    SELECT ?::VARCHAR, s, 0 FROM (VALUES (-1), (1)) t(s)
    UNION
    (
        SELECT y.run_id, w.sign, w.hop + 1 FROM walk w
        JOIN live x ON x.run_id = w.run_id
            AND x.direction = CASE WHEN w.sign < 0 THEN 'input' ELSE 'output' END
        JOIN live y ON y.sha256 = x.sha256 AND y.run_id <> x.run_id
            AND y.direction = CASE WHEN w.sign < 0 THEN 'output' ELSE 'input' END
            AND w.sign * (y.created_at - x.created_at) >= 0
        WHERE w.hop < ?
        UNION
        SELECT CASE WHEN w.sign < 0 THEN k.parent ELSE k.child END, w.sign, w.hop + 1 FROM walk w
        JOIN kin k ON (w.sign < 0 AND k.child = w.run_id) OR (w.sign > 0 AND k.parent = w.run_id)
        WHERE w.hop < ?
    )
),
scope AS MATERIALIZED (SELECT DISTINCT run_id, sign FROM walk),
mine AS MATERIALIZED (
    SELECT a.run_id, a.path, a.kind, a.sha256, a.size, a.direction, a.name, a.created_at, a.rowid AS _row
    FROM artifacts a WHERE a.run_id IN (SELECT run_id FROM scope)
),
own AS MATERIALIZED (
    SELECT DISTINCT m.sha256 FROM mine m JOIN scope s USING (run_id)
    WHERE m.direction = CASE WHEN s.sign < 0 THEN 'input' ELSE 'output' END
),
arts AS MATERIALIZED (
    SELECT * FROM mine WHERE run_id NOT IN (SELECT run_id FROM dead)
    UNION
    SELECT a.run_id, a.path, a.kind, a.sha256, a.size, a.direction, a.name, a.created_at, a.rowid AS _row
    FROM artifacts a WHERE a.sha256 IN (SELECT sha256 FROM own) AND a.run_id NOT IN (SELECT run_id FROM dead)
),
named AS MATERIALIZED (
    SELECT run_id FROM scope
    UNION SELECT run_id FROM arts
    UNION SELECT parent_run_id FROM runs WHERE run_id IN (SELECT run_id FROM scope)
),
near AS MATERIALIZED (
    SELECT run_id, run_name, status, experiment, source, parent_run_id, start_time,
           deleted_at IS NOT NULL AS _deleted, rowid AS _row
    FROM runs WHERE run_id IN (SELECT run_id FROM named)
    UNION
    SELECT run_id, run_name, status, experiment, source, parent_run_id, start_time,
           deleted_at IS NOT NULL AS _deleted, rowid AS _row
    FROM runs WHERE parent_run_id IN (SELECT run_id FROM scope)
)
SELECT
    (SELECT list({'run_id': run_id, 'path': path, 'kind': kind, 'sha256': sha256, 'size': size,
                  'direction': direction, 'name': name, 'created_at': created_at}
                 ORDER BY created_at, _row) FROM arts) AS artifacts,
    (SELECT list({'run_id': run_id, 'run_name': run_name, 'status': status, 'experiment': experiment,
                  'source': source, 'parent_run_id': parent_run_id, 'start_time': start_time,
                  '_deleted': _deleted}
                 ORDER BY _row) FROM near) AS runs
"""

# The part of Registry.model_versions the graph shows: which content is registered as what.
_REGISTERED = """
SELECT v.sha256, v.name, v.version,
       coalesce((SELECT list(a.alias ORDER BY a.alias) FROM model_aliases a
                 WHERE a.name = v.name AND a.version = v.version), []) AS aliases
FROM model_versions v ORDER BY v.name, v.version
"""


@dataclass
class LineageScope:
    """What a lineage walk from ``run_id`` of up to ``depth`` hops can read, fetched in
    one session: :meth:`step` answers each of the walk's steps as
    :func:`lineage_step` would, without a query."""

    run_id: str
    depth: int
    #: Registered model versions (``sha256``, ``name``, ``version``, ``aliases``).
    versions: list[dict[str, Any]]
    #: Artifact rows, ordered as lineage_step orders them.
    artifacts: list[dict[str, Any]]
    #: Run summaries in table order, deleted ones flagged ``_deleted``.
    runs: list[dict[str, Any]]

    def __post_init__(self) -> None:
        # Positions by run and by hash, so a step costs what it returns, not the scope.
        self._by_run: dict[str, list[int]] = {}
        self._by_sha: dict[str, list[int]] = {}
        for i, a in enumerate(self.artifacts):
            self._by_run.setdefault(a["run_id"], []).append(i)
            self._by_sha.setdefault(a["sha256"], []).append(i)
        self._run_at = {r["run_id"]: i for i, r in enumerate(self.runs)}
        self._children: dict[str, list[int]] = {}
        for i, r in enumerate(self.runs):
            if r["parent_run_id"] is not None:
                self._children.setdefault(r["parent_run_id"], []).append(i)

    def step(self, run_ids: Sequence[str], shas: Sequence[str]) -> dict[str, Any]:
        """:func:`lineage_step`, for runs this walk can expand (in scope, in their
        direction) and hashes of their artifacts; answered without a query."""
        runs, at = self.runs, self._run_at
        rows = (self.artifacts[i] for i in self._picked(run_ids, shas))
        artifacts = [dict(a) for a in rows if a["run_id"] in at and not runs[at[a["run_id"]]]["_deleted"]]
        named = {*run_ids, *(a["run_id"] for a in artifacts)}
        parents = {runs[at[rid]]["parent_run_id"] for rid in run_ids if rid in at}
        picked = {at[rid] for rid in named | parents if rid in at}
        picked.update(i for rid in run_ids for i in self._children.get(rid, ()))
        found = {
            runs[i]["run_id"]: {k: v for k, v in runs[i].items() if k != "_deleted"}
            for i in sorted(picked)
            if not runs[i]["_deleted"]
        }
        return {"artifacts": artifacts, "runs": found}

    def _picked(self, run_ids: Sequence[str], shas: Sequence[str]) -> list[int]:
        picked = {i for rid in run_ids for i in self._by_run.get(rid, ())}
        picked.update(i for sha in shas for i in self._by_sha.get(sha, ()))
        return sorted(picked)


def lineage_scope(con: duckdb.DuckDBPyConnection, ref: str, depth: int) -> LineageScope:
    """Resolve ``ref`` and read what a walk of ``depth`` hops from it can need (see
    :meth:`Store.lineage_scope`)."""
    run_id = resolve_run_id(con, ref)
    row = con.execute(_SCOPE, [run_id, depth - 1, depth - 1]).fetchone()
    artifacts, runs = (row[0] or [], row[1] or []) if row else ([], [])
    versions = rows_as_dicts(con.execute(_REGISTERED))
    return LineageScope(run_id, depth, versions, artifacts, runs)


def dataset_rows(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Input artifacts of kind ``dataset`` of the given runs, with their metadata."""
    return artifact_dicts(
        con,
        "SELECT run_id, path, kind, sha256, size, name, meta FROM artifacts "
        "WHERE direction = 'input' AND kind = 'dataset' AND run_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY created_at, rowid",
        [list(run_ids)],
    )
