"""The runs table's default columns (api.describe_columns): what differs, what was swept,
autologged duplicates hidden, the objective metric first."""

from __future__ import annotations

import pandas as pd

import workbench as wb
from workbench import api


def _frame(rows):
    return pd.DataFrame(rows)


def test_swept_params_first_constant_and_duplicates_hidden():
    rows = []
    for i, (lr, depth) in enumerate([(0.05, 2), (0.1, 2), (0.05, 3), (0.1, 3)]):
        rows.append(
            {
                "run_id": f"{i:032x}",
                "params.learning_rate": str(lr),
                "params.max_depth": str(depth),
                "params.n_estimators": "60",
                "params.seed_note": "a" if i else "b",  # differs, but not inside the sweep
                "params.GradientBoostingRegressor.learning_rate": str(lr),
                "params.GradientBoostingRegressor.alpha": "0.9",
                "metrics.rmse": 50.0 + i,
                "metrics.val_rmse": 50.0 + i,
                "metrics.mae": 40.0 + i,
                "metrics.rare": 1.0 if i == 0 else None,
                "metrics.system/cpu_utilization_percentage": 12.0,
                "tags.sweep_id": "s1" if i else None,
            }
        )
    out = api.describe_columns(_frame(rows))
    assert out["total"] == 4
    # learning_rate and max_depth vary inside sweep s1 (runs 1-3); seed_note does not.
    assert out["default_params"] == ["learning_rate", "max_depth", "seed_note"]
    assert out["constant_params"] == ["n_estimators"]
    by_name = {p["name"]: p for p in out["params"]}
    assert by_name["GradientBoostingRegressor.learning_rate"]["duplicate_of"] == "learning_rate"
    assert (
        by_name["GradientBoostingRegressor.alpha"]["autologged"]
        and by_name["GradientBoostingRegressor.alpha"]["constant"]
    )
    # rmse (a usual objective name) first; the half-logged metric and system metrics left out.
    assert out["default_metrics"] == ["rmse", "mae", "val_rmse"]
    assert {m["name"]: m["system"] for m in out["metrics"]}["system/cpu_utilization_percentage"] is True


def test_objective_tag_and_autologged_only_runs():
    rows = [
        {
            "run_id": "a" * 32,
            "params.Ridge.alpha": "1",
            "metrics.rmse": 1.0,
            "metrics.r2": 0.5,
            "tags.objective": "r2",
        },
        {
            "run_id": "b" * 32,
            "params.Ridge.alpha": "2",
            "metrics.rmse": 2.0,
            "metrics.r2": 0.4,
            "tags.objective": "r2",
        },
    ]
    out = api.describe_columns(_frame(rows))
    assert out["objective"] == "r2" and out["default_metrics"][0] == "r2"
    # Only autologged params differ: they are shown rather than nothing.
    assert out["default_params"] == ["Ridge.alpha"]


def test_run_columns_reads_every_run_of_the_query(store_dir):
    for i in range(3):
        with wb.start_run(experiment="cols", params={"alpha": i, "fixed": 1}):
            wb.log_metric("rmse", float(i))
    wb.flush()
    out = api.run_columns("metrics.rmse >= 1", store=store_dir)
    assert out["total"] == 2 and out["default_params"] == ["alpha"] and out["constant_params"] == ["fixed"]
