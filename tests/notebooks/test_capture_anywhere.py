"""A notebook executed by papermill's CLI or API, ``jupyter nbconvert --execute``,
``jupyter execute`` (nbclient) or in JupyterHub and Colab records its parameters and its
snapshot as under JupyterLab, and reruns from it. Real kernels, real command lines, no
Workbench variable naming the notebook."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import workbench as wb

from .conftest import execute, make_notebook

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent

# The parameters cell also loads the extension (a magic line there used to hide it).
TRAIN = [
    ("%load_ext workbench\nalpha = 0.1\nepochs = 3\nlabel = 'base'", ["parameters"]),
    "%%track --name train --metrics score\nscore = alpha * epochs + len(label)",
]


def _cli(args, cwd, **env):
    out = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _only_run():
    df = wb.runs()
    assert len(df) == 1, df[["run_name", "status"]]
    return wb.get_run(df["run_id"][0])


def _check_snapshot_and_rerun(rec, path, expected_params, rerun_with, rerun_score):
    ctx = rec.context
    assert ctx["notebook_path"] == str(path)
    assert ctx["notebook_sha"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ctx["cell_id"] == nbformat.read(path, as_version=4).cells[-1].id
    assert rec.params == expected_params
    assert ctx["kernel"] == "python3"
    result = wb.rerun(rec.run_id, rerun_with)
    assert result.status == "finished", result.error
    new = wb.get_run(result.run_id)
    assert new.parent_run_id == rec.run_id and new.metrics == {"score": rerun_score}
    return new


@pytest.fixture
def train(tmp_path):
    path = tmp_path / "train.ipynb"
    make_notebook(path, TRAIN)
    return path


def test_papermill_cli_with_p_records_the_injected_values_and_reruns(train, tmp_path):
    _cli(
        [BIN / "papermill", "train.ipynb", "out.ipynb", "-p", "alpha", "0.5", "-p", "label", "cli"], tmp_path
    )
    rec = _only_run()
    assert rec.metrics == {"score": 4.5}
    new = _check_snapshot_and_rerun(
        rec, train, {"alpha": "0.5", "epochs": "3", "label": "cli"}, {"epochs": 4}, 5.0
    )
    assert new.params == {"alpha": "0.5", "epochs": "4", "label": "cli"}  # the run's values, one changed


def test_papermill_api_with_no_workbench_variable(train, tmp_path, monkeypatch):
    # Issue 17: nothing tells the kernel which notebook it runs, nor where the store is
    # (it is found walking up from the notebook's folder), nor anything else of ours.
    for name in [n for n in os.environ if n.startswith("WORKBENCH_")]:
        monkeypatch.delenv(name)
    import papermill as pm

    out = tmp_path / "runs" / "out.ipynb"
    out.parent.mkdir()
    pm.execute_notebook(
        str(train), str(out), parameters={"alpha": 2.0, "extra": 7}, cwd=str(tmp_path), progress_bar=False
    )
    wb.set_store(tmp_path / ".workbench")
    rec = _only_run()
    assert rec.metrics == {"score": 10.0}
    # 'extra' is not in the parameters cell: papermill injected it, so it is recorded.
    _check_snapshot_and_rerun(
        rec, train, {"alpha": "2.0", "epochs": "3", "extra": "7", "label": "base"}, {"alpha": 1.0}, 7.0
    )


def test_nbconvert_execute_records_the_parameters_cell_and_reruns(train, tmp_path):
    _cli(
        [BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", "train.ipynb", "--output", "done"],
        tmp_path,
    )
    rec = _only_run()
    assert rec.metrics == {"score": pytest.approx(4.3)}
    _check_snapshot_and_rerun(
        rec, train, {"alpha": "0.1", "epochs": "3", "label": "base"}, {"alpha": 1.0}, 7.0
    )


def test_jupyter_execute_from_another_folder_finds_the_notebook_on_its_command_line(train, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # nbclient's CLI runs the kernel in the notebook's folder; the command line names it.
    _cli([BIN / "jupyter", "execute", str(train)], elsewhere)
    rec = _only_run()
    assert rec.context["notebook_path"] == str(train) and rec.params["alpha"] == "0.1"


def test_nbclient_picks_the_notebook_holding_the_cells_it_ran(tmp_path):
    # Two notebooks hold the tracked cell; only one holds the cells executed before it.
    make_notebook(tmp_path / "a_other.ipynb", [("x = 1", ["parameters"]), TRAIN[1]])
    path = tmp_path / "b_train.ipynb"
    make_notebook(path, TRAIN)
    execute(path)
    assert _only_run().context["notebook_path"] == str(path)


def test_a_notebook_without_language_metadata_reruns_with_the_kernel_it_recorded(tmp_path, monkeypatch):
    # A second kernel spec, told apart from python3 by the variable it sets.
    kernels = tmp_path / "jupyter" / "kernels" / "wbcapture"
    kernels.mkdir(parents=True)
    argv = json.loads((BIN.parent / "share/jupyter/kernels/python3/kernel.json").read_text())["argv"]
    spec = {"argv": argv, "display_name": "capture", "language": "python", "env": {"WB_CAPTURE_KERNEL": "1"}}
    (kernels / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    path = tmp_path / "bare.ipynb"
    nb = make_notebook(
        path,
        [
            ("%load_ext workbench\nalpha = 1.0", ["parameters"]),
            "%%track --name bare --metrics score,which\nimport os\nscore = alpha * 2\n"
            "which = float(os.environ.get('WB_CAPTURE_KERNEL', 0))",
        ],
    )
    nb.metadata.clear()  # no kernelspec, no language_info
    nbformat.write(nb, path)
    from nbclient import NotebookClient

    NotebookClient(nb, kernel_name="wbcapture", resources={"metadata": {"path": str(tmp_path)}}).execute()
    rec = _only_run()
    assert rec.params == {"alpha": "1.0"} and rec.metrics == {"score": 2.0, "which": 1.0}
    assert rec.context["kernel"] == "wbcapture"
    assert "metadata" not in json.loads(path.read_text()) or not json.loads(path.read_text())["metadata"]
    result = wb.rerun(rec.run_id, {"alpha": 4.0})
    assert result.status == "finished", result.error
    new = wb.get_run(result.run_id)
    assert new.metrics == {"score": 8.0, "which": 1.0} and new.context["kernel"] == "wbcapture"
    assert new.params == {"alpha": "4.0"}
