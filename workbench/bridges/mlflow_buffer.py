"""The write-behind buffer of the MLflow tracking store (:mod:`.mlflow_store`): metric
points, params and tags logged through MLflow, written in batches within a second, before
any read through the store, when a run ends, and at exit."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from ..store import imports
from ..store.records import now_ms
from ..store.store import Store
from ._common import session

__all__ = ["FLUSH_INTERVAL_S", "FLUSH_POINTS", "buffer_for", "flush_all"]

# The logger the store has always logged under (this module was split out of it).
log = logging.getLogger("workbench.bridges.mlflow_store")

#: Points buffered before a write is started without waiting for the timer.
FLUSH_POINTS = 20_000
#: How often buffered logging is written (seconds).
FLUSH_INTERVAL_S = 1.0


class _Buffer:
    """Metric points, params and tags logged and not yet written, for one store.

    One per store per process, shared by every ``WorkbenchStore`` on it, so that any read
    through any of them first writes what this process logged.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.points: list[tuple[str, str, int, float, int]] = []
        self.params: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, str, str]] = []
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.warned = False

    def add(self, points: list[Any], params: list[Any], tags: list[Any]) -> None:
        with self.lock:
            self.points.extend(points)
            self.params.extend(params)
            self.tags.extend(tags)
            n = len(self.points)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="workbench-mlflow-writer", daemon=True)
                self.thread.start()
        if n >= FLUSH_POINTS:
            self.wake.set()

    def _loop(self) -> None:
        while True:
            self.wake.wait(FLUSH_INTERVAL_S)
            self.wake.clear()
            try:
                self.flush()
            except Exception as e:  # noqa: BLE001 - kept buffered and retried; reads raise it
                if not self.warned:
                    log.warning(
                        "workbench: could not write MLflow logging to %s (%s); retrying",
                        self.store.directory,
                        e,
                    )
                    self.warned = True

    def flush(self) -> None:
        """Write everything buffered, in one transaction (kept buffered if it fails)."""
        with self.write_lock:
            with self.lock:
                points, params, tags = self.points, self.params, self.tags
                self.points, self.params, self.tags = [], [], []
            if not (points or params or tags):
                return
            try:
                _write(self.store, points, params, tags)
            except BaseException:
                with self.lock:
                    self.points[:0], self.params[:0], self.tags[:0] = points, params, tags
                raise
            self.warned = False


def _points_table(points: list[tuple[str, str, int, float, int]]) -> Any:
    import pyarrow as pa

    run_ids, keys, steps, values, times = zip(*points)
    return pa.table(
        {
            "run_id": pa.array(run_ids, pa.string()),
            "key": pa.array(keys, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
            "timestamp": pa.array(times, pa.int64()),
        }
    )


def _write(store: Store, points: list[Any], params: list[Any], tags: list[Any]) -> None:
    touched = sorted({p[0] for p in points} | {p[0] for p in params} | {t[0] for t in tags})
    with session(store) as con, imports.transaction(con):
        imports.upsert_key_values(con, "params", params, replace=False)
        imports.upsert_key_values(con, "tags", tags)
        if points:
            imports.insert_points(con, _points_table(points))
        con.execute(
            "UPDATE runs SET heartbeat = ? WHERE status = 'running' AND run_id IN (SELECT unnest(?::VARCHAR[]))",
            [now_ms(), touched],
        )


_buffers: dict[Any, _Buffer] = {}
_buffers_lock = threading.Lock()


def buffer_for(store: Store) -> _Buffer:
    with _buffers_lock:
        buf = _buffers.get(store.directory)
        if buf is None or buf.store is not store:
            buf = _buffers[store.directory] = _Buffer(store)
        return buf


def flush_all() -> None:
    """Write what every store's buffer holds (at exit, and for tests)."""
    for buf in list(_buffers.values()):
        try:
            buf.flush()
        except Exception as e:  # noqa: BLE001 - at exit: say what was lost, never raise
            log.warning("workbench: MLflow logging to %s could not be written: %s", buf.store.directory, e)


def _after_fork() -> None:
    # A child must not write (or re-write) what its parent had buffered.
    global _buffers_lock
    _buffers.clear()
    _buffers_lock = threading.Lock()


atexit.register(flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
