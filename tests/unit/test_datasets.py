"""Datasets and models recorded with content hashes: use_dataset, log_artifact, log_model."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading

import pandas as pd
import pytest

import workbench as wb
from workbench.errors import InvalidInputError


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, 2.0, None, 4.0], "name": ["a", "b", "b", "c"]})


def test_a_file_dataset_records_its_sha256_size_and_a_duckdb_profile(tmp_path):
    path = tmp_path / "train.csv"
    _frame().to_csv(path, index=False)
    with wb.start_run(watch_files=False) as run:
        digest = wb.use_dataset(path, name="train")
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    (art,) = wb.get_run(run.run_id).artifacts
    assert (art["kind"], art["direction"], art["name"], art["size"]) == (
        "dataset",
        "input",
        "train",
        path.stat().st_size,
    )
    assert art["stored_path"] is None  # inputs are hashed, not copied
    meta = art["meta"]
    assert meta["rows"] == 4 and meta["role"] == "training"
    cols = {c["name"]: c for c in meta["profile"]["columns"]}
    assert cols["x"]["nulls"] == 1 and cols["x"]["mean"] == pytest.approx(7 / 3)
    assert cols["x"]["min"] == 1 and cols["x"]["max"] == 4
    # std (sample) and exact quartiles over the non-null 1, 2, 4.
    assert cols["x"]["std"] == pytest.approx((7 / 3) ** 0.5)
    assert (cols["x"]["q25"], cols["x"]["q50"], cols["x"]["q75"]) == (1.5, 2.0, 3.0)
    assert cols["name"]["distinct"] == 3 and cols["name"]["type"] == "VARCHAR"


def test_dataframe_hash_is_stable_across_processes_and_changes_with_content():
    with wb.start_run(watch_files=False):
        here = wb.use_dataset(_frame(), name="df")
        changed = _frame()
        changed.loc[0, "x"] = 1.5
        other = wb.use_dataset(changed, name="df2")
    code = (
        "import pandas as pd; from workbench.datasets import hash_dataframe;"
        "df = pd.DataFrame({'x': [1.0, 2.0, None, 4.0], 'name': ['a', 'b', 'b', 'c']});"
        "print(hash_dataframe(df)[0])"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert here == there
    assert other != here


def test_an_unhashable_dataframe_falls_back_to_repr_and_says_so():
    df = pd.DataFrame({"tags": [["a"], ["b", "c"]], "n": [1, 2]})
    with wb.start_run(watch_files=False) as run:
        with pytest.warns(UserWarning, match="'tags' hold unhashable values"):
            wb.use_dataset(df, name="weird")
    (art,) = wb.get_run(run.run_id).artifacts
    assert art["meta"]["hash_method"] == "repr"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("missing.csv", "dataset 'missing.csv' does not exist"),
        (".", "is not a file"),
        (42, "use_dataset takes a file path or a pandas DataFrame, got int"),
    ],
)
def test_bad_datasets_are_refused_and_nothing_recorded_is_lost(data, message):
    with wb.start_run(watch_files=False) as run:
        wb.log_metric("loss", 1.0)
        with pytest.raises(InvalidInputError, match=message):
            wb.use_dataset(data)
        wb.log_metric("loss", 0.5, step=1)
    rec = wb.get_run(run.run_id)
    assert rec.metrics == {"loss": 0.5} and rec.artifacts == [] and rec.status == "finished"


def test_a_bad_role_is_refused():
    with wb.start_run(watch_files=False):
        with pytest.raises(InvalidInputError, match="role must be 'training' or 'evaluation'"):
            wb.use_dataset(_frame(), role="test")


def test_identical_content_is_stored_once(tmp_path, store_dir):
    (tmp_path / "a.bin").write_bytes(b"same bytes" * 1000)
    (tmp_path / "b.bin").write_bytes(b"same bytes" * 1000)
    with wb.start_run(watch_files=False) as run:
        d1 = wb.log_artifact(tmp_path / "a.bin")
        d2 = wb.log_artifact(tmp_path / "b.bin")
    assert d1 == d2
    blobs = [p for p in (store_dir / "artifacts").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    assert len(wb.get_run(run.run_id).artifacts) == 2


def test_a_large_file_is_hashed_in_chunks(tmp_path):
    path = tmp_path / "big.bin"
    block = bytes(range(256)) * 4096  # 1 MiB
    with open(path, "wb") as f:
        for i in range(24):
            f.write(block[i:] + block[:i])
    with wb.start_run(watch_files=False):
        digest = wb.log_artifact(path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_log_model_saves_an_object_that_loads_back_through_the_registry():
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=0.5).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    with wb.start_run(watch_files=False) as run:
        wb.log_model(model, name="ridge")
        wb.log_metric("rmse", 0.1)
    (art,) = wb.get_run(run.run_id).artifacts
    assert (art["kind"], art["direction"], art["path"]) == ("model", "output", "ridge.joblib")
    assert art["meta"]["class"] == "sklearn.linear_model._ridge.Ridge"
    assert art["meta"]["task"] == "tabular-regression"
    wb.register_model(run.run_id, "ridge")
    loaded = wb.load_model("ridge")
    assert loaded.alpha == 0.5 and loaded.predict([[3.0]])[0] == pytest.approx(model.predict([[3.0]])[0])


def test_an_object_that_cannot_be_pickled_is_refused_and_the_run_keeps_its_data():
    with wb.start_run(watch_files=False) as run:
        wb.log_metric("rmse", 1.0)
        with pytest.raises(
            InvalidInputError, match=r"cannot save model of type _thread\.lock.*accepts an object"
        ):
            wb.log_model(threading.Lock())
    rec = wb.get_run(run.run_id)
    assert rec.metrics == {"rmse": 1.0} and rec.artifacts == []


def test_log_model_of_a_missing_path_is_refused():
    with wb.start_run(watch_files=False):
        with pytest.raises(InvalidInputError, match="model 'nope.pt' does not exist"):
            wb.log_model("nope.pt")


def test_compare_says_when_runs_trained_on_different_data(tmp_path):
    from click.testing import CliRunner

    from workbench.cli import cli
    from workbench.comparison import dataset_diff
    from workbench.store import get_store

    ids = []
    for scale in (1.0, 3.0):
        frame = pd.DataFrame({"x": [scale, 2 * scale, 3 * scale], "name": ["a", "b", "c"]})
        with wb.start_run(name=f"s{scale}", watch_files=False) as run:
            wb.use_dataset(frame, name="train")
            wb.use_dataset(pd.DataFrame({"y": [1, 2]}), name="holdout")
            wb.log_metric("rmse", scale)
        ids.append(run.run_id)
    wb.flush()
    diff = dataset_diff(get_store(), ids)
    assert diff["differ"] is True
    train, holdout = diff["rows"]
    assert (train["name"], train["same"], holdout["same"], holdout["role"]) == (
        "train",
        False,
        True,
        "evaluation",
    )
    assert {"column": "x", "stat": "mean", "values": [2, 6]} in train["drift"]
    assert not holdout["drift"]
    out = CliRunner().invoke(cli, ["compare", *ids])
    assert "* data.train" in out.output and "x.mean" in out.output
    assert "These runs trained on different data" in out.output
    html = wb.compare(ids).static_html()
    assert "These runs trained on different data" in html and "wb-drift" in html
