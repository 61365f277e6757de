"""The command line: help everywhere, output formats, and one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

import workbench as wb
from workbench.cli import cli


def _commands(group=cli, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))


def invoke(*args):
    return CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)


def test_every_command_has_help():
    result = invoke("--help")
    assert result.exit_code == 0 and "Commands:" in result.output
    names = [path for path, _ in _commands()]
    assert {("runs",), ("show",), ("compare",), ("delete",), ("restore",), ("demo",)} <= set(names)
    assert {("lineage",), ("card",), ("models",), ("models", "register"), ("models", "compare")} <= set(names)
    for path, cmd in _commands():
        assert cmd.help and len(cmd.help.strip()) > 20, f"{path} has no real help text"
        res = invoke(*path, "--help")
        assert res.exit_code == 0 and "Usage:" in res.output, path


@pytest.fixture
def two_runs():
    ids = []
    for alpha, rmse in [(0.1, 50.0), (0.5, 60.0)]:
        with wb.start_run(name=f"a{alpha}", experiment="cli", params={"alpha": alpha, "model": "ridge"}) as r:
            wb.log_metric("rmse", rmse)
            ids.append(r.run_id)
    wb.flush()
    return ids


def test_runs_table_csv_json(two_runs):
    out = invoke("runs", "--order-by", "metrics.rmse DESC").output
    lines = out.splitlines()
    assert "a0.5" in lines[1] and "a0.1" in lines[2]
    csv = pd.read_csv(io.StringIO(invoke("runs", "--format", "csv", "-f", "metrics.rmse < 55").output))
    assert list(csv["run_name"]) == ["a0.1"]
    assert csv["params.alpha"].tolist() == [0.1]
    records = json.loads(invoke("runs", "--format", "json", "-e", "cli").output)
    assert {r["run_name"] for r in records} == {"a0.1", "a0.5"}
    assert invoke("runs", "-e", "nope").output.strip() == "no runs match"


def test_show_and_compare(two_runs):
    out = invoke("show", two_runs[0][:7]).output
    assert two_runs[0] in out and "alpha" in out and "rmse" in out
    data = json.loads(invoke("show", two_runs[0], "--format", "json").output)
    assert data["params"]["alpha"] == "0.1"
    out = invoke("compare", two_runs[0][:8], two_runs[1][:8]).output
    assert "* params.alpha" in out and "params.model" not in out
    assert "50.00 (best)" in out  # the lower rmse is marked best (one number format per column)
    assert "params.model" in invoke("compare", "--all", *two_runs).output
    data = json.loads(invoke("compare", "--format", "json", *two_runs).output)
    assert data["differing_params"] == ["alpha"]


def test_delete_and_restore(two_runs):
    assert "deleted" in invoke("delete", two_runs[0][:8]).output
    assert "a0.1" not in invoke("runs").output
    assert "a0.1" in invoke("runs", "--deleted").output
    invoke("restore", two_runs[0][:8])
    assert "a0.1" in invoke("runs").output


@pytest.mark.parametrize(
    "args, message",
    [
        (["show", "zzzz"], "no run matches 'zzzz'"),
        (["runs", "-f", "metrics.rmse <"], "invalid filter at position 14"),
        (["runs", "-f", "x = 1; DROP TABLE runs"], "invalid filter at position 0"),
        (["runs", "--order-by", "metrics.rmse UP"], "invalid filter"),
        (["compare", "zzzz", "yyyy"], "no run matches"),
        (["delete", ""], "non-empty"),
    ],
)
def test_errors_are_one_line_with_nonzero_exit_and_no_traceback(two_runs, args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: ") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_ambiguous_prefix_lists_candidates():
    ids = []
    for _ in range(40):
        with wb.start_run() as r:
            ids.append(r.run_id)
    wb.flush()
    prefix = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in ids) > 1)
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "show", prefix], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "ambiguous" in proc.stderr
    assert all(i in proc.stderr for i in ids if i.startswith(prefix))


def test_store_option_overrides_the_environment(tmp_path, two_runs):
    other = tmp_path / "elsewhere"
    res = invoke("--store", str(other), "runs")
    assert res.output.strip() == "no runs yet"
    assert (other / "workbench.duckdb").exists()


def test_demo_records_a_real_sweep(tmp_path, store_dir):
    res = invoke("demo", "--n-estimators", "20", "--dir", str(tmp_path / "demo"))
    assert res.exit_code == 0, res.output
    df = wb.runs(experiment="diabetes-demo")
    assert len(df) == 8 and set(df["status"]) == {"finished"} and (df["source"] == "sweep").all()
    assert df["metrics.rmse"].between(40, 90).all()  # a real fit on real data
    hist = wb.metric_history(df["run_id"][0], "val_rmse")
    assert hist["step"].tolist() == list(range(20))
    rec = wb.get_run(df["run_id"][0])
    assert rec.context["notebook_sha"]  # demo runs can be rerun like any notebook run
    assert "best vs worst" in res.output and "* params." in res.output
    # Two notebooks at a time: the progress bar counted two running at once, never three.
    assert "running=2" in res.output and "running=3" not in res.output
    champion = wb.get_model_version("diabetes@champion")
    by_rmse = df.sort_values("metrics.rmse")["run_id"].tolist()
    assert champion.run_id == by_rmse[0]
    assert wb.get_model_version("diabetes@challenger").run_id == by_rmse[1]
    card = (tmp_path / "demo" / "diabetes-model-card.md").read_text()
    assert "Not for clinical decisions." in card and "diabetes-val" in card
    # Python and the key packages of the environment the run recorded.
    env = next(ln for ln in card.splitlines() if ln.startswith("- **Environment**: Python 3."))
    assert "scikit-learn " in env and "numpy " in env, env
    assert (tmp_path / "demo" / "diabetes-model-card.html").read_text().startswith("<!DOCTYPE html>")


def test_import_is_light():
    code = "import sys, workbench; print(sorted(m for m in ('duckdb','pandas','pyarrow','numpy','jupyter_server','papermill','ipywidgets','tornado') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_functions_are_not_shadowed_by_submodules():
    # A submodule named like a public function replaces it once imported.
    import importlib

    import workbench

    for name in workbench.__all__:
        assert not isinstance(getattr(workbench, name), type(importlib)), name


def test_runs_table_hides_autologged_params_unless_wide():
    with wb.start_run(name="auto", params={"alpha": 1, "Ridge.fit_intercept": True}):
        pass
    wb.flush()
    narrow = invoke("runs").output
    assert "alpha" in narrow and "fit_intercept" not in narrow
    assert "fit_intercept" in invoke("runs", "--wide").output


def test_runs_table_hides_system_metrics_unless_wide():
    # A dozen system/ columns before the model's own metrics hid what matters (the demo).
    with wb.start_run(name="sys", params={"alpha": 1}):
        wb.log_metric("rmse", 1.5)
        wb.log_metric("system/cpu_utilization_percentage", 80.0)
    wb.flush()
    narrow = invoke("runs").output
    header = narrow.splitlines()[0].split()
    assert "rmse" in header and "alpha" in header
    assert not any(h.startswith("system/") for h in header), header
    assert "system/cpu_utilization_percentage" in invoke("runs", "--wide").output.splitlines()[0]
    from workbench.formatting import runs_table

    assert "system/" not in runs_table(wb.runs()).splitlines()[0]
    assert "system/" in runs_table(wb.runs(), wide=True).splitlines()[0]


def test_experiments_limit_origin_reruns_and_alias_delete():
    with wb.start_run(name="base", experiment="e1", params={"alpha": 1}) as base:
        wb.log_metric("rmse", 2.0)
        wb.log_model({"w": 1}, name="m")
    with wb.start_run(name="again", experiment="e1", source="rerun", parent_run_id=base.run_id) as again:
        wb.log_metric("rmse", 1.0)
    with wb.start_run(name="other", experiment="e2"):
        pass
    wb.flush()
    # `experiments`: each with its run count.
    assert invoke("experiments").output.split() == ["e2", "1", "runs", "e1", "2", "runs"]
    # `runs -n 1`: the newest only; its origin names the run it came from.
    listed = invoke("runs", "-e", "e1", "-n", "1").output.splitlines()
    assert len(listed) == 2 and listed[1].split()[:6] == [again.run_id[:8], "again", "e1", "finished"] + [
        "rerun",
        "of",
    ]
    assert f"rerun of {base.run_id[:8]}" in listed[1]
    # `show` lists a run's reruns.
    shown = invoke("show", base.run_id[:8]).output
    assert f"reruns     {again.run_id}" in shown.splitlines()
    # `models alias ... --delete` removes an alias.
    invoke("models", "register", base.run_id[:8], "m", "--alias", "champion")
    assert wb.get_model_version("m@champion").version == 1
    out = invoke("models", "alias", "m", "champion", "1", "--delete")
    assert out.exit_code == 0, out.output
    assert [v.aliases for v in wb.models("m")] == [[]]
