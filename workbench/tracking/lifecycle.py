"""The process's tracking state and its ends: the active runs, one writer per store,
the final write at interpreter exit, fork handling, and :func:`reset` for tests."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import procs
from ..errors import StoreWriteError, WorkbenchError
from ..store import Store
from . import files
from .writer import Writer

if TYPE_CHECKING:
    from .run import Run

log = logging.getLogger(__name__)

__all__ = ["active_runs", "before_final_flush", "reset", "writer_for", "writers"]

#: The active runs, innermost last. Changed in place only: the fluent API binds it once.
active_runs: list[Run] = []

_writers: dict[Path, Writer] = {}
_writers_lock = threading.Lock()


def writer_for(store: Store) -> Writer:
    """The process's writer for ``store``.

    The first call in a process opens the store once, if nobody holds it, so a store
    that must not be used (corrupt, newer schema) is refused when the run starts. It
    never waits: while another process holds the store the check is left to the first
    write (writers never wait, and the run's first batches go to the spool meanwhile).
    A store that cannot be written now (read-only, disk full) is a warning, not an
    error: the run's data is kept, retried, and rescued to disk if need be.
    """
    with _writers_lock:
        w = _writers.get(store.directory)
        if w is None:
            w = Writer(store)
            try:
                store.check_schema(wait=False)  # creates and migrates the store, or raises
            except StoreWriteError as e:
                warnings.warn(
                    f"Workbench cannot write to {store.directory} now ({e}); the run's data is kept "
                    "and retried, and saved to a rescue file if it still cannot be written",
                    RuntimeWarning,
                    stacklevel=3,
                )
            _writers[store.directory] = w
    _register_exit_hook()
    return w


def writers() -> list[Writer]:
    """The process's writers, one per store written to."""
    with _writers_lock:
        return list(_writers.values())


def reset() -> None:
    """Drop every writer and what it still buffers, without writing it.

    For tests, between one and the next: a test that breaks its store on purpose leaves
    unwritable data behind. Active runs are left alone: end them (and :func:`flush`)
    first. The next run starts a fresh writer for its store.
    """
    with _writers_lock:
        for w in _writers.values():
            w.discard()
        _writers.clear()


_exit_callbacks: list[Callable[[], Any]] = []


def before_final_flush(callback: Callable[[], Any]) -> None:
    """Call ``callback()`` at interpreter exit before the last write (e.g. to wait for
    context still being captured in the background)."""
    _exit_callbacks.append(callback)


def _at_exit() -> None:
    # A kernel manager (papermill, nbclient, a Jupyter server) sends SIGTERM 2.5 s after
    # its shutdown request, which would end the process mid-write: the kernel is exiting
    # anyway, so it waits for the SIGKILL at 5 s. What is buffered is written first, then
    # the callbacks (context still being captured) get the time left.
    if procs.in_kernel() and threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for w in writers():
        try:
            w.flush()
        except Exception:  # noqa: BLE001 - retried by close() below, rescued if it fails again
            log.debug("first exit flush failed", exc_info=True)
    for callback in _exit_callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001 - the final flush must happen regardless
            log.debug("exit callback failed", exc_info=True)
    # A script that never ended its run: finished, or failed if it is dying of an
    # exception; in a kernel being shut down, killed.
    if active_runs:
        if procs.in_kernel():
            status, error = "killed", "the kernel shut down while the run was active"
        elif getattr(sys, "last_type", None) is not None:
            status = "failed"
            error = "".join(traceback.format_exception(sys.last_type, sys.last_value, sys.last_traceback))
        else:
            status, error = "finished", None
        for run in list(reversed(active_runs)):
            try:
                run.end(status, error)
            except WorkbenchError:
                pass
    files.wait_for_file_records()
    for w in writers():
        w.close()


_exit_hook_registered = False


def _register_exit_hook() -> None:
    # Runs the final flush from threading's shutdown hooks, which Python calls before
    # any atexit handler: DuckDB's own atexit handler refuses Python scans once it ran.
    global _exit_hook_registered
    if _exit_hook_registered:
        return
    _exit_hook_registered = True
    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError
        register(_at_exit)
    except RuntimeError:
        atexit.register(_at_exit)


if hasattr(os, "register_at_fork"):
    # A forked child has none of its parent's threads: its file worker and watches start
    # afresh (each writer notices the fork itself, by its pid).
    os.register_at_fork(after_in_child=files.reset_after_fork)
