"""MLflow's own API against ``workbench:``: the same script against MLflow's sqlite store
gives the same search results, metric histories and params; and Workbench sees the runs."""

from __future__ import annotations

import math

import mlflow  # a missing reference library fails the suite, never skips it
import pytest
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

import workbench as wb

from .conftest import _reset_mlflow  # noqa: E402

T0 = 1_767_225_600_000  # fixed timestamps: both stores get identical points


def _script() -> dict[str, str]:
    """One MLflow script: runs with params, metric loops (sync and async), tags, a child run."""
    mlflow.set_experiment("diff")
    ids = {}
    for i, (alpha, model) in enumerate([(0.1, "ridge"), (1.0, "lasso"), (10.0, "ridge"), (0.5, "gbr")]):
        with mlflow.start_run(run_name=f"run-{i}", tags={"team": "a" if i % 2 else "b"}) as run:
            ids[f"run-{i}"] = run.info.run_id
            mlflow.log_params({"alpha": alpha, "model": model})
            for step in range(20):
                mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step, timestamp=T0 + 1000 * step)
            mlflow.log_metric("rmse", 50.0 + i * 3.5, timestamp=T0)
            mlflow.log_metric("rmse", 48.0 + i * 3.5, step=1, timestamp=T0 + 5)
            mlflow.log_metric("nan_metric", math.nan, timestamp=T0)
            for step in range(5):  # MLflow's async logging
                mlflow.log_metric(
                    "async_acc", 0.5 + step / 10, step=step, timestamp=T0 + step, synchronous=False
                )
            mlflow.set_tag("stage", "dev" if i < 2 else "prod")
            if i == 0:
                with mlflow.start_run(run_name="child", nested=True) as child:
                    ids["child"] = child.info.run_id
                    mlflow.log_metric("loss", 0.01, timestamp=T0)
    mlflow.flush_async_logging()
    return ids


FILTERS = [
    ("", ["metrics.rmse ASC"]),
    ("metrics.rmse < 55", ["params.alpha DESC"]),
    ("params.model = 'ridge'", ["metrics.rmse DESC"]),
    ("tags.team = 'a' and metrics.loss > 0.05", ["attributes.run_name ASC"]),
    ("attributes.status = 'FINISHED' and params.alpha != '1.0'", ["metrics.loss ASC", "attributes.run_name"]),
    ("tags.mlflow.runName LIKE 'run-%'", ["tags.stage DESC", "metrics.rmse"]),
    ("attributes.run_name ILIKE 'RUN-%' and tags.stage = 'prod'", ["metrics.async_acc DESC"]),
    ("tags.`mlflow.parentRunId` != ''", ["metrics.loss"]),
    ("params.alpha IS NULL", ["attributes.run_name"]),
]


def _view(client: MlflowClient, exp_id: str) -> dict:
    """What the differential test compares: search results, histories, params, tags."""
    out = {}
    for flt, order in FILTERS:
        runs = client.search_runs([exp_id], flt, order_by=order, max_results=1000)
        out[(flt, tuple(order))] = [
            (
                r.info.run_name,
                r.info.status,
                r.info.lifecycle_stage,
                r.data.params,
                {k: ("nan" if math.isnan(v) else v) for k, v in r.data.metrics.items()},
                {k: v for k, v in r.data.tags.items() if k in ("team", "stage", "mlflow.runName")},
                "mlflow.parentRunId" in r.data.tags,
            )
            for r in runs
        ]
    runs = client.search_runs([exp_id], "", order_by=["attributes.run_name"])
    for r in runs:
        for key in r.data.metrics:
            out[(r.info.run_name, key)] = [
                (m.key, m.step, "nan" if math.isnan(m.value) else m.value, m.timestamp)
                for m in client.get_metric_history(r.info.run_id, key)
            ]
    # Paging: two at a time through page tokens, same sequence.
    pages, token = [], None
    while True:
        page = client.search_runs(
            [exp_id], "", order_by=["metrics.rmse DESC"], max_results=2, page_token=token
        )
        pages.append([r.info.run_name for r in page])
        token = page.token
        if not token:
            break
    out["pages"] = pages
    return out


def test_same_script_same_results_as_mlflow_sqlite(wb_store, tmp_path):
    ids = _script()
    ours = _view(MlflowClient(), mlflow.get_experiment_by_name("diff").experiment_id)
    _reset_mlflow()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    _script()
    theirs = _view(MlflowClient(), mlflow.get_experiment_by_name("diff").experiment_id)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        assert ours[key] == theirs[key], key
    assert len(ours[("run-0", "loss")]) == 20 and ours["pages"] == [
        ["run-3", "run-2"],
        ["run-1", "run-0"],
        ["child"],
    ]

    # Workbench sees the same runs: names, params, latest metrics, parent, experiment.
    _reset_mlflow()
    df = wb.runs(experiment="diff", order_by="attributes.run_name")
    assert list(df.run_name) == ["child", "run-0", "run-1", "run-2", "run-3"]
    assert df.set_index("run_name").loc["run-2", "params.alpha"] == "10.0"
    assert df.set_index("run_name").loc["run-1", "metrics.rmse"] == pytest.approx(51.5)
    child = wb.get_run(ids["child"])
    assert child.parent_run_id == ids["run-0"] and child.status == "finished" and child.source == "mlflow"
    hist = wb.metric_history(ids["run-0"], "async_acc")
    assert list(hist.step) == [0, 1, 2, 3, 4] and hist.value.iloc[-1] == pytest.approx(0.9)


