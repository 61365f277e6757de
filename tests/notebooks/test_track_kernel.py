"""%%track and %wb in real kernels (nbclient and papermill), happy and failure paths."""

from __future__ import annotations

import hashlib
import os
import subprocess

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

import workbench as wb
from workbench.store import get_store

from .conftest import execute, execute_example, make_notebook, text_of

pytestmark = pytest.mark.slow

VEGALITE = "application/vnd.vegalite.v5+json"


def _one_run(**filters):
    df = wb.runs()
    for k, v in filters.items():
        df = df[df[k] == v]
    assert len(df) == 1, df[["run_name", "status"]]
    return wb.get_run(df["run_id"].iloc[0])


def test_track_records_params_metrics_source_and_context(session_notebook):
    track_src = (
        "%%track --name first --metrics rmse,r2 --tags team=vision,stage=dev\n"
        "import workbench as wb\n"
        "for i in range(20):\n"
        "    wb.log_metric('loss', 1.0 / (i + 1))\n"
        "rmse = 42.5\n"
        "r2 = alpha * 2\n"
        "r2"
    )
    path = session_notebook(
        "train.ipynb",
        [
            ("alpha = 0.1\nmodel = 'ridge'\nlayers = [1, 2]", ["parameters"]),
            "%load_ext workbench",
            "alpha = 0.3  # changed after the parameters cell: the run sees this value",
            track_src,
        ],
    )
    nb = execute(path)
    out = text_of(nb.cells[3])
    assert "finished run first" in out and "in train" in out
    assert "0.6" in out  # the cell's own result is still displayed
    rec = _one_run(run_name="first")
    assert rec.status == "finished" and rec.source == "magic"
    assert rec.experiment == "train"  # the notebook's name
    assert rec.params == {"alpha": "0.3", "layers": "[1, 2]", "model": "ridge"}
    assert rec.metrics == {"loss": pytest.approx(0.05), "r2": 0.6, "rmse": 42.5}
    assert rec.tags == {"stage": "dev", "team": "vision"}
    assert len(wb.metric_history(rec.run_id, "loss")) == 20
    ctx = rec.context
    assert ctx["cell_source"] == track_src
    on_disk = nbformat.read(path, as_version=4)
    assert ctx["cell_id"] == on_disk.cells[3].id
    assert ctx["execution_count"] == 4
    assert ctx["notebook_path"] == str(path)
    assert ctx["notebook_sha"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert get_store().blob_path(ctx["notebook_sha"]).read_bytes() == path.read_bytes()
    assert ctx["python_version"].count(".") == 2
    env = get_store().environment(ctx["env_hash"])
    assert any(p.startswith("duckdb==") for p in env["packages"])
    assert rec.duration_s is not None and rec.duration_s >= 0


def test_papermill_injected_parameters_are_the_recorded_values(tmp_path, monkeypatch):
    import papermill as pm

    src = tmp_path / "sweep.ipynb"
    make_notebook(
        src,
        [
            ("alpha = 0.1\nepochs = 3", ["parameters"]),
            "%load_ext workbench",
            "%%track --metrics score\nscore = alpha * epochs",
        ],
    )
    out = tmp_path / "out.ipynb"
    monkeypatch.setenv("WORKBENCH_NOTEBOOK_PATH", str(src))
    pm.execute_notebook(
        str(src), str(out), parameters={"alpha": 0.5}, kernel_name="python3", progress_bar=False
    )
    rec = _one_run()
    assert rec.params == {"alpha": "0.5", "epochs": "3"}
    assert rec.metrics == {"score": 1.5}
    assert rec.context["cell_id"] is not None  # matched by source: papermill sends no cell id


def test_failing_cell_is_recorded_failed_and_earlier_runs_are_kept(session_notebook):
    path = session_notebook(
        "fails.ipynb",
        [
            "%load_ext workbench",
            "%%track --name ok\nx = 1",
            "%%track --name broken\nimport workbench as wb\nwb.log_metric('before', 1.0)\nraise ValueError('bad batch')",
            "%%track --name never\ny = 2",
        ],
    )
    with pytest.raises(CellExecutionError, match="bad batch"):
        execute(path)
    assert _one_run(run_name="ok").status == "finished"
    broken = _one_run(run_name="broken")
    assert broken.status == "failed"
    assert "ValueError: bad batch" in broken.error and "Traceback" in broken.error
    assert broken.metrics == {"before": 1.0}
    assert "never" not in set(wb.runs()["run_name"])


def test_interrupted_cell_is_killed(session_notebook):
    path = session_notebook(
        "slow.ipynb",
        [
            "%load_ext workbench",
            "%%track --name slow\nimport time, workbench as wb\nwb.log_metric('started', 1.0)\ntime.sleep(60)",
            "after = 1",
        ],
    )
    # nbclient interrupts the kernel when a cell times out: a real KeyboardInterrupt.
    # nbclient interrupts the kernel at the timeout; the cell then fails with the
    # KeyboardInterrupt the kernel raised.
    with pytest.raises(CellExecutionError, match="KeyboardInterrupt"):
        execute(path, timeout=8, interrupt_on_timeout=True)
    rec = _one_run(run_name="slow")
    assert rec.status == "killed"
    assert rec.metrics == {"started": 1.0}


def test_bad_options_and_missing_metrics_get_clear_messages(session_notebook):
    path = session_notebook(
        "bad.ipynb",
        [
            ("fn = lambda x: x\nimport numpy as np\ndata = np.arange(3)\nn = 5", ["parameters"]),
            "%load_ext workbench",
            "%%track --bogus 1\nz = 1",
            "%%track --name partial --metrics good,nothere,words\ngood = 3.5\nwords = 'text'",
            "%%track --name weird --params also_missing\nw = 1",
        ],
    )
    nb = execute(path, allow_errors=True)
    bad = text_of(nb.cells[2])
    assert "unrecognized arguments: --bogus" in bad and "Accepted options: --name" in bad
    partial_out = text_of(nb.cells[3])
    assert "no variable 'nothere'" in partial_out
    assert "'words' not recorded" in partial_out and "must be numbers" in partial_out
    partial = _one_run(run_name="partial")
    assert partial.metrics == {"good": 3.5}
    # Non-literal parameters-cell values are recorded as their repr.
    assert partial.params["data"] == "array([0, 1, 2])"
    assert partial.params["fn"].startswith("<function <lambda>")
    assert partial.params["n"] == "5"
    assert "no variable 'also_missing'" in text_of(nb.cells[4])
    assert len(wb.runs()) == 2  # the refused cell recorded nothing


def test_nested_track_becomes_a_child_run_and_wb_start_end_span_cells(session_notebook):
    path = session_notebook(
        "nested.ipynb",
        [
            "%load_ext workbench",
            "%wb start --name outer --tags kind=multi",
            "%wb param lr=0.01\n%wb log acc=0.5 loss=1.25",
            "%%track --name inner --experiment probes\nv = 1",
            "%wb log acc=0.75\n%wb tag reviewed=yes",
            "%wb end",
        ],
    )
    nb = execute(path)
    assert "is active: this cell is recorded as its child run" in text_of(nb.cells[3])
    outer = _one_run(run_name="outer")
    inner = _one_run(run_name="inner")
    assert inner.parent_run_id == outer.run_id and outer.children == [inner.run_id]
    assert (outer.experiment, inner.experiment) == ("nested", "probes")  # --experiment, else the notebook
    assert outer.params == {"lr": "0.01"} and outer.tags == {"kind": "multi", "reviewed": "yes"}
    assert outer.metrics == {"acc": 0.75, "loss": 1.25}
    assert outer.status == inner.status == "finished"


def test_unsaved_notebook_and_unknown_path_still_record(tmp_path, monkeypatch):
    path = tmp_path / "on_disk.ipynb"
    make_notebook(path, ["%load_ext workbench", "%%track --name unsaved\nq = 1"])
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "Untitled3.ipynb"))  # never saved
    nb = execute(path)
    assert "Untitled3.ipynb is not saved to disk yet" in text_of(nb.cells[1])
    rec = _one_run(run_name="unsaved")
    assert rec.status == "finished" and rec.context["notebook_sha"] is None
    assert rec.experiment == "Untitled3"
    monkeypatch.delenv("JPY_SESSION_NAME")
    nb = execute(path)  # no session: found by its cells, among the folder's notebooks
    assert "path is unknown" not in text_of(nb.cells[1])
    assert _one_run(run_name="unsaved", experiment="on_disk").context["notebook_path"] == str(path)
    # A cell that no notebook on disk holds (edited, not saved): no notebook, still a run.
    edited = nbformat.read(path, as_version=4)
    edited.cells[1].source = "%%track --name edited\nq = 2"
    nbformat.write(edited, tmp_path / "unsaved_copy.json")  # not a notebook name
    nb = execute(tmp_path / "unsaved_copy.json")
    assert "path is unknown" in text_of(nb.cells[1])
    assert len(wb.runs()) == 3


