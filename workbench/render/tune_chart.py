"""A tune's optimisation history as a Vega-Lite v5 chart: each trial's value and the best
value so far, as Optuna's ``plot_optimization_history`` draws it, for the panel.

Views layer: the history comes from :func:`workbench.rerun.tune_history`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .chart_style import RUN_COLOURS, SCHEMA, VALUE_FORMAT, Width

__all__ = ["BEST_SERIES", "TRIAL_SERIES", "tune_history_spec"]

TRIAL_SERIES = "trial value"
BEST_SERIES = "best so far"
#: Short enough for the panel's run detail to show the trials table below it.
TUNE_CHART_HEIGHT = 150


def tune_history_spec(
    history: Mapping[str, Any], *, width: Width = "container", height: int = TUNE_CHART_HEIGHT
) -> dict[str, Any] | None:
    """Each complete trial's objective value (points) and the best value so far (a step line).

    Parameters
    ----------
    history
        What :func:`workbench.rerun.tune_history` returns.
    width, height
        The plot's size (``"container"`` fills its element).

    Returns
    -------
    dict or None
        A layered Vega-Lite v5 spec; None when no trial has a value yet (all running,
        failed or pruned).
    """
    objective = history.get("objective") or "value"
    rows: list[dict[str, Any]] = []
    for t in history.get("trials", ()):
        if t.get("trial") is None:
            continue
        if t.get("value") is not None:
            rows.append(
                {"trial": t["trial"], "series": TRIAL_SERIES, "value": t["value"], "state": t["state"]}
            )
        if t.get("best_so_far") is not None:
            rows.append({"trial": t["trial"], "series": BEST_SERIES, "value": t["best_so_far"]})
    if not any(r["series"] == TRIAL_SERIES for r in rows):
        return None
    colour = {
        "field": "series",
        "type": "nominal",
        "title": None,
        "scale": {"domain": [TRIAL_SERIES, BEST_SERIES], "range": [RUN_COLOURS[0], RUN_COLOURS[1]]},
        "legend": {"orient": "bottom"},
    }
    # Explicit domains with a margin: the first and last trials' points and the extreme
    # values stay off the plot's edges (a nice domain ends exactly on them).
    trials = [r["trial"] for r in rows]
    values = [r["value"] for r in rows]
    lo, hi = min(values), max(values)
    margin = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1.0
    x = {
        "field": "trial",
        "type": "quantitative",
        "title": "trial",
        "scale": {"domain": [min(trials) - 0.5, max(trials) + 0.5], "nice": False},
        "axis": {"tickMinStep": 1, "format": "d"},
    }
    y = {
        "field": "value",
        "type": "quantitative",
        "title": objective,
        "scale": {"domain": [lo - margin, hi + margin], "nice": False, "zero": False},
    }
    tooltip = [
        {"field": "trial", "type": "quantitative"},
        {"field": "series", "type": "nominal", "title": "what"},
        {"field": "value", "type": "quantitative", "title": objective, "format": VALUE_FORMAT},
    ]
    direction = history.get("direction") or "minimize"
    return {
        "$schema": SCHEMA,
        "title": f"{objective} by trial ({direction})",
        "width": width,
        "height": height,
        "data": {"values": rows},
        "encoding": {"x": x, "y": y, "color": colour, "tooltip": tooltip},
        "layer": [
            {
                "transform": [{"filter": {"field": "series", "equal": BEST_SERIES}}],
                "mark": {"type": "line", "interpolate": "step-after"},
            },
            {
                "transform": [{"filter": {"field": "series", "equal": TRIAL_SERIES}}],
                "mark": {"type": "point", "filled": True, "size": 60},
            },
        ],
    }
