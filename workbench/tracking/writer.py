"""The per-process, per-store buffer of operations, its background writer thread, and
what happens when the store cannot be written.

Runs append operations (``ops``) and metric points (their :class:`PointBuffer`); the
thread writes what has accumulated in one transaction every ``FLUSH_INTERVAL_S``, as
soon as a run ends, and when a run's buffer passes ``FLUSH_POINTS``. Several runs ending
close together share one transaction (group commit), which is what keeps run creation
far below the ~3 ms a store session costs.

What is taken from the buffers becomes a *batch* with an id, kept until it is written.
A failed write is retried with the same batch and id, and the store applies an id at
most once, so a retry after a commit that did happen (the error came after it) changes
nothing. Past ``MAX_BUFFERED_POINTS`` unwritten points, batches are spilled to disk
(spool files beside the store, else a fallback folder) instead of filling memory. At
exit, what is left is saved to a rescue file that the next session folds in.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import BufferFullError, InvalidInputError, WorkbenchError
from ..store import Batch, Store
from ..store.spool import new_batch_id, write_rescue
from .points import Columns

if TYPE_CHECKING:
    from .run import Run

#: A run's buffer size that wakes the writer at once.
FLUSH_POINTS = 500_000
#: Past this many unwritten points in one run's buffer the logging call itself writes,
#: or spills them to disk (back-pressure); unwritten batches past it are spilled too.
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
        #: Batches taken from the buffers and not yet written, oldest first, each with
        #: its id: a retry writes the same batch under the same id.
        self._pending: list[tuple[str, Batch]] = []
        #: How many metric points the pending batches hold.
        self._pending_n = 0

    # -- called from logging code -----------------------------------------------
    def add_run(
        self, run: Run, row: dict[str, Any], params: Mapping[str, str] | None, tags: Mapping[str, str] | None
    ) -> None:
        """Queue a new run's row, and its params and tags (checked, as text)."""
        if run.experiment not in self._known_experiments:
            self.ops.append(("experiment", run.experiment, row["start_time"]))
            self._known_experiments.add(run.experiment)
        self.ops.append(("run", row))
        self.runs[run.run_id] = run
        if params:
            run._add_params(params)
        if tags:
            run._add_tags(tags)
        self._ensure_thread()

    def points_full(self, n: int) -> None:
        """A run's buffer holds ``n >= FLUSH_POINTS`` points: wake the writer, or, past
        ``MAX_BUFFERED_POINTS`` unwritten points in all, write or spill them now."""
        if n + self._pending_n >= MAX_BUFFERED_POINTS:
            self._relieve()
        else:
            self._wake.set()

    def run_ended(self) -> None:
        self._run_ended = True
        self._wake.set()

    # -- flushing -----------------------------------------------------------------
    def has_pending(self) -> bool:
        return bool(self.ops or self._pending) or any(len(r.buffer) for r in list(self.runs.values()))

    def pending_points(self) -> int:
        """Metric points logged and not yet written (buffered, or in batches to retry)."""
        return self._pending_n + sum(len(r.buffer) for r in list(self.runs.values()))

    def flush(self) -> None:
        """Write everything buffered so far, in this thread: the batches of earlier failed
        writes first (each applied at most once), then one batch of what is new.

        Raises
        ------
        WorkbenchError
            The store cannot be written now (``StoreWriteError``, ``StoreVersionError``,
            ...); the data stays in this writer and is retried.
        """
        # A forked child exiting (the exit hook flushes every writer) must not write, or
        # open DuckDB for, what its parent had buffered.
        self._forget_parent()
        with self._flush_lock:
            self._take()
            self._write_pending()

    def _take(self) -> None:
        # The caller holds _flush_lock. Ops before points: a point's run row is then
        # always in this batch or an earlier one.
        n = len(self.ops)
        ops = self.ops[:n]
        del self.ops[:n]
        chunks: list[tuple[Run, Columns]] = []
        for run in list(self.runs.values()):
            cols = run.buffer.take()
            if cols is not None:
                chunks.append((run, cols))
        batch = make_batch(ops, chunks)
        active = [r.run_id for r in list(self.runs.values()) if not r.ended]
        if batch.is_empty() and (self._pending or not active):
            return  # only a heartbeat, and the batches waiting carry theirs
        batch.heartbeats = active
        self._pending.append((new_batch_id(), batch))
        self._pending_n += batch.n_points

    def _write_pending(self) -> None:
        # The caller holds _flush_lock.
        while self._pending:
            batch_id, batch = self._pending[0]
            try:
                self.store.write(batch, batch_id=batch_id)
            except InvalidInputError as e:
                # It can never be written: keep it aside rather than block what follows.
                self._pop()
                self._set_aside(batch_id, batch, e)
                continue
            except BaseException as e:
                self.error = e
                raise
            self._pop()
        self.error = None
        self._last_write = time.monotonic()
        for run_id, run in list(self.runs.items()):
            if run.ended and not len(run.buffer):
                self.runs.pop(run_id, None)

    def _spill(self) -> None:
        """Put the pending batches on disk (see ``Store.spill``), oldest first. The
        caller holds _flush_lock. Raises ``StoreWriteError`` when no folder takes them."""
        while self._pending:
            batch_id, batch = self._pending[0]
            self.store.spill(batch, batch_id)
            self._pop()

    def _pop(self) -> None:
        _, batch = self._pending.pop(0)
        self._pending_n -= batch.n_points

    def _relieve(self) -> None:
        """MAX_BUFFERED_POINTS points wait: write them now, in the logging thread, or
        spill them to disk. The buffers are emptied either way, so this happens at most
        once per FLUSH_POINTS points logged (O(1) per call), never on every call."""
        with self._flush_lock:
            if self.pending_points() < MAX_BUFFERED_POINTS:
                return  # the writer thread wrote or spilled them meanwhile
            self._take()
            try:
                self._write_pending()
                return
            except WorkbenchError as e:
                cause = e
            try:
                self._spill()
            except WorkbenchError as e:
                raise BufferFullError(
                    f"Workbench cannot write to {self.store.directory} ({cause}) nor spill to disk "
                    f"({e}); {self.pending_points():,} points are kept in memory and retried"
                ) from None

    def _set_aside(self, batch_id: str, batch: Batch, error: BaseException) -> None:
        try:
            path = write_rescue(self.store.spool_dir / "bad", [(batch_id, batch)], self.store.directory)
            where = f"it was saved to {path}"
        except OSError as e:
            where = f"it could not be saved ({e})"
        _warn(f"Workbench could not write a batch ({error}); {where}")

    def _forget_parent(self) -> None:
        if self._pid != os.getpid():
            # Forked child: the parent's thread does not exist here, and its buffers are the
            # parent's; so is the flush lock, which that thread may have held at the fork.
            self._pid = os.getpid()
            self._thread = None
            self._flush_lock = threading.Lock()
            self.ops.clear()
            self.runs.clear()
            self._pending.clear()
            self._pending_n = 0

    def _ensure_thread(self) -> None:
        self._forget_parent()
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
                    _warn(
                        f"Workbench could not write to {self.store.directory} ({e}); "
                        "the data is kept and will be retried"
                    )
                if self._pending_n >= MAX_BUFFERED_POINTS - FLUSH_POINTS:
                    # Room for a buffer to fill up to FLUSH_POINTS: the total stays near
                    # the cap, and the rest waits on disk, not in memory.
                    with self._flush_lock:
                        try:
                            self._spill()  # to disk, not memory
                        except WorkbenchError:
                            pass
                backoff = min(backoff * 2, 30.0)

    def discard(self) -> None:
        """Stop the thread without writing what is left (see ``lifecycle.reset``)."""
        self._stopping = True
        self._wake.set()
        self._pending.clear()
        self._pending_n = 0

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
            self._rescue_at_exit(e)

    def _rescue_at_exit(self, error: BaseException) -> None:
        reason = _one_line(error)
        with self._flush_lock:
            try:
                self._take()
                batches = list(self._pending)
                n_points = sum(b.n_points for _, b in batches)
                path = self.store.rescue(batches)
            except BaseException as e:  # noqa: BLE001 - one line, never a traceback
                msg = (
                    f"workbench: could not write to {self.store.directory} at exit ({reason}), nor save "
                    f"the unwritten data ({_one_line(e)}); {self.pending_points():,} metric points and "
                    "the other records not yet written were lost"
                )
            else:
                self._pending.clear()
                self._pending_n = 0
                msg = (
                    f"workbench: could not write to {self.store.directory} at exit ({reason}); "
                    f"the unwritten data was saved to {path} ({n_points:,} metric points), and the "
                    "next session on this store adds it"
                )
        try:
            print(msg, file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001, S110 - stderr may be gone at exit
            pass


def _warn(message: str) -> None:
    # From the writer's thread, which must survive a warnings filter set to "error".
    try:
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    except Exception:  # noqa: BLE001, S110
        pass


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


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
