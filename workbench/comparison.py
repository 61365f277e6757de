"""Side-by-side comparison of runs: the data behind ``workbench compare`` and the views.

A service: it reads through :func:`workbench.api.open_store` and returns plain data. The
charts drawn from that data are built in :mod:`workbench.render` (the views layer), which
calls the functions here; nothing here imports a view.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .api import open_store
from .errors import InvalidInputError
from .tracking.system_metrics import is_system

if TYPE_CHECKING:
    from .store.store import RunRecord, Store

# Metric names where a higher value is better; every other metric is taken as a loss.
_HIGHER_IS_BETTER = re.compile(
    r"(^|[_.\-])(r2|acc|accuracy|auc|f1|precision|recall|score|map|ndcg|iou)($|[_.\-@])", re.I
)


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (judged from its name)."""
    return bool(_HIGHER_IS_BETTER.search(metric))


def origin(source: str | None, parent_run_id: str | None, sweep_id: str | None = None) -> str:
    """A short human label for where a run came from: ``rerun of 3f2a1b9c``,
    ``sweep 9c1b2d3e``, ``tune 5d0e7a21`` (``sweep_id`` is then the tune's id), or how it
    was recorded (``magic``, ``api``)."""
    if source == "rerun" and parent_run_id:
        return f"rerun of {parent_run_id[:8]}"
    if source in ("sweep", "tune"):
        label = f"{source} {sweep_id[:8]}" if sweep_id else source
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
    tunes = df["tags.tune_id"] if "tags.tune_id" in df.columns else [None] * n
    return [
        origin(
            src,
            par if isinstance(par, str) else None,
            sw if isinstance(sw, str) else tu if isinstance(tu, str) else None,
        )
        for src, par, sw, tu in zip(sources, parents, sweeps, tunes)
    ]


