"""Keeping the store attached for a moment after a session (issue 16).

Attaching the file costs about 2 ms, and a fresh attachment starts with DuckDB's block
cache empty: ``metric_history`` of 20 runs on a 100M-point store took 30 ms cold against
13 ms warm. So after a session ends well, the process keeps the lock and the attachment
for ``$WORKBENCH_LINGER_MS`` (default 250 ms): the next session of any of its threads in
that moment starts warm. A background thread lets go when the moment ends, or within
:data:`POLL_S` of another process asking (``StoreLock.someone_waits``), so nobody waits
longer than before; a writer that finds the lock kept spools its batch, as it does while
any session runs. ``Store.release`` lets go at once (before opening the file with DuckDB
directly in the same process), and so does the interpreter's exit.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

from ..env import WORKBENCH_LINGER_MS

__all__ = ["DEFAULT_LINGER_MS", "POLL_S", "Linger", "linger_seconds"]

log = logging.getLogger(__name__)

DEFAULT_LINGER_MS = 250.0
#: How often a kept lock looks for a waiting process (and for the end of its moment).
POLL_S = 0.002


def linger_seconds() -> float:
    """``$WORKBENCH_LINGER_MS`` in seconds (0 turns lingering off)."""
    raw = os.environ.get(WORKBENCH_LINGER_MS)
    try:
        ms = float(raw) if raw else DEFAULT_LINGER_MS
    except ValueError:
        ms = DEFAULT_LINGER_MS
    return max(ms, 0.0) / 1000


class Linger:
    """The thread that lets go of a kept store lock: ``arm`` after each kept session.

    ``kept()`` says whether the lock is kept now; ``someone_waits()`` whether another
    process asks for it; ``drop(wait)`` lets go (False while a session runs).
    """

    def __init__(
        self, kept: Callable[[], bool], someone_waits: Callable[[], bool], drop: Callable[[bool], bool]
    ) -> None:
        self._kept, self._someone_waits, self._drop = kept, someone_waits, drop
        self._cv = threading.Condition()
        self._armed = False
        self._until = 0.0
        self._thread: threading.Thread | None = None
        self._pid = -1

    def arm(self, seconds: float, keep: Callable[[], None]) -> None:
        """Call ``keep`` (which releases the lock, keeping it) and let go ``seconds``
        from now, unless a later session arms again first."""
        with self._cv:
            keep()
            self._until = time.monotonic() + seconds
            self._armed = True
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                # A thread does not survive a fork: a forked child starts its own.
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=_watch, args=(weakref.ref(self),), name="workbench-store-linger", daemon=True
                )
                self._thread.start()
            self._cv.notify()

    def _wait_armed(self) -> None:
        with self._cv:
            self._cv.wait_for(lambda: self._armed, timeout=1.0)

    def _tick(self) -> None:
        """One look: let go when the moment is over or another process waits."""
        if not self._armed:
            return
        if time.monotonic() < self._until and not self._someone_waits():
            return
        try:
            self._drop(False)
        except Exception as e:  # noqa: BLE001 - this thread must go on; the next session retries
            log.warning("workbench: could not release the store after a session: %s", e)
        with self._cv:
            # Still kept: a session ran meanwhile and armed again (or the drop failed).
            if not self._kept():
                self._armed = False


def _watch(ref: weakref.ref[Linger]) -> None:
    # A weak reference: a Store that nobody uses any more can be collected.
    while True:
        linger = ref()
        if linger is None:
            return
        linger._wait_armed()
        armed = linger._armed
        del linger
        time.sleep(POLL_S if armed else 0)
        linger = ref()
        if linger is None:
            return
        linger._tick()
        del linger
