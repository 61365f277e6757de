"""The demo's printout: the metrics every run has once each (a curve's last value that
repeats a final metric left out), one number format per column, swept parameters once,
the best marked in words, and the way to the panel."""

from __future__ import annotations

import workbench as wb
from workbench.comparison import compare_records
from workbench.demo import summary_columns
from workbench.formatting import compare_table, runs_table


def _sweep():
    for lr, depth, rmse in [(0.05, 2, 62.0), (0.1, 3, 58.8731), (0.1, 2, 63.4)]:
        params = {"learning_rate": lr, "max_depth": depth, "n_estimators": 60}
        with wb.start_run(experiment="demo", params=params, tags={"sweep_id": "s"}):
            for k, v in params.items():
                wb.log_param(f"GradientBoostingRegressor.{k}", v)
            for s in range(3):
                wb.log_metric("val_rmse", rmse + 2 - s, step=s)
            wb.log_metrics({"rmse": rmse, "mae": rmse - 12, "r2": 0.3})
    wb.flush()


def test_demo_table_and_best_vs_worst(store_dir):
    _sweep()
    df = wb.runs(order_by="metrics.rmse ASC")
    cols = summary_columns(df)
    assert cols == ["metrics.rmse", "metrics.mae", "metrics.r2", "params.learning_rate", "params.max_depth"]
    table = runs_table(df, columns=cols)
    header = table.splitlines()[0].split()
    assert "val_rmse" not in header and "GradientBoostingRegressor.learning_rate" not in header
    assert "58.87" in table and "62.00" in table and "63.40" in table  # one format per column
    s = wb.api.open_store()
    best, worst = df["run_id"].iloc[0], df["run_id"].iloc[-1]
    text = compare_table(compare_records([s.get_run(best), s.get_run(worst)]))
    assert text.count("max_depth") == 1 and "GradientBoostingRegressor" not in text
    assert "58.87 (best)" in text and " <" not in text
