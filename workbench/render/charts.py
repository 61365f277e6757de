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
    "RUN_COLOURS",
    "distinct_params",
    "ema",
    "parallel_spec",
    "parallel_width",
    "run_label",
    "scatter_spec",
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
#: What a curve's x axis measures: the step, the clock, or seconds since the run's first point.
XAxis = Literal["step", "wall", "relative"]
#: The run colours, in order: Vega's ``tableau10`` and ``tableau20`` schemes, which the
#: charts name. The panel colours its tables with the same list (``RUN_COLOURS`` in
#: ``labextension/src/format.ts``), so a run has one colour in the table, the legend
#: and every chart.
RUN_COLOURS = (
    "#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b",
    "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac",
)  # fmt: skip
#: Where a parallel-coordinates axis draws the runs that lack its value (below 0).
MISSING_POS = -0.12


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
    keep = _minmax_indices(steps, values, max_points)
    return np.asarray(steps)[keep], np.asarray(values, dtype=float)[keep]


def _minmax_indices(steps: Any, values: Any, max_points: int) -> np.ndarray:
    """The indices (into the given arrays, in step order) :func:`downsample_minmax` keeps."""
    if max_points < 1:
        raise InvalidInputError(f"max_points must be at least 1, got {max_points!r}")
    s = np.asarray(steps)
    v = np.asarray(values, dtype=float)
    base = np.arange(len(s))
    if len(s) > 1 and np.any(s[1:] < s[:-1]):
        base = np.argsort(s, kind="stable")
        s, v = s[base], v[base]
    n = len(s)
    if n <= max_points:
        return base
    if max_points < 4:
        # Too few points for min/max pairs plus both ends: spread them evenly instead.
        idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
        return base[idx]
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
    return base[keep]


def ema(values: Sequence[float], smoothing: float) -> list[float]:
    """An exponential moving average, debiased at the start as TensorBoard does.

    Parameters
    ----------
    values
        One series, in step order.
    smoothing
        The weight of the past, from 0 (none: the values themselves) to below 1.

    Returns
    -------
    list of float
        ``s_t = smoothing * s_(t-1) + (1 - smoothing) * v_t``, divided by
        ``1 - smoothing ** t`` so the first points are not pulled towards zero.
    """
    if not 0 <= smoothing < 1:
        raise InvalidInputError(f"smoothing must be from 0 to below 1, got {smoothing!r}")
    out: list[float] = []
    last = 0.0
    for i, v in enumerate(values, start=1):
        last = smoothing * last + (1 - smoothing) * float(v)
        out.append(last / (1 - smoothing**i) if smoothing else float(v))
    return out


