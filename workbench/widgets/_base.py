"""What the notebook widgets share: closing widget trees and showing outputs.

Both :mod:`.runs_table` and :mod:`.compare_view` import from here, and the runs table
opens a comparison; nothing here imports either of them, so they form no cycle.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

__all__ = [
    "MISSING_HTML",
    "STATIC_VIEW_MIMETYPE",
    "WIDGET_VIEW_MIMETYPE",
    "close_tree",
    "show_bundle",
    "static_view",
]

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
#: What JupyterLab shows, through the Workbench labextension, when a saved widget's model
#: is gone (the notebook reopened, the kernel restarted). JupyterLab prefers the widget
#: view whenever it is in the bundle and shows "model not found" in its place; nbconvert
#: and GitHub ignore this type and keep using text/html.
STATIC_VIEW_MIMETYPE = "application/vnd.workbench.static-view+json"
#: What a table cell shows for a value a run does not have.
MISSING_HTML = '<span style="color:#9e9e9e">—</span>'


def close_tree(widget: widgets.Widget) -> None:
    """Close ``widget`` and every widget inside it.

    ``Widget.close()`` only closes that one comm; a closed box leaves its children alive.
    """
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()


def show_bundle(output: widgets.Output, data: dict[str, Any]) -> None:
    """Make ``data`` (mimetype -> content) the only thing ``output`` shows.

    Assigning the outputs (what ``with output: display(...)`` records) works with or
    without a kernel, so also in tests.
    """
    output.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)


def static_view(*parts: dict[str, Any] | str) -> dict[str, Any]:
    """The :data:`STATIC_VIEW_MIMETYPE` payload: the outputs to show in the widget's place.

    Parameters
    ----------
    parts
        Each is a mime bundle (e.g. ``{"text/html": ...}`` or a Vega-Lite bundle, drawn by
        JupyterLab's own offline renderer), or the name of a mimetype of the enclosing
        bundle (``"text/html"``), so a table already there is not saved twice.

    Returns
    -------
    dict
        ``{"version": 1, "outputs": [...]}``, read by the labextension's renderer.
    """
    return {"version": 1, "outputs": list(parts)}