def test_git_state_and_environment_are_recorded_once(session_notebook, tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "T")
    (tmp_path / "data.txt").write_text("v1\n")
    git("add", "data.txt")
    git("commit", "-q", "-m", "init")
    changed = tmp_path / "data.txt"
    changed.write_text("v2, changed\n")  # uncommitted change
    # Not in the commit's second with the same size: git itself could call that clean.
    st = changed.stat()
    os.utime(changed, (st.st_atime + 5, st.st_mtime + 5))
    path = session_notebook(
        "git.ipynb", ["%load_ext workbench", "%%track --name a\n1", "%%track --name b\n2"]
    )
    execute(path)
    a, b = _one_run(run_name="a"), _one_run(run_name="b")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    assert a.context["git_commit"] == head and a.context["git_branch"] == "main"
    assert a.context["git_dirty"] is True and "+v2, changed" in a.context["git_diff"]
    assert a.context["env_hash"] == b.context["env_hash"]
    import duckdb

    get_store().release()
    con = duckdb.connect(str(get_store().db_path))
    assert con.execute("SELECT count(*) FROM environments").fetchone()[0] == 1
    con.close()


def test_sklearn_autolog_and_opt_out(session_notebook):
    path = session_notebook(
        "sk.ipynb",
        [
            "%load_ext workbench",
            "%%track --name auto\nfrom sklearn.linear_model import Ridge\n"
            "from sklearn.datasets import load_diabetes\nX, y = load_diabetes(return_X_y=True)\n"
            "m = Ridge(alpha=0.7).fit(X, y)",
            "%%track --name manual --no-autolog\nm2 = Ridge(alpha=0.2).fit(X, y)",
            "%%track --name pipe\nfrom sklearn.pipeline import make_pipeline\n"
            "from sklearn.preprocessing import StandardScaler\n"
            "p = make_pipeline(StandardScaler(), Ridge(alpha=3.0)).fit(X, y)",
        ],
    )
    execute(path)
    auto = _one_run(run_name="auto")
    assert auto.params["Ridge.alpha"] == "0.7"
    assert auto.params["Ridge.fit_intercept"] == "True"
    assert _one_run(run_name="manual").params == {}
    pipe = _one_run(run_name="pipe").params
    assert pipe["Pipeline.ridge__alpha"] == "3.0"
    assert not any(k.startswith("Ridge.") for k in pipe)  # only the outermost fit records


