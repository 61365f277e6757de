"""One store session: the process's in-memory DuckDB instance with the store file attached.

Every operation is one short session: take the cross-process lock (``lock.py``), ATTACH
the DuckDB file to a long-lived in-memory DuckDB instance, run one transaction, DETACH,
release. Attaching costs about 0.3 ms where opening a new connection costs about 12 ms,
so a batch write is a few milliseconds and no process keeps the file from the others.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreCorruptError
from .sql import quote_literal

if TYPE_CHECKING:
    import duckdb

__all__ = ["ALIAS", "MemoryDatabase", "attached"]

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
            self._con = duckdb.connect(":memory:")
            self._pid = os.getpid()
        return self._con


@contextlib.contextmanager
def attached(con: duckdb.DuckDBPyConnection, db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Attach ``db_path`` to ``con`` as its default catalog for the ``with`` block.

    The caller holds the store lock. An exception inside rolls back any open
    transaction; the file is detached in every case.

    Raises
    ------
    StoreCorruptError
        The file exists but DuckDB cannot attach it (it is left untouched).
    """
    import duckdb

    existed = db_path.exists() and db_path.stat().st_size > 0
    try:
        con.execute(f"ATTACH {quote_literal(str(db_path))} AS {ALIAS}")
    except duckdb.Error as e:
        if existed:
            raise StoreCorruptError(
                f"{db_path} is not a readable Workbench store ({_first_line(e)}). "
                "It was left untouched: move it aside to start a new store, or point "
                "--store / $WORKBENCH_STORE at another directory"
            ) from None
        raise
    try:
        con.execute(f"USE {ALIAS}")
        yield con
    except BaseException:
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")
        raise
    finally:
        con.execute("USE memory")
        con.execute(f"DETACH {ALIAS}")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
