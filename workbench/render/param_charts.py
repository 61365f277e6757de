"""The parallel-coordinates and scatter specs of the comparison charts.

Split out of :mod:`workbench.render.charts`, which re-exports the public names here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInputError
from .chart_style import (
    AXIS_LABEL_CHARS,
    AXIS_LABEL_LIMIT,
    MISSING_POS,
    PARALLEL_AXIS_STEP,
    PARALLEL_HEIGHT,
    PARALLEL_MAX_WIDTH,
    RUN_LEGEND,
    SCHEMA,
    VALUE_FORMAT,
    Width,
)

__all__ = ["distinct_params", "parallel_spec", "parallel_width", "scatter_spec"]


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