def test_workbench_runs_read_back_through_mlflow(wb_store):
    with wb.start_run(name="native", experiment="wbexp", params={"lr": 0.1}) as run:
        for i in range(3):
            wb.log_metric("loss", 1.0 - i / 10, step=i)
        with wb.start_run(name="inner", nested=True) as inner:
            wb.log_metric("x", 1.0)
    wb.flush()
    client = MlflowClient()
    got = client.get_run(run.run_id)
    assert got.info.run_name == "native" and got.info.status == "FINISHED"
    assert got.data.params == {"lr": "0.1"} and got.data.metrics == {"loss": pytest.approx(0.8)}
    assert got.data.tags["mlflow.runName"] == "native"
    assert client.get_run(inner.run_id).data.tags["mlflow.parentRunId"] == run.run_id
    assert [m.value for m in client.get_metric_history(run.run_id, "loss")] == pytest.approx([1.0, 0.9, 0.8])
    exp = mlflow.get_experiment_by_name("wbexp")
    found = mlflow.search_runs([exp.experiment_id], "metrics.loss < 0.85", output_format="list")
    assert [r.info.run_id for r in found] == [run.run_id]


def test_experiments_runs_lifecycle_and_errors(wb_store):
    client = MlflowClient()
    exp_id = client.create_experiment("life", tags={"owner": "me"})
    assert client.get_experiment(exp_id).name == "life"
    assert client.get_experiment_by_name("life").tags == {"owner": "me"}
    assert client.get_experiment_by_name("nope") is None
    assert client.get_experiment("0").name == "Default"
    with pytest.raises(MlflowException, match="already exists"):
        client.create_experiment("life")
    run = client.create_run(exp_id, run_name="r1")
    client.log_param(run.info.run_id, "a", 1)
    client.log_param(run.info.run_id, "a", 1)  # same value: fine, as in MLflow
    with pytest.raises(MlflowException, match="Changing param values is not allowed"):
        client.log_param(run.info.run_id, "a", 2)
    client.set_tag(run.info.run_id, "mlflow.runName", "renamed")
    assert wb.get_run(run.info.run_id).run_name == "renamed"
    client.update_run(run.info.run_id, status="KILLED")
    assert wb.get_run(run.info.run_id).status == "killed"
    client.delete_run(run.info.run_id)
    assert wb.get_run(run.info.run_id).deleted
    assert [r.info.run_id for r in client.search_runs([exp_id], run_view_type=2)] == [run.info.run_id]
    assert client.search_runs([exp_id]) == []
    with pytest.raises(MlflowException, match="must be in the 'active' state"):
        client.log_metric(run.info.run_id, "m", 1.0)
    client.restore_run(run.info.run_id)
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert wb.get_run(run.info.run_id).deleted  # its runs too, as in MLflow
    assert "life" not in [e.name for e in client.search_experiments()]
    client.restore_experiment(exp_id)
    assert not wb.get_run(run.info.run_id).deleted
    assert [e.name for e in client.search_experiments(filter_string="name LIKE 'li%'")] == ["life"]
    with pytest.raises(MlflowException, match="not found"):
        client.get_run("0" * 32)
    with pytest.raises(MlflowException, match="does not support renaming experiments"):
        client.rename_experiment(exp_id, "other")
    with pytest.raises(MlflowException, match="Workbench store .* does not support") as err:
        client.search_traces(locations=[exp_id])
    assert isinstance(err.value, NotImplementedError)
    with pytest.raises(MlflowException, match="invalid filter"):
        client.search_runs([exp_id], "metrics.x <")


def test_log_inputs_become_workbench_datasets(wb_store):
    import pandas as pd

    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    ds = mlflow.data.from_pandas(df, name="toy", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(ds, context="training")
        mlflow.log_input(ds, context="training")  # the same input again: recorded once
    rec = wb.get_run(run.info.run_id)
    datasets = [a for a in rec.artifacts if a["kind"] == "dataset"]
    assert len(datasets) == 1 and datasets[0]["name"] == "toy" and datasets[0]["sha256"] == ds.digest
    assert datasets[0]["meta"]["role"] == "training" and datasets[0]["meta"]["rows"] == 3
    assert list(wb.runs("datasets.name = 'toy'").run_id) == [run.info.run_id]
    back = MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    assert [(d.dataset.name, d.dataset.digest) for d in back] == [("toy", ds.digest)]


def test_artifacts_go_to_the_content_addressed_store(wb_store, tmp_path):
    f = tmp_path / "report.txt"
    f.write_text("same bytes")
    with mlflow.start_run() as a:
        mlflow.log_artifact(str(f), "reports")
        mlflow.log_dict({"k": 1}, "config.json")
    with mlflow.start_run() as b:
        mlflow.log_artifact(str(f))
    arts_a = {x["name"]: x for x in wb.get_run(a.info.run_id).artifacts}
    arts_b = {x["name"]: x for x in wb.get_run(b.info.run_id).artifacts}
    assert arts_a["reports/report.txt"]["sha256"] == arts_b["report.txt"]["sha256"]
    assert arts_a["reports/report.txt"]["stored_path"] == arts_b["report.txt"]["stored_path"]  # stored once
    client = MlflowClient()
    assert [x.path for x in client.list_artifacts(a.info.run_id)] == ["config.json", "reports"]
    assert mlflow.artifacts.load_dict(f"runs:/{a.info.run_id}/config.json") == {"k": 1}
    assert mlflow.artifacts.load_text(f"{a.info.artifact_uri}/reports/report.txt") == "same bytes"


def test_bad_uri_is_one_clear_line(wb_store):
    with pytest.raises(MlflowException, match="names a host"):
        MlflowClient(tracking_uri="workbench://somehost/x").search_experiments()
