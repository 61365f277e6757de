"""rerun, sweep and reproduce with real kernels (papermill in worker processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest

import workbench as wb
from workbench.rerun import KernelNotFoundError, parse_sweep_args
from workbench.store import get_store

from .conftest import execute, make_notebook

pytestmark = pytest.mark.slow

TRAIN = [
    ("alpha = 1.0\nbeta = 10\nlabel = 'base'", ["parameters"]),
    "%load_ext workbench",
    "data = open('data.txt').read().strip()  # a relative path: must resolve as in the original",
    "%%track --name train --metrics score\n"
    "if alpha == 2.0 and label == 'explode':\n"
    "    raise ValueError('combination alpha=2 cannot train')\n"
    "score = alpha * beta + len(data)",
]


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """A notebook run once from 'JupyterLab' (a kernel whose session is the notebook)."""
    (tmp_path / "data.txt").write_text("abc")
    path = tmp_path / "train.ipynb"
    make_notebook(path, TRAIN)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    execute(path)
    monkeypatch.delenv("JPY_SESSION_NAME")
    df = wb.runs()
    assert len(df) == 1
    return path, df["run_id"][0]


def test_rerun_uses_the_snapshot_not_the_edited_file(recorded):
    path, run_id = recorded
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("alpha * beta", "alpha * beta * 1000")
    nbformat.write(nb, path)  # edited on disk after the run
    result = wb.rerun(run_id[:8], {"alpha": 3})
    assert result.status == "finished", result.error
    new = wb.get_run(result.run_id)
    assert new.metrics == {"score": 33.0}  # 3 * 10 + len("abc"), by the recorded code
    assert new.params["alpha"] == "3" and new.params["beta"] == "10"
    assert new.parent_run_id == run_id and new.source == "rerun"
    original = wb.get_run(run_id)
    assert new.experiment == original.experiment == "train"
    assert new.context["notebook_path"] == str(path)
    assert new.context["notebook_sha"] == original.context["notebook_sha"]
    assert original.children == [new.run_id]
    # Where it came from shows in the runs table and the comparison.
    from workbench.comparison import compare_records
    from workbench.widgets import runs_widget

    w = runs_widget()
    assert set(w.dataframe["origin"]) == {"magic", f"rerun of {run_id[:8]}"}
    assert compare_records([original, new])["runs"][1]["origin"] == f"rerun of {run_id[:8]}"
    (art,) = [a for a in new.artifacts if a["kind"] == "notebook"]
    executed = json.loads(open(art["stored_path"]).read())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "alpha = 3" in "".join(injected[0]["source"])


def test_two_by_two_sweep_with_two_jobs_links_four_runs(recorded):
    path, run_id = recorded
    result = wb.sweep(
        path, {"alpha": [1.0, 2.0], "beta": [5, 7]}, jobs=2, order_by="metrics.score DESC", progress=False
    )
    assert result.done and result.counts == {"done": 4, "failed": 0, "running": 0, "queued": 0}
    df = result.results
    assert len(df) == 4 and set(df["status"]) == {"finished"}
    assert (df["tags.sweep_id"] == result.sweep_id).all()
    assert (df["source"] == "sweep").all()
    from workbench.formatting import runs_table

    assert runs_table(df).count(f"sweep {result.sweep_id[:8]}") == 4
    assert list(df["metrics.score"]) == [17.0, 13.0, 10.0, 8.0]  # ordered, each alpha * beta + 3
    assert sorted(zip(df["params.alpha"], df["params.beta"])) == [
        ("1.0", "5"),
        ("1.0", "7"),
        ("2.0", "5"),
        ("2.0", "7"),
    ]


def test_a_failing_combination_is_recorded_failed_while_the_others_finish(recorded):
    path, run_id = recorded
    result = wb.sweep(
        run_id,
        {"alpha": [1.0, 2.0, 3.0]},
        combos=[{"label": "explode", "alpha": 2.0}],
        jobs=2,
        progress=False,
    )
    df = result.results
    assert len(df) == 4
    failed = df[df["status"] == "failed"]
    assert len(failed) == 1 and failed["params.label"].iloc[0] == "explode"
    assert "combination alpha=2 cannot train" in wb.get_run(failed["run_id"].iloc[0]).error
    assert (df[df["status"] == "finished"]["metrics.score"].sort_values().tolist()) == [13.0, 23.0, 33.0]
    assert (df["parent_run_id"] == run_id).all()  # a sweep of a run links to it
    job = next(j for j in result.jobs.values() if j.status == "failed")
    assert "cell 4" in job.error and "ValueError" in job.error


def test_a_notebook_failing_before_any_tracked_cell_still_leaves_a_failed_run(recorded):
    path, run_id = recorded
    os.remove(path.parent / "data.txt")  # the untracked cell reading it now fails
    result = wb.rerun(run_id, {"alpha": 5})
    assert result.status == "failed"
    assert "FileNotFoundError" in result.error and "cell 3" in result.error
    rec = wb.get_run(result.run_id)
    assert rec.status == "failed" and rec.parent_run_id == run_id and "FileNotFoundError" in rec.error
    assert rec.params["alpha"] == "5"
    (art,) = rec.artifacts  # the partial output notebook
    partial = json.loads(open(art["stored_path"]).read())
    assert any(o.get("output_type") == "error" for c in partial["cells"] for o in c.get("outputs", []))


def test_reproduce_says_yes_for_a_deterministic_notebook_and_no_for_a_clock_seeded_one(tmp_path, monkeypatch):
    path = tmp_path / "det.ipynb"
    make_notebook(
        path,
        [
            ("seed = 0", ["parameters"]),
            "%load_ext workbench",
            "%%track --name det --metrics a,b\nimport random, time\nrandom.seed(seed)\na = random.random()\n"
            "random.seed(time.time_ns())\nb = 1.0",
        ],
    )
    clock = tmp_path / "clock.ipynb"
    make_notebook(
        clock,
        [
            ("seed = 0", ["parameters"]),
            "%load_ext workbench",
            "%%track --name clock --metrics a,b\nimport random, time\nrandom.seed(time.time_ns())\n"
            "a = random.random()\nb = 1.0",
        ],
    )
    for p in (path, clock):
        monkeypatch.setenv("JPY_SESSION_NAME", str(p))
        execute(p)
    monkeypatch.delenv("JPY_SESSION_NAME")
    det = wb.runs("attributes.run_name = 'det'")["run_id"][0]
    clk = wb.runs("attributes.run_name = 'clock'")["run_id"][0]

    yes = subprocess.run(
        [sys.executable, "-m", "workbench", "reproduce", det[:8]], capture_output=True, text=True
    )
    assert yes.returncode == 0, yes.stdout + yes.stderr
    assert "REPRODUCED" in yes.stdout and "environment: identical" in yes.stdout

    report = wb.reproduce(clk)
    assert report.reproduced is False
    differing = [m["metric"] for m in report.metrics if not m["same"]]
    assert differing == ["a"]  # b is fixed; a came from the clock
    # Within an absolute tolerance of 1, two random.random() values always match.
    assert wb.reproduce(clk, atol=1.0).reproduced is True
    no = subprocess.run(
        [sys.executable, "-m", "workbench", "reproduce", clk[:8]], capture_output=True, text=True
    )
    assert no.returncode == 1 and "NOT REPRODUCED" in no.stdout
    assert "a " in no.stdout and " NO" in no.stdout


def test_cli_rerun_and_sweep(recorded, tmp_path):
    path, run_id = recorded
    params = tmp_path / "p.yaml"
    params.write_text("alpha: 4\nlabel: yaml\n")
    cli = [sys.executable, "-m", "workbench"]
    out = subprocess.run(
        [*cli, "rerun", run_id[:8], "-y", str(params), "-p", "beta", "2"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "finished" in out.stdout and "score=11" in out.stdout  # 4 * 2 + 3
    out = subprocess.run(
        [
            *cli,
            "sweep",
            str(path),
            "-p",
            "alpha",
            "-1",
            "1",
            "--jobs",
            "2",
            "--order-by",
            "metrics.score ASC",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if "train" in line]
    assert len(lines) == 2 and "-7" in lines[0] and "13" in lines[1]  # -1 * 10 + 3, then 1 * 10 + 3
    assert "2 finished, 0 not" in out.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["rerun", "zzzz"], "no run matches 'zzzz'"),
        (
            ["rerun", "{run}", "-p", "gamma", "1"],
            "has no parameter 'gamma'; its parameters cell defines: alpha, beta, label",
        ),
        (["rerun", "{run}", "-p", "beta", "ten"], "parameter 'beta' is a number"),
        (
            ["rerun", "{run}", "-y", "{bad_yaml}"],
            "is not valid YAML at line 3, column 1 (in what starts at line 2)",
        ),
        (
            ["rerun", "{run}", "--kernel", "cobol"],
            "kernel 'cobol' is not installed here; installed kernels: ",
        ),
        (["rerun", "{script_run}"], "has no notebook snapshot, so it cannot be rerun"),
        (["sweep", "{nb}", "-p", "alpha"], "-p alpha needs at least one value"),
        (["sweep", "{nb}", "-p", "alpha", "1", "--jobs", "0"], "--jobs takes a positive whole number"),
        (["sweep", "missing.ipynb", "-p", "alpha", "1"], "notebook 'missing.ipynb' does not exist"),
        (["reproduce", "{run}", "--rtol", "-1"], "-1"),
    ],
)
def test_bad_input_gets_one_clear_line_and_nothing_is_lost(recorded, tmp_path, args, message):
    path, run_id = recorded
    with wb.start_run(name="from-a-script") as script_run:
        wb.log_metric("m", 1.0)
    wb.flush()
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("alpha: 1\nbeta: [1, 2\n")
    fill = {
        "run": run_id[:8],
        "bad_yaml": str(bad_yaml),
        "script_run": script_run.run_id[:8],
        "nb": str(path),
    }
    argv = [a.format(**fill) for a in args]
    out = subprocess.run(
        [sys.executable, "-m", "workbench", *argv], capture_output=True, text=True, timeout=120
    )
    # The README's promise: status 1 and the error in one line (after a "rerunning ..."
    # progress line for a rerun), never a traceback.
    assert out.returncode == 1, out.stderr
    lines = out.stderr.splitlines()
    assert [ln for ln in lines if ln.startswith("Error: ")] == lines[-1:], out.stderr
    assert lines[:-1] in ([], [f"rerunning {argv[1]} with its own parameters ..."]) or lines[0].startswith(
        f"rerunning {argv[1]} with its own parameters, changing "
    ), out.stderr
    assert message in lines[-1], out.stderr
    assert "Traceback" not in out.stderr
    assert len(wb.runs()) == 2  # the recorded run and the script run, nothing lost or added


def test_python_api_bad_input():
    with pytest.raises(KernelNotFoundError):
        from workbench.rerun import check_kernel

        check_kernel("no-such-kernel")
    with pytest.raises(wb.InvalidInputError, match="positive integer"):
        wb.sweep("x.ipynb", {"a": [1]}, jobs=0)
    with pytest.raises(wb.InvalidInputError, match="non-empty list"):
        parse_sweep_args(["-p", "a", "1"]) and wb.sweep("x.ipynb", {"a": []})
    assert parse_sweep_args(["-p", "lr", "-0.5", "0.1", "-p", "n", "2", "-j", "3"]) == {
        "grid": {"lr": [-0.5, 0.1], "n": [2]},
        "jobs": 3,
        "order_by": None,
        "combos": None,
        "kernel": None,
        "scheduler": None,
        "upload": False,
        "upload_limit": None,
    }


def test_a_worker_killed_mid_sweep_does_not_stop_the_rest(tmp_path, monkeypatch):
    path = tmp_path / "slow.ipynb"
    make_notebook(
        path,
        [
            ("pause = 0.0", ["parameters"]),
            "%load_ext workbench",
            "%%track --name step --metrics done\nimport time\ntime.sleep(pause)\ndone = 1.0",
        ],
    )
    result = wb.sweep(path, {"pause": [8.0, 0.1, 0.2]}, jobs=2, wait=False, progress=False)
    executor = result._executor
    deadline = time.time() + 60
    while time.time() < deadline and not any(j.status == "running" for j in result.jobs.values()):
        time.sleep(0.1)
    time.sleep(3)  # the long job is inside its tracked cell now
    victim = next(w for w in executor._workers if w.job and w.job["parameters"]["pause"] == 8.0)
    os.killpg(victim.proc.pid, signal.SIGKILL)
    result.wait()
    statuses = {j.parameters["pause"]: j.status for j in result.jobs.values()}
    assert statuses == {8.0: "killed", 0.1: "finished", 0.2: "finished"}
    df = result.results
    assert sorted(df["status"]) == ["finished", "finished", "killed"]


def test_stop_ends_running_jobs_and_marks_their_runs_killed(tmp_path):
    path = tmp_path / "long.ipynb"
    make_notebook(
        path,
        [
            ("pause = 0.0", ["parameters"]),
            "%load_ext workbench",
            "%%track --name long\nimport time, workbench as wb\nwb.log_metric('began', 1.0)\ntime.sleep(pause)",
        ],
    )
    result = wb.sweep(path, {"pause": [30.0, 30.0, 30.0]}, jobs=2, wait=False, progress=False)
    deadline = time.time() + 60
    while time.time() < deadline and len(wb.runs("attributes.status = 'running'")) < 2:
        time.sleep(0.2)
    result.stop()
    result.wait()
    df = wb.runs()
    assert len(df) == 2 and set(df["status"]) == {"killed"}  # the third never started
    assert sorted(j.status for j in result.jobs.values()) == ["killed", "killed", "queued"]
    assert get_store().directory.exists()
