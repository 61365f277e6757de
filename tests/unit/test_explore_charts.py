"""The panel's chart options: smoothing, log scale, time axes, fitted parallel
coordinates without duplicate axes and with "missing" ticks, and the scatter."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import pytest

import workbench as wb
from workbench.errors import InvalidInputError
from workbench.render import charts, explore


def _validate(spec: dict) -> None:
    small = {**spec, "data": {"values": spec["data"]["values"][:5]}}
    alt.Chart.from_dict(small, validate=True)
    json.dumps(spec)


def test_ema_is_debiased_and_smoothing_draws_raw_beneath():
    assert charts.ema([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])
    assert charts.ema([0.0, 10.0], 0.0) == [0.0, 10.0]
    with pytest.raises(InvalidInputError):
        charts.ema([1.0], 1.0)
    series = [
        {"label": "a", "key": "loss", "steps": list(range(50)), "values": [float(i % 7) for i in range(50)]}
    ]
    plain = charts.curves_spec(series, "loss")
    smooth = charts.curves_spec(series, "loss", smoothing=0.8, log=True)
    _validate(smooth)
    rows = pd.DataFrame(smooth["data"]["values"])
    assert (rows["raw"] == pd.DataFrame(plain["data"]["values"])["value"]).all()
    assert rows["value"].std() < rows["raw"].std()  # smoother
    assert [layer["encoding"]["y"]["field"] for layer in smooth["layer"]] == ["raw", "value"]
    assert smooth["layer"][1]["encoding"]["y"]["scale"]["type"] == "symlog"  # a value is 0


def test_time_axes_use_the_timestamps():
    series = [
        {
            "label": "a",
            "key": "k",
            "steps": [0, 1, 2],
            "values": [1.0, 2.0, 3.0],
            "timestamps": [5000, 6000, 8000],
        }
    ]
    rel = charts.curves_spec(series, "k", x="relative")
    assert [r["time"] for r in rel["data"]["values"]] == [0.0, 1.0, 3.0]
    assert rel["encoding"]["x"]["field"] == "time"
    wall = charts.curves_spec(series, "k", x="wall")
    assert wall["encoding"]["x"]["type"] == "temporal"
    _validate(wall)


def test_distinct_params_drop_autologged_copies_and_constants():
    params = {
        "GradientBoostingRegressor.learning_rate": ["0.05", "0.1"],
        "GradientBoostingRegressor.alpha": ["0.9", "0.9"],
        "learning_rate": ["0.05", "0.1"],
        "n_estimators": ["60", "60"],
    }
    assert charts.distinct_params(params) == ["learning_rate"]


def test_parallel_spec_missing_tick_and_rotated_labels():
    spec = charts.parallel_spec(
        ["a", "b", "c"],
        {"alpha": ["1", "2", None], "depth": ["2", "3", "4"]},
        "rmse",
        [1.0, 2.0, 3.0],
        higher_is_better=False,
        missing_tick=True,
        width=600,
    )
    _validate(spec)
    rows = pd.DataFrame(spec["data"]["values"])
    c = rows[rows.run == "c"]
    assert len(c) == 3 and c["pos"].min() == charts.MISSING_POS  # a whole line, through "missing"
    assert spec["layer"][1]["mark"]["text"] == "missing"
    crowded = charts.parallel_spec(
        ["a", "b"],
        {f"p{i}": ["1", "2"] for i in range(12)},
        "m",
        [1.0, 2.0],
        higher_is_better=True,
        width=400,
    )
    assert crowded["encoding"]["x"]["axis"]["labelAngle"] == -40
    packed = charts.parallel_spec(
        ["a", "b"],
        {f"p{i}": ["1", "2"] for i in range(12)},
        "m",
        [1.0, 2.0],
        higher_is_better=True,
        width=250,
    )
    assert packed["encoding"]["x"]["axis"]["labelAngle"] == -90


def _sweep():
    ids = []
    for lr, depth in [(0.05, 2), (0.1, 2), (0.1, 3)]:
        with wb.start_run(params={"learning_rate": lr, "max_depth": depth}, tags={"objective": "rmse"}) as r:
            wb.log_param("GradientBoostingRegressor.learning_rate", lr)
            for s in range(20):
                wb.log_metric("val_rmse", 60 - s * lr, step=s)
            wb.log_metrics({"mae": 40 + depth, "rmse": 50 + lr})
        ids.append(r.run_id)
    wb.flush()
    return ids


def test_explore_charts_read_the_store(store_dir):
    ids = _sweep()
    spec = explore.parallel_chart(ids, width=700)
    axes = spec["encoding"]["x"]["sort"]
    assert [a.split(" [")[0] for a in axes] == ["learning_rate", "max_depth", "rmse"]  # objective last
    assert spec["width"] == 700
    curves = explore.curves_chart(ids, "val_rmse", smoothing=0.6, x="relative")
    assert {r["run"][-8:] for r in curves["layer"][1:] and curves["data"]["values"]} == {i[:8] for i in ids}
    scatter = explore.scatter_chart(ids, "max_depth", "rmse")
    _validate(scatter)
    assert len(scatter["data"]["values"]) == 3 and scatter["encoding"]["x"]["type"] == "quantitative"
    with pytest.raises(InvalidInputError, match="unknown parameter"):
        explore.scatter_chart(ids, "nope", "rmse")
    with pytest.raises(InvalidInputError, match="smoothing"):
        explore.curves_chart(ids, "val_rmse", smoothing=2)
