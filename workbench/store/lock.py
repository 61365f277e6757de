"""The cross-process lock that serializes every use of the DuckDB file.

DuckDB lets one process hold a database file at a time and makes every other process
fail at once with "Could not set lock on file". Each store operation therefore takes
this lock (an fcntl ``flock`` on ``.workbench/workbench.lock``), attaches the file,
does its work in one transaction and detaches before letting go, so another process
only ever waits a few milliseconds and never sees DuckDB's error.

A process may *keep* the lock (and the file attached) for a moment after a session, so
that the next session of any of its threads skips attaching the file and finds DuckDB's
block cache warm (``Store``'s linger). A process that wants the lock meanwhile says so by
holding a shared ``flock`` on ``workbench.want`` while it waits; the keeper looks for that
every couple of milliseconds and lets go at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
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
        self.want_path = path.with_name("workbench.want")
        self._thread_lock = threading.RLock()
        self._fd: int | None = None
        self._depth = 0
        self._pid = os.getpid()
        # The file lock is held with no thread in a session (see ``release(keep=True)``).
        self._kept = False
        self._want_fd: int | None = None

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
            self._fd, self._depth, self._pid, self._kept, self._want_fd = None, 0, os.getpid(), False, None
        if self._depth:
            self._depth += 1
            return True
        if self._kept:
            self._kept, self._depth = False, 1
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
        want: int | None = None
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
                if want is None:
                    want = self._signal_want()
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
        finally:
            if want is not None and want >= 0:
                os.close(want)  # closing drops the shared lock: no longer waiting

    def _signal_want(self) -> int:
        """Tell a process that keeps the lock that this one waits for it: a shared lock
        on the want file, held until the wait ends. (-1 when the file cannot be opened:
        the keeper then lets go when its moment ends, as it would anyway.)"""
        try:
            want = os.open(self.want_path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            return -1
        try:
            fcntl.flock(want, fcntl.LOCK_SH)
        except OSError:
            os.close(want)
            return -1
        return want

    def someone_waits(self) -> bool:
        """Whether another process (or another ``Store`` of this one) waits for the lock."""
        if self._want_fd is None or self._pid != os.getpid():
            try:
                self._want_fd = os.open(self.want_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:
                return False
        try:
            fcntl.flock(self._want_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            return e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)
        fcntl.flock(self._want_fd, fcntl.LOCK_UN)
        return False

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            return os.pread(fd, 12, 0).decode().strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self, keep: bool = False) -> None:
        """Release one level of this thread's hold on the lock. With ``keep``, the last
        level lets other threads of this process in but keeps the file lock, until
        :meth:`drop_kept`."""
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            if keep:
                self._kept = True
            else:
                self._unlock_file()
        self._thread_lock.release()

    def _unlock_file(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def refresh(self) -> bool:
        """While this thread holds the lock: when the lock file was replaced or removed
        since it was locked (the store's folder moved aside), lock the new one; returns
        whether it did."""
        assert self._fd is not None
        held = os.fstat(self._fd)
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            now = None
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            return False
        self._unlock_file()
        self._fd = self._lock_file()
        return True

    @property
    def kept(self) -> bool:
        """Whether this process keeps the file lock with no session running."""
        return self._kept and self._pid == os.getpid()

    def drop_kept(self, before: Callable[[], None], wait: bool = True) -> bool:
        """Let go of a kept lock: call ``before`` (which detaches the file), then unlock.
        Without ``wait``, gives up (False) while a thread of this process holds it."""
        if not self._thread_lock.acquire(blocking=wait):
            return False
        try:
            if not self.kept or self._depth:
                return False
            try:
                before()
            finally:
                self._kept = False
                self._unlock_file()
            return True
        finally:
            self._thread_lock.release()

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
