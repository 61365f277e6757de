"""Per-range summaries of metric points (``metric_blocks``), so a chart of a long curve
reads a few thousand summaries instead of every point.

Each write of points appends, per series and per range of ``2**BLOCK_SHIFT`` steps it
touched, one row: how many points it wrote there, and the lowest and highest of them with
their steps. Rows are never updated; a range written by several batches has several rows,
and their minima and maxima combine exactly, so the lowest and highest point of any run
of whole ranges are known without reading a point. A series whose rows count fewer
points than ``metric_series.n`` (none should; it is checked on every read) is read from
its points instead.

Minima and maxima are DuckDB's own ``min``/``max``/``arg_min``/``arg_max`` (NaN above
every number), the same as a chart read from the points computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .points import POINT_VALUE
from .sql import int_list

if TYPE_CHECKING:
    import duckdb

__all__ = ["BLOCK_SHIFT", "BLOCKS_DDL", "block_buckets", "blocks_layout", "covered_sids", "insert_blocks"]

#: A block holds the steps ``[k << BLOCK_SHIFT, (k + 1) << BLOCK_SHIFT)`` of one series.
#: 256 steps: a million-step curve is about 4,000 rows, and a chart of 500 ranges can use
#: them from about 128,000 steps on (below that, reading the points is as quick).
BLOCK_SHIFT = 8

BLOCKS_DDL = """
CREATE TABLE metric_blocks (
    sid BIGINT NOT NULL,
    block BIGINT NOT NULL,
    n BIGINT NOT NULL,
    lo_step BIGINT NOT NULL,
    lo DOUBLE NOT NULL,
    hi_step BIGINT NOT NULL,
    hi DOUBLE NOT NULL
);
"""


def insert_blocks(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Append the block rows of the points in ``source`` (a table or view name with
    ``metric_points``' columns) to ``metric_blocks``."""
    con.execute(
        f"INSERT INTO metric_blocks SELECT sid, step >> {BLOCK_SHIFT} AS block, count(*), "
        "arg_min(step, v), min(v), arg_max(step, v), max(v) "
        f"FROM (SELECT sid, step, {POINT_VALUE} AS v FROM {source}) "
        "GROUP BY ALL ORDER BY sid, block"
    )


def blocks_layout(min_step: int, max_step: int, buckets: int) -> tuple[int, int] | None:
    """``(first_block, blocks_per_bucket)`` to cut ``[min_step, max_step]`` into at most
    ``buckets`` ranges of whole blocks; None when that would give fewer than ``buckets``
    ranges (the series is short enough to read its points)."""
    b0, b1 = min_step >> BLOCK_SHIFT, max_step >> BLOCK_SHIFT
    nb = b1 - b0 + 1
    if nb < buckets:
        return None
    return b0, -(-nb // buckets)


def covered_sids(con: duckdb.DuckDBPyConnection, counts: dict[int, int]) -> set[int]:
    """The series (id -> point count) whose blocks account for every one of their points."""
    if not counts:
        return set()
    found = con.execute(
        f"SELECT sid, sum(n) FROM metric_blocks WHERE sid IN ({int_list(counts)}) GROUP BY sid"
    ).fetchall()
    return {sid for sid, n in found if n == counts[sid]}


def block_buckets(
    con: duckdb.DuckDBPyConnection, sids: Sequence[int], first_block: int, per_bucket: int
) -> list[tuple[Any, ...]]:
    """``(sid, bucket, lo_step, lo, hi_step, hi)`` of these series, bucket ``b`` being the
    blocks ``first_block + b * per_bucket`` onwards, ordered by bucket."""
    return con.execute(
        f"SELECT sid, (block - {int(first_block)}) // {int(per_bucket)} AS b, arg_min(lo_step, lo), "
        f"min(lo), arg_max(hi_step, hi), max(hi) FROM metric_blocks WHERE sid IN ({int_list(sids)}) "
        "GROUP BY ALL ORDER BY b"
    ).fetchall()
