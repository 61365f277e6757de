"""The per-process, per-store buffer of operations, its background writer thread, and the
rescue file written when the last write at exit fails.

Runs append operations (``ops``) and metric points (their :class:`PointBuffer`); the
thread writes what has accumulated in one transaction every ``FLUSH_INTERVAL_S``, as
soon as a run ends, and when a run's buffer passes ``FLUSH_POINTS``. Several runs ending
close together share one transaction (group commit), which is what keeps run creation
far below the ~3 ms a store session costs.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store import Batch, Store
from .points import Columns

if TYPE_CHECKING:
    from .run import Run

#: A run's buffer size that wakes the writer at once.
FLUSH_POINTS = 500_000
#: Past this many unwritten points the logging call itself writes (back-pressure).
MAX_BUFFERED_POINTS = 2_000_000
#: Seconds between background flushes while there is something to write.
FLUSH_INTERVAL_S = 1.0
#: After a run ends, the writer waits this long for others to end before writing, so a
#: loop of short runs shares transactions instead of paying one per run.
GROUP_COMMIT_S = 0.02
#: Seconds between heartbeats of a running run that logs nothing.
HEARTBEAT_S = 30.0


class Writer:
    """The per-process, per-store buffer and its background flushing thread."""

    def __init__(self, store: Store) -> None:
        # Import the write path's libraries now: imported at interpreter exit they would
        # fail (they register exit hooks, which Python refuses once shutdown has begun;
        # DuckDB's Arrow scan pulls in pandas, which pulls in concurrent.futures.thread).
        import concurrent.futures.thread  # noqa: F401

        import duckdb  # noqa: F401
        import numpy  # noqa: F401
        import pyarrow  # noqa: F401

        self.store = store
        self.ops: list[tuple[Any, ...]] = []
        self.runs: dict[str, Run] = {}
        self.error: BaseException | None = None
        self._known_experiments: set[str] = set()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._last_write = time.monotonic()
        self._run_ended = False
        self._pid = os.getpid()

    # -- called from logging code -----------------------------------------------
    def add_run(
        self, run: Run, row: dict[str, Any], params: Mapping[str, Any] | None, tags: Mapping[str, Any] | None
    ) -> None:
        if run.experiment not in self._known_experiments:
            self.ops.append(("experiment", run.experiment, row["start_time"]))
            self._known_experiments.add(run.experiment)
        self.ops.append(("run", row))
        self.runs[run.run_id] = run
        if params:
            run.log_params(params)
        if tags:
            run.set_tags(tags)
        self._ensure_thread()

    def points_full(self, n: int) -> None:
        if n >= MAX_BUFFERED_POINTS:
            self.flush()
        else:
            self._wake.set()

    def run_ended(self) -> None:
        self._run_ended = True
        self._wake.set()

    # -- flushing -----------------------------------------------------------------
    def has_pending(self) -> bool:
        return bool(self.ops) or any(len(r.buffer) for r in list(self.runs.values()))

    def flush(self) -> None:
        """Write everything buffered so far, in this thread, in one transaction."""
        with self._flush_lock:
            # Ops before points: a point's run row is then always in this batch or an earlier one.
            n = len(self.ops)
            ops = self.ops[:n]
            del self.ops[:n]
            chunks: list[tuple[Run, Columns]] = []
            for run in list(self.runs.values()):
                cols = run.buffer.take()
                if cols is not None:
                    chunks.append((run, cols))
            batch = make_batch(ops, chunks)
            batch.heartbeats = [r.run_id for r in list(self.runs.values()) if not r.ended]
            try:
                self.store.write(batch)
            except BaseException as e:
                self.ops[:0] = ops
                for run, cols in chunks:
                    run.buffer.put_back(cols)
                self.error = e
                raise
            self.error = None
            self._last_write = time.monotonic()
            for run_id, run in list(self.runs.items()):
                if run.ended and not len(run.buffer):
                    self.runs.pop(run_id, None)

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():
            # Forked child: the parent's thread does not exist here, and its buffers are the parent's.
            self._pid = os.getpid()
            self._thread = None
            self.ops.clear()
            self.runs.clear()
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="workbench-writer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        backoff = FLUSH_INTERVAL_S
        while not self._stopping:
            self._wake.wait(backoff)
            self._wake.clear()
            if self._stopping:
                return
            if self._run_ended:
                self._run_ended = False
                time.sleep(GROUP_COMMIT_S)
            active = any(not r.ended for r in list(self.runs.values()))
            due_heartbeat = active and time.monotonic() - self._last_write > HEARTBEAT_S
            if not (self.has_pending() or due_heartbeat):
                continue
            try:
                self.flush()
                backoff = FLUSH_INTERVAL_S
            except BaseException as e:  # noqa: BLE001 - the thread must survive to retry
                if backoff == FLUSH_INTERVAL_S and not self._stopping:
                    warnings.warn(
                        f"Workbench could not write to {self.store.directory} ({e}); "
                        "the data stays in memory and will be retried",
                        RuntimeWarning,
                        stacklevel=1,
                    )
                backoff = min(backoff * 2, 30.0)

    def discard(self) -> None:
        """Stop the thread without writing what is left (see ``lifecycle.reset``)."""
        self._stopping = True
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread and write what is left; rescue it to a file if that fails."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._pid != os.getpid():
            return
        # Another thread may be mid-flush with data it took from the buffer: let it finish
        # before deciding nothing is left (the interpreter kills daemon threads next).
        acquired = self._flush_lock.acquire(timeout=timeout)
        if acquired:
            self._flush_lock.release()
        if not self.has_pending():
            return
        try:
            self.flush()
        except BaseException as e:  # noqa: BLE001
            path = self._rescue()
            print(
                f"workbench: could not write to {self.store.directory} at exit ({e}); "
                f"the unwritten data was saved to {path}",
                file=sys.stderr,
            )

    def _rescue(self) -> Path:
        directory = self.store.directory / "unflushed"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{int(time.time())}-{os.getpid()}.json"
        payload = {
            "ops": self.ops,
            "points": {rid: r.buffer.as_dict() for rid, r in self.runs.items() if len(r.buffer)},
        }
        path.write_text(json.dumps(payload, default=str))
        return path


def make_batch(ops: list[tuple[Any, ...]], chunks: list[tuple[Run, Columns]]) -> Batch:
    """One store batch from buffered operations and taken metric chunks."""
    batch = Batch()
    for op in ops:
        kind = op[0]
        if kind == "param":
            batch.params.append(op[1:])
        elif kind == "tag":
            batch.tags.append(op[1:])
        elif kind == "run":
            batch.runs.append(op[1])
        elif kind == "end":
            batch.ends.append(op[1:])
        elif kind == "artifact":
            batch.artifacts.append(op[1])
        elif kind == "experiment":
            batch.experiments[op[1]] = op[2]
        elif kind == "context":
            batch.contexts.append((op[1], op[2]))
        elif kind == "environment":
            batch.environments.append(op[1])
    batch.metrics = [(run.run_id, *cols) for run, cols in chunks]
    return batch
