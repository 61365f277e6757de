"""Sweeps and tunes on a Dask cluster: each notebook execution is one Dask task.

:class:`DaskExecutor` has the local :class:`~workbench.rerun.pool.Executor`'s interface.
Each job is submitted with its notebook snapshot and parameters (and, with ``upload``,
the notebook's folder, sent once per worker); the worker runs it against a temporary
store and returns its runs as a bundle (:mod:`.remote`), which is imported into the local
store as soon as the task completes.

A worker lost mid-task: Dask runs the task again elsewhere (how many times is the
scheduler's ``distributed.scheduler.allowed-failures``; a task that raises is retried
once). When Dask gives up, the job's run is recorded here as ``killed`` with the reason.
dask.distributed is imported only when a cluster is used.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store import Store
from .pool import JobResult, Monitor, record_outcome, run_threads

__all__ = ["DEFAULT_UPLOAD_LIMIT", "DaskExecutor", "connect", "pack_folder"]

#: Largest folder ``--upload`` ships (bytes): beyond it, use storage the workers share.
DEFAULT_UPLOAD_LIMIT = 100 * 1024 * 1024
# Never shipped with --upload: the store, version control, caches, environments.
_SKIP_DIRS = {
    ".workbench",
    ".git",
    ".hg",
    "__pycache__",
    ".ipynb_checkpoints",
    "node_modules",
    ".venv",
    "venv",
}


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InvalidInputError(
            "running on a Dask cluster needs dask.distributed: pip install 'workbench[dask]'"
        ) from None
    return distributed


def connect(executor: Any) -> tuple[Any, Callable[[], None]]:
    """The Dask client for ``executor`` and what to call when done with it: a
    ``distributed.Client`` is used as is (and left open); a scheduler address
    (``tcp://host:8786``) is connected, and closed by the callable.

    Raises
    ------
    InvalidInputError
        Neither, dask.distributed is not installed, or the scheduler cannot be reached.
    """
    if isinstance(executor, str):
        distributed = _distributed()
        try:
            client = distributed.Client(executor, timeout="15s")
        except (OSError, TimeoutError, ValueError) as e:
            raise InvalidInputError(
                f"cannot reach the Dask scheduler at {executor!r} ({type(e).__name__}: {e}); give the address "
                "its scheduler prints, e.g. tcp://10.0.0.5:8786"
            ) from None
        return client, client.close
    if not (hasattr(executor, "submit") and hasattr(executor, "scheduler_info")):
        raise InvalidInputError(
            f"executor must be a dask.distributed Client or a scheduler address (tcp://host:8786), got {executor!r}"
        )
    return executor, lambda: None


def pack_folder(folder: Path, limit: int = DEFAULT_UPLOAD_LIMIT) -> bytes:
    """The notebook's folder as zip bytes, for workers without shared storage.

    Skips the store (``.workbench``), version control, caches and virtual environments.

    Raises
    ------
    InvalidInputError
        The folder holds more than ``limit`` bytes (nothing is sent).
    """
    files: list[tuple[Path, str]] = []
    total = 0
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        for n in names:
            p = Path(root) / n
            if not p.is_file():
                continue
            total += p.stat().st_size
            if total > limit:
                raise InvalidInputError(
                    f"--upload: {folder} holds more than {limit / 1e6:.0f} MB; put the data on storage the "
                    "workers share (they then run the notebook in its own folder), or raise the limit "
                    "(--upload-limit MB / upload_limit=)"
                )
            files.append((p, p.relative_to(folder).as_posix()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p, rel in files:
            zf.write(p, rel)
    return buf.getvalue()


class DaskExecutor:
    """Runs job specs as Dask tasks and imports their runs; progress and stop as the
    local executor's.

    Parameters
    ----------
    store
        The local store the runs are imported into.
    client
        A ``distributed.Client``.
    jobs
        For :meth:`run_jobs` (tunes): jobs in flight at once. :meth:`run` (sweeps)
        submits every job and lets the cluster schedule them.
    upload
        The notebook's folder as zip bytes (:func:`pack_folder`), or None.
    """

    def __init__(
        self,
        store: Store,
        client: Any,
        jobs: int,
        on_progress: Callable[[dict[str, int]], None] | None,
        upload: bytes | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.jobs = jobs
        self.on_progress = on_progress
        self.stop_event = threading.Event()
        self.counts = {"done": 0, "failed": 0, "running": 0, "queued": 0}
        self.stop_name = f"workbench-stop-{uuid.uuid4().hex[:12]}"
        self._lock = threading.Lock()
        self._upload = upload
        self._upload_future: Any = None

    def _progress(self, **delta: int) -> None:
        with self._lock:
            for k, v in delta.items():
                self.counts[k] += v
            snapshot = dict(self.counts)
        if self.on_progress is not None:
            self.on_progress(snapshot)

    def stop(self) -> None:
        """Stop: jobs not started are not run; running notebooks are interrupted (their
        runs become ``killed``, and are imported)."""
        self.stop_event.set()
        distributed = _distributed()
        with contextlib.suppress(Exception):  # a lost scheduler: the tasks are gone anyway
            distributed.Event(self.stop_name, client=self.client).set()

    # -- submitting and collecting ------------------------------------------------------
    def _submit(self, spec: dict[str, Any], monitor: dict[str, str] | None = None) -> Any:
        if self._upload is not None and self._upload_future is None:
            self._upload_future = self.client.scatter(self._upload, broadcast=False)
        task = {
            "spec": spec,
            "notebook": Path(spec["input"]).read_bytes(),
            "stop_event": self.stop_name,
            "monitor": monitor,
        }
        from .remote import run_task

        # retries=1: a task that raises (not a failing notebook: that is a result) runs
        # once more. A lost worker is the scheduler's business (allowed-failures).
        return self.client.submit(
            run_task, task, self._upload_future, key=f"workbench-{spec['job_id']}", retries=1, pure=False
        )

    def _collect(self, spec: dict[str, Any], future: Any, result: JobResult) -> dict[str, Any]:
        """Import a finished task's runs (or record why it has none); returns the reply."""
        try:
            out = future.result()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # noqa: BLE001 - recorded as the job's run (CancelledError is one)
            name = type(e).__name__
            if "Cancelled" in name:
                why, status = "cancelled before it ran", "killed"
            elif name == "KilledWorker":
                why, status = f"its Dask worker was lost, and lost again on retry ({e})", "killed"
            else:
                why, status = f"the Dask task raised {name}: {e}", "failed"
            out = {"status": status, "error": why, "bundle": None, "run_ids": []}
        try:
            if out.get("bundle"):
                from ..bridges.bundle import import_runs

                import_runs(io.BytesIO(out["bundle"]), store=self.store)
                result.run_ids = list(out["run_ids"])
                result.error = out.get("error")
                result.status = out["status"]
            elif out["status"] == "not started":
                result.error = out.get("error")
                result.status = "not started"
            else:
                record_outcome(self.store, spec, out, result)
        finally:
            shutil.rmtree(Path(spec["input"]).parent, ignore_errors=True)
        return out

    def run(self, specs: list[dict[str, Any]], results: dict[str, JobResult]) -> None:
        """Submit every job; import each one's runs as it completes."""
        distributed = _distributed()
        self._progress(queued=len(specs))
        futures = {}
        for spec in specs:
            futures[self._submit(spec)] = spec
        # Dask does not say when a task starts: as many run as the workers have threads.
        slots = max(1, sum(self.client.nthreads().values()))
        pending = len(futures)
        self._progress(queued=-min(slots, pending), running=min(slots, pending))
        done_iter = distributed.as_completed(list(futures))
        interrupted = False
        while True:
            try:
                future = next(done_iter)
            except StopIteration:
                break
            except KeyboardInterrupt:
                interrupted = True
                self.stop()
                continue
            spec = futures[future]
            reply = self._collect(spec, future, results[spec["job_id"]])
            before = min(slots, pending)
            pending -= 1
            after = min(slots, pending)
            # The job ended (running -1); one that was queued starts, if any.
            self._progress(
                running=after - before,
                queued=before - after - 1,
                **({"done": 1} if reply["status"] == "finished" else {"failed": 1}),
            )
        if interrupted:
            raise KeyboardInterrupt

    def run_jobs(
        self,
        next_job: Callable[[], tuple[dict[str, Any], JobResult] | None],
        total: int,
        *,
        on_done: Callable[[dict[str, Any], dict[str, Any], JobResult], None] | None = None,
        monitor: Monitor | None = None,
    ) -> None:
        """Keep ``jobs`` tasks in flight, taking jobs from ``next_job()`` until it gives
        None (a tune asks its sampler for each trial when one slot frees).

        ``monitor`` gets the points the task sends of its metric while the notebook runs;
        when it gives a reason, the task stops the notebook (its runs become ``killed``).
        """
        distributed = _distributed()
        self._progress(queued=total)

        def work() -> None:
            while not self.stop_event.is_set():
                job = next_job()
                if job is None:
                    return
                spec, result = job
                names = None
                if monitor is not None:
                    names = {
                        "key": monitor.key,
                        "queue": f"workbench-points-{spec['job_id']}",
                        "prune_event": f"workbench-prune-{spec['job_id']}",
                    }
                self._progress(queued=-1, running=1)
                result.status = "running"
                future = self._submit(spec, names)
                reason = self._follow(spec, result, future, monitor, names, distributed) if names else None
                reply = self._collect(spec, future, result)
                if reason and result.status != "finished":
                    result.error = reason
                    reply = {**reply, "status": "killed", "error": reason, "stopped_by_watch": True}
                self._progress(
                    running=-1, **({"done": 1} if reply["status"] == "finished" else {"failed": 1})
                )
                if on_done is not None:
                    on_done(spec, reply, result)

        run_threads(work, max(1, min(self.jobs, total)), self.stop)

    def _follow(
        self,
        spec: dict[str, Any],
        result: JobResult,
        future: Any,
        monitor: Monitor,
        names: dict[str, str],
        distributed: Any,
    ) -> str | None:
        """While the task runs: hand the points it sends to ``monitor``; set the task's
        prune event when the monitor says stop. Returns the monitor's reason, if any."""
        queue = distributed.Queue(names["queue"], client=self.client)
        points: list[tuple[int, float]] = []
        reason = None
        while not future.done():
            try:
                batch = queue.get(timeout=0.5)
            except (TimeoutError, OSError):
                continue
            except Exception:  # noqa: BLE001 - asyncio's TimeoutError on older Pythons
                time.sleep(0.5)
                continue
            points.extend((int(s), float(v)) for s, v in batch)
            if reason is None:
                reason = monitor.check(spec, result, points)
                if reason:
                    distributed.Event(names["prune_event"], client=self.client).set()
        return reason
