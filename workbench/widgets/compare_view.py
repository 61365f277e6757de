"""Side-by-side comparison of runs in a notebook: parameter diff, final metrics, curves.

The tables come from :func:`workbench.comparison.compare_records` (the same data as
``workbench compare`` on the command line); the charts from :mod:`.charts`, whose specs
are built by :mod:`workbench.render.charts` like the panel's.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import altair as alt
import ipywidgets as widgets
import pandas as pd

from .. import api
from ..comparison import compare_records, dataset_diff, default_metric, higher_is_better
from ..errors import InvalidInputError
from ..render.charts import SAVED_CURVE_POINTS, distinct_params, parallel_spec, parallel_width, unique_labels
from ..render.explore import objective_metric
from ._base import MISSING_HTML, STATIC_VIEW_MIMETYPE, close_tree, show_bundle, static_view
from .charts import chart_bundle, chart_html, metric_curves_spec, to_altair

if TYPE_CHECKING:
    from ..store.store import RunRecord, Store

__all__ = ["CompareView", "compare", "metrics_table_html", "params_table_html"]

_DIFF_STYLE = "background:#fff3cd;font-weight:bold"
_BEST_STYLE = "background:#d4edda;font-weight:bold"
_TH = "padding:2px 10px;text-align:left;border-bottom:1px solid #bbb;vertical-align:bottom"
_TD = "padding:2px 10px;text-align:left;border-bottom:1px solid #eee;white-space:nowrap"
_MISSING = MISSING_HTML


def _run_header(runs: Sequence[dict[str, Any]]) -> str:
    return "".join(
        f'<th style="{_TH}">{html.escape(r["run_name"] or "")}<br>'
        f'<code style="font-weight:normal">{html.escape(r["run_id"][:8])}</code></th>'
        for r in runs
    )


def _table(first_header: str, runs: Sequence[dict[str, Any]], rows: list[str]) -> str:
    return (
        # margin-left: JupyterLab centres the tables of HTML outputs; the widget does not.
        '<table style="border-collapse:collapse;font-size:12px;margin-left:0">'
        f'<thead><tr><th style="{_TH}">{first_header}</th>{_run_header(runs)}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def params_table_html(comparison: dict[str, Any], only_differences: bool = False) -> str:
    """The parameter diff as an HTML table: one row per parameter, one column per run.

    Parameters
    ----------
    comparison
        The result of :func:`workbench.comparison.compare_records`.
    only_differences
        Leave out the parameters whose value is the same in every run.

    Returns
    -------
    str
        Rows whose values differ carry ``class="wb-diff"`` and are bold on a yellow
        background; a run without the parameter shows a dash.
    """
    differing = set(comparison["differing_params"])
    rows = []
    for name, values in comparison["params"].items():
        if only_differences and name not in differing:
            continue
        diff = name in differing
        attrs = f' class="wb-diff" style="{_DIFF_STYLE}"' if diff else ""
        cells = "".join(
            f'<td style="{_TD}">{_MISSING if v is None else html.escape(str(v))}</td>' for v in values
        )
        rows.append(f'<tr{attrs}><td style="{_TD}">{html.escape(name)}</td>{cells}</tr>')
    if not rows:
        note = "No parameter differs." if comparison["params"] else "These runs have no parameters."
        return f'<div style="color:#666">{note}</div>'
    return _table("parameter", comparison["runs"], rows)


def metrics_table_html(comparison: dict[str, Any]) -> str:
    """Final metrics side by side as an HTML table, the best value per metric marked.

    Parameters
    ----------
    comparison
        The result of :func:`workbench.comparison.compare_records`; its ``best`` entry says
        which run is best per metric (higher or lower is better, judged from the name).

    Returns
    -------
    str
        The best cell of each row carries ``class="wb-best"``, a green background and ★.
        System metrics (CPU, memory, GPU) follow under a "System" row of their own
        (``class="wb-system"``), never starred.
    """
    if not comparison["metrics"]:
        return '<div style="color:#666">These runs have no metrics.</div>'
    rows = []
    system = set(comparison.get("system", ()))
    for name, values in comparison["metrics"].items():
        if name in system:
            continue
        best = comparison["best"].get(name)
        direction = "higher" if higher_is_better(name) else "lower"
        arrow = "↑" if direction == "higher" else "↓"
        cells = []
        for i, v in enumerate(values):
            if v is None:
                cells.append(f'<td style="{_TD}">{_MISSING}</td>')
            elif i == best:
                cells.append(f'<td class="wb-best" style="{_TD};{_BEST_STYLE}" title="best">{v:.6g} ★</td>')
            else:
                cells.append(f'<td style="{_TD}">{v:.6g}</td>')
        label = f'{html.escape(name)} <span style="color:#888" title="{direction} is better">{arrow}</span>'
        rows.append(f'<tr><td style="{_TD}">{label}</td>{"".join(cells)}</tr>')
    if system:
        span = len(comparison["runs"]) + 1
        rows.append(
            f'<tr class="wb-system"><th colspan="{span}" style="{_TH};text-align:left">System</th></tr>'
        )
        for name in sorted(system):
            cells = "".join(
                f'<td style="{_TD}">{_MISSING if v is None else f"{v:.6g}"}</td>'
                for v in comparison["metrics"][name]
            )
            rows.append(f'<tr class="wb-system"><td style="{_TD}">{html.escape(name)}</td>{cells}</tr>')
    return _table("metric", comparison["runs"], rows)


def _runs_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    # The same shape as workbench.runs(), built from records already fetched (and
    # including runs that are soft-deleted, which a search would hide).
    rows = []
    for r in records:
        row: dict[str, Any] = {"run_id": r.run_id, "run_name": r.run_name}
        row.update({f"params.{k}": v for k, v in r.params.items()})
        row.update({f"metrics.{k}": v for k, v in r.metrics.items()})
        rows.append(row)
    df = pd.DataFrame(rows)
    rest = sorted(c for c in df.columns if c not in ("run_id", "run_name"))
    return df[["run_id", "run_name", *rest]]


def _show_chart(output: widgets.Output, vl_spec: dict[str, Any] | None, note: str) -> None:
    # The spec as render.charts built it, the same dict the panel draws.
    show_bundle(
        output, chart_bundle(vl_spec) if vl_spec is not None else {"text/html": note, "text/plain": note}
    )


def _note(text: str) -> str:
    return f'<div style="color:#666">{html.escape(text)}</div>'


def _heading(text: str) -> str:
    return f'<h4 style="margin:12px 0 4px 0">{html.escape(text)}</h4>'


def datasets_table_html(comparison: dict[str, Any]) -> str:
    """The datasets each run read, as an HTML table: short content hash and row count per
    run (differing hashes highlighted), then the profile statistics that drifted.

    Parameters
    ----------
    comparison
        :func:`workbench.comparison.compare_records` output with a ``datasets`` entry
        from :func:`workbench.comparison.dataset_diff`.

    Returns
    -------
    str
        '' when no run recorded a dataset. A banner says so when the runs trained on
        different data.
    """
    data = comparison.get("datasets") or {}
    if not data.get("rows"):
        return ""
    rows = []
    for d in data["rows"]:
        attrs = "" if d["same"] else f' class="wb-diff" style="{_DIFF_STYLE}"'
        cells = "".join(
            f'<td style="{_TD}">'
            + (
                _MISSING
                if sha is None
                else f"<code>{html.escape(str(sha)[:8])}</code>"
                + (f" · {html.escape(str(n))} rows" if n is not None else "")
            )
            + "</td>"
            for sha, n in zip(d["sha256"], d["rows"])
        )
        rows.append(
            f'<tr{attrs}><td style="{_TD}">{html.escape(d["name"])} ({html.escape(str(d["role"]))})</td>{cells}</tr>'
        )
        for drift in d["drift"][:20]:
            vals = "".join(
                f'<td style="{_TD};color:#555">{_MISSING if v is None else html.escape(_short_value(v))}</td>'
                for v in drift["values"]
            )
            label = f"&nbsp;&nbsp;{html.escape(str(drift['column']))}.{html.escape(str(drift['stat']))}"
            rows.append(f'<tr class="wb-drift"><td style="{_TD};color:#555">{label}</td>{vals}</tr>')
    banner = (
        '<div class="wb-data-differs" style="color:#b06000;font-weight:bold;margin:4px 0">'
        "These runs trained on different data (dataset hashes differ).</div>"
        if data["differ"]
        else ""
    )
    return banner + _table("dataset", comparison["runs"], rows)


def _short_value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class CompareView(widgets.VBox):
    """Runs side by side: parameter diff, final metrics, metric curves, parallel coordinates.

    Build it with :func:`compare`, which fetches the runs.

    Parameters
    ----------
    records
        The runs, as returned by :func:`workbench.get_run`.
    history
        Their metric points, as returned by :func:`workbench.metric_history`.

    Attributes
    ----------
    comparison : dict
        :func:`workbench.comparison.compare_records` of the runs.
    only_differences : ipywidgets.Checkbox
        Show only the parameters that differ.
    params_table, metrics_table : ipywidgets.HTML
        The parameter diff and the final metrics.
    curves_spec : dict or None
        The Vega-Lite spec of the metrics logged at more than one step, one row per
        metric (None if none was), from :func:`workbench.render.charts.metric_curves_spec`.
    curves_chart : altair.Chart or None
        The same chart in altair.
    metric_dropdown : ipywidgets.Dropdown
        The metric the parallel-coordinates chart colours by.
    parallel_spec : dict or None
        The Vega-Lite spec of the parameters vs the chosen metric (None without metrics
        or parameters), from :func:`workbench.render.charts.parallel_spec`.
    parallel_chart : altair.Chart or None
        The same chart in altair.
    """

    def __init__(
        self,
        records: Sequence[RunRecord],
        history: pd.DataFrame,
        datasets: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.records = list(records)
        self.history = history
        self.comparison = compare_records(self.records)
        self.comparison["datasets"] = datasets or {"differ": False, "rows": []}
        self.datasets_table = widgets.HTML(datasets_table_html(self.comparison))
        self.runs_df = _runs_frame(self.records)
        self.labels = {r.run_id: r.run_name or r.run_id[:8] for r in self.records}

        origins = {r["run_id"]: r.get("origin", "") for r in self.comparison["runs"]}
        names = ", ".join(
            f"{r.run_name or '?'} ({r.run_id[:8]})"
            + (f" [{origins[r.run_id]}]" if origins.get(r.run_id) not in (None, "", "api", "magic") else "")
            for r in self.records
        )
        self.title = widgets.HTML(
            f"<b>Comparing {len(self.records)} run{'s' if len(self.records) != 1 else ''}</b>: "
            f"{html.escape(names)}"
        )
        self.only_differences = widgets.Checkbox(value=False, description="only differences", indent=False)
        self.only_differences.observe(lambda _c: self._render_params(), names="value")
        self.params_table = widgets.HTML()
        self.metrics_table = widgets.HTML(metrics_table_html(self.comparison))

        self.curves_spec = self._build_curves()
        self.curves_chart = to_altair(self.curves_spec) if self.curves_spec is not None else None
        self.curves_output = widgets.Output()
        _show_chart(
            self.curves_output, self.curves_spec, _note("No metric was logged at more than one step.")
        )

        metric_names = list(self.comparison["metrics"])
        self.metric_dropdown = widgets.Dropdown(
            options=metric_names,
            # The metric the runs name as their objective (a tag), else the one most have.
            value=(
                objective_metric([r.tags for r in self.records], metric_names)
                or default_metric(self.comparison["metrics"], self._curve_keys)
            ),
            description="metric",
            disabled=not metric_names,
        )
        self.metric_dropdown.observe(lambda _c: self._render_parallel(), names="value")
        self.parallel_spec: dict[str, Any] | None = None
        self.parallel_chart: alt.Chart | None = None
        self.parallel_output = widgets.Output()

        self._render_params()
        self._render_parallel()
        self.children = [
            self.title,
            widgets.HTML(_heading("Parameters")),
            self.only_differences,
            self.params_table,
            widgets.HTML(_heading("Final metrics")),
            self.metrics_table,
            *([widgets.HTML(_heading("Data")), self.datasets_table] if self.datasets_table.value else []),
            widgets.HTML(_heading("Metric curves")),
            self.curves_output,
            widgets.HTML(_heading("Parameters vs metric")),
            self.metric_dropdown,
            self.parallel_output,
        ]

    def _build_curves(self) -> dict[str, Any] | None:
        hist = self.history
        self._curve_keys: set[str] = set()
        if hist is None or hist.empty:
            return None
        # Final metrics logged once are in the table already; curves need several steps.
        sizes = hist.groupby(["run_id", "key"], sort=False).size()
        self._curve_keys = set(sizes[sizes > 1].index.get_level_values("key"))
        if not self._curve_keys:
            return None
        curves = hist[hist["key"].isin(self._curve_keys)]
        return metric_curves_spec(curves, self.labels, max_points=SAVED_CURVE_POINTS)

    def _render_params(self) -> None:
        self.params_table.value = params_table_html(self.comparison, self.only_differences.value)

    def _render_parallel(self) -> None:
        metric = self.metric_dropdown.value
        # Constant parameters only add flat lines, autologged copies (Ridge.alpha beside
        # alpha) double the axes: the ones that vary, once each.
        params = distinct_params(self.comparison["params"])
        self.parallel_spec = self.parallel_chart = None
        if metric is None:
            note = "These runs have no metrics."
        elif not params:
            note = "These runs have no parameters."
        else:
            ids = [r.run_id for r in self.records]
            labels = unique_labels(ids, self.labels)
            # Fitted to a notebook's output area (about 800 px), with a "missing" tick
            # for a run that lacks a parameter rather than a line cut short.
            self.parallel_spec = parallel_spec(
                [labels[i] for i in ids],
                {p: self.comparison["params"][p] for p in params},
                metric,
                self.comparison["metrics"][metric],
                higher_is_better=higher_is_better(metric),
                width=parallel_width(len(params) + 1),
                missing_tick=True,
            )
            self.parallel_chart = to_altair(self.parallel_spec)
            note = ""
        _show_chart(self.parallel_output, self.parallel_spec, _note(note))

    def static_html(self) -> str:
        """The whole comparison as HTML: both tables and both charts (charts need JavaScript).

        Returns
        -------
        str
            Inline-styled HTML; the charts are vega-embed snippets with their data inline.
        """
        parts = [
            f"<div>{self.title.value}</div>",
            _heading("Parameters"),
            params_table_html(self.comparison),
            _heading("Final metrics"),
            self.metrics_table.value,
        ]
        if self.datasets_table.value:
            parts += [_heading("Data"), self.datasets_table.value]
        if self.curves_chart is not None:
            parts += [_heading("Metric curves"), chart_html(self.curves_chart)]
        if self.parallel_chart is not None:
            parts += [
                _heading(f"Parameters vs {self.metric_dropdown.value}"),
                chart_html(self.parallel_chart),
            ]
        return f'<div class="workbench-compare">{"".join(parts)}</div>'

    def static_outputs(self) -> list[dict[str, Any]]:
        """The comparison as notebook outputs: the tables as HTML, the charts as Vega-Lite.

        JupyterLab draws the charts with its bundled renderer, offline, where the
        vega-embed scripts of :meth:`static_html` would need a CDN.

        Returns
        -------
        list of dict
            Mime bundles, in the order the widget shows them.
        """
        tables = [
            f"<div>{self.title.value}</div>",
            _heading("Parameters"),
            params_table_html(self.comparison),
        ]
        tables += [_heading("Final metrics"), self.metrics_table.value]
        if self.datasets_table.value:
            tables += [_heading("Data"), self.datasets_table.value]
        parts: list[dict[str, Any]] = [{"text/html": "".join(tables)}]
        if self.curves_spec is not None:
            parts += [{"text/html": _heading("Metric curves")}, chart_bundle(self.curves_spec)]
        if self.parallel_spec is not None:
            heading = _heading(f"Parameters vs {self.metric_dropdown.value}")
            parts += [{"text/html": heading}, chart_bundle(self.parallel_spec)]
        return parts

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget view plus :meth:`static_html`, for viewers without a kernel, and
        :meth:`static_outputs` for JupyterLab once the widget's model is gone."""
        data = dict(super()._repr_mimebundle_(**kwargs) or {})
        names = ", ".join(r.run_name or r.run_id[:8] for r in self.records)
        data["text/plain"] = f"<CompareView: {names}>"
        data["text/html"] = self.static_html()
        data[STATIC_VIEW_MIMETYPE] = static_view(*self.static_outputs())
        return data

    def close(self) -> None:
        """Close this view and every widget inside it."""
        for child in self.children:
            close_tree(child)
        super().close()


def compare(
    run_ids: str | Sequence[str], *, store: str | os.PathLike[str] | Store | None = None
) -> CompareView:
    """Compare runs side by side in a notebook.

    Parameters
    ----------
    run_ids
        Run ids or unique prefixes of them (one id as a string is accepted too).
        The same run given twice is shown once.
    store
        A store directory or Store; the current one by default.

    Returns
    -------
    CompareView
        Display it (last expression of a cell).

    Raises
    ------
    InvalidInputError
        No run id was given, or an id is not a string.
    RunNotFoundError, AmbiguousRunError
        An id matches no run, or several.
    """
    refs = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    if not refs:
        raise InvalidInputError("compare needs at least one run id (a full id or a unique prefix); got none")
    records: dict[str, RunRecord] = {}
    for ref in refs:
        if not isinstance(ref, str):
            raise InvalidInputError(f"run ids must be strings, got {ref!r}")
        rec = api.get_run(ref, store=store)
        records.setdefault(rec.run_id, rec)
    history = api.metric_history(list(records), store=store)
    datasets = dataset_diff(api.open_store(store), list(records))
    return CompareView(list(records.values()), history, datasets)
