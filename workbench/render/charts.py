"""The Vega-Lite v5 specs of the comparison charts, as plain JSON-able dicts.

This is the one place these charts are built: the notebook widgets
(:mod:`workbench.widgets.charts`), the HTML model card and the JupyterLab panel (through
the server, :mod:`workbench.render.comparison`) all draw the specs made here.

The builders are pure: they take labels and values, never a store, so they can be
called from any layer above and tested without one. Every spec carries its data inline
(``data.values``): it renders anywhere on its own, nothing is written to disk, and
series are downsampled before they reach the spec, which keeps a 100,000-step curve to
a few kilobytes of JSON.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from ..errors import InvalidInputError

__all__ = [
    "CURVE_HEIGHT",
    "CURVE_WIDTH",
    "MAX_CURVE_POINTS",
    "MAX_POINTS_MARKED",
    "PARALLEL_HEIGHT",
    "PARALLEL_MAX_WIDTH",
    "SAVED_CURVE_POINTS",
    "SCHEMA",
    "curves_spec",
    "downsample_minmax",
    "metric_curves_spec",
    "parallel_spec",
    "parallel_width",
    "run_label",
    "unique_labels",
]

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: Curves with at most this many points per series also draw their points; longer ones
#: would only blur the line.
MAX_POINTS_MARKED = 30
#: Points per (run, key) curve the panel asks for; it draws them and saves nothing.
MAX_CURVE_POINTS = 1000
#: Points per curve in notebook outputs and model cards: enough for the eye, small
#: enough to save in a file.
SAVED_CURVE_POINTS = 500
#: Plot width of the faceted curves in a notebook output area (about 800 px wide).
CURVE_WIDTH = 520
#: Plot height of one metric's curves.
CURVE_HEIGHT = 180
PARALLEL_HEIGHT = 260
#: The widest a fixed-width parallel-coordinates plot gets, axis labels and legend
#: included it stays inside an 800 px output area.
PARALLEL_MAX_WIDTH = 640
#: Horizontal room per axis of a fixed-width parallel-coordinates plot.
PARALLEL_AXIS_STEP = 140
#: Longest text of a parallel-coordinates axis label before it is cut with an ellipsis.
AXIS_LABEL_CHARS = 48
#: Axis label width in pixels when the chart fills its container (width unknown here).
AXIS_LABEL_LIMIT = 140
#: Tooltip number format: five significant digits, trailing zeros dropped (the panel's
#: ``formatMetric`` shows five too).
VALUE_FORMAT = ".5~g"
#: Legends go below the plot, so they never add to a chart's width.
RUN_LEGEND = {"orient": "bottom", "columns": 2, "labelLimit": 260}

Width = int | Literal["container"]


# -- labels ------------------------------------------------------------------------------
def run_label(run_id: str, run_name: str | None) -> str:
    """The label that tells runs apart even when they share a name.

    The same text as ``runLabel`` in the panel (``labextension/src/format.ts``), so a
    chart's legend matches the comparison's column headers.

    Parameters
    ----------
    run_id
        The full run id.
    run_name
        The run's name, if any.

    Returns
    -------
    str
        ``name · 3f2a1b9c``, or the short id alone for an unnamed run.
    """
    return f"{run_name} · {run_id[:8]}" if run_name else run_id[:8]


def unique_labels(run_ids: Sequence[str], run_labels: Mapping[str, str] | None) -> dict[str, str]:
    """A legend label per run, as the notebook widgets show them.

    Parameters
    ----------
    run_ids
        The runs, in order.
    run_labels
        A label per run id (e.g. the run names); a run without one shows its short id.

    Returns
    -------
    dict
        Run id -> label; two runs with the same label get their short id appended.
    """
    labels = {rid: (run_labels or {}).get(rid) or rid[:8] for rid in run_ids}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {rid: (f"{lab} ({rid[:8]})" if counts[lab] > 1 else lab) for rid, lab in labels.items()}


# -- metric curves -----------------------------------------------------------------------
def downsample_minmax(steps: Any, values: Any, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce one series to at most ``max_points`` points while keeping its shape.

    The step range is cut into equal buckets; each bucket keeps its lowest and its
    highest value, so spikes and dips survive where plain decimation would drop them.
    The first and last points are always kept (the last one is the current value).

    Parameters
    ----------
    steps, values
        Parallel sequences of one series.
    max_points
        The most points to return (at least 1).

    Returns
    -------
    tuple of numpy.ndarray
        The kept steps and values, in step order.

    Raises
    ------
    InvalidInputError
        ``max_points`` is less than 1.
    """
    if max_points < 1:
        raise InvalidInputError(f"max_points must be at least 1, got {max_points!r}")
    s = np.asarray(steps)
    v = np.asarray(values, dtype=float)
    if len(s) > 1 and np.any(s[1:] < s[:-1]):
        order = np.argsort(s, kind="stable")
        s, v = s[order], v[order]
    n = len(s)
    if n <= max_points:
        return s, v
    if max_points < 4:
        # Too few points for min/max pairs plus both ends: spread them evenly instead.
        idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
        return s[idx], v[idx]
    n_buckets = (max_points - 2) // 2
    span = float(s[-1] - s[0])
    if span > 0:
        bucket = ((s - s[0]).astype(float) / span * n_buckets).astype(np.int64)
    else:
        # Every point at the same step: fall back to buckets of equal point counts.
        bucket = np.arange(n, dtype=np.int64) * n_buckets // n
    np.minimum(bucket, n_buckets - 1, out=bucket)
    # Sorting by (bucket, value) puts each bucket's minimum first and maximum last.
    order = np.lexsort((v, bucket))
    sorted_buckets = bucket[order]
    starts = np.flatnonzero(np.r_[True, sorted_buckets[1:] != sorted_buckets[:-1]])
    ends = np.r_[starts[1:], n] - 1
    keep = np.unique(np.concatenate([order[starts], order[ends], [0, n - 1]]))
    return s[keep], v[keep]


