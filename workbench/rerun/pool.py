"""The local process pool: notebook jobs run in ``workbench.rerun.worker`` processes,
as many at once as ``jobs`` says, and each job's outcome is recorded as runs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .. import procs
from ..env import WORKBENCH_NOTEBOOK_ORIGIN, WORKBENCH_PARENT_RUN_ID, WORKBENCH_SOURCE, WORKBENCH_TAGS
from ..errors import WorkbenchError
from ..store import Batch, Store
from ..tracking import context, flush
from .jobs import JOB_TAG

__all__ = [
    "WATCH_INTERVAL",
    "Executor",
    "JobResult",
    "Monitor",
    "Watch",
    "Worker",
    "end_orphans",
    "record_outcome",
    "store_watch",
    "watched",
]

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What one notebook execution produced."""

    job_id: str
    parameters: dict[str, Any]
    status: str = "queued"
    run_ids: list[str] = field(default_factory=list)
    error: str | None = None
    output_sha: str | None = None

    @property
    def run_id(self) -> str | None:
        """The job's (first) new run."""
        return self.run_ids[0] if self.run_ids else None


class Worker:
    """A ``workbench.rerun.worker`` process running jobs one after another.

    ``die_with_parent``: on Linux, the process gets SIGTERM when the thread that started
    it ends (a Dask worker killed mid-task), so no notebook outlives its task.
    """

    def __init__(self, env: dict[str, str], *, die_with_parent: bool = False) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workbench.rerun.worker",
                *(["--die-with-parent"] if die_with_parent else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            # Its own process group: a terminal's Ctrl-C reaches the parent only, which
            # then stops the workers in order.
            start_new_session=True,
        )
        self.job: dict[str, Any] | None = None
        ready = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not ready:
            raise WorkbenchError("a notebook worker process failed to start")

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Send a job and wait for its result (or the worker's death)."""
        self.job = spec
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"status": "killed", "error": "the worker process had died", "worker_died": True}
        while True:
            line = self.proc.stdout.readline()
            if not line:
                code = self.proc.wait()
                return {
                    "status": "killed",
                    "error": f"the worker process died (exit status {code})",
                    "worker_died": True,
                }
            msg = json.loads(line)
            if msg.get("event") == "done" and msg.get("job_id") == spec["job_id"]:
                self.job = None
                return msg

    def interrupt(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)

    def close(self, timeout: float = 20.0) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Executor:
    """Runs job specs on ``jobs`` workers and reports progress."""

    def __init__(self, store: Store, jobs: int, on_progress: Callable[[dict[str, int]], None] | None) -> None:
        self.store = store
        self.jobs = jobs
        self.on_progress = on_progress
        self.stop_event = threading.Event()
        self.counts = {"done": 0, "failed": 0, "running": 0, "queued": 0}
        self._lock = threading.Lock()
        self._workers: list[Worker] = []

    def _progress(self, **delta: int) -> None:
        with self._lock:
            for k, v in delta.items():
                self.counts[k] += v
            snapshot = dict(self.counts)
        if self.on_progress is not None:
            self.on_progress(snapshot)

    def stop(self) -> None:
        """Stop: queued jobs are not started, running ones are interrupted (their runs
        become ``killed``)."""
        self.stop_event.set()
        for w in list(self._workers):
            w.interrupt()

    def run(self, specs: list[dict[str, Any]], results: dict[str, JobResult]) -> None:
        """Run ``specs`` (their results in ``results``, by job id) until done or stopped."""
        queue = list(specs)
        qlock = threading.Lock()

        def next_job() -> tuple[dict[str, Any], JobResult] | None:
            with qlock:
                if not queue:
                    return None
                spec = queue.pop(0)
            return spec, results[spec["job_id"]]

        self.run_jobs(next_job, len(queue))

    def run_jobs(
        self,
        next_job: Callable[[], tuple[dict[str, Any], JobResult] | None],
        total: int,
        *,
        on_done: Callable[[dict[str, Any], dict[str, Any], JobResult], None] | None = None,
        monitor: Monitor | None = None,
    ) -> None:
        """Run jobs as ``next_job()`` hands them out (None: no more), ``jobs`` at a time.

        ``on_done(spec, reply, result)`` is called once each job's runs are recorded.
        ``monitor`` sees the points of its metric about every second while a job runs; a
        reason it gives interrupts the job (its runs become ``killed``) and becomes its
        error.
        """
        watch = store_watch(self.store, monitor) if monitor is not None else None
        self._progress(queued=total)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}

        def work() -> None:
            worker: Worker | None = None
            try:
                while not self.stop_event.is_set():
                    job = next_job()
                    if job is None:
                        return
                    spec, result = job
                    if worker is None or worker.proc.poll() is not None:
                        worker = Worker(env)
                        self._workers.append(worker)
                    self._progress(queued=-1, running=1)
                    result.status = "running"
                    reply = watched(worker, spec, result, watch)
                    if reply["status"] == "killed" or reply.get("interrupted"):
                        # An interrupted worker exits after replying, and an interrupt sent as
                        # the job was finishing may land in the next one: never reuse it.
                        worker.close()
                        worker = None
                    try:
                        self._finish(spec, reply, result)
                    finally:
                        # Normally _finish sets it last; if it raised, still say how it ended.
                        if result.status == "running":
                            result.status = reply["status"]
                    self._progress(
                        running=-1, **({"done": 1} if reply["status"] == "finished" else {"failed": 1})
                    )
                    if on_done is not None:
                        on_done(spec, reply, result)
            finally:
                if worker is not None:
                    worker.close()

        run_threads(work, max(1, min(self.jobs, total)), self.stop)

    def _finish(self, spec: dict[str, Any], reply: dict[str, Any], result: JobResult) -> None:
        record_outcome(self.store, spec, reply, result)


