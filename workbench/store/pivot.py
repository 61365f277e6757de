"""Long ``(position, key, value)`` rows spread into one column per key, in Arrow.

DuckDB's own pivot needs the keys first, so it reads each table twice (once for the
distinct keys, once per ``first(value) FILTER (WHERE key = ?)`` column), and its cost
grows with keys x rows. Reading the long rows once and scattering them by position with
numpy costs one pass (issue 16: ``wb.runs()`` and the panel's pages).
"""

from __future__ import annotations

from typing import Any

__all__ = ["spread"]


def spread(n: int, long: Any) -> list[tuple[str, Any]]:
    """``(key, column)`` per distinct key of ``long``, sorted by key.

    ``long`` is an Arrow table with an ``_ord`` column (1-based row positions, at most
    one row per position and key), a ``key`` column and a ``value`` column; each column
    returned has ``n`` entries, the value at its row's position and null elsewhere.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if long.num_rows == 0:
        return []
    enc = pc.dictionary_encode(long.column("key")).combine_chunks()
    codes = enc.indices.to_numpy(zero_copy_only=False)
    names = enc.dictionary.to_pylist()
    pos = long.column("_ord").to_numpy() - 1
    values = long.column("value").combine_chunks()
    # One stable sort groups the rows of each key; a key's rows are then one slice.
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(names)))])
    out = []
    for k in sorted(range(len(names)), key=names.__getitem__):
        rows = order[bounds[k] : bounds[k + 1]]
        idx = np.full(n, -1, dtype=np.int64)
        idx[pos[rows]] = rows
        out.append((names[k], pc.take(values, pa.array(idx, mask=idx < 0))))
    return out