def _curve_rows(
    series: Iterable[Mapping[str, Any]], max_points: int | None
) -> tuple[list[dict[str, Any]], int]:
    """The rows of every series (``run, key, step, value``) and the longest series' length."""
    rows: list[dict[str, Any]] = []
    longest = 0
    for s in series:
        steps, values = s["steps"], s["values"]
        if max_points is not None:
            steps, values = downsample_minmax(steps, values, max_points)
        steps = steps.tolist() if isinstance(steps, np.ndarray) else list(steps)
        values = values.tolist() if isinstance(values, np.ndarray) else list(values)
        longest = max(longest, len(steps))
        label, key = str(s["label"]), str(s["key"])
        rows.extend(
            {"run": label, "key": key, "step": int(st), "value": float(v)} for st, v in zip(steps, values)
        )
    return rows, longest


def _curve_mark(longest: int) -> dict[str, Any]:
    mark: dict[str, Any] = {"type": "line", "strokeWidth": 1.5, "clip": True}
    if 0 < longest <= MAX_POINTS_MARKED:
        mark["point"] = {"filled": True, "size": 16}
    return mark


def _curve_encoding(domain: Sequence[str]) -> dict[str, Any]:
    """Step against value, one colour per run: the same in every curves chart."""
    return {
        "x": {"field": "step", "type": "quantitative", "title": "step"},
        "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False}},
        "color": {
            "field": "run",
            "type": "nominal",
            "title": "run",
            # Every compared run is in the domain, in order, whether or not it logged this
            # metric, so a run has the same colour in every chart of one comparison.
            # category10 repeats colours past 10 runs; tableau20 has twice as many.
            "scale": {"domain": list(domain), "scheme": "tableau20" if len(domain) > 10 else "tableau10"},
            "legend": dict(RUN_LEGEND),
        },
        "tooltip": [
            {"field": "run", "type": "nominal"},
            {"field": "key", "type": "nominal"},
            {"field": "step", "type": "quantitative"},
            {"field": "value", "type": "quantitative", "format": VALUE_FORMAT},
        ],
    }


