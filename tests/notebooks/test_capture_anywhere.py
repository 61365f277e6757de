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
from workbench.store import get_store

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


def test_jupyterhub_single_user_session_names_the_notebook(train, tmp_path, monkeypatch):
    # JupyterHub's single-user server is a Jupyter server: a kernel it starts for a
    # notebook gets the Hub's variables and JPY_SESSION_NAME, computed as the server does.
    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager
    from jupyter_server.services.sessions.sessionmanager import SessionManager

    sessions = SessionManager(kernel_manager=MappingKernelManager(root_dir=str(tmp_path)))
    env = sessions.get_kernel_env("train.ipynb", "train.ipynb")
    for name in (
        "JUPYTERHUB_USER",
        "JUPYTERHUB_API_URL",
        "JUPYTERHUB_SERVICE_PREFIX",
        "JUPYTERHUB_API_TOKEN",
    ):
        monkeypatch.setenv(name, {"JUPYTERHUB_USER": "ada"}.get(name, "x"))
    monkeypatch.setenv("JPY_SESSION_NAME", env["JPY_SESSION_NAME"])
    execute(train)
    rec = _only_run()
    assert rec.context["notebook_path"] == str(train) and rec.params["alpha"] == "0.1"
    assert rec.context["notebook_sha"] == hashlib.sha256(train.read_bytes()).hexdigest()


def test_colab_session_and_front_end_give_the_notebook_kept_off_the_disk(tmp_path, monkeypatch):
    # Colab keeps the notebook in Drive: the runtime's session API (a Jupyter server at
    # $COLAB_JUPYTER_IP:$KMP_TARGET_PORT) names it, and google.colab._message hands its
    # content over. Neither exists here: a local server answers the session API as Colab's
    # does, and a stand-in google.colab module answers get_ipynb from a file elsewhere.
    import http.server
    import threading

    drive = tmp_path / "drive"
    drive.mkdir()
    make_notebook(drive / "Copy of train.ipynb", TRAIN)
    sessions = json.dumps(
        [{"name": "Copy%20of%20train.ipynb", "path": "fileId=1AbC", "kernel": {"name": "python3"}}]
    )

    class Sessions(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            self.send_response(200 if self.path == "/api/sessions" else 404)
            self.end_headers()
            self.wfile.write(sessions.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sessions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stub = tmp_path / "stub" / "google" / "colab"
    stub.mkdir(parents=True)
    (stub.parent / "__init__.py").write_text("")
    (stub / "__init__.py").write_text("")
    (stub / "_message.py").write_text(
        "import json, os\n"
        "def blocking_request(kind, request='', timeout_sec=5):\n"
        "    assert kind == 'get_ipynb'\n"
        "    return {'ipynb': json.load(open(os.environ['STAND_IN_NOTEBOOK']))}\n"
    )
    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20251201-060000")
    monkeypatch.setenv("COLAB_JUPYTER_IP", "127.0.0.1")
    monkeypatch.setenv("KMP_TARGET_PORT", str(server.server_address[1]))
    monkeypatch.setenv("STAND_IN_NOTEBOOK", str(drive / "Copy of train.ipynb"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "stub"))
    nb = nbformat.read(drive / "Copy of train.ipynb", as_version=4)
    from nbclient import NotebookClient

    try:
        NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(content)}}).execute()
    finally:
        server.shutdown()
    rec = _only_run()
    assert rec.experiment == "Copy of train"
    assert rec.context["notebook_path"] == str(content / "Copy of train.ipynb")
    assert rec.params == {"alpha": "0.1", "epochs": "3", "label": "base"}
    snapshot = json.loads(get_store().blob_path(rec.context["notebook_sha"]).read_bytes())
    assert ["".join(c["source"]) for c in snapshot["cells"]] == [c.source for c in nb.cells]
    result = wb.rerun(rec.run_id, {"epochs": 10})
    assert result.status == "finished", result.error
    assert wb.get_run(result.run_id).metrics == {"score": 5.0}
