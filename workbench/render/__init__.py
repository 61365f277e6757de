"""Renderings of runs that every front end shares: the Vega-Lite chart specs.

:mod:`workbench.render.charts` builds the specs from plain values (no store);
:mod:`workbench.render.comparison` reads runs through the services and returns the
specs the REST layer serves. Names load on first use, so importing this package costs
nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .comparison import curves_chart, parallel_chart

__all__ = ["curves_chart", "parallel_chart"]

_HOME = {"curves_chart": "comparison", "parallel_chart": "comparison"}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
