"""Side-by-side comparison of runs: the data behind ``workbench compare`` and the views."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .store.store import RunRecord

# Metric names where a higher value is better; every other metric is taken as a loss.
_HIGHER_IS_BETTER = re.compile(
    r"(^|[_.\-])(r2|acc|accuracy|auc|f1|precision|recall|score|map|ndcg|iou)($|[_.\-@])", re.I
)


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (judged from its name)."""
    return bool(_HIGHER_IS_BETTER.search(metric))


def origin(source: str | None, parent_run_id: str | None, sweep_id: str | None = None) -> str:
    """A short human label for where a run came from: ``rerun of 3f2a1b9c``,
    ``sweep 9c1b2d3e``, or how it was recorded (``magic``, ``api``)."""
    if source == "rerun" and parent_run_id:
        return f"rerun of {parent_run_id[:8]}"
    if source == "sweep":
        label = f"sweep {sweep_id[:8]}" if sweep_id else "sweep"
        return f"{label} of {parent_run_id[:8]}" if parent_run_id else label
    if parent_run_id:
        return f"child of {parent_run_id[:8]}"
    return source or ""


def origin_column(df: Any) -> list[str]:
    """:func:`origin` for every row of a :func:`workbench.runs` DataFrame."""
    n = len(df)
    sources = df["source"] if "source" in df.columns else [None] * n
    parents = df["parent_run_id"] if "parent_run_id" in df.columns else [None] * n
    sweeps = df["tags.sweep_id"] if "tags.sweep_id" in df.columns else [None] * n
    return [
        origin(src, par if isinstance(par, str) else None, sw if isinstance(sw, str) else None)
        for src, par, sw in zip(sources, parents, sweeps)
    ]


def compare_records(records: Sequence[RunRecord]) -> dict[str, Any]:
    """Align the params and final metrics of several runs.

    Returns
    -------
    dict
        ``runs`` (id, name, status, experiment per run), ``params`` and ``metrics``
        (name -> one value per run, None where a run lacks it), ``differing_params``
        (names whose values are not all equal), and ``best`` (metric -> index of the
        best run).
    """
    param_names = sorted({k for r in records for k in r.params})
    metric_names = sorted({k for r in records for k in r.metrics})
    params = {k: [r.params.get(k) for r in records] for k in param_names}
    metrics = {k: [r.metrics.get(k) for r in records] for k in metric_names}
    best: dict[str, int] = {}
    for name, values in metrics.items():
        present = [(v, i) for i, v in enumerate(values) if v is not None]
        if len(present) > 1:
            best[name] = (max if higher_is_better(name) else min)(present)[1]
    return {
        "runs": [
            {
                "run_id": r.run_id,
                "run_name": r.run_name,
                "status": r.status,
                "experiment": r.experiment,
                "origin": origin(r.source, r.parent_run_id, r.tags.get("sweep_id")),
            }
            for r in records
        ],
        "params": params,
        "differing_params": [k for k, vs in params.items() if len(set(vs)) > 1],
        "metrics": metrics,
        "best": best,
    }


_DRIFT_STATS = ("mean", "std", "min", "max", "q50", "nulls", "distinct")


def dataset_diff(store: Any, run_ids: Sequence[str]) -> dict[str, Any]:
    """Which datasets the runs read, and how they differ.

    Datasets are matched by name (falling back to the role when a run read only one of
    that role). Returns ``differ`` (some dataset's content hash is not the same in every
    run) and ``rows``: per dataset ``name``, ``role``, ``sha256`` and ``rows`` (one value
    per run, None where the run did not read it), ``same``, and ``drift``: the profile
    statistics (mean, std, min, max, median, nulls, distinct) that differ, per column.
    """
    by_run: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in run_ids}
    for row in store.dataset_rows(run_ids):
        by_run[row["run_id"]].setdefault(row["name"] or row["path"], row)
    names: list[str] = []
    for r in run_ids:
        names += [n for n in by_run[r] if n not in names]
    out = []
    for name in names:
        rows = [by_run[r].get(name) for r in run_ids]
        metas = [(row or {}).get("meta") or {} for row in rows]
        shas = [row["sha256"] if row else None for row in rows]
        # Per run: column name -> its statistics, built once rather than per column.
        by_column = [{c["name"]: c for c in (m.get("profile") or {}).get("columns", [])} for m in metas]
        drift = []
        columns = list(dict.fromkeys(name for cols in by_column for name in cols))
        for col in columns:
            stats = [cols.get(col) for cols in by_column]
            for stat in _DRIFT_STATS:
                values = [s.get(stat) if s else None for s in stats]
                if len({repr(v) for v in values}) > 1:
                    drift.append({"column": col, "stat": stat, "values": values})
        out.append(
            {
                "name": name,
                "role": next((m.get("role") for m in metas if m.get("role")), "training"),
                "sha256": shas,
                "rows": [m.get("rows") for m in metas],
                "same": len(set(shas)) == 1,
                "drift": drift,
            }
        )
    return {"differ": any(not d["same"] for d in out), "rows": out}
