"""The comparison charts of runs in a store, as Vega-Lite v5 dicts: what the REST layer
serves to the panel.

Views layer: these functions read through the comparison service
(:mod:`workbench.comparison`) and build the spec with :mod:`workbench.render.charts`,
the builders the notebook widgets and the model card use too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..comparison import curve_series, higher_is_better, parallel_data
from .charts import MAX_CURVE_POINTS, curves_spec, parallel_spec, run_label

if TYPE_CHECKING:
    from ..store.store import Store

__all__ = ["curves_chart", "parallel_chart"]


def curves_chart(
    run_ids: Sequence[str], key: str, store: str | os.PathLike[str] | Store | None = None
) -> dict[str, Any]:
    """One metric's curves for the given runs, one line per run.

    Parameters
    ----------
    run_ids
        Run ids or unique prefixes, 1 to 100 of them (a run given twice counts once).
    key
        The metric (``loss`` or ``metrics.loss``).
    store
        A store directory or Store; the current one by default.

    Returns
    -------
    dict
        A Vega-Lite v5 spec, ``width: "container"``, its data inline: each run's curve
        downsampled to at most 1,000 points. Legend labels are the panel's run labels
        (``name · 3f2a1b9c``), and every run is in the colour domain, in the order
        given, so one run has one colour in every chart of a comparison.

    Raises
    ------
    InvalidInputError
        No run id, more than 100, an id that is not a string, an ambiguous prefix, or a
        key that is not a string or that none of the runs logged (400 at the REST edge).
    RunNotFoundError
        A ``NotFoundError`` (404): an id matches no run.
    """
    runs, series = curve_series(run_ids, key, max_points=MAX_CURVE_POINTS, store=store)
    labels = {rid: run_label(rid, name) for rid, name in zip(runs.run_ids, runs.run_names)}
    named = [{**s, "label": labels[s["run_id"]]} for s in series]
    title = key.strip().removeprefix("metrics.")  # curve_series checked it is a string
    return curves_spec(named, title, list(labels.values()))


def parallel_chart(
    run_ids: Sequence[str],
    metric: str | None = None,
    params: Sequence[str] | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> dict[str, Any]:
    """Parallel coordinates of the runs' parameters against one metric.

    Parameters
    ----------
    run_ids
        Run ids or unique prefixes, 1 to 100 of them.
    metric
        The metric (``rmse`` or ``metrics.rmse``). By default the one most runs have,
        a final value before a training curve (:func:`workbench.comparison.default_metric`).
    params
        Parameter names, in axis order. By default those whose value varies across the
        runs (all of them when none varies).
    store
        A store directory or Store; the current one by default.

    Returns
    -------
    dict
        A Vega-Lite v5 spec, ``width: "container"``, its data inline: one normalized
        axis per parameter and one for the metric, one line per run coloured by the
        metric (best runs bright). A run without a parameter skips that axis; runs
        without the metric are left out and the title says how many.

    Raises
    ------
    InvalidInputError
        Bad run ids (as for :func:`curves_chart`), a name that is not a string, an
        unknown metric or parameter, or runs that have no metric at all.
    RunNotFoundError
        A ``NotFoundError`` (404): an id matches no run.
    """
    runs, metric_name, names = parallel_data(run_ids, metric, params, store=store)
    return parallel_spec(
        [run_label(rid, name) for rid, name in zip(runs.run_ids, runs.run_names)],
        {p: runs.params[p] for p in names},
        metric_name,
        runs.metrics[metric_name],
        higher_is_better=higher_is_better(metric_name),
    )
