"""Altair chart builders shared by the notebook widgets and the HTML exports.

Every chart carries its data inline (``alt.InlineData``), so it never goes through
``alt.data_transformers``: whatever transformer the user enabled, nothing is written to
disk, no row limit applies, and the spec renders anywhere on its own. Series are
downsampled before they reach the spec, which keeps a 100,000-step curve to a few
kilobytes of JSON.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np

from ..comparison import higher_is_better
from ..errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["chart_bundle", "chart_html", "downsample_minmax", "metric_curves", "parallel_coordinates"]

_HISTORY_COLUMNS = ("run_id", "key", "step", "value")
# Below this many points per series the individual points are drawn too; above it they
# would only blur the line.
_POINTS_UP_TO = 50
# Longest axis label of the parallel-coordinates chart before it is cut with an ellipsis.
_AXIS_LABEL_CHARS = 48


def _inline(rows: list[dict[str, Any]]) -> alt.InlineData:
    """Inline data without altair validating every row on construction.

    ``alt.InlineData(values=rows)`` checks each row against the schema (0.7 s for 4,000
    rows); assigning the values afterwards skips that, and ``to_dict`` still validates the
    spec as a whole.
    """
    data = alt.InlineData(values=[])
    data.values = rows
    return data


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


def _unique_labels(run_ids: Sequence[str], run_labels: Mapping[str, str] | None) -> dict[str, str]:
    """A legend label per run; two runs with the same name get their short id appended."""
    labels = {rid: (run_labels or {}).get(rid) or rid[:8] for rid in run_ids}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {rid: (f"{lab} ({rid[:8]})" if counts[lab] > 1 else lab) for rid, lab in labels.items()}


def metric_curves(
    history_df: pd.DataFrame,
    run_labels: Mapping[str, str] | None = None,
    max_points: int = 1000,
    *,
    title: str | None = None,
    width: int = 520,
    height: int = 160,
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
        key, its data inline.

    Raises
    ------
    InvalidInputError
        A required column is missing or ``max_points`` is not positive.
    """
    missing = [c for c in _HISTORY_COLUMNS if c not in history_df.columns]
    if missing:
        raise InvalidInputError(
            f"metric_curves needs columns {', '.join(_HISTORY_COLUMNS)}; missing {', '.join(missing)}"
        )
    if not isinstance(max_points, int) or max_points < 1:
        raise InvalidInputError(f"max_points must be a positive integer, got {max_points!r}")
    run_order = [str(r) for r in history_df["run_id"].unique()]  # unique() keeps first-seen order
    labels = _unique_labels(run_order, run_labels)
    rows: list[dict[str, Any]] = []
    longest = 0
    # sort=False keeps the caller's run order (metric_history returns runs in request order).
    for (run_id, key), group in history_df.groupby(["run_id", "key"], sort=False):
        steps, values = downsample_minmax(group["step"].to_numpy(), group["value"].to_numpy(), max_points)
        longest = max(longest, len(steps))
        label = labels[str(run_id)]
        rows.extend(
            {"run": label, "key": str(key), "step": int(s), "value": float(v)}
            for s, v in zip(steps.tolist(), values.tolist())
        )
    n_runs = len(run_order)
    line: dict[str, Any] = {"strokeWidth": 1.5, "clip": True}
    if 0 < longest <= _POINTS_UP_TO:
        line["point"] = alt.OverlayMarkDef(size=16)
    chart = (
        alt.Chart(_inline(rows))
        .mark_line(**line)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "run:N",
                title="run",
                sort=[labels[r] for r in run_order],
                # category10 repeats colours past 10 runs; tableau20 has twice as many.
                scale=alt.Scale(scheme="tableau20" if n_runs > 10 else "tableau10"),
            ),
            row=alt.Row(
                "key:N",
                title=None,
                # The metric name above its plot, where it cannot collide with the y axis.
                header=alt.Header(
                    labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold"
                ),
            ),
            tooltip=[
                alt.Tooltip("run:N"),
                alt.Tooltip("key:N"),
                alt.Tooltip("step:Q"),
                alt.Tooltip("value:Q", format=".6g"),
            ],
        )
        # Losses, accuracies and learning rates share no range: each key gets its own axis.
        .resolve_scale(y="independent")
        .properties(width=width, height=height)
    )
    if title:
        chart = chart.properties(title=title)
    return chart


def _column(name: str, prefix: str) -> str:
    return name if name.startswith(prefix) else prefix + name


