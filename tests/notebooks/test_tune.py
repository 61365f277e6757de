"""Optuna search over a notebook: real optuna, real kernels (papermill), a real journal."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest

import workbench as wb
from workbench.comparison import origin_column
from workbench.rerun import parse_distribution, tune_history
from workbench.store import get_store

from .conftest import make_notebook

pytestmark = pytest.mark.slow

# The loss curve falls towards (x - 2)^2: the best x is 2. With ``pause`` each step
# waits, so a pruner has time to see the points while the notebook runs.
QUADRATIC = [
    ("x = 0.0\nmode = 'fast'\npause = 0.0", ["parameters"]),
    "%load_ext workbench",
    "%%track --name fit\n"
    "import time\n"
    "import workbench as wb\n"
    "if mode == 'boom':\n"
    "    raise RuntimeError('this mode cannot train')\n"
    "for step in range(30):\n"
    "    wb.log_metric('loss', (x - 2) ** 2 + 1 / (step + 1), step=step)\n"
    "    time.sleep(pause)\n",
]


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "quad.ipynb"
    make_notebook(path, QUADRATIC)
    return path


def test_six_trials_two_at_a_time_then_resumed_for_four_more(notebook, store_dir):
    space = {"x": optuna.distributions.FloatDistribution(-5, 5)}
    study = wb.tune(
        notebook, space, objective="metrics.loss", n_trials=6, jobs=2,
        sampler=optuna.samplers.TPESampler(seed=0), pruner=optuna.pruners.NopPruner(), progress=False,
    )  # fmt: skip
    assert isinstance(study, optuna.Study) and study.study_name == "quad-loss"
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 6
    tune_id = study.user_attrs["workbench.tune_id"]
    df = wb.runs(order_by="attributes.start_time ASC")
    assert len(df) == 6 and set(df["source"]) == {"tune"} and set(df["tags.tune_id"]) == {tune_id}
    assert sorted(df["tags.trial"].astype(int)) == list(range(6))
    assert set(origin_column(df)) == {f"tune {tune_id[:8]}"}
    # Each trial's value is its run's final loss; its parameters were injected.
    for t in study.trials:
        (run_id,) = t.user_attrs["run_ids"]
        rec = wb.get_run(run_id)
        assert rec.metrics["loss"] == pytest.approx(t.value)
        assert float(rec.params["x"]) == pytest.approx(t.params["x"])
        assert rec.tags["trial"] == str(t.number) and rec.tags["objective"] == "loss"
    assert (store_dir / "optuna" / "journal.log").exists()

    # The same study name resumes: 4 more trials, numbered on, same tune id. (With the
    # default median pruner, a trial worse than the median at its steps may be pruned.)
    again = wb.tune(notebook, space, objective="metrics.loss", n_trials=4, jobs=2, progress=False)
    assert len(again.trials) == 10 and [t.number for t in again.trials[6:]] == [6, 7, 8, 9]
    assert {t.state.name for t in again.trials[6:]} <= {"COMPLETE", "PRUNED"}, [
        (t.number, t.state.name, t.user_attrs.get("error")) for t in again.trials
    ]
    assert again.user_attrs["workbench.tune_id"] == tune_id
    assert again.best_value == min(t.value for t in again.trials if t.state.name == "COMPLETE")
    history = tune_history(tune_id[:6])
    assert [t["trial"] for t in history["trials"]] == list(range(10))
    assert [t["state"] for t in history["trials"]] == [t.state.name.lower() for t in again.trials]
    best = [t["best_so_far"] for t in history["trials"]]
    assert best == sorted(best, reverse=True) and best[-1] == pytest.approx(again.best_value)
    assert history["best"]["trial"] == again.best_trial.number
    assert float(history["best"]["params"]["x"]) == pytest.approx(again.best_params["x"])


def test_a_pruned_trial_and_a_failed_notebook(notebook):
    # A loss above 3 is hopeless: (4 - 2)^2 + 1/(step+1) always is. The slow trial pauses
    # 0.3 s a step (30 steps): pruned long before its end.
    study = wb.tune(
        notebook,
        {
            "mode": optuna.distributions.CategoricalDistribution(["boom", "slow"]),
            "pause": "cat:0.3",
            "x": "cat:4.0",
        },
        objective="metrics.loss",
        n_trials=2,
        jobs=2,
        sampler=optuna.samplers.GridSampler({"mode": ["boom", "slow"], "pause": [0.3], "x": [4.0]}),
        pruner=optuna.pruners.ThresholdPruner(upper=3.0),
        study="prune-test",
        progress=False,
    )
    states = {t.params["mode"]: t for t in study.trials}
    assert states["boom"].state.name == "FAIL" and "RuntimeError" in states["boom"].user_attrs["error"]
    pruned = states["slow"]
    assert pruned.state.name == "PRUNED" and "pruned by optuna at step" in pruned.user_attrs["error"]
    (run_id,) = pruned.user_attrs["run_ids"]
    rec = wb.get_run(run_id)
    assert rec.status == "killed" and "pruned" in rec.tags
    steps = len(get_store(None).metric_history([run_id], ["loss"]))
    assert 1 <= steps < 30  # stopped mid-way, what it logged kept
    (failed,) = states["boom"].user_attrs["run_ids"]
    assert wb.get_run(failed).status == "failed"
    history = tune_history("prune-test")
    assert sorted(t["state"] for t in history["trials"]) == ["fail", "pruned"] and history["best"] is None


def test_bad_input_is_one_line(notebook, tmp_path):
    cases = [
        (lambda: wb.tune(notebook, {"nope": "float:0:1"}), "nope"),
        (lambda: wb.tune(notebook, {"x": "float:1"}), "needs a low and a high bound"),
        (lambda: wb.tune(notebook, {"x": "gauss:0:1"}), "unknown kind 'gauss'"),
        (lambda: wb.tune(notebook, {"x": 3}), "give an Optuna distribution"),
        (lambda: wb.tune(notebook, {}), "space must map parameter names"),
        (lambda: wb.tune(notebook, {"x": "float:0:1"}, objective="params.x"), "must be a metric"),
        (lambda: wb.tune(notebook, {"x": "float:0:1"}, direction="down"), "'minimize' or 'maximize'"),
        (lambda: wb.tune(notebook, {"x": "float:0:1"}, n_trials=0), "n_trials must be a positive integer"),
        (lambda: wb.tune(notebook, {"x": "float:0:1"}, study="a b/c"), "study must be a name"),
        (lambda: wb.tune(notebook, {"x": "float:0:1"}, executor=42), "dask.distributed Client"),
        (lambda: wb.tune(tmp_path / "none.ipynb", {"x": "float:0:1"}), "does not exist"),
        (lambda: parse_distribution("int:1:2:step=x"), "the step must be an integer"),
    ]
    for call, message in cases:
        with pytest.raises(wb.InvalidInputError, match=message) as e:
            call()
        assert "\n" not in str(e.value)
    assert wb.runs().empty  # nothing ran

    r = subprocess.run(
        [sys.executable, "-m", "workbench", "tune", str(notebook), "-p", "x", "float:0", "--trials", "1"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "needs a low and a high bound" in r.stderr


def test_the_command_line_tunes_and_prints_the_best(notebook):
    r = subprocess.run(
        [sys.executable, "-m", "workbench", "tune", str(notebook), "-p", "x", "float:-3:3", "--objective",
         "metrics.loss", "--minimize", "--trials", "2", "--jobs", "2", "--seed", "1", "--study", "cli"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("complete") == 2 and "study cli: best trial" in r.stderr
