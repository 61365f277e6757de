"""Importers and the exporter: MLflow (sqlite and mlruns) and TensorBoard imported twice
and checked value by value against the source; export to MLflow; bad input."""

from __future__ import annotations

import math
import os
import shutil
import sqlite3

import mlflow  # a missing reference library fails the suite, never skips it
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient  # noqa: E402

import workbench as wb
from workbench.cli import cli

from .conftest import _reset_mlflow  # noqa: E402


def _fill_mlflow(uri: str, tmp_path) -> list[str]:
    """An MLflow store with runs, a child, an artifact, a deleted run, a logged and
    registered model with an alias."""
    from sklearn.linear_model import Ridge

    _reset_mlflow()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("src")
    ids = []
    for i in range(3):
        with mlflow.start_run(run_name=f"r{i}", tags={"k": str(i)}) as run:
            ids.append(run.info.run_id)
            mlflow.log_params({"alpha": i / 10, "name": f"n{i}"})
            for step in range(30):
                mlflow.log_metric("loss", 1 / (step + 1) + i, step=step)
            mlflow.log_metric("bad", math.nan)
            if i == 0:
                with mlflow.start_run(run_name="kid", nested=True) as kid:
                    ids.append(kid.info.run_id)
                    mlflow.log_metric("x", 1.0)
                (tmp_path / "note.txt").write_text("note")
                mlflow.log_artifact(str(tmp_path / "note.txt"), "docs")
                info = mlflow.sklearn.log_model(Ridge().fit([[0], [1]], [0, 1]), name="model")
    mlflow.register_model(info.model_uri, "ridge")
    MlflowClient().set_registered_model_alias("ridge", "champion", "1")
    MlflowClient().delete_run(ids[3])
    _reset_mlflow()
    return ids


def _check_same(uri: str, ids: list[str], store) -> None:
    """Every run of the MLflow source, value by value, in the Workbench store."""
    client = MlflowClient(tracking_uri=uri)
    for run_id in ids:
        src = client.get_run(run_id)
        got = wb.get_run(run_id, store=store)
        assert got.run_name == src.info.run_name
        assert got.status.upper() == src.info.status
        assert (got.start_time, got.end_time) == (src.info.start_time, src.info.end_time)
        assert got.deleted == (src.info.lifecycle_stage == "deleted")
        assert got.params == src.data.params
        assert {k: v for k, v in got.tags.items() if k in src.data.tags} == src.data.tags
        assert got.parent_run_id == src.data.tags.get("mlflow.parentRunId")
        for key in src.data.metrics:
            theirs = sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key))
            ours = wb.metric_history(run_id, key, store=store)
            ms = (ours.timestamp - pd.Timestamp(0, tz="UTC")) // pd.Timedelta("1ms")
            mine = sorted(zip(ours.step, ms, ours.value))
            assert len(mine) == len(theirs)
            for a, b in zip(mine, theirs):
                assert a[:2] == b[:2] and (a[2] == b[2] or (math.isnan(a[2]) and math.isnan(b[2])))


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory):
    """An MLflow sqlite store filled once (creating one costs seconds); tests copy it."""
    d = tmp_path_factory.mktemp("mlflow-src")
    old = os.getcwd()
    os.chdir(d)
    try:
        ids = _fill_mlflow(f"sqlite:///{d / 'mlflow.db'}", d)
    finally:
        os.chdir(old)
    return d / "mlflow.db", ids


@pytest.mark.parametrize("kind", ["sqlite", "mlruns"])
def test_import_mlflow_twice(kind, tmp_path, monkeypatch, sqlite_source):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # to write the mlruns source
    if kind == "sqlite":
        shutil.copy(sqlite_source[0], tmp_path / "mlflow.db")
        uri, ids = f"sqlite:///{tmp_path / 'mlflow.db'}", sqlite_source[1]
    else:
        uri = str(tmp_path / "mlruns")
        ids = _fill_mlflow((tmp_path / "mlruns").as_uri(), tmp_path)
    store = tmp_path / "wb" / ".workbench"
    first = wb.import_mlflow(uri, store=store)
    assert (first.added, first.updated, first.unchanged) == (4, 0, 0) and first.model_versions == 1
    _check_same(uri if kind == "sqlite" else (tmp_path / "mlruns").as_uri(), ids, store)
    # The artifact, the logged model and the registry came along.
    arts = {a["name"]: a for a in wb.get_run(ids[0], store=store).artifacts}
    assert open(arts["docs/note.txt"]["stored_path"]).read() == "note"
    assert arts["model"]["kind"] == "model"
    assert wb.get_model_version("ridge@champion", store=store).run_id == ids[0]
    counts = (len(wb.runs(store=store, include_deleted=True)), len(wb.metric_history(ids, store=store)))

    second = wb.import_mlflow(uri, store=store)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 4)
    assert (
        len(wb.runs(store=store, include_deleted=True)),
        len(wb.metric_history(ids, store=store)),
    ) == counts

    # A run that grew in MLflow is updated, not duplicated.
    mlflow.set_tracking_uri(uri if kind == "sqlite" else (tmp_path / "mlruns").as_uri())
    MlflowClient().log_metric(ids[2], "loss", 0.5, step=30)
    _reset_mlflow()
    third = wb.import_mlflow(uri, ["src"], store=store)
    assert (third.added, third.updated, third.unchanged) == (0, 1, 3)
    assert len(wb.metric_history(ids[2], "loss", store=store)) == 31
    _check_same(uri if kind == "sqlite" else (tmp_path / "mlruns").as_uri(), ids, store)