def _short(text: str, limit: int = _AXIS_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt_number(x: float) -> str:
    return f"{x:.4g}"


def _axis(name: str, series: pd.Series) -> tuple[str, list[float | None], list[str | None]]:
    """Place one dimension's values on [0, 1]: the axis label, positions and raw texts.

    Values that all parse as numbers are scaled linearly between their min and max;
    anything else is treated as categories, spread evenly in sorted order.
    """
    import pandas as pd

    present = series.notna()
    raw: list[str | None] = [None if not ok else str(x) for x, ok in zip(series.tolist(), present)]
    numeric = pd.to_numeric(series, errors="coerce")
    if present.any() and bool(numeric[present].notna().all()):
        lo, hi = float(numeric[present].min()), float(numeric[present].max())
        span = hi - lo
        pos = [
            None if not ok else (0.5 if span == 0 else (float(x) - lo) / span)
            for x, ok in zip(numeric.tolist(), present)
        ]
        if series.dtype.kind == "f":
            raw = [None if r is None else _fmt_number(float(x)) for r, x in zip(raw, numeric.tolist())]
        label = f"{name} [{_fmt_number(lo)} … {_fmt_number(hi)}]" if span else f"{name} [{_fmt_number(lo)}]"
        return label, pos, raw
    cats = sorted({r for r in raw if r is not None})
    rank = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    pos = [None if r is None else (0.5 if k == 1 else rank[r] / (k - 1)) for r in raw]
    return _short(f"{name} [{' · '.join(cats)}]"), pos, raw


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
        A line chart over one x position per axis. Numeric parameters are scaled between
        their min and max and categorical ones spread evenly in sorted order; each axis
        label shows its range or its categories. The colour scale puts the best runs at the
        bright end (reversed for metrics where lower is better). Runs without the metric
        are left out.

    Raises
    ------
    InvalidInputError
        The metric or a parameter is not a column of ``runs_df``.
    """
    metric_col = _column(metric, "metrics.")
    metric_name = metric_col[len("metrics.") :]
    if metric_col not in runs_df.columns:
        have = sorted(c[len("metrics.") :] for c in runs_df.columns if c.startswith("metrics."))
        raise InvalidInputError(
            f"no metric {metric_name!r} in these runs; they have: {', '.join(have) or 'no metrics'}"
        )
    all_params = [c for c in runs_df.columns if c.startswith("params.")]
    if params is None:
        varying = [c for c in all_params if runs_df[c].nunique(dropna=False) > 1]
        param_cols = varying or all_params
    else:
        param_cols = [_column(p, "params.") for p in params]
        unknown = [c[len("params.") :] for c in param_cols if c not in runs_df.columns]
        if unknown:
            have = ", ".join(c[len("params.") :] for c in all_params) or "no params"
            raise InvalidInputError(f"unknown param(s) {', '.join(unknown)}; these runs have: {have}")
    df = runs_df[runs_df[metric_col].notna()]
    dropped = len(runs_df) - len(df)
    ids = df["run_id"].astype(str).tolist()
    if run_labels is None and "run_name" in df.columns:
        run_labels = {rid: name for rid, name in zip(ids, df["run_name"].tolist()) if isinstance(name, str)}
    labels = _unique_labels(ids, run_labels)
    metric_values = df[metric_col].astype(float).tolist()
    axes: list[str] = []
    rows: list[dict[str, Any]] = []
    dims = [(c[len("params.") :], c) for c in param_cols] + [(metric_name, metric_col)]
    for order, (name, col) in enumerate(dims):
        label, pos, raw = _axis(name, df[col])
        if label in axes:  # a param named like the metric: keep both axes apart
            label = f"{label} ({col})"
        axes.append(label)
        for rid, p, r, m in zip(ids, pos, raw, metric_values):
            if p is not None:
                rows.append(
                    {"run": labels[rid], "axis": label, "order": order, "pos": p, "raw": r, "metric": m}
                )
    best_high = higher_is_better(metric_name)
    title = f"{metric_name} vs parameters" + (
        f" ({dropped} runs without {metric_name} left out)" if dropped else ""
    )
    return (
        alt.Chart(_inline(rows))
        .mark_line(point=alt.OverlayMarkDef(size=30, filled=True), strokeWidth=1.5, opacity=0.85)
        .encode(
            x=alt.X(
                "axis:N",
                sort=axes,
                title=None,
                axis=alt.Axis(grid=True, domain=False, ticks=False, labelAngle=0, labelLimit=220),
            ),
            y=alt.Y("pos:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "metric:Q",
                title=metric_name,
                # The bright end of viridis is the best run whichever way the metric points.
                scale=alt.Scale(scheme="viridis", reverse=not best_high),
            ),
            detail="run:N",
            order="order:Q",
            tooltip=[
                alt.Tooltip("run:N"),
                alt.Tooltip("axis:N", title="axis"),
                alt.Tooltip("raw:N", title="value"),
                alt.Tooltip("metric:Q", title=metric_name, format=".6g"),
            ],
        )
        .properties(width=max(320, 150 * len(dims)), height=280, title=title)
    )


def chart_html(chart: alt.TopLevelMixin) -> str:
    """An HTML fragment that renders ``chart`` where JavaScript runs (vega loaded from a CDN).

    Parameters
    ----------
    chart
        Any altair chart.

    Returns
    -------
    str
        A ``<div>`` and a vega-embed ``<script>`` with the spec and its data inline. Each
        call uses its own element id, so several charts can share one page.
    """
    return chart.to_html(template="universal", output_div=f"wb-chart-{uuid.uuid4().hex}", fullhtml=False)


def chart_bundle(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The mime bundle for ``chart``: the Vega-Lite v5 spec, which JupyterLab draws with
    its own bundled renderer (offline) and saves in the notebook, plus a text summary.

    Parameters
    ----------
    chart
        Any altair chart.

    Returns
    -------
    dict
        Mimetype -> data, for ``display(..., raw=True)`` or an ``ipywidgets.Output``'s
        ``outputs`` (which works without a kernel's display hook, so also in tests).
    """
    spec = chart.to_dict()  # validates the whole chart: worth doing once
    return {
        f"application/vnd.vegalite.v{alt.SCHEMA_VERSION.lstrip('v').split('.')[0]}+json": spec,
        "text/plain": f"<{type(chart).__name__}: {spec.get('title', 'chart')}>",
    }
