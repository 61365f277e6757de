"""Notebook views of runs: the runs table, the comparison, live and static charts.

``from workbench.widgets import runs_widget, compare`` in a notebook. The names load on
first use, so importing :mod:`workbench.widgets.charts` (for HTML exports) does not pull
in ipywidgets, and importing :mod:`workbench.widgets.live` pulls in neither altair nor
ipywidgets until a chart is drawn. The comparison charts' specs come from
:mod:`workbench.render.charts`, the builder the panel and the model card use too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .charts import metric_curves, parallel_coordinates
    from .compare_view import CompareView, compare
    from .live import LiveChart
    from .runs_table import RunsWidget, runs_widget, static_html

__all__ = [
    "CompareView",
    "LiveChart",
    "RunsWidget",
    "compare",
    "metric_curves",
    "parallel_coordinates",
    "runs_widget",
    "static_html",
]

_HOME = {
    "CompareView": "compare_view",
    "LiveChart": "live",
    "RunsWidget": "runs_table",
    "compare": "compare_view",
    "metric_curves": "charts",
    "parallel_coordinates": "charts",
    "runs_widget": "runs_table",
    "static_html": "runs_table",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
