"""The notebook widgets: runs table, comparison view, chart builders and the live chart.

Every widget is driven from Python (no browser): the tests call the same methods the
buttons and text boxes call, and read the DataFrames, HTML and chart specs they produce.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import altair as alt
import ipywidgets as widgets
import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.widgets import (
    CompareView,
    LiveChart,
    RunsWidget,
    compare,
    metric_curves,
    parallel_coordinates,
    runs_widget,
    static_html,
)
from workbench.widgets.charts import downsample_minmax

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
STATIC_MIME = "application/vnd.workbench.static-view+json"
VEGALITE_MIME = "application/vnd.vegalite.v5+json"

# name, params, final rmse, final r2. The alphas sort differently as text and as numbers.
SWEEP = [
    ("ridge-a", {"alpha": 0.5, "model": "ridge"}, 55.0, 0.40),
    ("ridge-b", {"alpha": 10, "model": "ridge"}, 52.0, 0.45),
    ("lasso", {"alpha": 2, "model": "lasso"}, 60.0, 0.30),
]


def _seed() -> dict[str, str]:
    ids = {}
    for name, params, rmse, r2 in SWEEP:
        with wb.start_run(name=name, params=params) as run:
            for step in range(10):
                wb.log_metric("loss", rmse / (step + 1), step=step)
            wb.log_metrics({"rmse": rmse, "r2": r2})
        ids[name] = run.run_id
    wb.flush()
    return ids


def _names(w: RunsWidget) -> list[str]:
    return w.dataframe["run_name"].tolist()


def _row_checkboxes(w: RunsWidget) -> list[widgets.Checkbox]:
    # The first checkbox of the grid is the header's "select this page".
    return [c for c in w.table.children if isinstance(c, widgets.Checkbox)][1:]


def _series_lengths(spec: dict) -> dict[tuple[str, str], int]:
    (rows,) = spec["datasets"].values()
    return pd.DataFrame(rows).groupby(["run", "key"]).size().to_dict()


# -- the runs table ----------------------------------------------------------------


def test_runs_widget_lists_every_run_with_its_columns():
    ids = _seed()
    w = runs_widget()
    assert isinstance(w, RunsWidget) and isinstance(w, widgets.VBox)
    assert sorted(_names(w)) == ["lasso", "ridge-a", "ridge-b"]
    cols = list(w.dataframe.columns)
    assert cols[:6] == ["run_id", "run_name", "status", "start_time", "origin", "duration_s"]
    assert set(w.dataframe["origin"]) == {"api"}
    assert cols[6:] == ["metrics.loss", "metrics.r2", "metrics.rmse", "params.alpha", "params.model"]
    assert (w.dataframe["status"] == "finished").all()
    assert (w.dataframe["duration_s"] >= 0).all()
    assert "3 runs" in w.status_label.value
    # Header row plus one row per run, each a checkbox then one cell per column.
    assert len(w.table.children) == (1 + len(cols)) * (1 + 3)
    cells = " ".join(c.value for c in w.table.children if isinstance(c, widgets.HTML))
    assert f">{ids['lasso'][:8]}</code>" in cells  # the short id, the full one as its tooltip
    assert "ridge-b" in cells and "52" in cells


def test_set_filter_and_the_filter_box_narrow_the_rows():
    _seed()
    w = runs_widget()
    assert w.set_filter("metrics.rmse < 56") is True
    assert sorted(_names(w)) == ["ridge-a", "ridge-b"]
    assert w.filter_box.value == "metrics.rmse < 56"
    assert "2 runs" in w.status_label.value
    # Submitting the text box (what the browser does on Enter) runs the same query.
    w.filter_box.value = "params.model = 'lasso'"
    assert _names(w) == ["lasso"]
    assert w.error_label.value == ""


def test_invalid_filter_is_shown_inline_and_keeps_the_previous_rows():
    _seed()
    w = runs_widget("metrics.rmse < 56")
    before = w.dataframe.copy()
    assert w.set_filter("metrics.rmse <") is False
    assert "invalid filter at position 14" in w.error_label.value
    assert "color:#b00020" in w.error_label.value
    pd.testing.assert_frame_equal(w.dataframe, before)
    # Typed into the box: still no exception, still the old rows.
    w.filter_box.value = "params.model LIKE"
    assert "invalid filter" in w.error_label.value
    assert sorted(_names(w)) == ["ridge-a", "ridge-b"]
    # A filter that works again clears the message.
    assert w.set_filter("")
    assert w.error_label.value == "" and len(w.dataframe) == 3


def test_initial_invalid_filter_does_not_raise():
    _seed()
    w = runs_widget("params.alpha = ")
    assert "invalid filter" in w.error_label.value
    assert w.dataframe.empty


def test_sort_by_orders_rows_and_reverses_on_second_call():
    _seed()
    w = runs_widget()
    w.sort_by("metrics.rmse")
    assert w.dataframe["metrics.rmse"].tolist() == [52.0, 55.0, 60.0]
    w.sort_by("metrics.rmse")
    assert w.dataframe["metrics.rmse"].tolist() == [60.0, 55.0, 52.0]
    assert w.sort_state == ("metrics.rmse", False)
    # Params are strings but sort as numbers when they all are numbers ("10" after "2").
    w.sort_by("params.alpha")
    assert w.dataframe["params.alpha"].tolist() == ["0.5", "2", "10"]
    # Clicking a header button does the same, and marks the column.
    header = next(b for b in w.table.children if isinstance(b, widgets.Button) and b.description == "name")
    header.click()
    assert _names(w) == ["lasso", "ridge-a", "ridge-b"]
    assert any(isinstance(b, widgets.Button) and b.description == "name ▲" for b in w.table.children), (
        "the sorted column's header shows the direction"
    )
    # The sort survives a new query.
    w.set_filter("metrics.rmse < 56")
    assert _names(w) == ["ridge-a", "ridge-b"]
    with pytest.raises(wb.InvalidInputError, match="not a column"):
        w.sort_by("metrics.nope")


def test_selection_enables_compare_and_the_click_shows_the_comparison():
    ids = _seed()
    w = runs_widget()
    w.sort_by("run_name")  # lasso, ridge-a, ridge-b
    assert w.compare_button.disabled
    assert "at least 2" in w.hint_label.value
    w.select([ids["ridge-a"][:10]])  # a prefix is enough
    assert w.selected_run_ids == [ids["ridge-a"]]
    assert w.compare_button.disabled
    # Ticking a row's checkbox, as a user would.
    boxes = _row_checkboxes(w)
    assert [b.value for b in boxes] == [False, True, False]
    boxes[2].value = True
    assert w.selected_run_ids == [ids["ridge-a"], ids["ridge-b"]]
    assert not w.compare_button.disabled
    assert "2 selected" in w.hint_label.value
    assert w.output.outputs == ()
    w.compare_button.click()
    (shown,) = w.output.outputs
    assert isinstance(w.compare_view, CompareView)
    assert shown["data"][WIDGET_MIME]["model_id"] == w.compare_view.model_id
    assert "ridge-a" in shown["data"]["text/html"] and "ridge-b" in shown["data"]["text/html"]
    assert [r.run_id for r in w.compare_view.records] == [ids["ridge-a"], ids["ridge-b"]]
    # Filtering a selected run away drops it from the selection.
    w.set_filter("params.model = 'lasso' or attributes.run_name = 'ridge-a'")
    assert w.selected_run_ids == [ids["ridge-a"]]
    assert w.compare_button.disabled
    with pytest.raises(wb.InvalidInputError, match="not in the table"):
        w.select(["zzzz"])


def test_pages_keep_the_grid_small():
    _seed()
    w = RunsWidget(order_by="metrics.rmse ASC", page_size=2)
    assert w.page_count == 2
    assert len(_row_checkboxes(w)) == 2
    assert "showing 1–2" in w.status_label.value
    w.next_button.click()
    assert len(_row_checkboxes(w)) == 1
    assert "showing 3–3" in w.status_label.value
    assert w.next_button.disabled and not w.prev_button.disabled
    # The whole result stays in .dataframe, only the grid is paged.
    assert len(w.dataframe) == 3


def test_mimebundle_has_widget_view_and_static_html_fallback():
    _seed()
    with wb.start_run(name="<b>odd & name</b>"):
        wb.log_metric("rmse", 70.0)
    wb.flush()
    w = runs_widget()
    bundle = w._repr_mimebundle_()
    assert bundle[WIDGET_MIME]["model_id"] == w.model_id
    page = bundle["text/html"]
    for name in ("ridge-a", "ridge-b", "lasso"):
        assert name in page
    assert "&lt;b&gt;odd &amp; name&lt;/b&gt;" in page and "<b>odd" not in page
    assert "<table" in page and "4 runs" in page
    assert page == static_html(w.dataframe, columns=w.shown_columns)
    # JupyterLab without the widget's model shows the same HTML, not saved a second time.
    assert bundle[STATIC_MIME] == {"version": 1, "outputs": ["text/html"]}
    # IPython's own formatter (what display() uses) keeps both representations.
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(w)
    assert WIDGET_MIME in data and "ridge-b" in data["text/html"]


def test_static_html_accepts_the_runs_dataframe():
    _seed()
    page = static_html(wb.runs(), max_rows=2)
    assert page.count("<tr>") == 3  # the header and two rows
    assert "3 runs (first 2 shown)" in page


# -- the comparison ------------------------------------------------------------------


def _diff_rows(table_html: str) -> list[str]:
    return re.findall(r'<tr class="wb-diff"[^>]*><td[^>]*>([^<]*)</td>', table_html)


def _best_cell(table_html: str, metric: str) -> str:
    row = re.search(rf"<tr><td[^>]*>{metric} <span.*?</tr>", table_html).group(0)
    return re.search(r'<td class="wb-best"[^>]*>([^<]*)</td>', row).group(1)


def test_compare_marks_differing_params_and_best_metrics():
    ids = _seed()
    cv = compare([ids["ridge-a"][:8], ids["ridge-b"][:8]])
    assert isinstance(cv, CompareView) and isinstance(cv, widgets.VBox)
    params = cv.params_table.value
    assert _diff_rows(params) == ["alpha"]  # both are ridge: model is the same
    assert ">model</td>" in params
    cv.only_differences.value = True
    assert ">model</td>" not in cv.params_table.value and _diff_rows(cv.params_table.value) == ["alpha"]
    metrics = cv.metrics_table.value
    assert _best_cell(metrics, "rmse") == "52 ★"  # lower is better
    assert _best_cell(metrics, "r2") == "0.45 ★"  # higher is better
    assert cv.comparison["best"]["rmse"] == 1


def test_compare_charts_and_static_fallback():
    ids = _seed()
    cv = compare([ids["ridge-a"], ids["ridge-b"], ids["lasso"]])
    # Only loss was logged at several steps; rmse and r2 are final values in the table.
    curves = cv.curves_chart.to_dict()
    assert {r["key"] for r in next(iter(curves["datasets"].values()))} == {"loss"}
    # Vega-Lite v5: JupyterLab draws it with its bundled renderer, offline, and saves it.
    assert (
        cv.curves_output.outputs and "application/vnd.vegalite.v5+json" in cv.curves_output.outputs[0]["data"]
    )
    # The parallel coordinates default to a final metric every run has.
    assert cv.metric_dropdown.value == "r2"
    assert cv.parallel_chart.to_dict()["encoding"]["color"]["title"] == "r2"
    cv.metric_dropdown.value = "rmse"
    assert cv.parallel_chart.to_dict()["encoding"]["color"]["title"] == "rmse"
    bundle = cv._repr_mimebundle_()
    assert bundle[WIDGET_MIME]["model_id"] == cv.model_id
    page = bundle["text/html"]
    assert 'class="wb-diff"' in page and 'class="wb-best"' in page
    assert page.count("vegaEmbed(") >= 2 and "lasso" in page
    # Without the widget's model JupyterLab shows the tables and both charts as Vega-Lite.
    static = bundle[STATIC_MIME]
    assert static["version"] == 1
    kinds = [next(k for k in part if k != "text/plain") for part in static["outputs"]]
    assert kinds == ["text/html", "text/html", VEGALITE_MIME, "text/html", VEGALITE_MIME]
    assert 'class="wb-best"' in static["outputs"][0]["text/html"]
    assert "Parameters vs rmse" in static["outputs"][3]["text/html"]
    assert static["outputs"][2][VEGALITE_MIME] == cv.curves_spec
    assert static["outputs"][4][VEGALITE_MIME] == cv.parallel_spec


def test_compare_bad_input_raises_the_api_errors():
    ids = _seed()
    with pytest.raises(wb.InvalidInputError, match="at least one run id"):
        compare([])
    with pytest.raises(wb.RunNotFoundError, match="no run matches 'zzzz'"):
        compare([ids["lasso"], "zzzz"])
    # One id (or the same run twice) is still a valid, if short, comparison.
    cv = compare([ids["lasso"], ids["lasso"][:8]])
    assert len(cv.records) == 1 and cv.comparison["differing_params"] == []


# -- chart builders ------------------------------------------------------------------


def test_metric_curves_downsample_long_series_and_keep_their_shape():
    n = 100_000
    steps = np.arange(n)
    values = np.sin(steps / 5000.0)
    values[43_210] = 25.0  # a spike plain decimation would lose
    history = pd.concat(
        [
            pd.DataFrame({"run_id": rid, "key": key, "step": steps, "value": values + i})
            for i, rid in enumerate(["run-one-0001", "run-two-0002"])
            for key in ("loss", "acc")
        ],
        ignore_index=True,
    )
    chart = metric_curves(history, {"run-one-0001": "first"}, max_points=500)
    assert isinstance(chart, alt.Chart)
    spec = chart.to_dict()
    lengths = _series_lengths(spec)
    assert set(lengths) == {("first", "loss"), ("first", "acc"), ("run-two-", "loss"), ("run-two-", "acc")}
    assert all(250 <= k <= 500 for k in lengths.values())
    rows = pd.DataFrame(next(iter(spec["datasets"].values())))
    first_loss = rows[(rows.run == "first") & (rows.key == "loss")]
    assert first_loss["value"].max() == 25.0 and first_loss["step"].iloc[-1] == n - 1
    assert first_loss["step"].iloc[0] == 0 and first_loss["step"].is_monotonic_increasing
    enc = spec["encoding"]
    assert enc["x"] == {"field": "step", "title": "step", "type": "quantitative"}
    assert enc["y"]["field"] == "value" and enc["y"]["type"] == "quantitative"
    assert enc["color"]["field"] == "run" and enc["color"]["type"] == "nominal"
    assert enc["row"]["field"] == "key"
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    assert spec["mark"]["type"] == "line"


def test_charts_carry_their_data_inline_whatever_the_transformer(tmp_path):
    history = pd.DataFrame({"run_id": "r1", "key": "loss", "step": range(6000), "value": 1.0})
    before = set(tmp_path.rglob("*"))
    # "json" would write a file per dataset; the default one refuses over 5,000 rows.
    with alt.data_transformers.enable("json"):
        spec = metric_curves(history, max_points=6000).to_dict()
    assert "datasets" in spec and "url" not in spec["data"]
    assert len(next(iter(spec["datasets"].values()))) == 6000
    assert set(tmp_path.rglob("*")) == before


def test_downsample_minmax_bounds_and_small_inputs():
    s, v = downsample_minmax([3, 1, 2], [30.0, 10.0, 20.0], 10)
    assert s.tolist() == [1, 2, 3] and v.tolist() == [10.0, 20.0, 30.0]  # sorted, untouched
    s, v = downsample_minmax(np.arange(1000), np.arange(1000.0), 3)
    assert s.tolist() == [0, 500, 999]
    s, v = downsample_minmax(np.zeros(1000), np.arange(1000.0), 100)  # every point at one step
    assert len(s) <= 100 and v.max() == 999.0 and v.min() == 0.0
    with pytest.raises(wb.InvalidInputError):
        downsample_minmax([1], [1.0], 0)


def test_parallel_coordinates_scales_numeric_and_ranks_string_params():
    _seed()
    df = wb.runs()
    chart = parallel_coordinates(df, "rmse")
    assert isinstance(chart, alt.Chart)
    spec = chart.to_dict()
    rows = pd.DataFrame(next(iter(spec["datasets"].values())))
    axes = spec["encoding"]["x"]["sort"]
    assert axes == ["alpha [0.5 … 10]", "model [lasso · ridge]", "rmse [52 … 60]"]
    pos = rows.pivot(index="run", columns="axis", values="pos")
    # Numeric param: linear between min and max. String param: evenly spaced ranks.
    assert pos.loc["ridge-a", axes[0]] == 0.0 and pos.loc["ridge-b", axes[0]] == 1.0
    assert pos.loc["lasso", axes[0]] == pytest.approx(1.5 / 9.5)
    assert pos.loc["lasso", axes[1]] == 0.0 and pos.loc["ridge-a", axes[1]] == 1.0
    assert pos.loc["ridge-b", axes[2]] == 0.0 and pos.loc["lasso", axes[2]] == 1.0
    enc = spec["encoding"]
    assert enc["detail"]["field"] == "run"  # one line per run
    assert enc["color"]["field"] == "metric" and enc["color"]["type"] == "quantitative"
    assert enc["color"]["scale"]["reverse"] is True  # rmse: lower is better, best is bright
    assert parallel_coordinates(df, "metrics.r2").to_dict()["encoding"]["color"]["scale"]["reverse"] is False
    only_model = parallel_coordinates(df, "rmse", params=["params.model"]).to_dict()
    assert only_model["encoding"]["x"]["sort"] == ["model [lasso · ridge]", "rmse [52 … 60]"]
    with pytest.raises(wb.InvalidInputError, match="no metric 'nope'"):
        parallel_coordinates(df, "nope")
    with pytest.raises(wb.InvalidInputError, match="unknown param"):
        parallel_coordinates(df, "rmse", params=["depth"])


# -- the live chart ------------------------------------------------------------------


class _FakeDisplay:
    """Stands in for IPython's display(): records the first display and every update."""

    def __init__(self) -> None:
        self.displayed: list[object] = []
        self.updates: list[object] = []

    def __call__(self, obj, display_id=None, raw=False):
        assert display_id is True and raw
        self.displayed.append(obj)
        return self

    def update(self, obj, raw=False):
        assert raw
        self.updates.append(obj)


