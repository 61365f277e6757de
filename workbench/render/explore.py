"""The charts the panel explores runs with, as Vega-Lite v5 dicts: curves with smoothing,
a log scale and time axes; parallel coordinates fitted to their width, without
duplicate axes and with "missing" ticks; a parameter against a metric.

Views layer: the data comes through the services (:mod:`workbench.api`,
:mod:`workbench.comparison`), the specs from :mod:`workbench.render.charts`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..api import OBJECTIVE_TAG, metric_history, run_tags
from ..comparison import chart_runs, curve_series, higher_is_better, parallel_data
from ..errors import InvalidInputError
from .charts import (
    MAX_CURVE_POINTS,
    XAxis,
    curves_spec,
    distinct_params,
    parallel_spec,
    run_label,
    scatter_spec,
)

if TYPE_CHECKING:
    from ..store.store import Store

__all__ = ["curves_chart", "objective_metric", "parallel_chart", "scatter_chart"]


def objective_metric(tags: Sequence[dict[str, str]], metrics: Sequence[str]) -> str | None:
    """The metric runs name as their objective (an ``objective`` tag, e.g. ``rmse`` or
    ``rmse ASC``; the most common one), if it is one of ``metrics``; else None."""
    counts: dict[str, int] = {}
    for t in tags:
        words = str(t.get(OBJECTIVE_TAG, "")).split()
        if words:
            name = words[0].removeprefix("metrics.")
            counts[name] = counts.get(name, 0) + 1
    for name in sorted(counts, key=lambda n: -counts[n]):
        if name in metrics:
            return name
    return None


def curves_chart(
    run_ids: Sequence[str],
    key: str,
    *,
    smoothing: float = 0.0,
    log: bool = False,
    x: XAxis = "step",
    store: str | os.PathLike[str] | Store | None = None,
) -> dict[str, Any]:
    """One metric's curves for the given runs, as the panel's curve controls ask.

    Parameters
    ----------
    run_ids
        Run ids or unique prefixes (1 to 100).
    key
        The metric.
    smoothing
        An exponential moving average's weight, from 0 to 0.99, computed over every
        logged point (the raw curve is drawn faintly beneath).
    log
        A logarithmic y scale.
    x
        ``step``, ``wall`` or ``relative`` (seconds since each run's first point).

    Raises
    ------
    InvalidInputError
        Bad ids, an unknown metric, smoothing outside [0, 0.99] or an unknown x.
    """
    if not isinstance(smoothing, (int, float)) or not 0 <= smoothing <= 0.99:
        raise InvalidInputError(f"smoothing must be a number from 0 to 0.99, got {smoothing!r}")
    if x not in ("step", "wall", "relative"):
        raise InvalidInputError(f"x must be step, wall or relative, got {x!r}")
    runs, series = curve_series(run_ids, key, max_points=MAX_CURVE_POINTS, store=store)
    labels = {rid: run_label(rid, name) for rid, name in zip(runs.run_ids, runs.run_names)}
    name = key.strip().removeprefix("metrics.")
    if smoothing or x != "step":
        # Every point, with its time: the average must see them all, the time axes need
        # the clock. Downsampled afterwards, as the step curves are.
        df = metric_history(runs.run_ids, name, store=store)
        series = [
            {
                "run_id": rid,
                "key": name,
                "steps": group["step"].to_numpy(),
                "values": group["value"].to_numpy(),
                "timestamps": _epoch_ms(group["timestamp"]),
            }
            for rid, group in df.groupby("run_id", sort=False)
        ]
    named = [{**s, "label": labels[s["run_id"]]} for s in series]
    return curves_spec(
        named,
        name,
        list(labels.values()),
        max_points=MAX_CURVE_POINTS,
        smoothing=float(smoothing),
        log=log,
        x=x,
    )


def _epoch_ms(column: Any) -> Any:
    """Milliseconds since the epoch from a timestamp column (datetimes or numbers)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):
        return (
            (column.astype("int64") // 10**6).to_numpy()
            if column.dt.tz is None
            else (
                column.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").astype("int64")
                // 10**6
            ).to_numpy()
        )
    return pd.to_numeric(column).to_numpy().astype("int64")


def parallel_chart(
    run_ids: Sequence[str],
    metric: str | None = None,
    params: Sequence[str] | None = None,
    *,
    width: int | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> dict[str, Any]:
    """Parallel coordinates as the panel draws them: the parameters that differ (no
    autologged copies), the objective metric last, a "missing" tick for runs without a
    value, labels that fit ``width`` pixels (rotated when axes are close).

    Parameters
    ----------
    run_ids
        Run ids or unique prefixes.
    metric
        The metric axis; by default the runs' ``objective`` tag, else the metric most
        runs have (:func:`workbench.comparison.default_metric`).
    params
        The parameter axes; by default :func:`~workbench.render.charts.distinct_params`.
    width
        The plot's width in pixels; None fills the container.
    """
    runs, metric_name, names = parallel_data(run_ids, metric or None, params, store=store)
    if not metric:
        tags = run_tags(runs.run_ids, store=store)
        metric_name = objective_metric(list(tags.values()), list(runs.metrics)) or metric_name
    if params is None:
        names = distinct_params(runs.params)
    return parallel_spec(
        [run_label(rid, name) for rid, name in zip(runs.run_ids, runs.run_names)],
        {p: runs.params[p] for p in names},
        metric_name,
        runs.metrics[metric_name],
        higher_is_better=higher_is_better(metric_name),
        width=width if width is not None else "container",
        missing_tick=True,
    )


def scatter_chart(
    run_ids: Sequence[str],
    param: str,
    metric: str,
    *,
    store: str | os.PathLike[str] | Store | None = None,
) -> dict[str, Any]:
    """One parameter against one metric, a point per run in its colour.

    Raises
    ------
    InvalidInputError
        Bad ids, or a parameter or metric none of the runs has.
    """
    runs = chart_runs(run_ids, store=store)
    p = str(param).removeprefix("params.")
    m = str(metric).removeprefix("metrics.")
    if p not in runs.params:
        raise InvalidInputError(
            f"unknown parameter {p!r}; these runs have: {', '.join(runs.params) or 'none'}"
        )
    if m not in runs.metrics:
        raise InvalidInputError(f"unknown metric {m!r}; these runs have: {', '.join(runs.metrics) or 'none'}")
    labels = [run_label(rid, name) for rid, name in zip(runs.run_ids, runs.run_names)]
    return scatter_spec(labels, p, runs.params[p], m, runs.metrics[m], labels)
