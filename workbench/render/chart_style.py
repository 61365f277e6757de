"""The shared look of the comparison charts: sizes, formats, colours and axis types.

Split out of :mod:`workbench.render.charts`, which re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

__all__ = [
    "AXIS_LABEL_CHARS",
    "AXIS_LABEL_LIMIT",
    "CURVE_HEIGHT",
    "CURVE_WIDTH",
    "MAX_CURVE_POINTS",
    "MAX_POINTS_MARKED",
    "MISSING_POS",
    "PARALLEL_AXIS_STEP",
    "PARALLEL_HEIGHT",
    "PARALLEL_MAX_WIDTH",
    "RUN_COLOURS",
    "RUN_LEGEND",
    "SAVED_CURVE_POINTS",
    "SCHEMA",
    "VALUE_FORMAT",
    "Width",
    "XAxis",
    "run_domain",
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


def run_domain(domain: Sequence[str] | None, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The colour domain: ``domain`` when given, else the rows' runs in first-seen order."""
    return list(domain) if domain is not None else list(dict.fromkeys(r["run"] for r in rows))