@pytest.fixture
def fake_display(monkeypatch):
    import IPython.display

    fake = _FakeDisplay()
    monkeypatch.setattr(IPython.display, "display", fake)
    return fake


def test_live_chart_keeps_each_series_bounded():
    live = LiveChart("train", max_points=100)
    n = 100_000
    for start in range(0, n, 1000):
        steps = np.arange(start, start + 1000)
        live.feed(["loss"] * 1000 + ["acc"] * 1000, np.r_[steps, steps], np.r_[steps * 1.0, -steps * 1.0])
    points = live.points()
    assert set(points) == {"loss", "acc"}
    for key, (steps, values) in points.items():
        assert 50 <= len(steps) <= 100 and len(values) == len(steps), key
        assert steps[0] == 0 and steps[-1] == n - 1  # the latest point is always there
        gaps = set(np.diff(steps[:-1]).tolist())
        assert len(gaps) == 1, "kept points are evenly spaced"
    assert points["acc"][1][-1] == -(n - 1)
    with pytest.raises(wb.InvalidInputError, match="parallel"):
        live.feed(["loss"], [1, 2], [1.0])


def test_live_chart_throttles_renders(fake_display):
    now = [100.0]
    live = LiveChart("train", min_interval_s=1.0, max_points=50, clock=lambda: now[0])
    assert live.render() is False  # nothing fed yet: nothing to draw
    live.feed(["loss"], [0], [1.0])
    assert live.render() is True
    assert len(fake_display.displayed) == 1 and fake_display.updates == []
    assert live.render() is False  # nothing new
    live.feed(["loss"], [1], [0.5])
    now[0] += 0.5
    assert live.render() is False  # too soon
    now[0] += 0.5
    assert live.render() is True
    assert len(fake_display.updates) == 1  # the same output, updated in place
    for step in range(2, 200):
        live.feed(["loss"], [step], [1.0 / step])
        live.render()  # a tight loop asking to redraw every point...
    assert live.render_count == 2  # ...draws nothing until the interval passes
    assert live.render(force=True) is True
    live.feed(["loss"], [200], [0.001])
    live.close()
    assert live.render_count == 4 and len(fake_display.updates) == 3
    assert live.closed and live.render(force=True) is False
    spec = fake_display.updates[-1]["application/vnd.vegalite.v5+json"]
    # Written by hand for speed, so checked against the Vega-Lite v5 schema here.
    import altair as alt

    alt.TopLevelFacetSpec.from_dict(spec, validate=True)
    rows = spec["data"]["values"]
    assert len(rows) <= 50 and rows[-1]["step"] == 200
    assert "loss 0.001" in spec["title"]


