"""The cross-process lock that serializes every use of the DuckDB file.

DuckDB lets one process hold a database file at a time and makes every other process
fail at once with "Could not set lock on file". Each store operation therefore takes
this lock (an fcntl ``flock`` on ``.workbench/workbench.lock``), attaches the file,
does its work in one transaction and detaches before letting go, so another process
only ever waits a few milliseconds and never sees DuckDB's error.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..env import WORKBENCH_LOCK_TIMEOUT
from ..errors import StoreBusyError

DEFAULT_TIMEOUT_S = 120.0

# A per-thread cap on lock waits: the Jupyter server's worker threads must give up after a
# few seconds (the panel then shows "store busy, retrying") while a training script keeps
# the long default.
_wait_cap = threading.local()


@contextmanager
def limit_wait(seconds: float) -> Iterator[None]:
    """Within this block, this thread waits at most ``seconds`` for the store lock, then
    raises ``StoreBusyError`` (nested limits keep the shortest)."""
    previous = getattr(_wait_cap, "seconds", None)
    _wait_cap.seconds = seconds if previous is None else min(previous, seconds)
    try:
        yield
    finally:
        _wait_cap.seconds = previous


class StoreLock:
    """An exclusive lock shared by the threads of this process and by other processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._fd: int | None = None
        self._depth = 0
        self._pid = os.getpid()

    def _timeout(self) -> float:
        raw = os.environ.get(WORKBENCH_LOCK_TIMEOUT)
        try:
            timeout = float(raw) if raw else DEFAULT_TIMEOUT_S
        except ValueError:
            timeout = DEFAULT_TIMEOUT_S
        cap = getattr(_wait_cap, "seconds", None)
        return timeout if cap is None else min(timeout, cap)

    def acquire(self) -> None:
        """Block until this thread holds the lock, or raise ``StoreBusyError``."""
        self._acquire(wait=True)

    def try_acquire(self) -> bool:
        """Take the lock only if nobody holds it now; never waits."""
        return self._acquire(wait=False)

    def _acquire(self, wait: bool) -> bool:
        if not wait:
            if not self._thread_lock.acquire(blocking=False):
                return False
        elif not self._thread_lock.acquire(timeout=self._timeout()):
            # Another thread of this process holds the store (or waits on it) past our limit.
            raise StoreBusyError(
                f"the store {self.path.parent} stayed busy in this process for {self._timeout():.0f} s; "
                f"nothing was lost. Retry, or raise ${WORKBENCH_LOCK_TIMEOUT}"
            )
        if self._pid != os.getpid():
            # A forked child inherits the parent's descriptor, which shares its flock.
            self._fd, self._depth, self._pid = None, 0, os.getpid()
        if self._depth:
            self._depth += 1
            return True
        try:
            self._fd = self._lock_file(wait)
        except BaseException:
            self._thread_lock.release()
            raise
        if self._fd is None:
            self._thread_lock.release()
            return False
        self._depth = 1
        return True

    def _lock_file(self, wait: bool = True) -> int | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self._timeout()
        delay = 0.0005
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                if not wait:
                    os.close(fd)
                    return None
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"the store {self.path.parent} stayed locked for {self._timeout():.0f} s "
                        f"(last holder: process {self._holder(fd)}); nothing was lost. Retry, or "
                        f"raise ${WORKBENCH_LOCK_TIMEOUT}"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 0.02)
            # Record the holder so a waiter that times out can say who blocked it (best
            # effort: a full disk must not keep anyone from the store).
            with contextlib.suppress(OSError):
                os.pwrite(fd, f"{os.getpid():<12}".encode(), 0)
            return fd
        except BaseException:
            os.close(fd)
            raise

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            return os.pread(fd, 12, 0).decode().strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self) -> None:
        """Release one level of this thread's hold on the lock."""
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self._thread_lock.release()

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
