"""``Sessions``: how a ``Store`` holds its file for one unit of work (the base of ``Store``).

A session takes the cross-process lock (:mod:`.lock`), attaches the file to the
process's in-memory DuckDB (:mod:`.session`), checks the schema, folds the spool, runs
the caller's work, and lets go; after a session that ended well the process keeps the
lock and the attachment for a moment (:mod:`.linger`), so its next session starts warm.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreWriteError, WorkbenchError
from ..paths import DB_FILENAME
from . import migrations, spool
from .linger import Linger, linger_seconds
from .lock import StoreLock
from .session import MemoryDatabase, attach_file, checkpoint_file, detach_file, first_line

if TYPE_CHECKING:
    import duckdb

__all__ = ["Sessions"]

log = logging.getLogger("workbench.store.store")


class Sessions:
    """The sessions of one store directory (see the module's docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.db_path = self.directory / DB_FILENAME
        self.spool_dir = self.directory / "spool"
        self.lock = StoreLock(self.directory / "workbench.lock")
        self._memory = MemoryDatabase()
        # (pid, the file's identity at the end of the last session) while this process
        # keeps the file attached past a session.
        self._warm: tuple[int, tuple[int, int, int, int] | None] | None = None
        self._closing = False
        self._linger = Linger(lambda: self.lock.kept, self.lock.someone_waits, self._drop)
        self._rescue_dirs: list[Path] | None = None
        self._fold_failed = False

    # -- sessions ------------------------------------------------------------------
    def _memory_connection(self) -> duckdb.DuckDBPyConnection:
        return self._memory.connection()

    @contextlib.contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the store for one unit of work and yield a connection whose default
        catalog is the store. Commit or roll back inside; the file is released after
        (after a moment, see :meth:`release`).

        Spooled batches of other processes are folded in first, so what a session reads
        includes everything any process has flushed. (When they cannot be folded now,
        e.g. the disk is full, a warning says so and the session reads what is stored.)
        """
        self.lock.acquire()
        with self._attached(linger=True) as con:
            yield con

    @contextlib.contextmanager
    def _attached(
        self, strict: bool = False, fold: bool = True, linger: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        # The caller holds self.lock; this releases it. ``strict``: a fold that fails
        # fails the session (a write must not land before the spooled batches it follows).
        # ``linger``: keep the file for a moment after (a tracking write does not: its
        # checkpoint, and a failure of it, belong to the write).
        warm = self._warm
        if warm is not None and warm[1] is None and warm[0] == os.getpid():
            # Only the thread holding the lock gets here: it opened a session inside its own.
            self.lock.release()
            raise RuntimeError("a store session is already open in this thread; pass its connection on")
        ok = False
        try:
            con = self._memory_connection()
            if not self._still_warm():
                attach_file(con, self.db_path)
                self._warm = (os.getpid(), None)
                self._ensure_schema(con)  # nobody can change it while the lock is kept
            if fold:
                self._fold(con, strict)
            yield con
            ok = True
        except BaseException:
            with contextlib.suppress(Exception):
                self._memory_connection().execute("ROLLBACK")
            with contextlib.suppress(Exception):
                self._forget()
            self._memory.recover()
            self.lock.release()
            raise
        if ok:
            self._end_session(linger)

    def _still_warm(self) -> bool:
        """Whether the file attached by an earlier session is still attached and is the
        store's file now; else nothing is attached (a kept lock on a replaced lock file
        is taken again)."""
        warm = self._warm
        if warm is None:
            return False
        if warm[0] != os.getpid():
            self._warm = None  # a forked child: its DuckDB instance has nothing attached
            return False
        try:
            same = _identity(self.db_path) == warm[1]
        except OSError:
            same = False
        relocked = self.lock.refresh()
        if same and not relocked and not self._closing:
            return True
        self._forget()  # the store was moved aside or replaced while this process kept it
        return False

    def _end_session(self, linger: bool) -> None:
        seconds = linger_seconds() if linger and not self._closing else 0.0
        try:
            if seconds > 0 and self._warm is not None:
                # What the session wrote goes to the file now, as DETACH would have put
                # it: a kept attachment holds nothing unwritten, so letting go of it
                # writes nothing, and a file changed by someone else meanwhile is
                # noticed (its size and time) and attached anew, never written over.
                checkpoint_file(self._memory_connection(), self.db_path)
                self._warm = (os.getpid(), _identity(self.db_path))
                _kept_stores.add(self)
                self._linger.arm(seconds, lambda: self.lock.release(keep=True))
                return
            self._forget(raise_errors=True)
        except BaseException:
            with contextlib.suppress(Exception):
                self._forget()
            self._memory.recover()
            self.lock.release()
            raise
        self.lock.release()

    def _forget(self, raise_errors: bool = False) -> None:
        """Detach the file, if attached (the caller holds the lock)."""
        if self._warm is None:
            return
        self._warm = None
        detach_file(self._memory_connection(), self.db_path, raise_errors=raise_errors)

    def _drop(self, wait: bool) -> bool:
        return self.lock.drop_kept(self._forget, wait=wait)

    def release(self) -> None:
        """Let go of the store now if this process keeps it after a session.

        After each session a process keeps the file attached for ``$WORKBENCH_LINGER_MS``
        (default 250 ms) so its next session starts warm; other Workbench processes get
        it within a few milliseconds of asking. Call this before opening the DuckDB file
        with ``duckdb.connect`` yourself, which neither this process nor another can do
        while it is kept.
        """
        self._drop(True)

    def close(self) -> None:
        """Let go of the store and stop keeping it after sessions (at interpreter exit)."""
        self._closing = True
        self.release()

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            migrations.ensure_schema(con, self.db_path)
        except WorkbenchError:
            raise
        except Exception as e:
            raise StoreWriteError(f"could not prepare the store {self.db_path}: {first_line(e)}") from e

    def _fold(self, con: duckdb.DuckDBPyConnection, strict: bool) -> None:
        try:
            spool.fold(con, self.spool_dir, self.rescue_dirs())
        except Exception as e:
            msg = (
                f"could not fold the spool into {self.db_path} ({first_line(e)}); "
                "the files stay for the next session"
            )
            if strict:
                raise StoreWriteError(msg) from e
            if not self._fold_failed:
                log.warning("workbench: %s", msg)
            self._fold_failed = True
        else:
            self._fold_failed = False

    def rescue_dirs(self) -> list[Path]:
        """The folders rescue files of this store may be in (``unflushed/`` first, then
        the fallback folders used when the store's folder cannot take them)."""
        if self._rescue_dirs is None:
            self._rescue_dirs = spool.rescue_dirs(self.directory)
        return self._rescue_dirs

    def schema_version(self) -> int:
        """The schema version recorded in the store (creating the store if needed)."""
        with self.session() as con:
            return migrations.schema_version(con)

    def check_schema(self, wait: bool = True) -> bool:
        """Create or migrate the store, or raise if it must not be used (newer schema,
        not a store). With ``wait=False`` only if the lock is free now: returns False,
        checking nothing, while another process holds the store.

        Raises
        ------
        StoreVersionError, StoreCorruptError, StoreWriteError
        """
        if wait:
            self.lock.acquire()
        else:
            try:
                if not self.lock.try_acquire():
                    return False
            except OSError as e:
                raise StoreWriteError(f"cannot use the store {self.directory}: {first_line(e)}") from e
        with self._attached(fold=False, linger=True):
            pass
        return True


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


# Stores that have kept the file after a session: let go of them at exit, so the last
# session's checkpoint runs and no later process waits on this one's moment.
_kept_stores: weakref.WeakSet[Sessions] = weakref.WeakSet()


@atexit.register
def _release_all() -> None:
    for store in list(_kept_stores):
        with contextlib.suppress(Exception):
            store.close()
