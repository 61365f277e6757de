"""The comparison charts from DataFrames, as altair charts for notebooks and HTML exports.

The specs themselves come from :mod:`workbench.render.charts`, the one builder the
panel and the model card use too; this module turns :func:`workbench.metric_history`
and :func:`workbench.runs` DataFrames into its inputs and wraps the result in altair.

Every chart carries its data inline (``alt.InlineData``), so it never goes through
``alt.data_transformers``: whatever transformer the user enabled, nothing is written to
disk, no row limit applies, and the spec renders anywhere on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import altair as alt

from ..comparison import higher_is_better
from ..errors import InvalidInputError
from ..render import charts as spec
from ..render.charts import downsample_minmax
from ..render.html import ScriptJSONEncoder

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "chart_bundle",
    "chart_html",
    "downsample_minmax",
    "metric_curves",
    "metric_curves_spec",
    "parallel_coordinates",
    "parallel_coordinates_spec",
    "to_altair",
]

_HISTORY_COLUMNS = ("run_id", "key", "step", "value")
VEGALITE_MIMETYPE = "application/vnd.vegalite.v5+json"


def to_altair(vl_spec: dict[str, Any]) -> alt.Chart | alt.LayerChart:
    """An altair chart of a single-view Vega-Lite spec from :mod:`workbench.render.charts`.

    The data is assigned as ``alt.InlineData`` after the chart is built: building it
    from the rows would validate each one against the schema (0.7 s for 4,000 rows),
    and ``to_dict`` still validates the spec as a whole.
    """
    # A layered spec (parallel coordinates: lines, points and "missing" ticks) is a
    # LayerChart; a single view is a Chart.
    kind = alt.LayerChart if "layer" in vl_spec else alt.Chart
    chart = kind.from_dict({k: v for k, v in vl_spec.items() if k not in ("$schema", "data")}, validate=False)
    data = alt.InlineData(values=[])
    data.values = vl_spec["data"]["values"]
    chart.data = data
    return chart


def metric_curves_spec(
    history_df: pd.DataFrame,
    run_labels: Mapping[str, str] | None = None,
    max_points: int = 1000,
    *,
    title: str | None = None,
    width: int = spec.CURVE_WIDTH,
    height: int = spec.CURVE_HEIGHT,
) -> dict[str, Any]:
    """The Vega-Lite spec of :func:`metric_curves` (same parameters), as a dict."""
    missing = [c for c in _HISTORY_COLUMNS if c not in history_df.columns]
    if missing:
        raise InvalidInputError(
            f"metric_curves needs columns {', '.join(_HISTORY_COLUMNS)}; missing {', '.join(missing)}"
        )
    if not isinstance(max_points, int) or max_points < 1:
        raise InvalidInputError(f"max_points must be a positive integer, got {max_points!r}")
    run_order = [str(r) for r in history_df["run_id"].unique()]  # unique() keeps first-seen order
    labels = spec.unique_labels(run_order, run_labels)
    # sort=False keeps the caller's run order (metric_history returns runs in request order).
    series = [
        {
            "label": labels[str(run_id)],
            "key": str(key),
            "steps": group["step"].to_numpy(),
            "values": group["value"].to_numpy(),
        }
        for (run_id, key), group in history_df.groupby(["run_id", "key"], sort=False)
    ]
    return spec.metric_curves_spec(
        series,
        [labels[r] for r in run_order],
        title=title,
        width=width,
        height=height,
        max_points=max_points,
    )


def metric_curves(
    history_df: pd.DataFrame,
    run_labels: Mapping[str, str] | None = None,
    max_points: int = 1000,
    *,
    title: str | None = None,
    width: int = spec.CURVE_WIDTH,
    height: int = spec.CURVE_HEIGHT,
) -> alt.Chart:
    """Overlaid metric curves: one colour per run, one row per metric key.

    Parameters
    ----------
    history_df
        Points with columns ``run_id, key, step, value``, as returned by
        :func:`workbench.metric_history`.
    run_labels
        Legend label per run id (e.g. the run names); unknown runs show their short id.
    max_points
        Most points kept per (run, key) series, chosen by :func:`downsample_minmax`.
    title
        Chart title.
    width, height
        Size of each row's plot in pixels.

    Returns
    -------
    altair.Chart
        A line chart faceted by key (``row`` encoding) with an independent y scale per
        key, its data inline (the spec of :func:`workbench.render.charts.metric_curves_spec`).

    Raises
    ------
    InvalidInputError
        A required column is missing or ``max_points`` is not positive.
    """
    return to_altair(
        metric_curves_spec(history_df, run_labels, max_points, title=title, width=width, height=height)
    )


def _column(name: str, prefix: str) -> str:
    return name if name.startswith(prefix) else prefix + name


def _param_columns(runs_df: pd.DataFrame, params: Sequence[str] | None) -> list[str]:
    """The ``params.*`` columns for the axes: those asked for, else those that vary."""
    all_params = [c for c in runs_df.columns if c.startswith("params.")]
    if params is None:
        varying = [c for c in all_params if runs_df[c].nunique(dropna=False) > 1]
        return varying or all_params
    param_cols = [_column(p, "params.") for p in params]
    unknown = [c[len("params.") :] for c in param_cols if c not in runs_df.columns]
    if unknown:
        have = ", ".join(c[len("params.") :] for c in all_params) or "no params"
        raise InvalidInputError(f"unknown param(s) {', '.join(unknown)}; these runs have: {have}")
    return param_cols


def parallel_coordinates_spec(
    runs_df: pd.DataFrame,
    metric: str,
    params: Sequence[str] | None = None,
    *,
    run_labels: Mapping[str, str] | None = None,
    width: spec.Width | None = None,
) -> dict[str, Any]:
    """The Vega-Lite spec of :func:`parallel_coordinates` (same parameters), as a dict.

    ``width`` defaults to :func:`workbench.render.charts.parallel_width` of the axes.
    """
    metric_col = _column(metric, "metrics.")
    metric_name = metric_col[len("metrics.") :]
    if metric_col not in runs_df.columns:
        have = sorted(c[len("metrics.") :] for c in runs_df.columns if c.startswith("metrics."))
        raise InvalidInputError(
            f"no metric {metric_name!r} in these runs; they have: {', '.join(have) or 'no metrics'}"
        )
    param_cols = _param_columns(runs_df, params)
    ids = runs_df["run_id"].astype(str).tolist()
    if run_labels is None and "run_name" in runs_df.columns:
        names = runs_df["run_name"].tolist()
        run_labels = {rid: name for rid, name in zip(ids, names) if isinstance(name, str)}
    # Labels of the runs that have the metric: the others are left out of the chart.
    has_metric = runs_df[metric_col].notna().tolist()
    labels = spec.unique_labels([r for r, ok in zip(ids, has_metric) if ok], run_labels)
    return spec.parallel_spec(
        [labels.get(rid, rid[:8]) for rid in ids],
        {c[len("params.") :]: runs_df[c].tolist() for c in param_cols},
        metric_name,
        runs_df[metric_col].tolist(),
        higher_is_better=higher_is_better(metric_name),
        width=spec.parallel_width(len(param_cols) + 1) if width is None else width,
    )


def parallel_coordinates(
    runs_df: pd.DataFrame,
    metric: str,
    params: Sequence[str] | None = None,
    *,
    run_labels: Mapping[str, str] | None = None,
) -> alt.Chart:
    """Parallel coordinates of parameters and one metric: one line per run, coloured by the metric.

    Parameters
    ----------
    runs_df
        Runs as returned by :func:`workbench.runs` (``run_id``, ``run_name``,
        ``params.<name>``, ``metrics.<name>`` columns).
    metric
        The metric to colour by and to draw as the last axis (``"rmse"`` or
        ``"metrics.rmse"``).
    params
        Parameter names for the axes, in order (with or without ``params.``). Default:
        every parameter whose value varies across the runs (all of them if none varies).
    run_labels
        Tooltip label per run id; by default the run name, else the short id.

    Returns
    -------
    altair.Chart
        A line chart over one x position per axis (the spec of
        :func:`workbench.render.charts.parallel_spec`), at most
        :data:`~workbench.render.charts.PARALLEL_MAX_WIDTH` pixels wide. Numeric
        parameters are scaled between their min and max and categorical ones spread
        evenly in sorted order; each axis label shows its range or its categories. The
        colour scale puts the best runs at the bright end (reversed for metrics where
        lower is better). Runs without the metric are left out.

    Raises
    ------
    InvalidInputError
        The metric or a parameter is not a column of ``runs_df``.
    """
    return to_altair(parallel_coordinates_spec(runs_df, metric, params, run_labels=run_labels))


def chart_html(chart: alt.TopLevelMixin | dict[str, Any]) -> str:
    """An HTML fragment that renders ``chart`` where JavaScript runs (vega loaded from a CDN).

    Parameters
    ----------
    chart
        Any altair chart, or a Vega-Lite spec from :mod:`workbench.render.charts`.

    Returns
    -------
    str
        A ``<div>`` and a vega-embed ``<script>`` with the spec and its data inline. Each
        call uses its own element id, so several charts can share one page. The spec's
        JSON is escaped for a script element (:func:`workbench.render.html.script_json`),
        so a run name such as ``</script>`` stays data.
    """
    if isinstance(chart, dict):
        chart = to_altair(chart)
    return chart.to_html(
        template="universal",
        output_div=f"wb-chart-{uuid.uuid4().hex}",
        fullhtml=False,
        json_kwds={"cls": ScriptJSONEncoder},
    )


def chart_bundle(chart: alt.TopLevelMixin | dict[str, Any]) -> dict[str, Any]:
    """The mime bundle for ``chart``: the Vega-Lite v5 spec, which JupyterLab draws with
    its own bundled renderer (offline) and saves in the notebook, plus a text summary.

    Parameters
    ----------
    chart
        Any altair chart, or a Vega-Lite spec from :mod:`workbench.render.charts` (put
        in the bundle as it is).

    Returns
    -------
    dict
        Mimetype -> data, for ``display(..., raw=True)`` or an ``ipywidgets.Output``'s
        ``outputs`` (which works without a kernel's display hook, so also in tests).
    """
    if isinstance(chart, dict):
        return {VEGALITE_MIMETYPE: chart, "text/plain": f"<Chart: {chart.get('title', 'chart')}>"}
    vl_spec = chart.to_dict()  # validates the whole chart: worth doing once
    return {
        f"application/vnd.vegalite.v{alt.SCHEMA_VERSION.lstrip('v').split('.')[0]}+json": vl_spec,
        "text/plain": f"<{type(chart).__name__}: {vl_spec.get('title', 'chart')}>",
    }
