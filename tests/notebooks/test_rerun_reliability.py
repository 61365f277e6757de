"""Reliability items 9, 12 and 13: reruns keep the run's parameters, papermill parity
(kernel names, notebooks without language metadata, a parameters cell that does not
parse), and the traceback a failed ``%%track`` cell records. Real kernels and papermill."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import workbench as wb
from workbench.rerun import check_kernel, check_params
from workbench.rerun.params import typed_value

from .conftest import execute, make_notebook, text_of

# A run recorded in JupyterLab whose values differ from the notebook's defaults: the
# cell after the parameters cell sets label to the text '7' and n_iter to 4.
FIT = [
    ("alpha = 1.0\nl1_ratio = 0.7\nlabel = 'base'\nn_iter = 3\nwarm = False", ["parameters"]),
    "%load_ext workbench",
    "if label == 'base':\n    label, n_iter = '7', 4",
    "%%track --name fit --metrics score\nscore = alpha * 100 + l1_ratio * 10 + n_iter + len(label) + warm",
]


def _injected(rec) -> dict:
    """The values papermill injected into the job that recorded ``rec``, as written."""
    (art,) = [a for a in rec.artifacts if a["kind"] == "notebook"]
    nb = json.loads(Path(art["stored_path"]).read_text())
    (cell,) = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    tree = ast.parse("".join(cell["source"]))
    return {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)}


def _record(path, monkeypatch, **kwargs):
    """Execute ``path`` as JupyterLab would (its session names the notebook); the runs."""
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    execute(path, **kwargs)
    monkeypatch.delenv("JPY_SESSION_NAME")
    return list(wb.runs(order_by=["attributes.start_time ASC"])["run_id"])


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], capture_output=True, text=True, timeout=300
    )


def test_reliability_9_typing_back_recorded_values():
    # Runs record str(value); the notebook's default says how to read it back.
    assert typed_value("42", "base") == "42"  # a string parameter stays a string
    assert typed_value("007", "x") == "007"
    assert typed_value("None", "x") == "None"
    assert typed_value("0.2", 0.7) == 0.2 and typed_value("5", 3) == 5
    assert typed_value("True", False) is True and typed_value("False", True) is False
    assert typed_value("None", None) is None and typed_value("abc", None) == "abc"
    assert typed_value("12", None) == 12  # papermill's typing when the default says nothing
    assert typed_value("[1, 2]", [0]) == [1, 2] and typed_value("{'a': 1}", {}) == {"a": 1}
    assert typed_value("(1, 2)", (1, 2)) == (1, 2)  # the default's own text: the default itself
    assert typed_value("nan", 1.0) == "nan"  # not a finite number: left as text, check_params says so


@pytest.mark.slow
def test_reliability_9_rerun_keeps_untouched_parameters(tmp_path, monkeypatch):
    path = tmp_path / "fit.ipynb"
    make_notebook(path, FIT)
    (r0,) = _record(path, monkeypatch)
    assert wb.get_run(r0).params == {
        "alpha": "1.0",
        "l1_ratio": "0.7",
        "label": "7",
        "n_iter": "4",
        "warm": "False",
    }

    # API: only l1_ratio changes; the rest are the run's values, typed back by the defaults'
    # types (label '7' stays text, n_iter 4 an int), not the notebook's defaults.
    r1 = wb.rerun(r0[:8], {"l1_ratio": 0.2})
    assert r1.status == "finished", r1.error
    assert r1.parameters == {"alpha": 1.0, "l1_ratio": 0.2, "label": "7", "n_iter": 4, "warm": False}
    rec1 = wb.get_run(r1.run_id)
    assert _injected(rec1) == {"alpha": 1.0, "l1_ratio": 0.2, "label": "7", "n_iter": 4, "warm": False}
    assert rec1.metrics == {"score": 100 + 2 + 4 + 1 + 0}
    assert rec1.parent_run_id == r0

    # CLI: -p alpha only; l1_ratio keeps r1's 0.2 (not the default 0.7).
    out = _cli("rerun", r1.run_id[:8], "-p", "alpha", "0.5")
    assert out.returncode == 0, out.stderr
    assert "with its own parameters, changing alpha=0.5" in out.stderr
    (r2,) = wb.get_run(r1.run_id).children
    rec2 = wb.get_run(r2)
    assert rec2.params == {"alpha": "0.5", "l1_ratio": "0.2", "label": "7", "n_iter": "4", "warm": "False"}
    assert rec2.metrics == {"score": 50 + 2 + 4 + 1}

    # A sweep from a run: the axes not swept keep that run's values.
    s = wb.sweep(r2[:8], {"warm": [True]}, progress=False)
    (job,) = s.jobs.values()
    assert job.status == "finished", job.error
    rec3 = wb.get_run(job.run_id)
    assert rec3.params == {"alpha": "0.5", "l1_ratio": "0.2", "label": "7", "n_iter": "4", "warm": "True"}
    assert rec3.parent_run_id == r2

    # %wb rerun in a notebook: the same; then %wb reproduce of the new run, and %wb sweep,
    # which runs in the background (the cell returns at once) until .wait().
    driver = tmp_path / "driver.ipynb"
    make_notebook(
        driver,
        [
            "%load_ext workbench\nimport workbench as wb",
            f"%wb rerun {job.run_id[:8]} -p n_iter 9",
            f"r4 = wb.get_run('{job.run_id}').children[0]\n%wb reproduce {{r4}}",
            f"s = get_ipython().run_line_magic('wb', 'sweep {r2[:8]} -p label a b --jobs 2')\n"
            "done = s.wait()\nprint(sorted(j.status for j in s.jobs.values()))",
        ],
    )
    nb = execute(driver, timeout=300)
    assert "REPRODUCED" in text_of(nb.cells[2]) and "NOT REPRODUCED" not in text_of(nb.cells[2])
    assert "['finished', 'finished']" in text_of(nb.cells[3])
    labels = {wb.get_run(r).params["label"] for r in wb.get_run(r2).children if r != job.run_id}
    assert {"a", "b"} <= labels
    (r4,) = wb.get_run(job.run_id).children
    assert wb.get_run(r4).params == {
        "alpha": "0.5",
        "l1_ratio": "0.2",
        "label": "7",
        "n_iter": "9",
        "warm": "True",
    }


@pytest.mark.slow
def test_reliability_12_kernelspec_python_is_accepted_as_papermill_accepts_it(tmp_path, monkeypatch):
    import papermill as pm

    path = tmp_path / "py.ipynb"
    nb = make_notebook(
        path,
        [
            ("alpha = 1.0", ["parameters"]),
            "%load_ext workbench",
            "%%track --name py --metrics score\nscore = alpha * 2",
        ],
    )
    nb.metadata["kernelspec"] = {"name": "python", "display_name": "Python", "language": "python"}
    nbformat.write(nb, path)
    # papermill itself runs it (jupyter_client maps "python" to "python3"), recording a run.
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    pm.execute_notebook(str(path), str(tmp_path / "out.ipynb"), progress_bar=False)
    monkeypatch.delenv("JPY_SESSION_NAME")
    (rid,) = wb.runs()["run_id"]
    assert check_kernel("python") == "python3"
    check_kernel("Python3")  # kernel specs are found case-insensitively, as jupyter_client does
    result = wb.rerun(rid, {"alpha": 3.0})
    assert result.status == "finished", result.error
    assert wb.get_run(result.run_id).metrics == {"score": 6.0}


@pytest.mark.slow
def test_reliability_12_parameters_cell_syntax_error_is_reported_with_its_line(tmp_path, monkeypatch):
    path = tmp_path / "broken.ipynb"
    make_notebook(
        path,
        [
            ("alpha = 1.0\nbeta = = 2", ["parameters"]),
            "%load_ext workbench",
            "%%track --name b --metrics one\none = 1.0",
        ],
    )
    message = "the cell tagged 'parameters' (cell 1) does not parse: line 2: invalid syntax: beta = = 2"
    with pytest.raises(wb.InvalidInputError) as err:
        wb.sweep(path, {"alpha": [2.0]}, progress=False)
    assert message in str(err.value) and "has no cell tagged" not in str(err.value)
    out = _cli("sweep", str(path), "-p", "alpha", "2")
    assert out.returncode == 1 and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr

    (rid,) = _record(path, monkeypatch, allow_errors=True)
    with pytest.raises(wb.InvalidInputError, match="does not parse: line 2"):
        wb.rerun(rid, {"alpha": 2.0})
    # Without new values it runs as papermill would, and fails at that cell, recorded.
    result = wb.rerun(rid)
    assert result.status == "failed" and "SyntaxError" in result.error
    assert len(wb.runs()) == 2  # nothing lost, the failed rerun recorded


def test_reliability_12_parameters_cell_with_ipython_syntax_takes_parameters():
    # papermill accepts magics in a parameters cell; so does the check.
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("%config InlineBackend.figure_format = 'svg'\nalpha = 1.0\nn = 2")
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    assert check_params(nb, {"alpha": 0.5, "n": 3}, "nb") == {"alpha": 0.5, "n": 3}
    with pytest.raises(wb.InvalidInputError, match="its parameters cell defines: alpha, n"):
        check_params(nb, {"beta": 1}, "nb")


@pytest.mark.slow
def test_reliability_12_failed_track_records_only_the_users_frames(session_notebook):
    import workbench

    path = session_notebook(
        "fails.ipynb",
        [
            "%load_ext workbench",
            "def load(n):\n    raise ValueError(f'bad batch {n}')",
            "%%track --name broken\nx = 1\nload(3)",
            "%%track --name bad_metric\nimport workbench as wb\nwb.log_metric('x', 'abc')",
        ],
    )
    execute(path, allow_errors=True)
    package = str(Path(workbench.__file__).resolve().parent)
    broken = wb.get_run(wb.runs("attributes.run_name = 'broken'")["run_id"][0])
    assert broken.status == "failed"
    tb = broken.error
    assert tb.startswith("Traceback (most recent call last):")
    assert "load(3)" in tb and "in load" in tb and tb.rstrip().endswith("ValueError: bad batch 3")
    assert package not in tb and "_execute" not in tb and "magics" not in tb
    frames = [line for line in tb.splitlines() if line.lstrip().startswith("File ")]
    assert len(frames) == 2  # the cell, then load()
    bad = wb.get_run(wb.runs("attributes.run_name = 'bad_metric'")["run_id"][0])
    assert "wb.log_metric('x', 'abc')" in bad.error and "metric values must be numbers" in bad.error
    assert package not in bad.error and len([ln for ln in bad.error.splitlines() if "File " in ln]) == 1


@pytest.mark.slow
def test_reliability_13_notebook_without_language_metadata_reruns(tmp_path, monkeypatch):
    import papermill as pm

    path = tmp_path / "bare.ipynb"
    nb = make_notebook(
        path,
        [
            ("alpha = 1.0", ["parameters"]),
            "%load_ext workbench",
            "%%track --name bare --metrics score\nscore = alpha * 2",
        ],
    )
    nb.metadata.clear()
    nbformat.write(nb, path)
    # papermill alone refuses to parameterize it (before starting any kernel).
    with pytest.raises(ValueError, match="No language found in notebook"):
        pm.execute_notebook(
            str(path), str(tmp_path / "o.ipynb"), parameters={"alpha": 2.0}, kernel_name="python3"
        )
    (rid,) = _record(path, monkeypatch)
    assert "kernelspec" not in json.loads(Path(path).read_text())["metadata"]
    result = wb.rerun(rid, {"alpha": 4.0})
    assert result.status == "finished", result.error
    assert wb.get_run(result.run_id).metrics == {"score": 8.0}


@pytest.mark.parametrize(
    "target, message",
    [
        ("/etc", "'/etc' is a folder, not a notebook; give a .ipynb file or a run id"),
        ("{json}", "data.json is not a notebook (JSON without a list of cells)"),
    ],
)
def test_reliability_13_sweep_of_something_not_a_notebook_is_one_line(tmp_path, target, message):
    (tmp_path / "data.json").write_text("[1, 2]")
    out = _cli("sweep", target.format(json=tmp_path / "data.json"), "-p", "a", "1")
    assert out.returncode == 1
    assert out.stderr.strip() == f"Error: {message}", out.stderr


def test_reliability_9_recorded_values_a_rerun_cannot_inject_are_named_or_left_to_the_notebook():
    from types import SimpleNamespace

    from workbench.rerun.core import starting_params
    from workbench.rerun.jobs import Source

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "alpha = 1.0\nmodel = Ridge()\nseed = int(time.time())\nlabel = 'b'\nshape = (2, 3)"
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    run = SimpleNamespace(
        run_id="abcdef123456",
        params={
            "alpha": "oops",
            "model": "Ridge()",
            "seed": "17",
            "label": "5",
            "extra": "1",
            "shape": "(2, 3)",
        },
        artifacts=[],
    )
    src = Source(b"", nb, None, "the notebook of run abcdef12", run)
    # An expression's recorded repr is not injected (the notebook's expression runs);
    # a recorded literal is; names outside the parameters cell are not parameters; a
    # tuple, which papermill would inject as its text, stays the notebook's own line.
    assert starting_params(src, {"alpha": 2}) == {"alpha": 2, "seed": 17, "label": "5"}
    with pytest.raises(
        wb.InvalidInputError, match=r"got 'oops' \(the value run abcdef12 recorded; give alpha"
    ):
        starting_params(src, {})


# A kernel whose first ``WB_TEST_DEATHS`` starts exit at once, before answering kernel_info:
# what a loaded machine did to one papermill job of a CI demo sweep.
_DYING_KERNEL = """
import os, sys
count = os.environ["WB_TEST_STARTS"]
starts = int(open(count).read()) + 1 if os.path.exists(count) else 1
open(count, "w").write(str(starts))
if starts <= int(os.environ["WB_TEST_DEATHS"]):
    sys.exit(1)
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]])
"""


def _dying_kernel_job(tmp_path, monkeypatch, deaths: int) -> tuple[dict, Path]:
    """Run a one-cell notebook in the worker on a kernel that dies ``deaths`` times first."""
    from workbench.rerun import worker

    script = tmp_path / "dying_kernel.py"
    script.write_text(_DYING_KERNEL)
    spec_dir = tmp_path / "jupyter" / "kernels" / "dying"
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, str(script), "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "dying", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    starts = tmp_path / "starts"
    nb = tmp_path / "nb.ipynb"
    make_notebook(nb, [("x = 1", ["parameters"]), "open('ran', 'a').write('ran\\n')"])
    spec = {
        "input": str(nb),
        "output": str(tmp_path / "out.ipynb"),
        "parameters": {"x": 2},
        "kernel": "dying",
        "cwd": str(tmp_path),
        "env": {"WB_TEST_STARTS": str(starts), "WB_TEST_DEATHS": str(deaths)},
    }
    result = worker._run_job(spec)
    return result, starts


@pytest.mark.slow
def test_a_kernel_that_dies_before_kernel_info_is_started_again(tmp_path, monkeypatch):
    result, starts = _dying_kernel_job(tmp_path, monkeypatch, deaths=1)
    assert result == {"status": "finished"}
    assert starts.read_text() == "2"
    # The notebook ran once: the failed start ran none of it.
    assert (tmp_path / "ran").read_text() == "ran\n"
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "x = 2" in "".join(c.source for c in out.cells)


@pytest.mark.slow
def test_a_kernel_that_never_starts_fails_the_job_after_three_starts(tmp_path, monkeypatch):
    from workbench.rerun import worker

    result, starts = _dying_kernel_job(tmp_path, monkeypatch, deaths=99)
    assert result["status"] == "failed"
    assert result["error"] == "RuntimeError: Kernel died before replying to kernel_info"
    assert starts.read_text() == str(worker.KERNEL_START_TRIES)
    assert not (tmp_path / "ran").exists()