def test_reload_ext_keeps_one_set_of_hooks(session_notebook):
    path = session_notebook(
        "reload.ipynb",
        [
            "%load_ext workbench",
            "%reload_ext workbench",
            "%reload_ext workbench",
            "ip = get_ipython()\nprint(sum('WorkbenchMagics' in repr(f) for f in ip.events.callbacks['pre_run_cell']))",
            "%%track --name after-reload\nk = 1",
        ],
    )
    nb = execute(path)
    assert text_of(nb.cells[3]).strip() == "1"
    assert _one_run(run_name="after-reload").status == "finished"


def _needs_widgets():
    import workbench.widgets  # noqa: F401  (an import error here is a failure, never a skip)


def test_wb_subcommands_in_a_kernel(session_notebook):
    _needs_widgets()
    path = session_notebook(
        "wbcmds.ipynb",
        [
            "%load_ext workbench",
            "%%track --name r1 --metrics m\nm = 1.0",
            "%%track --name r2 --metrics m\nm = 2.0",
            "%wb runs metrics.m > 1.5",
            "import workbench as wb\nids = list(wb.runs().run_id)\nget_ipython().run_line_magic('wb', f'show {ids[0][:8]}')",
            "%wb runs metrics.m <",
            "%wb show",
        ],
    )
    nb = execute(path, allow_errors=True)
    runs_out = nb.cells[3].outputs
    bundle = next(o["data"] for o in runs_out if o.get("output_type") in ("display_data", "execute_result"))
    assert "text/html" in bundle and "r2" in bundle["text/html"] and "r1" not in bundle["text/html"]
    assert "run " in text_of(nb.cells[4]) and "metrics:" in text_of(nb.cells[4])
    assert "invalid filter at position" in text_of(nb.cells[5])
    assert "give exactly one run id" in text_of(nb.cells[6])


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    """The README's quickstart, executed as users would run it."""
    _needs_widgets()
    nb, errors = execute_example("quickstart.ipynb", tmp_path, monkeypatch)
    assert errors == []
    df = wb.runs(experiment="quickstart")
    assert sorted(df["run_name"]) == ["boosting", "lasso", "ridge"] and set(df["status"]) == {"finished"}
    assert df["metrics.rmse"].notna().all()
    # The comparison cell shows the compare view: a widget, with a static HTML fallback
    # naming the three runs and the metric that differs.
    (shown,) = [o for o in nb.cells[-1].outputs if o.get("output_type") in ("display_data", "execute_result")]
    assert "application/vnd.jupyter.widget-view+json" in shown["data"]
    html = shown["data"]["text/html"]
    assert all(name in html for name in ("ridge", "lasso", "boosting")) and "rmse" in html


def test_papermills_output_notebook_keeps_the_final_live_chart(tmp_path, monkeypatch):
    """Headless, the live chart's last draw happens before the cell ends: papermill saves
    the chart with every step, not the empty placeholder a frontend would fill later."""
    import papermill as pm

    for name in ("JPY_SESSION_NAME", "WORKBENCH_NOTEBOOK_PATH"):
        monkeypatch.delenv(name, raising=False)
    src = tmp_path / "curve.ipynb"
    make_notebook(
        src,
        [
            ("steps = 30", ["parameters"]),
            "%load_ext workbench\nimport workbench as wb",
            "%%track --name curve\nfor i in range(steps):\n    wb.log_metric('loss', 1 / (i + 1), step=i)",
        ],
    )
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(src), str(out), kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    nb = nbformat.read(out, as_version=4)
    tracked = next(c for c in nb.cells if c.source.startswith("%%track"))
    charts = [o["data"][VEGALITE] for o in tracked.outputs if VEGALITE in o.get("data", {})]
    assert len(charts) == 1, tracked.outputs
    steps = [r["step"] for r in charts[0]["data"]["values"] if r["key"] == "loss"]
    assert max(steps) == 29 and len(steps) == 30