def _domain(domain: Sequence[str] | None, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(domain) if domain is not None else list(dict.fromkeys(r["run"] for r in rows))


def curves_spec(
    series: Iterable[Mapping[str, Any]],
    key: str,
    domain: Sequence[str] | None = None,
    *,
    width: Width = "container",
    height: int = CURVE_HEIGHT,
    max_points: int | None = None,
) -> dict[str, Any]:
    """One metric's curves, one line per run: a chart of the panel's comparison.

    Parameters
    ----------
    series
        One mapping per run: ``label`` (the legend text), ``key``, ``steps``, ``values``.
    key
        The metric's name: the chart's title.
    domain
        Every compared run's label, in order, so colours match across charts (default:
        the labels of ``series``).
    width
        Plot width in pixels, or ``"container"`` to fill the element it is drawn in.
    height
        Plot height in pixels.
    max_points
        Downsample each series to this many points (:func:`downsample_minmax`); None
        keeps them as given.

    Returns
    -------
    dict
        A Vega-Lite v5 line chart, its data inline.
    """
    rows, longest = _curve_rows(series, max_points)
    return {
        "$schema": SCHEMA,
        "title": key,
        "width": width,
        "height": height,
        "data": {"values": rows},
        "mark": _curve_mark(longest),
        "encoding": _curve_encoding(_domain(domain, rows)),
    }


def metric_curves_spec(
    series: Iterable[Mapping[str, Any]],
    domain: Sequence[str] | None = None,
    *,
    title: str | None = None,
    width: int = CURVE_WIDTH,
    height: int = CURVE_HEIGHT,
    max_points: int | None = None,
) -> dict[str, Any]:
    """Several metrics' curves in one chart: one row per metric, one colour per run.

    The notebook's comparison and the model card draw this; each row is the chart
    :func:`curves_spec` makes for that metric, with its own y scale (losses, accuracies
    and learning rates share no range).

    Parameters
    ----------
    series
        One mapping per (run, metric): ``label``, ``key``, ``steps``, ``values``.
    domain
        Every compared run's label, in order (default: the labels of ``series``).
    title
        The chart's title, if any.
    width, height
        Size of each row's plot in pixels (a faceted chart cannot fill its container).
    max_points
        Downsample each series to this many points; None keeps them as given.

    Returns
    -------
    dict
        A Vega-Lite v5 line chart with a ``row`` encoding by ``key``, its data inline.
    """
    rows, longest = _curve_rows(series, max_points)
    encoding = _curve_encoding(_domain(domain, rows))
    encoding["row"] = {
        "field": "key",
        "type": "nominal",
        "title": None,
        # The metric name above its plot, where it cannot collide with the y axis.
        "header": {"labelAngle": 0, "labelOrient": "top", "labelAnchor": "start", "labelFontWeight": "bold"},
    }
    spec: dict[str, Any] = {"$schema": SCHEMA}
    if title:
        spec["title"] = title
    spec.update(
        {
            "width": width,
            "height": height,
            "data": {"values": rows},
            "mark": _curve_mark(longest),
            "encoding": encoding,
            "resolve": {"scale": {"y": "independent"}},
        }
    )
    return spec


# -- parallel coordinates ----------------------------------------------------------------
def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")  # pandas' missing values


def _as_number(value: Any) -> float | None:
    """The value as a finite number, or None (params arrive as strings: ``"0.1"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        x = float(value)
    else:
        try:
            x = float(str(value))
        except ValueError:
            return None
    return x if math.isfinite(x) else None


def _fmt_number(x: float) -> str:
    return f"{x:.4g}"


def _short(text: str, limit: int = AXIS_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scale_axis(name: str, values: Sequence[Any]) -> tuple[str, list[float | None], list[str | None]]:
    """Place one dimension's values on [0, 1]: the axis label, positions and value texts.

    Values that all parse as numbers are scaled linearly between their min and max, and
    the label shows that range; anything else is treated as categories, spread evenly
    in sorted order, and the label lists them. Missing values get no position.
    """
    present = [not _is_missing(v) for v in values]
    nums = [_as_number(v) if ok else None for v, ok in zip(values, present)]
    if any(present) and all(n is not None for n, ok in zip(nums, present) if ok):
        found = [n for n in nums if n is not None]
        lo, hi = min(found), max(found)
        span = hi - lo
        pos = [None if n is None else (0.5 if span == 0 else (n - lo) / span) for n in nums]
        # Floats (final metrics) are shown rounded; params keep the text that was logged.
        floats = all(isinstance(v, float) for v, ok in zip(values, present) if ok)
        raw = [
            None if not ok else (_fmt_number(float(v)) if floats else str(v))
            for v, ok in zip(values, present)
        ]
        label = f"{name} [{_fmt_number(lo)} … {_fmt_number(hi)}]" if span else f"{name} [{_fmt_number(lo)}]"
        return label, pos, raw
    texts = [None if not ok else str(v) for v, ok in zip(values, present)]
    cats = sorted({t for t in texts if t is not None})
    rank = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    pos = [None if t is None else (0.5 if k == 1 else rank[t] / (k - 1)) for t in texts]
    return _short(f"{name} [{' · '.join(cats)}]"), pos, texts


# Axis labels are "name [range or categories]": drawn as two lines, name above, so each
# part gets the axis' full width (Vega draws an array of strings as lines).
_TWO_LINE_LABEL = (
    "lastindexof(datum.label, ' [') > 0 ? [substring(datum.label, 0, lastindexof(datum.label, ' [')), "
    "substring(datum.label, lastindexof(datum.label, ' [') + 1)] : datum.label"
)


def parallel_width(n_axes: int) -> int:
    """The plot width of a fixed-width parallel-coordinates chart with ``n_axes`` axes:
    :data:`PARALLEL_AXIS_STEP` per axis, at least 320 and at most
    :data:`PARALLEL_MAX_WIDTH` pixels."""
    return max(320, min(PARALLEL_MAX_WIDTH, PARALLEL_AXIS_STEP * n_axes))


def _parallel_rows(
    labels: Sequence[str], dims: Sequence[tuple[str, str, Sequence[Any]]], metric_values: Sequence[float]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The axis labels in order, and one row per (run, axis) where the run has a value."""
    axes: list[str] = []
    rows: list[dict[str, Any]] = []
    for order, (name, column, values) in enumerate(dims):
        label, pos, raw = _scale_axis(name, values)
        if label in axes:  # a param named like the metric: keep both axes apart
            label = f"{label} ({column})"
        axes.append(label)
        rows.extend(
            {"run": run, "axis": label, "order": order, "pos": p, "raw": r, "metric": m}
            for run, p, r, m in zip(labels, pos, raw, metric_values)
            if p is not None
        )
    return axes, rows


def _parallel_encoding(
    axes: list[str], metric: str, label_limit: int, higher_is_better: bool
) -> dict[str, Any]:
    return {
        "x": {
            "field": "axis",
            "type": "nominal",
            "sort": axes,
            "title": None,
            "axis": {
                "grid": True,
                "domain": False,
                "ticks": False,
                "labelAngle": 0,
                "labelLimit": label_limit,
                "labelExpr": _TWO_LINE_LABEL,
            },
        },
        "y": {"field": "pos", "type": "quantitative", "axis": None, "scale": {"domain": [0, 1]}},
        "color": {
            "field": "metric",
            "type": "quantitative",
            "title": metric,
            # The bright end of viridis is the best run whichever way the metric points.
            "scale": {"scheme": "viridis", "reverse": not higher_is_better},
            "legend": {"orient": "bottom", "direction": "horizontal", "format": VALUE_FORMAT},
        },
        "detail": {"field": "run", "type": "nominal"},
        "order": {"field": "order", "type": "quantitative"},
        "tooltip": [
            {"field": "run", "type": "nominal"},
            {"field": "axis", "type": "nominal", "title": "axis"},
            {"field": "raw", "type": "nominal", "title": "value"},
            {"field": "metric", "type": "quantitative", "title": metric, "format": VALUE_FORMAT},
        ],
    }


def parallel_spec(
    labels: Sequence[str],
    params: Mapping[str, Sequence[Any]],
    metric: str,
    metric_values: Sequence[Any],
    *,
    higher_is_better: bool,
    width: Width = "container",
    height: int = PARALLEL_HEIGHT,
) -> dict[str, Any]:
    """Parallel coordinates of parameters and one metric: one line per run, coloured by
    the metric.

    Every axis is normalized to [0, 1]. Numeric values (params arrive as strings and
    count as numeric when every present value parses) are scaled between their min and
    max, other values are spread evenly in sorted order; each axis label names its range
    or its categories. The colour scale puts the best runs at the bright end.

    Parameters
    ----------
    labels
        One unique label per run.
    params
        Parameter name -> one value per run (None where a run lacks it), in axis order.
        A run without a parameter has no point on that axis; its line skips it.
    metric
        The metric's name: the last axis, the colour and the title.
    metric_values
        One value per run. Runs without one (None or NaN) are left out, and the title
        says how many.
    higher_is_better
        Which way the metric points (see :func:`workbench.comparison.higher_is_better`).
    width
        ``"container"`` to fill the element it is drawn in (the panel), or pixels (see
        :func:`parallel_width`).
    height
        Plot height in pixels.

    Returns
    -------
    dict
        A Vega-Lite v5 line chart over one x position per axis, its data inline.

    Raises
    ------
    InvalidInputError
        A list of values is not one per run.
    """
    n = len(labels)
    for name, values in [*params.items(), (metric, metric_values)]:
        if len(values) != n:
            raise InvalidInputError(f"{name!r} has {len(values)} values for {n} runs; give one per run")
    keep = [i for i, m in enumerate(metric_values) if _as_number(m) is not None]
    dims = [(name, f"params.{name}", [values[i] for i in keep]) for name, values in params.items()]
    kept_metric = [float(metric_values[i]) for i in keep]
    dims.append((metric, f"metrics.{metric}", kept_metric))
    axes, rows = _parallel_rows([labels[i] for i in keep], dims, kept_metric)
    dropped = n - len(keep)
    title = f"{metric} vs parameters" + (f" ({dropped} runs without {metric} left out)" if dropped else "")
    label_limit = AXIS_LABEL_LIMIT if width == "container" else max(60, min(220, int(width) // len(axes) - 8))
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": width,
        "height": height,
        "data": {"values": rows},
        "mark": {
            "type": "line",
            "strokeWidth": 2,
            "opacity": 0.85,
            "point": {"filled": True, "size": 36},
        },
        "encoding": _parallel_encoding(axes, metric, label_limit, higher_is_better),
    }
