"""Sweeps and tunes on a real ``distributed.LocalCluster`` with worker processes: the
notebooks run in the workers (against temporary stores) and their runs are folded into
the local store as bundles."""

from __future__ import annotations

import logging
import os
import time

import dask  # a missing reference library fails the suite, never skips it
import distributed  # a missing reference library fails the suite, never skips it
import optuna  # a missing reference library fails the suite, never skips it
import pytest

import workbench as wb  # noqa: E402
from workbench.rerun.remote import WORKER_TAG  # noqa: E402
from workbench.store import get_store  # noqa: E402

from .conftest import make_notebook  # noqa: E402

pytestmark = pytest.mark.slow

# ``grandparent`` is the process that started the notebook's papermill worker: the Dask
# worker process. ``die`` kills it from inside the notebook: "once" only on the first
# attempt (a marker file remembers), "always" on every attempt.
JOB = [
    ("x = 0.0\npause = 0.0\ndie = 'never'\nmarker = ''", ["parameters"]),
    "%load_ext workbench",
    "%%track --name job --metrics grandparent,score\n"
    "import os, signal, time\n"
    "import psutil\n"
    "import workbench as wb\n"
    "grandparent = psutil.Process().parent().parent().pid\n"
    "first = bool(marker) and not os.path.exists(marker)\n"
    "if die == 'always' or (die == 'once' and first):\n"
    "    open(marker, 'a').close()\n"
    "    os.kill(grandparent, signal.SIGKILL)\n"
    "    time.sleep(60)\n"
    "for step in range(30 if pause else 3):\n"
    "    wb.log_metric('loss', (x - 2) ** 2 + 1 / (step + 1), step=step)\n"
    "    time.sleep(pause)\n"
    "score = x * 2\n",
]


@pytest.fixture(scope="module")
def client():
    # One retry after a lost worker: a task whose worker dies twice is given up.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "job.ipynb"
    make_notebook(path, JOB)
    return path


def test_a_sweep_runs_in_the_worker_processes_and_lands_in_the_local_store(client, notebook, store_dir):
    s = wb.sweep(notebook, {"x": [1.0, 2.0, 3.0]}, executor=client, progress=False)
    assert {j.status for j in s.jobs.values()} == {"finished"}, [j.error for j in s.jobs.values()]
    df = s.results
    assert len(df) == 3 and set(df["status"]) == {"finished"}
    workers = client.run(os.getpid)  # address -> pid of each worker process
    assert set(df[f"tags.{WORKER_TAG}"]) <= set(workers)
    assert set(df["metrics.grandparent"].astype(int)) <= set(workers.values())
    assert os.getpid() not in set(df["metrics.grandparent"].astype(int))
    assert sorted(df["metrics.score"]) == [2.0, 4.0, 6.0]
    store = get_store(store_dir)
    for run_id in df["run_id"]:
        rec = store.get_run(run_id)
        assert rec.source == "sweep" and rec.tags["sweep_id"] == s.sweep_id
        assert store.blob_path(rec.context["notebook_sha"]).exists()  # the snapshot came back
        (out,) = [a for a in rec.artifacts if a["kind"] == "notebook"]
        assert os.path.exists(out["stored_path"])  # the executed notebook too
        assert len(store.metric_history([run_id], ["loss"])) == 3
    assert not list((store_dir / "jobs").glob("*"))  # the jobs' local folders are gone


def test_stop_interrupts_the_running_notebooks(client, notebook):
    s = wb.sweep(notebook, {"x": [1.0, 2.0], "pause": [5.0]}, executor=client, progress=False, wait=False)
    time.sleep(8)
    started = time.monotonic()
    s.stop()
    s.wait()
    assert time.monotonic() - started < 45  # not the 150 s the notebooks would take
    assert {j.status for j in s.jobs.values()} <= {"killed", "not started"}
    df = s.results
    assert set(df["status"]) <= {"killed"}


def test_a_tune_on_the_cluster_prunes_through_the_workers(client, notebook):
    study = wb.tune(
        notebook,
        {"x": "cat:2.0,4.0", "pause": "cat:0.3"},
        objective="metrics.loss",
        n_trials=2,
        jobs=2,
        sampler=optuna.samplers.GridSampler({"x": [2.0, 4.0], "pause": [0.3]}),
        pruner=optuna.pruners.ThresholdPruner(upper=3.0),
        executor=client,
        study="on-dask",
        progress=False,
    )
    by_x = {t.params["x"]: t for t in study.trials}
    assert by_x[2.0].state.name == "COMPLETE" and by_x[2.0].value == pytest.approx(1 / 30)
    assert by_x[4.0].state.name == "PRUNED"
    (run_id,) = by_x[4.0].user_attrs["run_ids"]
    rec = wb.get_run(run_id)
    assert rec.status == "killed" and "pruned" in rec.tags and rec.tags[WORKER_TAG] in client.run(os.getpid)


def test_a_worker_killed_mid_sweep_is_retried_then_given_up(client, notebook, tmp_path):
    once = wb.sweep(
        notebook,
        {"die": ["once", "never"], "marker": [str(tmp_path / "died")]},
        executor=client,
        progress=False,
    )
    assert (tmp_path / "died").exists()  # the first attempt did kill its worker
    assert {j.status for j in once.jobs.values()} == {"finished"}, [j.error for j in once.jobs.values()]
    assert len(once.results) == 2  # one run per job: the lost attempt left nothing behind

    always = wb.sweep(
        notebook, {"die": ["always"], "marker": [str(tmp_path / "again")]}, executor=client, progress=False
    )
    (job,) = always.jobs.values()
    assert job.status == "killed" and "worker was lost" in job.error
    (rec,) = [wb.get_run(r) for r in always.results["run_id"]]
    assert rec.status == "killed" and "worker was lost" in rec.error
    assert rec.tags["sweep_id"] == always.sweep_id


def test_bad_input_is_one_line(notebook, tmp_path):
    with pytest.raises(wb.InvalidInputError, match="cannot reach the Dask scheduler") as e:
        wb.sweep(notebook, {"x": [1.0]}, executor="tcp://127.0.0.1:9", progress=False)
    assert "\n" not in str(e.value)
    with pytest.raises(wb.InvalidInputError, match="give executor= too"):
        wb.sweep(notebook, {"x": [1.0]}, upload=True, progress=False)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * 2_000_000)
    with pytest.raises(wb.InvalidInputError, match="holds more than 1 MB"):
        wb.sweep(notebook, {"x": [1.0]}, executor="tcp://127.0.0.1:9", upload=True, upload_limit=1_000_000)
    assert wb.runs().empty


def test_upload_ships_the_notebook_folder(client, tmp_path):
    (tmp_path / "data.txt").write_text("hello")
    path = tmp_path / "reader.ipynb"
    make_notebook(
        path,
        [
            ("k = 1", ["parameters"]),
            "%load_ext workbench",
            "%%track --name read --metrics n\n"
            "n = len(open('data.txt').read()) * k\n"
            "open('written.txt', 'w').write('x')",
        ],
    )
    s = wb.sweep(path, {"k": [2]}, executor=client, upload=True, progress=False)
    (job,) = s.jobs.values()
    assert job.status == "finished", job.error
    assert wb.get_run(job.run_id).metrics["n"] == 10.0
    assert not (tmp_path / "written.txt").exists()  # written in the worker's copy, not here
