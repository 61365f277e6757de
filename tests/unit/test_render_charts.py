"""The comparison charts' one source: the Vega-Lite specs of workbench.render.charts, the
service functions the REST layer serves (workbench.render.comparison), and the notebook
widgets drawing the same specs."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.comparison import MAX_CHART_RUNS, default_metric, varying_params
from workbench.errors import InvalidInputError, NotFoundError, RunNotFoundError
from workbench.render import charts, curves_chart, parallel_chart
from workbench.widgets import compare

# name, params, final rmse, final r2. The alphas sort differently as text and as numbers.
SWEEP = [
    ("ridge-a", {"alpha": 0.5, "model": "ridge"}, 55.0, 0.40),
    ("ridge-b", {"alpha": 10, "model": "ridge"}, 52.0, 0.45),
    ("lasso", {"alpha": 2, "model": "lasso"}, 60.0, 0.30),
]


def _seed(steps: int = 10) -> dict[str, str]:
    ids = {}
    for name, params, rmse, r2 in SWEEP:
        with wb.start_run(name=name, params=params) as run:
            for step in range(steps):
                wb.log_metric("loss", rmse / (step + 1), step=step)
            wb.log_metrics({"rmse": rmse, "r2": r2})
        ids[name] = run.run_id
    wb.flush()
    return ids


def _validate(spec: dict) -> None:
    """Check a spec against the Vega-Lite v5 schema (with a few rows: validating every
    row is slow and says nothing more)."""
    small = {**spec, "data": {"values": spec["data"]["values"][:5]}}
    alt.Chart.from_dict(small, validate=True)
    json.dumps(spec)  # plain JSON, nothing altair- or numpy-typed


def _rows(spec: dict) -> pd.DataFrame:
    return pd.DataFrame(spec["data"]["values"])


# -- the pure builders ---------------------------------------------------------------


def test_curves_spec_fields_points_and_colour_domain():
    series = [
        {"label": "a · 11111111", "key": "loss", "steps": [0, 1, 2], "values": [3.0, 2.0, 1.0]},
        {"label": "b · 22222222", "key": "loss", "steps": np.arange(5), "values": np.ones(5)},
    ]
    domain = ["a · 11111111", "c · 33333333", "b · 22222222"]
    spec = charts.curves_spec(series, "loss", domain)
    _validate(spec)
    assert spec["$schema"] == charts.SCHEMA and spec["title"] == "loss"
    assert spec["width"] == "container"
    rows = _rows(spec)
    assert list(rows.columns) == ["run", "key", "step", "value"] and len(rows) == 8
    assert rows.groupby("run").size().to_dict() == {"a · 11111111": 3, "b · 22222222": 5}
    enc = spec["encoding"]
    assert enc["x"] == {"field": "step", "type": "quantitative", "title": "step"}
    # Runs without this metric keep their colour: the domain is every compared run.
    assert enc["color"]["scale"]["domain"] == domain
    assert enc["color"]["legend"]["orient"] == "bottom"
    assert enc["tooltip"][-1] == {"field": "value", "type": "quantitative", "format": ".5~g"}
    # Short series draw their points too; long ones only the line.
    assert "point" in spec["mark"]
    long = [{"label": "a", "key": "k", "steps": range(31), "values": [1.0] * 31}]
    assert "point" not in charts.curves_spec(long, "k")["mark"]
    many = [{"label": str(i), "key": "k", "steps": [0], "values": [1.0]} for i in range(11)]
    assert charts.curves_spec(many, "k")["encoding"]["color"]["scale"]["scheme"] == "tableau20"


def test_metric_curves_spec_facets_by_key_and_downsamples():
    n = 10_000
    series = [
        {"label": "a", "key": key, "steps": np.arange(n), "values": np.sin(np.arange(n) / 100)}
        for key in ("loss", "acc")
    ]
    spec = charts.metric_curves_spec(series, max_points=200, title="t")
    _validate(spec)
    rows = _rows(spec)
    assert set(rows["key"]) == {"loss", "acc"}
    assert rows.groupby("key").size().max() <= 200
    assert spec["encoding"]["row"]["field"] == "key"
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    assert spec["width"] == charts.CURVE_WIDTH and spec["title"] == "t"


def test_parallel_spec_normalizes_axes_and_handles_missing_values():
    labels = ["ridge-a", "ridge-b", "lasso", "no-metric"]
    params = {
        "alpha": ["0.5", "10", "2", "1"],
        "model": ["ridge", "ridge", None, "ridge"],  # lasso lacks this param
    }
    spec = charts.parallel_spec(labels, params, "rmse", [55.0, 52.0, 60.0, None], higher_is_better=False)
    _validate(spec)
    axes = spec["encoding"]["x"]["sort"]
    assert axes == ["alpha [0.5 … 10]", "model [ridge]", "rmse [52 … 60]"]
    rows = _rows(spec)
    # The run without the metric is left out, and the title says so.
    assert "no-metric" not in set(rows["run"])
    assert spec["title"] == "rmse vs parameters (1 runs without rmse left out)"
    # The run without the param has no point on that axis; its line skips it.
    assert set(rows[rows.run == "lasso"]["axis"]) == {axes[0], axes[2]}
    pos = rows.pivot(index="run", columns="axis", values="pos")
    assert pos.loc["ridge-a", axes[0]] == 0.0 and pos.loc["ridge-b", axes[0]] == 1.0
    assert pos.loc["lasso", axes[0]] == pytest.approx(1.5 / 9.5)
    assert pos.loc["ridge-a", axes[1]] == 0.5  # one category: the middle
    assert pos.loc["ridge-b", axes[2]] == 0.0 and pos.loc["lasso", axes[2]] == 1.0
    raw = rows.set_index(["run", "axis"])["raw"]
    assert raw["ridge-b", axes[0]] == "10" and raw["lasso", axes[2]] == "60"
    enc = spec["encoding"]
    assert enc["y"]["scale"]["domain"] == [0, 1] and enc["y"]["axis"] is None
    assert enc["color"]["field"] == "metric" and enc["color"]["scale"]["reverse"] is True
    assert enc["detail"]["field"] == "run"
    assert spec["width"] == "container"
    with pytest.raises(InvalidInputError, match="'alpha' has 1 values for 4 runs"):
        charts.parallel_spec(labels, {"alpha": ["1"]}, "rmse", [1.0] * 4, higher_is_better=False)


def test_parallel_spec_fits_an_output_area_whatever_the_number_of_axes():
    for n_params in (1, 4, 12, 40):
        params = {f"p{i}": [str(i), str(i + 1)] for i in range(n_params)}
        width = charts.parallel_width(n_params + 1)
        spec = charts.parallel_spec(["a", "b"], params, "m", [1.0, 2.0], higher_is_better=True, width=width)
        assert 320 <= spec["width"] <= charts.PARALLEL_MAX_WIDTH
        limit = spec["encoding"]["x"]["axis"]["labelLimit"]
        assert limit * (n_params + 1) <= max(60 * (n_params + 1), charts.PARALLEL_MAX_WIDTH)


def test_labels_match_the_panel_and_the_notebook():
    assert charts.run_label("3f2a1b9c0000", "ridge") == "ridge · 3f2a1b9c"
    assert charts.run_label("3f2a1b9c0000", None) == "3f2a1b9c"
    labels = charts.unique_labels(
        ["aaaaaaaa1", "bbbbbbbb2", "cccccccc3"], {"aaaaaaaa1": "x", "bbbbbbbb2": "x"}
    )
    assert labels == {"aaaaaaaa1": "x (aaaaaaaa)", "bbbbbbbb2": "x (bbbbbbbb)", "cccccccc3": "cccccccc"}


def test_default_metric_and_varying_params():
    metrics = {"acc": [1.0, None, 2.0], "loss": [1.0, 2.0, 3.0], "rmse": [1.0, 2.0, 3.0]}
    # Most runs have loss and rmse; rmse is a final value, loss a training curve.
    assert default_metric(metrics, curve_keys={"loss"}) == "rmse"
    assert default_metric({"system/cpu": [1.0], "zeta": [1.0]}) == "zeta"
    assert default_metric({}) is None
    assert varying_params({"a": ["1", "1"], "b": ["1", None], "c": ["x", "y"]}) == ["b", "c"]
    assert varying_params({"a": ["1", "1"]}) == ["a"]


# -- the service functions (what the REST layer serves) --------------------------------


def test_curves_chart_reads_the_runs_and_labels_them_like_the_panel():
    ids = _seed()
    with wb.start_run(name="other") as run:
        wb.log_metric("acc", 0.5)
    wb.flush()
    order = [ids["lasso"], run.run_id, ids["ridge-a"][:8]]
    spec = curves_chart(order, "loss")
    _validate(spec)
    domain = [f"lasso · {ids['lasso'][:8]}", f"other · {run.run_id[:8]}", f"ridge-a · {ids['ridge-a'][:8]}"]
    # Every run is in the colour domain, in order, even the one that never logged loss.
    assert spec["encoding"]["color"]["scale"]["domain"] == domain
    rows = _rows(spec)
    assert rows.groupby("run").size().to_dict() == {domain[0]: 10, domain[2]: 10}
    lasso = rows[rows.run == domain[0]]
    assert lasso["step"].tolist() == list(range(10)) and lasso["value"].iloc[0] == 60.0
    assert spec["title"] == "loss" and spec["width"] == "container"
    assert curves_chart([ids["lasso"]], "metrics.loss")["title"] == "loss"
    # The same run twice is charted once.
    assert (
        len(curves_chart([ids["lasso"], ids["lasso"][:8]], "loss")["encoding"]["color"]["scale"]["domain"])
        == 1
    )


def test_long_curves_are_downsampled_for_the_panel():
    with wb.start_run(name="long") as run:
        for step in range(5000):
            wb.log_metric("loss", float(step % 97), step=step)
    wb.flush()
    rows = _rows(curves_chart([run.run_id], "loss"))
    assert 2 < len(rows) <= charts.MAX_CURVE_POINTS and rows["value"].max() == 96.0


def test_parallel_chart_defaults_to_varying_params_and_the_metric_most_runs_have():
    ids = _seed()
    with wb.start_run(name="partial", params={"alpha": 3, "model": "ridge"}):
        wb.log_metric("r2", 0.1)  # no rmse: r2 is now the metric most runs have
    wb.flush()
    all_ids = [*ids.values(), wb.runs(filter="attributes.run_name = 'partial'")["run_id"][0]]
    spec = parallel_chart(all_ids)
    _validate(spec)
    assert spec["encoding"]["color"]["title"] == "r2"
    assert spec["encoding"]["x"]["sort"] == ["alpha [0.5 … 10]", "model [lasso · ridge]", "r2 [0.1 … 0.45]"]
    assert spec["encoding"]["color"]["scale"]["reverse"] is False  # higher r2 is better
    # Among metrics every run has, a final value comes before a training curve.
    assert parallel_chart(list(ids.values()))["encoding"]["color"]["title"] == "r2"
    spec = parallel_chart(list(ids.values()), "rmse", ["params.model"])
    assert spec["encoding"]["x"]["sort"] == ["model [lasso · ridge]", "rmse [52 … 60]"]
    assert set(_rows(spec)["run"]) == {f"{n} · {i[:8]}" for n, i in ids.items()}
    spec = parallel_chart(list(ids.values()), "rmse")
    assert spec["title"] == "rmse vs parameters" and spec["width"] == "container"


def test_parallel_chart_with_a_run_missing_a_param_and_one_missing_the_metric():
    ids = _seed()
    with wb.start_run(name="bare"):
        wb.log_metric("rmse", 58.0)  # no params at all
    with wb.start_run(name="unscored", params={"alpha": 1, "model": "ridge"}):
        wb.log_metric("r2", 0.2)
    wb.flush()
    df = wb.runs()
    every = df["run_id"].tolist()
    spec = parallel_chart(every, "rmse")
    rows = _rows(spec)
    bare = df.loc[df.run_name == "bare", "run_id"].iloc[0]
    bare_rows = rows[rows.run == f"bare · {bare[:8]}"]
    assert bare_rows["axis"].tolist() == ["rmse [52 … 60]"]  # only the metric axis
    assert "(1 runs without rmse left out)" in spec["title"]
    assert not any(r.startswith("unscored") for r in rows["run"])
    assert ids  # the sweep's runs are all there
    assert len(set(rows["run"])) == 4


def test_chart_functions_refuse_bad_input_in_one_line():
    ids = _seed(steps=2)
    some = list(ids.values())
    cases = [
        (lambda: curves_chart([], "loss"), InvalidInputError, "at least one run id"),
        (lambda: curves_chart(["x"] * (MAX_CHART_RUNS + 1), "loss"), InvalidInputError, "at most 100 runs"),
        (lambda: curves_chart([some[0], 3], "loss"), InvalidInputError, "non-empty strings"),
        (lambda: curves_chart(["zzzz"], "loss"), RunNotFoundError, "no run matches 'zzzz'"),
        (lambda: parallel_chart([some[0], "zzzz"]), NotFoundError, "no run matches 'zzzz'"),
        (
            lambda: curves_chart(some, "nope"),
            InvalidInputError,
            "no metric 'nope' in these runs; they have: loss, r2",
        ),
        (lambda: curves_chart(some, None), InvalidInputError, "metric name must be a non-empty string"),
        (lambda: parallel_chart([]), InvalidInputError, "at least one run id"),
        (lambda: parallel_chart(some, "nope"), InvalidInputError, "no metric 'nope'"),
        (
            lambda: parallel_chart(some, "rmse", ["depth"]),
            InvalidInputError,
            "unknown parameter.*'depth'.*alpha, model",
        ),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message) as info:
            call()
        assert "\n" not in str(info.value)
    with wb.start_run(name="no-metrics", params={"a": 1}) as bare:
        pass
    wb.flush()
    with pytest.raises(InvalidInputError, match="no metrics"):
        parallel_chart([bare.run_id])


# -- the notebook draws the same specs ---------------------------------------------------


def test_the_compare_widget_shows_the_render_specs():
    ids = _seed()
    cv = compare([ids["ridge-a"], ids["ridge-b"], ids["lasso"]])
    curves_out = cv.curves_output.outputs[0]["data"]["application/vnd.vegalite.v5+json"]
    parallel_out = cv.parallel_output.outputs[0]["data"]["application/vnd.vegalite.v5+json"]
    assert curves_out is cv.curves_spec and parallel_out is cv.parallel_spec
    # The builder the panel's charts come from, with the widget's own labels and size.
    history = wb.metric_history(list(ids.values()), "loss")
    series = [
        {"label": name, "key": "loss", "steps": g["step"].to_numpy(), "values": g["value"].to_numpy()}
        for name, (_rid, g) in zip(["ridge-a", "ridge-b", "lasso"], history.groupby("run_id", sort=False))
    ]
    expected = charts.metric_curves_spec(
        series, ["ridge-a", "ridge-b", "lasso"], max_points=charts.SAVED_CURVE_POINTS
    )
    assert curves_out == expected
    served = parallel_chart(list(ids.values()), "r2")
    assert parallel_out["encoding"]["x"]["sort"] == served["encoding"]["x"]["sort"]
    assert parallel_out["mark"] == served["mark"]
    for channel in ("y", "color", "detail", "order"):
        assert parallel_out["encoding"][channel] == served["encoding"][channel]
    assert parallel_out["width"] == charts.parallel_width(3) <= charts.PARALLEL_MAX_WIDTH
    # The altair charts the widget exposes are those specs too.
    assert cv.parallel_chart.to_dict()["encoding"]["x"]["sort"] == parallel_out["encoding"]["x"]["sort"]
    _validate(curves_out)
    _validate(parallel_out)
