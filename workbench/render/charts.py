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

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .chart_style import AXIS_LABEL_CHARS as AXIS_LABEL_CHARS
from .chart_style import AXIS_LABEL_LIMIT as AXIS_LABEL_LIMIT
from .chart_style import (
    CURVE_HEIGHT,
    CURVE_WIDTH,
    MAX_CURVE_POINTS,
    MAX_POINTS_MARKED,
    PARALLEL_HEIGHT,
    PARALLEL_MAX_WIDTH,
    RUN_COLOURS,
    RUN_LEGEND,
    SAVED_CURVE_POINTS,
    SCHEMA,
    VALUE_FORMAT,
    Width,
    XAxis,
)
from .chart_style import MISSING_POS as MISSING_POS
from .chart_style import PARALLEL_AXIS_STEP as PARALLEL_AXIS_STEP
from .chart_style import run_domain as _domain
from .param_charts import distinct_params, parallel_spec, parallel_width, scatter_spec

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
