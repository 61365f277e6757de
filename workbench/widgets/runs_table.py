"""The runs table widget: filter, sort, select and compare runs from a notebook.

The table is built from plain ipywidgets (a ``GridBox`` of checkboxes, header buttons
and HTML cells), so it needs no JavaScript beyond the widget manager JupyterLab already
ships. Data comes only through :func:`workbench.runs`; the widget keeps the DataFrame it
shows and does sorting and paging itself, so every action can be driven from Python
(and from tests) without a browser.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from .. import api
from ..errors import AmbiguousRunError, FilterSyntaxError, InvalidInputError, WorkbenchError
from ._base import STATIC_VIEW_MIMETYPE, WIDGET_VIEW_MIMETYPE, close_tree, show_bundle, static_view
from .table_html import cell_html as cell_html
from .table_html import column_decimals as _decimals
from .table_html import header_text as header_text
from .table_html import run_count as _count
from .table_html import static_html, table_frame

if TYPE_CHECKING:
    from ..store.store import Store
    from .compare_view import CompareView

__all__ = ["WIDGET_VIEW_MIMETYPE", "RunsWidget", "runs_widget", "static_html", "table_frame"]

_FILTER_EXAMPLE = "metrics.rmse < 55 and params.model = 'ridge'"


def _default_columns(df: pd.DataFrame, frame: pd.DataFrame) -> list[str] | None:
    """The grid's columns: the run's own ones, the default metrics and the parameters
    that differ (:func:`workbench.api.describe_columns`); None shows them all."""
    if df.empty:
        return None
    info = api.describe_columns(df)
    base = [c for c in frame.columns if not c.startswith(("metrics.", "params."))]
    metrics = [f"metrics.{m}" for m in info["default_metrics"]]
    params = [f"params.{p}" for p in info["default_params"]]
    # What tells runs apart comes first, right after their names; when they ran after.
    first = [c for c in ("run_id", "run_name") if c in base]
    return first + metrics + params + [c for c in base if c not in first]


def _sort_key(series: pd.Series) -> pd.Series:
    """What to order a column by: numbers as numbers (params are strings), text case-insensitively."""
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        present = series.notna()
        numeric = pd.to_numeric(series, errors="coerce")
        if bool(numeric[present].notna().all()):
            return numeric
        return series.astype("string").str.lower()
    return series


def _error_html(exc: WorkbenchError) -> str:
    text = str(exc)
    if isinstance(exc, FilterSyntaxError):
        text += "\n" + exc.pointer
    return (
        '<div style="color:#b00020;font-family:var(--jp-code-font-family, monospace);'
        f'white-space:pre-wrap;font-size:12px">{html.escape(text)}</div>'
    )


class RunsWidget(widgets.VBox):
    """A filterable, sortable table of runs with row selection and a Compare button.

    Parameters
    ----------
    filter
        Initial search filter (the grammar of :func:`workbench.runs`).
    order_by
        Order of the query (e.g. ``"metrics.rmse ASC"``) until a column header is clicked.
    experiment
        Restrict to one experiment (or a list of them).
    store
        A store directory or :class:`~workbench.store.store.Store`; the current one by default.
    page_size
        Rows per page; every row is a handful of widgets, so pages keep big tables quick.
    all_columns
        Show every parameter column. By default the grid shows the parameters that differ
        between the runs (swept ones first, autologged copies left out) and the metrics
        most runs have, as the JupyterLab panel does; a checkbox shows the rest.

    Attributes
    ----------
    dataframe : pandas.DataFrame
        Every run matching the filter, in the order shown (see :func:`table_frame`).
    filter_box : ipywidgets.Text
        The filter; the query reruns when it is submitted (Enter or leaving the box).
    error_label : ipywidgets.HTML
        Shows why the last query failed (in red); empty otherwise.
    compare_button : ipywidgets.Button
        Enabled once two or more runs are selected; opens :func:`compare` in :attr:`output`.
    output : ipywidgets.Output
        Where the comparison of the selected runs appears.
    compare_view : CompareView or None
        The comparison currently shown in :attr:`output`.
    """

    def __init__(
        self,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        experiment: str | Sequence[str] | None = None,
        *,
        store: str | os.PathLike[str] | Store | None = None,
        page_size: int = 50,
        all_columns: bool = False,
        **kwargs: Any,
    ) -> None:
        if not isinstance(page_size, int) or page_size < 1:
            raise InvalidInputError(f"page_size must be a positive integer, got {page_size!r}")
        super().__init__(**kwargs)
        self._order_by = order_by
        self._experiment = experiment
        self._store = store
        self._page_size = page_size
        self._page = 0
        self._sort: tuple[str, bool] | None = None
        self._selected: dict[str, None] = {}  # a dict keeps selection order and is a set
        self._row_boxes: dict[str, widgets.Checkbox] = {}
        self._syncing = False
        self._query_text = filter or ""
        self.dataframe: pd.DataFrame = table_frame(pd.DataFrame(columns=["run_id"]))
        self.compare_view: CompareView | None = None

        self.filter_box = widgets.Text(
            value=self._query_text,
            placeholder=_FILTER_EXAMPLE,
            description="Filter",
            continuous_update=False,
            layout=widgets.Layout(width="70%"),
        )
        self.filter_box.observe(self._on_filter_submit, names="value")
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="Query the store again", layout={"width": "auto"}
        )
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.error_label = widgets.HTML()
        self.table = widgets.GridBox(
            layout=widgets.Layout(grid_gap="0px 12px", align_items="center", overflow="auto")
        )
        self.prev_button = widgets.Button(description="◀", tooltip="Previous page", layout={"width": "auto"})
        self.next_button = widgets.Button(description="▶", tooltip="Next page", layout={"width": "auto"})
        self.prev_button.on_click(lambda _b: self.set_page(self._page - 1))
        self.next_button.on_click(lambda _b: self.set_page(self._page + 1))
        self.page_label = widgets.HTML()
        self.pager = widgets.HBox([self.prev_button, self.page_label, self.next_button])
        self.compare_button = widgets.Button(
            description="Compare", button_style="primary", disabled=True, icon="columns"
        )
        self.compare_button.on_click(self._on_compare)
        self.hint_label = widgets.HTML()
        self.status_label = widgets.HTML()
        self._shown: list[str] | None = None
        self.all_columns_box = widgets.Checkbox(
            value=all_columns,
            indent=False,
            description="all columns",
            tooltip="Show every parameter, constant and autologged ones included",
            layout={"width": "auto"},
        )
        self.all_columns_box.observe(lambda _c: self._render(), names="value")
        self.output = widgets.Output()
        self.children = [
            widgets.HBox([self.filter_box, self.refresh_button]),
            self.error_label,
            self.table,
            self.pager,
            widgets.HBox(
                [self.compare_button, self.status_label, self.hint_label, self.all_columns_box],
                layout=widgets.Layout(align_items="center", grid_gap="0 12px"),
            ),
            self.output,
        ]
        self._query(self._query_text)

    # -- queries -----------------------------------------------------------------

    def set_filter(self, text: str | None) -> bool:
        """Run the query with a new filter, as if it had been typed and submitted.

        Parameters
        ----------
        text
            A filter in the grammar of :func:`workbench.runs`; empty or None for all runs.

        Returns
        -------
        bool
            True if the query ran; False if it failed, in which case the error is shown in
            :attr:`error_label` and the previous rows stay.
        """
        text = text or ""
        self._syncing = True
        try:
            self.filter_box.value = text
        finally:
            self._syncing = False
        return self._query(text)

    def refresh(self) -> bool:
        """Query the store again with the current filter (new runs, changed metrics)."""
        return self._query(self.filter_box.value)

    def _on_filter_submit(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self._query(change["new"])

    def _query(self, text: str) -> bool:
        try:
            df = api.runs(text.strip() or None, self._order_by, self._experiment, store=self._store)
        except WorkbenchError as exc:
            # Typing mistakes are routine in a filter box: say what is wrong, keep the rows.
            self.error_label.value = _error_html(exc)
            return False
        self.error_label.value = ""
        self._query_text = text
        frame = table_frame(df)
        self._shown = _default_columns(df, frame)
        if self._sort is not None:
            if self._sort[0] in frame.columns:
                frame = self._sorted(frame, *self._sort)
            else:
                self._sort = None
        self.dataframe = frame
        shown = set(frame["run_id"])
        self._selected = {rid: None for rid in self._selected if rid in shown}
        self._page = 0
        self._render()
        return True

    # -- sorting and paging --------------------------------------------------------

    @staticmethod
    def _sorted(frame: pd.DataFrame, column: str, ascending: bool) -> pd.DataFrame:
        order = (
            _sort_key(frame[column]).sort_values(ascending=ascending, na_position="last", kind="stable").index
        )
        return frame.loc[order].reset_index(drop=True)

    def sort_by(self, column: str, ascending: bool | None = None) -> None:
        """Sort the rows by a column, like clicking its header.

        Parameters
        ----------
        column
            A column of :attr:`dataframe` (``run_name``, ``metrics.rmse``, ``params.alpha``...).
            Params that all parse as numbers sort numerically; missing values go last.
        ascending
            By default ascending, or the reverse of the current order when the rows are
            already sorted ascending by this column.
        """
        if column not in self.dataframe.columns:
            raise InvalidInputError(
                f"cannot sort by {column!r}: not a column; columns are {', '.join(self.dataframe.columns)}"
            )
        if ascending is None:
            ascending = not (self._sort is not None and self._sort == (column, True))
        self._sort = (column, ascending)
        self.dataframe = self._sorted(self.dataframe, column, ascending)
        self._page = 0
        self._render()

    @property
    def sort_state(self) -> tuple[str, bool] | None:
        """The column the rows are sorted by and whether ascending, or None for query order."""
        return self._sort

    @property
    def page_count(self) -> int:
        """How many pages the rows take (at least 1)."""
        return max(1, math.ceil(len(self.dataframe) / self._page_size))

    def set_page(self, page: int) -> None:
        """Show another page of rows.

        Parameters
        ----------
        page
            0-based page number, clamped to the pages there are.
        """
        page = min(max(0, page), self.page_count - 1)
        if page != self._page:
            self._page = page
            self._render()

    # -- selection -----------------------------------------------------------------

    @property
    def selected_run_ids(self) -> list[str]:
        """Full ids of the selected runs, in the order the table shows them."""
        return [rid for rid in self.dataframe["run_id"] if rid in self._selected]

    def select(self, run_ids: str | Sequence[str]) -> list[str]:
        """Make exactly these runs the selection (ids or unique prefixes of shown runs).

        Parameters
        ----------
        run_ids
            One id or a list of them; an empty list clears the selection.

        Returns
        -------
        list of str
            The full ids selected.

        Raises
        ------
        InvalidInputError
            An id matches no run in the table.
        AmbiguousRunError
            A prefix matches several runs in the table.
        """
        refs = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        shown = [str(r) for r in self.dataframe["run_id"]]
        chosen: dict[str, None] = {}
        for ref in refs:
            matches = [rid for rid in shown if rid.startswith(ref)] if ref else []
            if not matches:
                raise InvalidInputError(
                    f"run {ref!r} is not in the table (current filter: {self._query_text!r})"
                )
            if len(matches) > 1:
                raise AmbiguousRunError(ref, matches)
            chosen[matches[0]] = None
        self._selected = chosen
        self._sync_checkboxes()
        self._update_actions()
        return list(chosen)

    def _on_check(self, run_id: str, value: bool) -> None:
        if self._syncing:
            return
        if value:
            self._selected[run_id] = None
        else:
            self._selected.pop(run_id, None)
        self._sync_checkboxes()
        self._update_actions()

    def _on_check_page(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        for rid in self._row_boxes:
            if change["new"]:
                self._selected[rid] = None
            else:
                self._selected.pop(rid, None)
        self._sync_checkboxes()
        self._update_actions()

    def _sync_checkboxes(self) -> None:
        # Setting .value fires the observers; the flag keeps them from re-entering.
        self._syncing = True
        try:
            for rid, box in self._row_boxes.items():
                box.value = rid in self._selected
            if self._page_box is not None:
                self._page_box.value = bool(self._row_boxes) and all(
                    r in self._selected for r in self._row_boxes
                )
        finally:
            self._syncing = False

    # -- comparing -----------------------------------------------------------------

    def _on_compare(self, _button: widgets.Button | None = None) -> None:
        from .compare_view import compare

        ids = self.selected_run_ids
        if len(ids) < 2:
            self._update_actions()
            return
        try:
            view = compare(ids, store=self._store)
        except WorkbenchError as exc:
            # A run deleted since the query, a busy store: report it where the user looks.
            self.error_label.value = _error_html(exc)
            return
        self.error_label.value = ""
        previous, self.compare_view = self.compare_view, view
        # The view's whole bundle: the widget and its static HTML for viewers without one.
        show_bundle(self.output, view._repr_mimebundle_())
        if previous is not None:
            close_tree(previous)

    # -- rendering -----------------------------------------------------------------

    _page_box: widgets.Checkbox | None = None

    @property
    def shown_columns(self) -> list[str]:
        """The columns of :attr:`dataframe` the grid shows (all with ``all columns`` ticked)."""
        cols = list(self.dataframe.columns)
        if self.all_columns_box.value or self._shown is None:
            return cols
        shown = [c for c in self._shown if c in cols]
        if self._sort is not None and self._sort[0] not in shown:
            shown.append(self._sort[0])  # the column sorted by stays in view
        return shown

    def _render(self) -> None:
        frame = self.dataframe
        cols = self.shown_columns
        start = self._page * self._page_size
        page = frame.iloc[start : start + self._page_size]
        old = list(self.table.children)

        self._page_box = widgets.Checkbox(
            value=False, indent=False, description="", tooltip="Select this page", layout={"width": "auto"}
        )
        self._page_box.observe(self._on_check_page, names="value")
        cells: list[widgets.Widget] = [self._page_box]
        for col in cols:
            arrow = ""
            if self._sort is not None and self._sort[0] == col:
                arrow = " ▲" if self._sort[1] else " ▼"
            button = widgets.Button(
                description=header_text(col, cols) + arrow,
                tooltip=f"{col}: click to sort",
                # max-content: a button's text is clipped, not wrapped, and the grid would
                # shrink it to "n…" next to wide cells.
                layout=widgets.Layout(width="max-content", min_width="max-content", padding="0 4px"),
                style=widgets.ButtonStyle(button_color="transparent", font_weight="bold"),
            )
            button.on_click(lambda _b, c=col: self.sort_by(c))
            cells.append(button)
        self._row_boxes = {}
        page = page[cols]
        # One number of decimals per metric column, from all its rows, so values line up.
        decimals = {c: _decimals(frame[c]) for c in cols if c.startswith("metrics.")}
        for row in page.itertuples(index=False, name=None):
            rid = str(row[0])
            box = widgets.Checkbox(value=False, indent=False, description="", layout={"width": "auto"})
            box.observe(lambda change, r=rid: self._on_check(r, change["new"]), names="value")
            self._row_boxes[rid] = box
            cells.append(box)
            cells.extend(
                widgets.HTML(
                    value=f'<span style="white-space:nowrap">{cell_html(c, v, decimals.get(c))}</span>'
                )
                for c, v in zip(cols, row)
            )
        self.table.layout.grid_template_columns = f"min-content repeat({len(cols)}, auto)"
        self.table.children = cells
        for widget in old:
            widget.close()

        pages = self.page_count
        self.pager.layout.display = "flex" if pages > 1 else "none"
        self.prev_button.disabled = self._page == 0
        self.next_button.disabled = self._page >= pages - 1
        self.page_label.value = f"page {self._page + 1} of {pages}"
        self._sync_checkboxes()
        self._update_actions()

    def _update_actions(self) -> None:
        n_selected = len(self._selected)
        self.compare_button.disabled = n_selected < 2
        self.compare_button.tooltip = (
            "Compare the selected runs" if n_selected >= 2 else "Select at least 2 runs to compare"
        )
        hint = f"{n_selected} selected" if n_selected >= 2 else "select at least 2 runs to compare"
        self.hint_label.value = f'<span style="color:#666">· {html.escape(hint)}</span>'
        n = len(self.dataframe)
        shown = ""
        if n > self._page_size:
            start = self._page * self._page_size
            shown = f" (showing {start + 1}–{min(n, start + self._page_size)})"
        hidden = len(self.dataframe.columns) - len(self.shown_columns)
        cols = f", {hidden} columns hidden" if hidden else ""
        self.status_label.value = f"<span>{_count(n)}{shown}{cols}</span>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget view plus a static HTML table of the same rows.

        Widget state is usually not saved with a notebook; a viewer without a kernel or
        widget manager (nbconvert, nbviewer, GitHub) then falls back to the HTML, and
        JupyterLab, whose widget renderer would say "model not found", shows it through
        :data:`STATIC_VIEW_MIMETYPE`.
        """
        data = dict(super()._repr_mimebundle_(**kwargs) or {})
        data["text/plain"] = f"<RunsWidget: {_count(len(self.dataframe))}>"
        data["text/html"] = static_html(self.dataframe, columns=self.shown_columns)
        data[STATIC_VIEW_MIMETYPE] = static_view("text/html")
        return data

    def close(self) -> None:
        """Close this widget and every widget inside it (their comms with the frontend)."""
        if getattr(self, "compare_view", None) is not None:
            close_tree(self.compare_view)
            self.compare_view = None
        for child in self.children:
            close_tree(child)
        super().close()


def runs_widget(
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    experiment: str | Sequence[str] | None = None,
    *,
    store: str | os.PathLike[str] | Store | None = None,
) -> RunsWidget:
    """A table of runs to filter, sort, select and compare in a notebook.

    Parameters
    ----------
    filter
        Initial search filter, e.g. ``"metrics.rmse < 55 and params.model = 'ridge'"``.
    order_by
        Initial order, e.g. ``"metrics.rmse ASC"``; clicking a header re-sorts.
    experiment
        Restrict to one experiment name (or a list of names).
    store
        A store directory or Store; the current one by default.

    Returns
    -------
    RunsWidget
        Display it (last expression of a cell). A filter that does not parse is shown in
        red above the table instead of raising.
    """
    return RunsWidget(filter, order_by, experiment, store=store)
