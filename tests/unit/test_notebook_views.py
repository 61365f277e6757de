"""Notebook outputs the panel issue fixed: `%wb runs` shows the columns that differ with
readable headers and a footer that reads as one sentence; the live chart draws no empty
plot for a metric logged once."""

from __future__ import annotations

import ipywidgets as widgets

import workbench as wb
from workbench.widgets import LiveChart, runs_widget


def _sweep():
    for lr, depth in [(0.05, 2), (0.1, 2), (0.1, 3)]:
        params = {"learning_rate": lr, "max_depth": depth, "n_estimators": 60}
        with wb.start_run(experiment="demo", params=params, tags={"sweep_id": "s1"}):
            for k, v in {**params, "alpha": 0.9}.items():
                wb.log_param(f"GradientBoostingRegressor.{k}", v)
            wb.log_metrics({"rmse": 50 + lr, "val_rmse": 50 + lr})
    wb.flush()


def test_runs_widget_shows_the_differing_columns_and_reads_well(store_dir):
    _sweep()
    w = runs_widget()
    # What tells the runs apart first, after their names.
    assert w.shown_columns[:6] == [
        "run_id",
        "run_name",
        "metrics.rmse",
        "metrics.val_rmse",
        "params.learning_rate",
        "params.max_depth",
    ]
    headers = [c for c in w.table.children if isinstance(c, widgets.Button)]
    assert [h.description for h in headers][:6] == [
        "id",
        "name",
        "rmse",
        "val_rmse",
        "learning_rate",
        "max_depth",
    ]
    assert headers[2].tooltip.startswith("metrics.rmse")
    # A header never shrinks below its text (it showed "n…", "st…").
    assert all(h.layout.min_width == "max-content" for h in headers)
    footer = w.status_label.value + " " + w.hint_label.value
    assert "3 runs, 5 columns hidden" in footer and "· select at least 2 runs to compare" in footer
    assert "to compare 3 runs" not in footer
    w.all_columns_box.value = True
    assert len(w.shown_columns) == len(w.dataframe.columns)
    assert "hidden" not in w.status_label.value
    # Sorting by a hidden column brings it into view.
    w.all_columns_box.value = False
    w.sort_by("params.n_estimators")
    assert "params.n_estimators" in w.shown_columns


def test_live_chart_plots_only_curves_and_puts_final_values_in_the_title():
    shown = []

    class Handle:
        def update(self, bundle, raw=True):
            shown.append(bundle)

    live = LiveChart("run", handle=Handle())
    live.feed(["val_rmse"] * 5, list(range(5)), [5.0, 4.0, 3.0, 2.5, 2.0])
    live.feed(["rmse", "mae", "r2"], [0, 0, 0], [2.0, 1.5, 0.3])
    live.close()
    spec = shown[-1]["application/vnd.vegalite.v5+json"]
    assert {r["key"] for r in spec["data"]["values"]} == {"val_rmse"}
    assert "rmse 2" in spec["title"] and "r2 0.3" in spec["title"]