def run_threads(work: Callable[[], None], n: int, stop: Callable[[], None]) -> None:
    """Run ``work`` in ``n`` threads until all return. Ctrl-C calls ``stop`` (which makes
    the workers end their jobs), waits for the threads, then re-raises."""
    threads = [threading.Thread(target=work, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)  # short joins, so the main thread sees Ctrl-C
    except KeyboardInterrupt:
        stop()
        for t in threads:
            t.join()
        raise


def end_orphans(store: Store, spec: dict[str, Any], wait_s: float = 10.0) -> None:
    """After a worker died, end the kernel it left running and wait for its runs.

    The kernel's runs carry its pid; terminating it lets any reader mark them
    ``killed``. A run not yet flushed when the worker died may still arrive.
    """
    where = f"tags.`{JOB_TAG}` = '{spec['job_id']}'"
    started = time.monotonic()
    deadline = started + wait_s
    signalled: set[int] = set()
    while time.monotonic() < deadline:
        df = store.search_runs(where)
        running = [store.get_run(r) for r in df[df["status"] == "running"]["run_id"]]
        for rec in running:
            pid = rec.context.get("pid")
            if pid and pid not in signalled and rec.context.get("host") == procs.hostname():
                signalled.add(pid)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)
        if len(df) and not running:
            return
        if not len(df) and time.monotonic() > started + 3.0:
            return  # nothing was recorded in time: the job's own failed run will say so
        time.sleep(0.25)