def test_import_tensorboard_twice(tmp_path):
    import numpy as np
    from tensorboardX import SummaryWriter

    logdir = tmp_path / "tb"
    expected = {}
    for name, lr in (("a", 0.1), ("b/c", 0.01)):
        w = SummaryWriter(str(logdir / name))
        for step in range(0, 50, 5):
            w.add_scalar("train/loss", 1.0 / (step + 1), step)
        w.add_scalar("acc", 0.5, 3)
        w.add_hparams({"lr": lr, "opt": "adam", "layers": 3}, {"hp/final": 0.25})
        w.close()
        expected[name] = lr
    bad = logdir / "broken"
    bad.mkdir()
    good = next((logdir / "a").glob("events*")).read_bytes()
    (bad / "events.out.tfevents.1.host").write_bytes(good[:-9])  # truncated
    store = tmp_path / "wb" / ".workbench"
    with pytest.warns(RuntimeWarning, match="skipped unreadable event file .*broken"):
        first = wb.import_tensorboard(logdir, store=store)
    assert (first.added, first.unchanged) == (2, 0) and len(first.skipped_files) == 1
    runs = wb.runs(store=store, order_by="attributes.run_name").set_index("run_name")
    assert list(runs.index) == ["a", "b/c"]  # the hparams subfolder is folded into its run
    for name, lr in expected.items():
        rec = wb.get_run(runs.loc[name, "run_id"], store=store)
        assert rec.params == {"lr": str(lr), "opt": "adam", "layers": "3"}
        assert rec.metrics["hp/final"] == pytest.approx(0.25)
        hist = wb.metric_history(rec.run_id, "train/loss", store=store)
        assert list(hist.step) == list(range(0, 50, 5))
        assert list(hist.value) == [float(np.float32(1.0 / (s + 1))) for s in range(0, 50, 5)]
        assert hist.timestamp.is_monotonic_increasing and rec.start_time <= rec.end_time
    n = len(wb.metric_history(list(runs.run_id), store=store))
    second = wb.import_tensorboard(logdir, store=store)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 2)
    assert len(wb.metric_history(list(runs.run_id), store=store)) == n


def test_export_to_mlflow_twice(tmp_path):
    store = tmp_path / "wb" / ".workbench"
    wb.set_store(str(store))
    try:
        with wb.start_run(name="p", experiment="exp", params={"a": 1}) as parent:
            for i in range(5):
                wb.log_metric("loss", 1.0 - i / 10, step=i)
            with wb.start_run(name="c", experiment="exp", nested=True):
                wb.log_metric("x", 2.0)
        wb.flush()
    finally:
        wb.set_store(None)
    target = f"sqlite:///{tmp_path / 'out.db'}"
    first = wb.export_mlflow(target, store=store)
    assert (first.added, first.points) == (2, 6)
    client = MlflowClient(tracking_uri=target)
    exp = client.get_experiment_by_name("exp")
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert runs["p"].data.params == {"a": "1"} and runs["p"].data.tags["workbench.run_id"] == parent.run_id
    assert runs["c"].data.tags["mlflow.parentRunId"] == runs["p"].info.run_id
    assert [m.value for m in client.get_metric_history(runs["p"].info.run_id, "loss")] == pytest.approx(
        [1.0, 0.9, 0.8, 0.7, 0.6]
    )
    second = wb.export_mlflow(target, store=store)
    assert (second.added, second.unchanged, second.points) == (0, 2, 0)
    assert len(client.search_runs([exp.experiment_id])) == 2


def test_bad_input_one_line_nothing_imported(tmp_path, sqlite_source):
    store = tmp_path / "wb" / ".workbench"
    runner = CliRunner()

    def fails(*args: str) -> str:
        res = runner.invoke(cli, ["--store", str(store), *args])
        text = res.stderr
        assert res.exit_code == 1 and text.count("\n") == 1 and text.startswith("Error: "), text
        return text

    assert "neither an MLflow store nor a server" in fails("import", "mlflow", "ftp://host/x")
    assert "does not exist" in fails("import", "mlflow", f"sqlite:///{tmp_path / 'missing.db'}")
    assert "does not exist" in fails("import", "tensorboard", str(tmp_path / "nothere"))
    (tmp_path / "empty").mkdir()
    assert "no TensorBoard event files" in fails("import", "tensorboard", str(tmp_path / "empty"))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert "not an MLflow store" in fails("import", "mlflow", f"sqlite:///{other}")
    # A database of a schema version this MLflow does not read: refused, untouched.
    src = sqlite_source[0]
    old = tmp_path / "old.db"
    shutil.copy(src, old)
    con = sqlite3.connect(old)
    con.execute("UPDATE alembic_version SET version_num = 'abc123'")
    con.commit()
    con.close()
    before = old.read_bytes()
    assert "schema version" in fails("import", "mlflow", f"sqlite:///{old}")
    assert old.read_bytes() == before
    assert "no experiment 'nope'" in fails("import", "mlflow", f"sqlite:///{src}", "-e", "nope")
    assert "is a Workbench store" in fails("export", "mlflow", "workbench:")
    assert len(wb.runs(store=store, include_deleted=True)) == 0


def test_every_new_command_has_help():
    runner = CliRunner()
    for args in (
        ["import"],
        ["import", "mlflow"],
        ["import", "tensorboard"],
        ["export"],
        ["export", "mlflow"],
    ):
        res = runner.invoke(cli, [*args, "--help"])
        assert res.exit_code == 0 and len(res.output) > 100, args
    assert "mlflow" in runner.invoke(cli, ["export"]).output
