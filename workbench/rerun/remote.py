"""What a Dask worker runs for one notebook job (:func:`run_task`).

The task carries everything the job needs: the notebook snapshot, its parameters and,
with ``--upload``, the notebook's folder. The worker executes the notebook in a
``workbench.rerun.worker`` process against a temporary store of its own (so nothing on
the worker needs the user's store), records the outcome there as a local job would, and
returns the runs as a bundle (:mod:`workbench.bridges.bundle`) that the client imports.
The temporary store and folders are removed when the task ends.

While the notebook runs, the task stops it when the sweep's stop event is set and, for a
tune, sends the objective's points to the client and stops the notebook when the client
says the trial is pruned.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

from ..env import WORKBENCH_NOTEBOOK_PATH, WORKBENCH_STORE, WORKBENCH_TAGS
from ..store import Store
from .jobs import JOB_TAG
from .pool import JobResult, Worker, record_outcome, watched

__all__ = ["WORKER_TAG", "run_task"]

#: The tag naming the Dask worker that executed a run's notebook.
WORKER_TAG = "workbench.dask_worker"


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def _event_set(name: str | None) -> bool:
    if not name:
        return False
    from distributed import Event

    return bool(Event(name).is_set())


def _unpack(data: bytes, folder: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            target = (folder / info.filename).resolve()
            if not target.is_relative_to(folder.resolve()):
                continue  # never outside the folder (the client packed it; still checked)
            zf.extract(info, folder)


def _watch(task: dict[str, Any], store: Store) -> Any:
    """The job's watch: the sweep's stop event; for a tune, the objective's points sent
    to the client, and the client's prune event."""
    stop, monitor = task.get("stop_event"), task.get("monitor")
    sent = [0]

    def watch(spec: dict[str, Any], result: JobResult) -> str | None:
        if _event_set(stop):
            return "stopped (the sweep was stopped)"
        if monitor is None:
            return None
        df = store.search_runs(f"tags.`{JOB_TAG}` = '{spec['job_id']}'")
        if len(df):
            h = store.metric_history(list(df["run_id"]), [monitor["key"]])
            points = [(int(a), float(b)) for a, b in zip(h["step"], h["value"])]
            if len(points) > sent[0]:
                from distributed import Queue

                Queue(monitor["queue"]).put(points[sent[0] :])
                sent[0] = len(points)
        if _event_set(monitor["prune_event"]):
            return "pruned"
        return None

    if stop is None and monitor is None:
        return None
    return watch


# One notebook worker process per Dask worker thread, kept between tasks: starting one
# (importing papermill) costs a second or two per notebook. Each job sets its own
# environment (store, tags), so a worker serves any task. It ends with its thread.
_workers: dict[int, Worker] = {}
_workers_lock = threading.Lock()


def _thread_worker() -> Worker:
    tid = threading.get_ident()
    with _workers_lock:
        w = _workers.get(tid)
        if w is None or w.proc.poll() is not None:
            w = _workers[tid] = Worker({**os.environ, "PYTHONUNBUFFERED": "1"}, die_with_parent=True)
        return w


def _retire(worker: Worker) -> None:
    with _workers_lock:
        for tid, w in list(_workers.items()):
            if w is worker:
                del _workers[tid]
    worker.close()


def run_task(task: dict[str, Any], upload: bytes | None = None) -> dict[str, Any]:
    """Execute one notebook job on this (Dask worker) machine and return its runs.

    Parameters
    ----------
    task
        ``spec`` (the job spec :func:`~workbench.rerun.jobs.make_spec` made on the client),
        ``notebook`` (the snapshot's bytes), optionally ``stop_event`` (a Dask Event
        name) and ``monitor`` (``key``, ``queue``, ``prune_event``).
    upload
        The notebook's folder as zip bytes (``--upload``): the notebook runs in a copy of
        it. Without it, the notebook runs in its original folder when this machine has
        it (shared storage), else in an empty temporary folder.

    Returns
    -------
    dict
        ``status``, ``error``, ``run_ids``, ``worker`` (this worker's address) and
        ``bundle`` (the runs as bundle bytes; None when the job did not start).
    """
    if _event_set(task.get("stop_event")):
        return {
            "status": "not started",
            "error": "the sweep was stopped first",
            "bundle": None,
            "run_ids": [],
        }
    address = _worker_address()
    with tempfile.TemporaryDirectory(prefix="workbench-task-") as tmp_name:
        tmp = Path(tmp_name)
        job_dir, files = tmp / "job", tmp / "files"
        job_dir.mkdir()
        files.mkdir()
        spec = dict(task["spec"])
        stem = Path(spec["input"]).stem
        inp, out = job_dir / f"{stem}.ipynb", job_dir / f"{stem}.output.ipynb"
        inp.write_bytes(task["notebook"])
        if upload is not None:
            _unpack(upload, files)
            cwd = files
        else:
            cwd = Path(spec["cwd"]) if Path(spec["cwd"]).is_dir() else files
        tags = {**json.loads(spec["env"][WORKBENCH_TAGS]), WORKER_TAG: address}
        env = {
            **spec["env"],
            WORKBENCH_STORE: str(tmp / "store"),
            WORKBENCH_NOTEBOOK_PATH: str(inp),
            WORKBENCH_TAGS: json.dumps(tags),
        }
        spec.update(input=str(inp), output=str(out), cwd=str(cwd), env=env)
        store = Store(tmp / "store")
        store.put_bytes(task["notebook"])  # the snapshot travels in the bundle
        result = JobResult(spec["job_id"], spec["parameters"])
        worker = _thread_worker()
        reply: dict[str, Any] | None = None
        try:
            reply = watched(worker, spec, result, _watch(task, store))
        finally:
            # An interrupted (or dead) worker exits: it never gets another job.
            if (
                reply is None
                or reply["status"] == "killed"
                or reply.get("interrupted")
                or worker.proc.poll() is not None
            ):
                _retire(worker)
        record_outcome(store, spec, reply, result)
        from ..bridges.bundle import export_runs

        bundle = tmp / "runs.wbz"
        export_runs(bundle, store=store)
        return {
            "status": result.status,
            "error": result.error,
            "run_ids": result.run_ids,
            "worker": address,
            "bundle": bundle.read_bytes(),
        }