def _curve_rows(
    series: Iterable[Mapping[str, Any]],
    max_points: int | None,
    smoothing: float = 0.0,
    x: XAxis = "step",
) -> tuple[list[dict[str, Any]], int]:
    """The rows of every series (``run, key, step, value``, plus ``raw`` when smoothed
    and ``time`` for a time axis) and the longest series' length."""
    rows: list[dict[str, Any]] = []
    longest = 0
    for s in series:
        steps, values = s["steps"], s["values"]
        times = s.get("timestamps")
        # Smoothed over every point, before downsampling, so the average sees them all.
        smooth = ema(list(np.asarray(values, dtype=float)), smoothing) if smoothing else None
        if max_points is not None:
            keep = _minmax_indices(steps, values, max_points)
            steps = np.asarray(steps)[keep]
            values = np.asarray(values, dtype=float)[keep]
            times = None if times is None else np.asarray(times)[keep]
            smooth = None if smooth is None else [smooth[i] for i in keep.tolist()]
        steps = steps.tolist() if isinstance(steps, np.ndarray) else list(steps)
        values = values.tolist() if isinstance(values, np.ndarray) else list(values)
        times_list = None if times is None else [int(t) for t in np.asarray(times).tolist()]
        longest = max(longest, len(steps))
        label, key = str(s["label"]), str(s["key"])
        start = min(times_list) if times_list else 0
        for i, (st, v) in enumerate(zip(steps, values)):
            row: dict[str, Any] = {"run": label, "key": key, "step": int(st), "value": float(v)}
            if smooth is not None:
                row["raw"], row["value"] = float(v), float(smooth[i])
            if x != "step" and times_list is not None:
                row["time"] = times_list[i] if x == "wall" else (times_list[i] - start) / 1000
            rows.append(row)
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
    smoothing: float = 0.0,
    log: bool = False,
    x: XAxis = "step",
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
    smoothing
        Draw an exponential moving average (:func:`ema`) with this weight, over the raw
        curve drawn faintly; 0 draws the values.
    log
        A logarithmic y scale (symmetric log when a value is 0 or below).
    x
        ``step``, ``wall`` (the clock) or ``relative`` (seconds since each run's first
        point); the time axes need ``timestamps`` (ms) in each series.

    Returns
    -------
    dict
        A Vega-Lite v5 line chart, its data inline.
    """
    if x not in ("step", "wall", "relative"):
        raise InvalidInputError(f"x must be step, wall or relative, got {x!r}")
    rows, longest = _curve_rows(series, max_points, smoothing, x)
    encoding = _curve_encoding(_domain(domain, rows))
    if x != "step":
        encoding["x"] = (
            {"field": "time", "type": "temporal", "title": "time"}
            if x == "wall"
            else {"field": "time", "type": "quantitative", "title": "seconds since the run's first point"}
        )
    if log:
        positive = all(r["value"] > 0 and r.get("raw", 1) > 0 for r in rows)
        encoding["y"]["scale"] = {"type": "log" if positive else "symlog", "zero": False}
    spec: dict[str, Any] = {"$schema": SCHEMA, "title": key, "width": width, "height": height}
    spec["data"] = {"values": rows}
    if not smoothing:
        return {**spec, "mark": _curve_mark(longest), "encoding": encoding}
    # The smoothed line over the raw one, drawn faintly in the same colour.
    raw = {**encoding, "y": {**encoding["y"], "field": "raw"}}
    raw["color"] = {**encoding["color"], "legend": None}
    raw.pop("tooltip")
    spec["layer"] = [
        {"mark": {"type": "line", "strokeWidth": 1, "opacity": 0.25, "clip": True}, "encoding": raw},
        {"mark": _curve_mark(longest), "encoding": encoding},
    ]
    encoding["tooltip"] = [
        *encoding["tooltip"],
        {"field": "raw", "type": "quantitative", "format": VALUE_FORMAT},
    ]
    return spec


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


def _scale_axis(
    name: str, values: Sequence[Any], missing_tick: bool = False
) -> tuple[str, list[float | None], list[str | None]]:
    """Place one dimension's values on [0, 1]: the axis label, positions and value texts.

    Values that all parse as numbers are scaled linearly between their min and max, and
    the label shows that range; anything else is treated as categories, spread evenly
    in sorted order, and the label lists them. Missing values get no position, or with
    ``missing_tick`` the position :data:`MISSING_POS` (below the axis) and the text
    ``missing``.
    """
    label, pos, raw = _scale_present(name, values)
    if missing_tick:
        pos = [MISSING_POS if p is None else p for p in pos]
        raw = ["missing" if p is None else r for p, r in zip(_scale_present(name, values)[1], raw)]
    return label, pos, raw


def _scale_present(name: str, values: Sequence[Any]) -> tuple[str, list[float | None], list[str | None]]:
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
    labels: Sequence[str],
    dims: Sequence[tuple[str, str, Sequence[Any]]],
    metric_values: Sequence[float],
    missing_tick: bool = False,
) -> tuple[list[str], list[dict[str, Any]]]:
    """The axis labels in order, and one row per (run, axis) where the run has a value
    (or, with ``missing_tick``, a "missing" point below the axis where it has none)."""
    axes: list[str] = []
    rows: list[dict[str, Any]] = []
    for order, (name, column, values) in enumerate(dims):
        label, pos, raw = _scale_axis(name, values, missing_tick)
        if label in axes:  # a param named like the metric: keep both axes apart
            label = f"{label} ({column})"
        axes.append(label)
        rows.extend(
            {"run": run, "axis": label, "order": order, "pos": p, "raw": r, "metric": m}
            for run, p, r, m in zip(labels, pos, raw, metric_values)
            if p is not None
        )
    return axes, rows


def _axis_labels(step: float | None, label_limit: int) -> dict[str, Any]:
    """Axis label settings that never overlap: two horizontal lines where an axis has
    room (or the width is unknown), else rotated, upright when axes are very close."""
    if step is None or step >= 100:
        return {"labelAngle": 0, "labelLimit": label_limit, "labelExpr": _TWO_LINE_LABEL}
    # A rotated label needs about its line height / sin(angle) of horizontal room.
    angle = -40 if step >= 24 else -90
    return {"labelAngle": angle, "labelAlign": "right", "labelBaseline": "middle", "labelLimit": label_limit}


def _parallel_encoding(
    axes: list[str],
    metric: str,
    label_limit: int,
    higher_is_better: bool,
    step: float | None = None,
    y_domain: Sequence[float] = (0, 1),
) -> dict[str, Any]:
    return {
        "x": {
            "field": "axis",
            "type": "nominal",
            "sort": axes,
            "title": None,
            "axis": {"grid": True, "domain": False, "ticks": False, **_axis_labels(step, label_limit)},
        },
        "y": {"field": "pos", "type": "quantitative", "axis": None, "scale": {"domain": list(y_domain)}},
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
    missing_tick: bool = False,
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
    missing_tick
        Draw a run that lacks a parameter through a "missing" point below that axis,
        so its line is whole, instead of skipping the axis.

    Returns
    -------
    dict
        A Vega-Lite v5 line chart over one x position per axis, its data inline. Axis
        labels never overlap: with a pixel width, crowded axes get rotated labels.

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
    axes, rows = _parallel_rows([labels[i] for i in keep], dims, kept_metric, missing_tick)
    dropped = n - len(keep)
    title = f"{metric} vs parameters" + (f" ({dropped} runs without {metric} left out)" if dropped else "")
    step = None if width == "container" else int(width) / len(axes)
    label_limit = AXIS_LABEL_LIMIT if step is None else max(60, min(220, int(step) - 8))
    has_missing = any(r["pos"] == MISSING_POS for r in rows)
    y_domain = (MISSING_POS - 0.05, 1) if has_missing else (0, 1)
    line = {
        "mark": {"type": "line", "strokeWidth": 2, "opacity": 0.85, "point": {"filled": True, "size": 36}},
        "encoding": _parallel_encoding(axes, metric, label_limit, higher_is_better, step, y_domain),
    }
    spec: dict[str, Any] = {"$schema": SCHEMA, "title": title, "width": width, "height": height}
    spec["data"] = {"values": rows}
    if not has_missing:
        return {**spec, **line}
    # A "missing" tick below each axis that has runs without a value.
    ticks = {
        "transform": [{"filter": f"datum.pos == {MISSING_POS}"}],
        "mark": {"type": "text", "text": "missing", "dy": 10, "fontSize": 9, "color": "#888"},
        "encoding": {
            "x": {"field": "axis", "type": "nominal", "sort": axes},
            "y": {"field": "pos", "type": "quantitative", "scale": {"domain": list(y_domain)}},
        },
    }
    return {**spec, "layer": [line, ticks]}


def distinct_params(params: Mapping[str, Sequence[Any]]) -> list[str]:
    """The parameters worth an axis: those that differ between the runs, without an
    autologged ``Estimator.x`` that repeats the plain parameter ``x``.

    Parameters
    ----------
    params
        Parameter name -> one value per run (None where a run lacks it).

    Returns
    -------
    list of str
        Names in the given order; all non-duplicates when none differs.
    """

    def same(a: Any, b: Any) -> bool:
        if _is_missing(a) or _is_missing(b):
            return _is_missing(a) and _is_missing(b)
        x, y = _as_number(a), _as_number(b)
        return x == y if x is not None and y is not None else str(a) == str(b)

    names = list(params)
    keep = []
    for name in names:
        head, _, plain = name.partition(".")
        if plain and head[:1].isupper() and plain in params:
            if all(same(a, b) for a, b in zip(params[name], params[plain])):
                continue  # GradientBoostingRegressor.max_depth beside max_depth
        keep.append(name)
    differing = [k for k in keep if len({str(v) for v in params[k]}) > 1]
    return differing or keep


def scatter_spec(
    labels: Sequence[str],
    x_name: str,
    x_values: Sequence[Any],
    metric: str,
    metric_values: Sequence[Any],
    domain: Sequence[str] | None = None,
    *,
    width: Width = "container",
    height: int = PARALLEL_HEIGHT,
) -> dict[str, Any]:
    """One parameter against one metric: a point per run, in the run's colour.

    Parameters
    ----------
    labels
        One unique label per run.
    x_name, x_values
        The parameter and its value per run (numbers when every present value parses,
        else categories).
    metric, metric_values
        The metric and its value per run.
    domain
        Every compared run's label, in order, so colours match the other charts.
    width, height
        The plot's size (``"container"`` fills its element).

    Returns
    -------
    dict
        A Vega-Lite v5 point chart; runs missing either value are left out (the title
        says how many).
    """
    n = len(labels)
    if len(x_values) != n or len(metric_values) != n:
        raise InvalidInputError(f"give one {x_name!r} and one {metric!r} value per run ({n} runs)")
    present = [
        i for i in range(n) if not _is_missing(x_values[i]) and _as_number(metric_values[i]) is not None
    ]
    numeric = all(_as_number(x_values[i]) is not None for i in present)
    rows = [
        {
            "run": labels[i],
            "x": _as_number(x_values[i]) if numeric else str(x_values[i]),
            "value": float(metric_values[i]),
        }
        for i in present
    ]
    dropped = n - len(present)
    title = f"{metric} by {x_name}" + (f" ({dropped} runs without both left out)" if dropped else "")
    colour_domain = list(domain) if domain is not None else list(labels)
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": width,
        "height": height,
        "data": {"values": rows},
        "mark": {"type": "point", "filled": True, "size": 80, "opacity": 0.9},
        "encoding": {
            "x": {
                "field": "x",
                "type": "quantitative" if numeric else "nominal",
                "title": x_name,
                # Padding keeps the smallest and largest values off the plot's edges.
                "scale": {"zero": False, "padding": 24} if numeric else {},
                "axis": {"labelAngle": 0, "labelLimit": 120} if not numeric else {},
            },
            "y": {"field": "value", "type": "quantitative", "title": metric, "scale": {"zero": False}},
            "color": {
                "field": "run",
                "type": "nominal",
                "title": "run",
                "scale": {
                    "domain": colour_domain,
                    "scheme": "tableau20" if len(colour_domain) > 10 else "tableau10",
                },
                "legend": dict(RUN_LEGEND),
            },
            "tooltip": [
                {"field": "run", "type": "nominal"},
                {"field": "x", "title": x_name},
                {"field": "value", "type": "quantitative", "title": metric, "format": VALUE_FORMAT},
            ],
        },
    }