def test_live_chart_feed_and_render_on_different_threads(fake_display):
    live = LiveChart("train", min_interval_s=0.0, max_points=64)
    done = threading.Event()

    def writer():
        for start in range(0, 20_000, 500):
            live.feed(["loss"] * 500, range(start, start + 500), [1.0] * 500)
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    while not done.is_set():
        live.render()
    t.join()
    live.close()
    steps, _ = live.points()["loss"]
    assert len(steps) <= 64 and steps[-1] == 19_999
    assert live.render_count >= 1
    assert len(fake_display.displayed) == 1  # one output, however many threads drew


# -- import hygiene ------------------------------------------------------------------


def test_importing_workbench_does_not_load_the_widget_libraries():
    code = (
        "import sys, workbench, workbench.widgets;"
        "print(sorted({'ipywidgets', 'altair', 'IPython'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tune_progress_saves_its_final_state_for_a_reopened_notebook(fake_display):
    from workbench.widgets.progress import WidgetProgress

    bar = WidgetProgress(3, kind="tune")
    first = fake_display.displayed[0]
    assert first[WIDGET_MIME]["model_id"] == bar.box.model_id
    assert first[STATIC_MIME] == {"version": 1, "outputs": ["text/html"]}
    assert "tune: 0 / 3 done" in first["text/html"]
    bar.update({"done": 2, "failed": 1, "running": 0, "queued": 0})
    bar.set_best(3.25, {"alpha": 0.5})
    bar.close()
    # The output is updated once, at the end: the widget (same model) and its last state.
    (final,) = fake_display.updates
    assert final[WIDGET_MIME]["model_id"] == bar.box.model_id
    assert "2 done" in final["text/html"] and "1 failed" in final["text/html"]
    assert "best so far: <b>3.25 (alpha=0.5)</b>" in final["text/html"]
