"""Dataset profiles: per-column statistics of a DataFrame or a data file, computed by DuckDB.

This runs in a DuckDB connection of its own, not in a store session: profiling reads the
user's data, never the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .sql import quote_identifier, quote_literal

__all__ = ["READERS", "profile_relation"]

#: File suffixes DuckDB reads natively, with the table function that reads each.
READERS = {
    ".csv": "read_csv_auto",
    ".tsv": "read_csv_auto",
    ".txt": "read_csv_auto",
    ".parquet": "read_parquet",
    ".pq": "read_parquet",
    ".json": "read_json_auto",
    ".jsonl": "read_json_auto",
    ".ndjson": "read_json_auto",
}
_NUMERIC = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
        "FLOAT",
        "DOUBLE",
        "DECIMAL",
    }
)


def profile_relation(source: Any) -> dict[str, Any]:
    """Per-column statistics, the ones DuckDB's ``SUMMARIZE`` gives, in one scan.

    ``source`` is a DataFrame or a file path of a type DuckDB reads. Returns ``rows`` and
    ``columns`` (name, type, nulls, distinct, min, max, mean, std, q25, q50, q75; the
    numeric statistics only for numeric columns), or ``{"error": ...}`` when the data
    cannot be profiled (the hash is still recorded). One aggregate query with exact
    quantiles measured about 4x faster than ``SUMMARIZE`` (100k rows x 11 columns:
    70 ms against 300 ms).
    """
    import duckdb

    con = duckdb.connect()
    try:
        if isinstance(source, (str, Path)):
            reader = READERS[Path(source).suffix.lower()]
            con.execute(f"CREATE TEMP VIEW _wb_data AS SELECT * FROM {reader}({quote_literal(str(source))})")
        else:
            con.register("_wb_data", source)
        types = con.execute("SELECT column_name, column_type FROM (DESCRIBE _wb_data)").fetchall()
        row = con.execute(f"SELECT {', '.join(_aggregates(types))} FROM _wb_data").fetchone()
    except Exception as exc:  # noqa: BLE001 - DuckDB raises many error types for unreadable data
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
    finally:
        con.close()
    return {"rows": int(row[0]), "columns": _columns(types, int(row[0]), iter(row[1:]))}


def _is_numeric(ctype: str) -> bool:
    return ctype.split("(")[0] in _NUMERIC


def _aggregates(types: list[tuple[str, str]]) -> list[str]:
    """The select list: the row count, then per column its statistics in a fixed order."""
    aggs = ["count(*)"]
    for name, ctype in types:
        q = quote_identifier(name)
        aggs += [f"count({q})", f"approx_count_distinct({q})"]
        if _is_numeric(ctype):
            aggs += [
                f"min({q})::DOUBLE",
                f"max({q})::DOUBLE",
                f"avg({q})",
                f"stddev({q})",
                f"quantile_cont({q}, [0.25, 0.5, 0.75])",
            ]
        else:
            aggs += [f"min({q})::VARCHAR", f"max({q})::VARCHAR"]
    return aggs


def _columns(types: list[tuple[str, str]], n: int, values: Any) -> list[dict[str, Any]]:
    """Per-column dicts from the values :func:`_aggregates` selected, in its order."""
    columns = []
    for name, ctype in types:
        count, distinct = next(values), next(values)
        col = {"name": name, "type": ctype, "nulls": n - count, "distinct": distinct}
        if _is_numeric(ctype):
            lo, hi, mean, std, qs = (next(values) for _ in range(5))
            qs = qs or [None, None, None]
            col |= {"min": _num(lo), "max": _num(hi), "mean": mean, "std": std}
            col |= {"q25": _num(qs[0]), "q50": _num(qs[1]), "q75": _num(qs[2])}
        else:
            lo, hi = next(values), next(values)
            col |= {"min": lo, "max": hi, "mean": None, "std": None, "q25": None, "q50": None, "q75": None}
        columns.append(col)
    return columns


def _num(value: float | None) -> float | int | None:
    """Whole numbers as ints (a min of 1 reads better than 1.0)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value
