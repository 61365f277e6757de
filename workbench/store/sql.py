"""The one place the store quotes text into SQL, and small cursor helpers.

Values are bound parameters everywhere they can be. Quoting is only for what DuckDB
cannot bind: a file path in ``ATTACH`` or in a table function such as ``read_csv_auto``,
column names read from a user's data, and lists of series ids (see :func:`int_list`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

__all__ = ["int_list", "quote_identifier", "quote_literal", "rows_as_dicts"]


def quote_literal(text: str) -> str:
    """``text`` as a SQL string literal, quotes included (``it's`` → ``'it''s'``)."""
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """``name`` as a SQL identifier, quotes included (``a"b`` → ``"a""b"``)."""
    return '"' + name.replace('"', '""') + '"'


def int_list(values: Iterable[int]) -> str:
    """Integers as the inside of a SQL ``IN (...)`` list (``NULL`` when there are none).

    For series ids, where a literal list (unlike a bound list) lets DuckDB skip the row
    groups of other series by their zone maps; ``int`` keeps anything but a number out.
    """
    return ", ".join(str(int(v)) for v in values) or "NULL"


def rows_as_dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of an executed query, each as a dict keyed by column name."""
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]