def compare_records(records: Sequence[RunRecord]) -> dict[str, Any]:
    """Align the params and final metrics of several runs.

    Returns
    -------
    dict
        ``runs`` (id, name, status, experiment per run), ``params`` and ``metrics``
        (name -> one value per run, None where a run lacks it), ``differing_params``
        (names whose values are not all equal), ``best`` (metric -> index of the best
        run) and ``system`` (the names of ``metrics`` that are system metrics,
        ``system/...``: CPU, memory, GPU; listed after the model's metrics and never
        starred as best).
    """
    param_names = sorted({k for r in records for k in r.params})
    # The model's metrics first, then the system ones (a group of their own in every view).
    metric_names = sorted({k for r in records for k in r.metrics}, key=lambda k: (is_system(k), k))
    params = {k: [r.params.get(k) for r in records] for k in param_names}
    metrics = {k: [r.metrics.get(k) for r in records] for k in metric_names}
    best: dict[str, int] = {}
    for name, values in metrics.items():
        present = [(v, i) for i, v in enumerate(values) if v is not None]
        if len(present) > 1 and not is_system(name):
            best[name] = (max if higher_is_better(name) else min)(present)[1]
    return {
        "runs": [
            {
                "run_id": r.run_id,
                "run_name": r.run_name,
                "status": r.status,
                "experiment": r.experiment,
                "origin": origin(r.source, r.parent_run_id, r.tags.get("sweep_id") or r.tags.get("tune_id")),
            }
            for r in records
        ],
        "params": params,
        "differing_params": [k for k, vs in params.items() if len(set(vs)) > 1],
        "metrics": metrics,
        "best": best,
        "system": [k for k in metric_names if is_system(k)],
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


# -- data for the comparison charts -------------------------------------------------------
#: The most runs one chart compares (one request, one legend).
MAX_CHART_RUNS = 100


@dataclass(frozen=True)
class ChartRuns:
    """The compared runs, aligned: one value per run in every list, None where a run
    lacks that parameter or metric.

    Attributes
    ----------
    run_ids : list of str
        Full run ids, in the order asked for (each run once).
    run_names : list of str or None
    params : dict
        Parameter name -> values (strings, as logged), names sorted.
    metrics : dict
        Metric name -> final (latest) values, names sorted.
    """

    run_ids: list[str]
    run_names: list[str | None]
    params: dict[str, list[str | None]]
    metrics: dict[str, list[float | None]]


def _check_run_refs(run_ids: Sequence[str]) -> list[str]:
    refs = [run_ids] if isinstance(run_ids, str) else list(run_ids or [])
    if not refs:
        raise InvalidInputError("give at least one run id (a full id or a unique prefix); got none")
    if len(refs) > MAX_CHART_RUNS:
        raise InvalidInputError(f"a chart compares at most {MAX_CHART_RUNS} runs; got {len(refs)} run ids")
    for ref in refs:
        if not isinstance(ref, str) or not ref.strip():
            raise InvalidInputError(f"run ids must be non-empty strings, got {ref!r}")
    return [r.strip() for r in refs]


def _filter_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _cell(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def chart_runs(run_ids: Sequence[str], *, store: str | os.PathLike[str] | Store | None = None) -> ChartRuns:
    """Names, parameters and final metrics of the runs a chart compares.

    Parameters
    ----------
    run_ids
        Run ids or unique prefixes, 1 to :data:`MAX_CHART_RUNS` of them; a run given
        twice counts once. Deleted runs are included (a comparison may show them).
    store
        A store directory or Store; the current one by default.

    Returns
    -------
    ChartRuns

    Raises
    ------
    InvalidInputError
        No id, more than :data:`MAX_CHART_RUNS`, an id that is not a string, or an
        ambiguous prefix.
    RunNotFoundError
        An id matches no run.
    """
    refs = _check_run_refs(run_ids)
    s = open_store(store)
    full = list(dict.fromkeys(s.resolve_run_ids(refs)))
    # One query for every run, through the search grammar (ids are bound parameters).
    wanted = f"attributes.run_id IN ({', '.join(_filter_string(r) for r in full)})"
    df = s.search_runs(wanted, include_deleted=True).set_index("run_id").reindex(full)
    columns = sorted(df.columns)
    return ChartRuns(
        run_ids=full,
        run_names=[_cell(v) for v in df["run_name"].tolist()],
        params={c[7:]: [_cell(v) for v in df[c].tolist()] for c in columns if c.startswith("params.")},
        metrics={
            c[8:]: [None if _cell(v) is None else float(v) for v in df[c].tolist()]
            for c in columns
            if c.startswith("metrics.")
        },
    )


def _unknown(what: str, name: str, have: Collection[str]) -> InvalidInputError:
    # Bad input (400 at the REST edge), as in the notebook's charts; an unknown *run*
    # is a NotFoundError (404).
    listed = ", ".join(sorted(have)) or f"no {what}s"
    return InvalidInputError(f"no {what} {name!r} in these runs; they have: {listed}")


def _strip_prefix(name: Any, prefix: str, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"a {what} name must be a non-empty string, got {name!r}")
    name = name.strip()
    return name[len(prefix) :] if name.startswith(prefix) else name


def curve_series(
    run_ids: Sequence[str],
    key: str,
    *,
    max_points: int = 1000,
    store: str | os.PathLike[str] | Store | None = None,
) -> tuple[ChartRuns, list[dict[str, Any]]]:
    """The runs and their curves of one metric, each downsampled to ``max_points``.

    Parameters
    ----------
    run_ids
        Run ids or unique prefixes (see :func:`chart_runs`).
    key
        The metric (``loss`` or ``metrics.loss``).
    max_points
        The most points per run's curve (lowest and highest point per step range).
    store
        A store directory or Store; the current one by default.

    Returns
    -------
    tuple
        The :class:`ChartRuns`, and one ``{"run_id", "key", "steps", "values"}`` per run
        that logged the metric, in run order.

    Raises
    ------
    InvalidInputError
        Bad run ids (see :func:`chart_runs`), a key that is not a string, or one that
        none of the runs logged.
    RunNotFoundError
        An id matches no run.
    """
    key = _strip_prefix(key, "metrics.", "metric")
    runs = chart_runs(run_ids, store=store)
    if key not in runs.metrics:
        raise _unknown("metric", key, runs.metrics)
    return runs, open_store(store).metric_series(runs.run_ids, [key], max_points)


def default_metric(metrics: Mapping[str, Sequence[Any]], curve_keys: Collection[str] = ()) -> str | None:
    """The metric to set against the parameters when none is chosen.

    The metric most runs have; among those, a final value (logged at one step: rmse,
    accuracy) before the last point of a training curve, then one that is not a
    ``system/`` metric, then by name.

    Parameters
    ----------
    metrics
        Metric name -> one value per run (None where a run lacks it).
    curve_keys
        The metrics logged at more than one step.

    Returns
    -------
    str or None
        None when there are no metrics.
    """

    def rank(name: str) -> tuple[int, bool, bool, str]:
        missing = sum(v is None for v in metrics[name])
        return (missing, name in curve_keys, name.startswith("system/"), name)

    return min(metrics, key=rank, default=None)


def varying_params(params: Mapping[str, Sequence[Any]]) -> list[str]:
    """The parameters whose value is not the same in every run (a run without one
    counts as a different value); all of them when none varies."""
    return [k for k, vs in params.items() if len(set(vs)) > 1] or list(params)


def parallel_data(
    run_ids: Sequence[str],
    metric: str | None = None,
    params: Sequence[str] | None = None,
    *,
    store: str | os.PathLike[str] | Store | None = None,
) -> tuple[ChartRuns, str, list[str]]:
    """The runs, the metric and the parameters of a parallel-coordinates chart.

    Parameters
    ----------
    run_ids
        Run ids or unique prefixes (see :func:`chart_runs`).
    metric
        The metric (``rmse`` or ``metrics.rmse``); by default :func:`default_metric`.
    params
        Parameter names (with or without ``params.``), in axis order; by default
        :func:`varying_params`.
    store
        A store directory or Store; the current one by default.

    Returns
    -------
    tuple
        The :class:`ChartRuns`, the metric's name and the parameter names.

    Raises
    ------
    InvalidInputError
        Bad run ids, a name that is not a string, an unknown metric or parameter, or
        runs without any metric.
    RunNotFoundError
        An id matches no run.
    """
    if params is not None:
        names = [params] if isinstance(params, str) else list(params)
        names = [_strip_prefix(p, "params.", "parameter") for p in names]
    if metric is not None:
        metric = _strip_prefix(metric, "metrics.", "metric")
    runs = chart_runs(run_ids, store=store)
    if metric is None:
        metric = _pick_metric(runs, store)
        if metric is None:
            raise InvalidInputError(
                "these runs have no metrics to set against their parameters; pick runs that logged one"
            )
    elif metric not in runs.metrics:
        raise _unknown("metric", metric, runs.metrics)
    if params is None:
        names = varying_params(runs.params)
    else:
        unknown = [p for p in names if p not in runs.params]
        if unknown:
            have = ", ".join(runs.params) or "no parameters"
            raise InvalidInputError(
                f"unknown parameter(s) {', '.join(map(repr, unknown))}; these runs have: {have}"
            )
    return runs, metric, list(dict.fromkeys(names))


def _pick_metric(runs: ChartRuns, store: str | os.PathLike[str] | Store | None) -> str | None:
    fewest_missing = min((sum(v is None for v in vs) for vs in runs.metrics.values()), default=0)
    top = [k for k, vs in runs.metrics.items() if sum(v is None for v in vs) == fewest_missing]
    curve_keys: set[str] = set()
    if len(top) > 1:
        # Only a tie needs to know which metrics are curves: two points per series say so.
        series = open_store(store).metric_series(runs.run_ids, top, 2)
        curve_keys = {s["key"] for s in series if len(s["steps"]) > 1}
    return default_metric({k: runs.metrics[k] for k in top}, curve_keys)