def record_outcome(store: Store, spec: dict[str, Any], reply: dict[str, Any], result: JobResult) -> None:
    """Record a job's outcome in ``store``: find its runs (or record one), attach the
    executed notebook, then set ``result`` (``status`` last)."""
    flush()
    # result.status is set last: other threads (the server's job endpoint, progress
    # bars) read a finished status as "run_ids and the output are there".
    status = reply["status"]
    result.error = reply.get("error")
    if reply.get("worker_died"):
        end_orphans(store, spec)
    df = store.search_runs(f"tags.`{JOB_TAG}` = '{spec['job_id']}'", "attributes.start_time ASC")
    run_ids = list(df["run_id"])
    out = Path(spec["output"])
    batch = Batch()
    if not run_ids:
        # The notebook failed before (or has no) tracked cell: the job still leaves a run.
        run_id = uuid.uuid4().hex
        now = int(time.time() * 1000)
        origin = spec["env"].get(WORKBENCH_NOTEBOOK_ORIGIN)
        experiment = Path(origin).stem if origin else "Default"
        batch.experiments[experiment] = now
        batch.runs.append(
            {
                "run_id": run_id,
                "experiment": experiment,
                "run_name": spec["name"],
                "status": status,
                "start_time": spec["started_ms"],
                "end_time": now,
                "source": spec["env"][WORKBENCH_SOURCE],
                "parent_run_id": spec["env"].get(WORKBENCH_PARENT_RUN_ID),
                "error": result.error,
                "notebook_path": origin,
                "notebook_sha": spec["snapshot_sha"],
            }
        )
        batch.params.extend((run_id, k, context.param_value(v)) for k, v in spec["parameters"].items())
        tags = json.loads(spec["env"][WORKBENCH_TAGS])
        batch.tags.extend((run_id, k, str(v)) for k, v in tags.items())
        run_ids = [run_id]
    if out.exists():
        sha, size, stored = store.put_file(out)
        result.output_sha = sha
        for rid in run_ids:
            batch.artifacts.append(
                {
                    "run_id": rid,
                    "path": f"{spec['name']}.output.ipynb",
                    "kind": "notebook",
                    "sha256": sha,
                    "size": size,
                    "direction": "output",
                    "stored_path": str(stored),
                    "created_at": int(time.time() * 1000),
                }
            )
    store.write(batch)
    with contextlib.suppress(OSError):
        out.unlink()
        Path(spec["input"]).unlink()
        out.parent.rmdir()
    result.run_ids = run_ids
    result.status = status


class Monitor(Protocol):
    """Follows one metric of running jobs (a tune's objective, for pruning)."""

    #: The metric key followed.
    key: str

    def check(self, spec: dict[str, Any], result: JobResult, points: list[tuple[int, float]]) -> str | None:
        """Given every ``(step, value)`` of ``key`` the job's runs logged so far: None to
        let it go on, else why to stop it."""


def store_watch(store: Store, monitor: Monitor) -> Watch:
    """A :data:`Watch` that reads a job's points of ``monitor.key`` from ``store`` (where
    its kernel writes them) and asks ``monitor``."""

    def watch(spec: dict[str, Any], result: JobResult) -> str | None:
        df = store.search_runs(f"tags.`{JOB_TAG}` = '{spec['job_id']}'")
        if not len(df):
            return None
        h = store.metric_history(list(df["run_id"]), [monitor.key])
        return monitor.check(spec, result, [(int(a), float(b)) for a, b in zip(h["step"], h["value"])])

    return watch


#: ``watch(spec, result)``: None to let a running job go on, else why to stop it.
Watch = Callable[[dict[str, Any], "JobResult"], "str | None"]

#: Seconds between two calls of a job's watch.
WATCH_INTERVAL = 1.0


def watched(worker: Worker, spec: dict[str, Any], result: JobResult, watch: Watch | None) -> dict[str, Any]:
    """Run ``spec`` on ``worker``; while it runs, call ``watch`` every
    :data:`WATCH_INTERVAL` seconds and interrupt the job when it gives a reason (which
    becomes the reply's ``error``, with ``stopped_by_watch`` set)."""
    if watch is None:
        return worker.run(spec)
    done = threading.Event()
    reason: list[str] = []

    def poll() -> None:
        while not done.wait(WATCH_INTERVAL):
            try:
                why = watch(spec, result)
            except Exception:  # noqa: BLE001 - a failing watch must not stop the job
                log.warning("workbench: watching job %s failed", spec["job_id"], exc_info=True)
                continue
            if why:
                reason.append(why)
                worker.interrupt()
                return

    t = threading.Thread(target=poll, name="workbench-watch", daemon=True)
    t.start()
    try:
        reply = worker.run(spec)
    finally:
        done.set()
        t.join()
    if reason and reply["status"] != "finished":
        reply = {**reply, "status": "killed", "error": reason[0], "stopped_by_watch": True}
    elif reason:
        reply = {**reply, "interrupted": True}  # it finished first; the interrupt is on its way
    return reply
