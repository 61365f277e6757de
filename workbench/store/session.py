"""One store session: the process's in-memory DuckDB instance with the store file attached.

Every operation is one short session: take the cross-process lock (``lock.py``), ATTACH
the DuckDB file to a long-lived in-memory DuckDB instance, run one transaction, DETACH,
release (or keep both for a moment: ``linger.py``). Attaching costs about 0.3 ms where
opening a new connection costs about 12 ms, so a batch write is a few milliseconds and
no process keeps the file from the others.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreCorruptError, StoreWriteError
from .sql import quote_literal

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ALIAS",
    "MemoryDatabase",
    "attach_file",
    "checkpoint_file",
    "detach_file",
    "first_line",
]

log = logging.getLogger(__name__)

#: The catalog name the store file is attached under (and made the default).
ALIAS = "wb"


class MemoryDatabase:
    """This process's in-memory DuckDB instance, made anew in a forked child."""

    __slots__ = ("_con", "_pid")

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None
        self._pid = -1

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The instance's connection (created on first use, and after a fork)."""
        if self._con is None or self._pid != os.getpid():
            import duckdb

            # A DuckDB instance must not cross a fork: make a new one in the child.
            # No progress bar: a long query must not draw on a CLI's or kernel's output.
            self._con = duckdb.connect(":memory:")
            self._con.execute("SET enable_progress_bar = false")
            self._pid = os.getpid()
        return self._con

    def recover(self) -> None:
        """After a failed session: drop the instance if it still holds the store file or
        no longer answers (a new one is made on next use), so one failure never makes
        every later session fail ("database wb already exists", "invalidated")."""
        con = self._con
        if con is None or self._pid != os.getpid():
            return
        try:
            n = con.execute(
                "SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [ALIAS]
            ).fetchone()[0]
            if not n:
                return
        except Exception:  # noqa: BLE001, S110 - an instance that cannot answer is dropped too
            pass
        self._con = None
        with contextlib.suppress(Exception):
            con.close()


def attach_file(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Attach ``db_path`` to ``con`` as its default catalog. The caller holds the store
    lock, and detaches with :func:`detach_file`.

    Raises
    ------
    StoreCorruptError
        The file exists but DuckDB cannot read it as a database (it is left untouched).
    StoreWriteError
        The file cannot be opened or created (read-only, disk full, permissions).
    """
    import duckdb

    existed = db_path.exists() and db_path.stat().st_size > 0
    try:
        con.execute(f"ATTACH {quote_literal(str(db_path))} AS {ALIAS}")
    except duckdb.Error as e:
        if existed and _is_corrupt(e):
            raise StoreCorruptError(
                f"{db_path} is not a readable Workbench store ({first_line(e)}). "
                "It was left untouched: move it aside to start a new store, or point "
                "--store / $WORKBENCH_STORE at another directory"
            ) from None
        raise StoreWriteError(f"cannot open the store {db_path}: {first_line(e)}") from e
    try:
        con.execute(f"USE {ALIAS}")
    except BaseException:
        detach_file(con, db_path, raise_errors=False)
        raise


def checkpoint_file(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Write what is committed to the attached store file (what DETACH does first).

    Raises
    ------
    StoreWriteError
        The checkpoint failed (a full disk); what was committed stays in the write-ahead log.
    """
    import duckdb

    try:
        con.execute(f"CHECKPOINT {ALIAS}")
    except duckdb.Error as e:
        raise StoreWriteError(f"could not release the store {db_path}: {first_line(e)}") from e


def detach_file(con: duckdb.DuckDBPyConnection, db_path: Path, raise_errors: bool) -> None:
    """Detach the store file attached by :func:`attach_file` (its checkpoint included)."""
    import duckdb

    try:
        con.execute("USE memory")
        con.execute(f"DETACH {ALIAS}")
    except duckdb.Error as e:
        try:
            still = con.execute(
                "SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [ALIAS]
            ).fetchone()[0]
        except duckdb.Error:
            still = 1
        if not still:
            # "Detached database 'wb', but CHECKPOINT during DETACH failed" (a full disk):
            # what was committed is in the write-ahead log, which the next attach replays.
            log.debug("workbench: detached %s, but its checkpoint failed: %s", db_path, first_line(e))
            return
        if raise_errors:
            raise StoreWriteError(f"could not release the store {db_path}: {first_line(e)}") from e


def _is_corrupt(e: BaseException) -> bool:
    text = str(e).lower()
    return any(
        s in text
        for s in (
            "not a valid duckdb database",
            "corrupt",
            "checksum",
            "serializ",
            "invalid database",
            "version number",
        )
    )


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_first_line = first_line
