"""A batch's metric points as NumPy columns grouped by series ``(run_id, key)``: the
summary row of each series (its latest point and extent) and the rows of
``metric_points``, built without a Python loop over points.

The common batch, a run logging one key in a loop, is one series: its summary is a few
whole-array reductions.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from .records import Batch

__all__ = ["POINT_VALUE", "SeriesPoints", "series_points"]

#: A ``metric_points`` row's value as SQL: in ``value32`` when float32 holds it exactly,
#: else in ``value64`` (see :meth:`SeriesPoints.points_table`).
POINT_VALUE = "coalesce(value32::DOUBLE, value64)"


@dataclass
class SeriesPoints:
    """Points of one or more series, in the order they came."""

    #: ``(run_id, key)`` of each series; a point's series is its index here.
    series: list[tuple[str, str]]
    #: Each point's series index (None: all points are of series 0).
    codes: np.ndarray | None
    step: np.ndarray
    value: np.ndarray
    #: Milliseconds since the epoch.
    timestamp: np.ndarray

    def __len__(self) -> int:
        return len(self.step)

    def summary(self) -> Any:
        """An Arrow table of one row per series: ``run_id, key, min_step, max_step, n,
        value, timestamp, min_ts, max_ts``, where ``value`` and ``timestamp`` are of its
        latest point (MLflow's: highest step, then newest time, then largest value, NaN
        above all, as DuckDB orders them)."""
        import numpy as np
        import pyarrow as pa

        k, step, ts, codes = len(self.series), self.step, self.timestamp, self.codes
        if codes is None:
            min_step, max_step = np.array([step.min()]), np.array([step.max()])
            min_ts, max_ts = np.array([ts.min()]), np.array([ts.max()])
            n = np.array([len(step)], np.int64)
            candidates = np.flatnonzero(step == max_step[0])
        else:
            n = np.bincount(codes, minlength=k).astype(np.int64)
            min_step, max_step, min_ts, max_ts = (
                _reduce_at(np.minimum, codes, step, k),
                _reduce_at(np.maximum, codes, step, k),
                _reduce_at(np.minimum, codes, ts, k),
                _reduce_at(np.maximum, codes, ts, k),
            )
            candidates = np.flatnonzero(step == max_step[codes])
        latest = self._latest(candidates)
        return pa.table(
            {
                "run_id": pa.array([s[0] for s in self.series], pa.string()),
                "key": pa.array([s[1] for s in self.series], pa.string()),
                "min_step": min_step,
                "max_step": max_step,
                "n": n,
                "value": self.value[latest],
                "timestamp": ts[latest],
                "min_ts": min_ts,
                "max_ts": max_ts,
            }
        )

    def _latest(self, candidates: np.ndarray) -> np.ndarray:
        """Per series, the index of its latest point among ``candidates`` (the points at
        their series' highest step, at least one per series, in order)."""
        import numpy as np

        k = len(self.series)
        if len(candidates) == k:  # one point at the highest step of each series
            return candidates if self.codes is None else candidates[np.argsort(self.codes[candidates])]
        codes = np.zeros(len(candidates), np.int64) if self.codes is None else self.codes[candidates]
        # lexsort's last key is the primary one; NaN sorts last, above every number.
        order = np.lexsort((self.value[candidates], self.timestamp[candidates], codes))
        codes = codes[order]
        last = np.flatnonzero(np.append(codes[1:] != codes[:-1], True))
        return candidates[order[last]]

    def points_table(self, sids: np.ndarray) -> Any:
        """An Arrow table of ``metric_points`` rows, given each series' id (by index)."""
        import numpy as np
        import pyarrow as pa

        n = len(self)
        sid = np.full(n, sids[0], np.int64) if self.codes is None else sids[self.codes]
        value = self.value
        with np.errstate(over="ignore", invalid="ignore"):
            v32 = value.astype(np.float32)
        # Compared as float64: equal exactly when float32 holds the value (NaN never is).
        exact = v32 == value
        if exact.all():
            value32, value64 = pa.array(v32), pa.nulls(n, pa.float64())
        elif not exact.any():
            value32, value64 = pa.nulls(n, pa.float32()), pa.array(value)
        else:
            value32, value64 = pa.array(v32, mask=~exact), pa.array(value, mask=exact)
        return pa.table(
            {
                "sid": sid,
                "step": self.step,
                "value32": value32,
                "value64": value64,
                "timestamp": self.timestamp,
            }
        )


def _reduce_at(ufunc: Any, codes: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    import numpy as np

    info = np.iinfo(values.dtype)
    out = np.full(k, info.max if ufunc is np.minimum else info.min, values.dtype)
    ufunc.at(out, codes, values)
    return out


def series_points(batch: Batch) -> SeriesPoints | None:
    """The batch's metric points (its lists and its Arrow table), None when it has none."""
    parts = []
    index: dict[tuple[str, str], int] = {}
    if batch.metrics:
        parts.append(_from_lists(batch.metrics, index))
    if batch.metrics_table is not None and batch.metrics_table.num_rows:
        parts.append(_from_table(batch.metrics_table, index))
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    import numpy as np

    series = list(index)
    if len(parts) == 1:
        codes, step, value, ts = parts[0]
    else:
        codes = np.concatenate([p[0] for p in parts])
        step, value, ts = (np.concatenate([p[i] for p in parts]) for i in (1, 2, 3))
    if len(series) == 1:
        codes = None
    return SeriesPoints(series, codes, step, value, ts)


def _from_lists(
    metrics: Sequence[tuple[str, Sequence[str], Sequence[int], Sequence[float], Sequence[float]]],
    index: dict[tuple[str, str], int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    import numpy as np

    def col(x: Sequence[Any], dtype: Any) -> np.ndarray:
        return np.frombuffer(x, dtype=dtype) if isinstance(x, array) else np.asarray(x, dtype)

    codes, steps, values, times = [], [], [], []
    for run_id, keys, step, value, unix_times in metrics:
        n = len(keys)
        if not n:
            continue
        first = keys[0]
        # A loop logging one key: every key is the same object, and counting is ~1 ns each.
        if keys.count(first) == n:
            codes.append(np.full(n, index.setdefault((run_id, first), len(index)), np.int64))
        else:  # a few keys in turn (log_metrics): a dict lookup each, 3x Arrow's dictionary_encode
            ids = {k: index.setdefault((run_id, k), len(index)) for k in dict.fromkeys(keys)}
            codes.append(np.fromiter(map(ids.__getitem__, keys), np.int64, n))
        steps.append(col(step, np.int64))
        values.append(col(value, np.float64))
        times.append((col(unix_times, np.float64) * 1000).astype(np.int64))
    if not codes:
        return None
    if len(codes) == 1:
        return codes[0], steps[0], values[0], times[0]
    return tuple(np.concatenate(c) for c in (codes, steps, values, times))  # type: ignore[return-value]


def _from_table(table: Any, index: dict[tuple[str, str], int]) -> tuple[np.ndarray, ...]:
    """Columns of an Arrow table ``run_id, key, step, value, timestamp`` (run_id and key
    plain or dictionary-encoded strings, times in milliseconds)."""
    import numpy as np

    table = table.unify_dictionaries().combine_chunks()
    run_codes, runs = _factorize(table.column("run_id").chunk(0))
    key_codes, keys = _factorize(table.column("key").chunk(0))
    nk = max(len(keys), 1)
    pair = run_codes * nk + key_codes
    span = len(runs) * nk
    if span <= 4 * len(pair) + 1024:
        present = np.zeros(span, bool)
        present[pair] = True
        used = np.flatnonzero(present)
        remap = np.zeros(span, np.int64)
        remap[used] = np.arange(len(used))
        local = remap[pair]
    else:
        used, local = np.unique(pair, return_inverse=True)
    ids = np.array(
        [index.setdefault((runs[u // nk], keys[u % nk]), len(index)) for u in used.tolist()], np.int64
    )

    def num(name: str, dtype: Any) -> np.ndarray:
        return table.column(name).chunk(0).to_numpy(zero_copy_only=False).astype(dtype, copy=False)

    return ids[local], num("step", np.int64), num("value", np.float64), num("timestamp", np.int64)


def _factorize(arr: Any) -> tuple[np.ndarray, list[str]]:
    """Codes into a list of distinct strings, for a plain or dictionary string array."""
    import numpy as np
    import pyarrow as pa

    if not pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_encode()
    values = arr.dictionary.to_pylist()
    indices = arr.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    # A dictionary may hold a value twice (one built by hand): one code per value.
    first: dict[str, int] = {}
    remap = np.array([first.setdefault(v, len(first)) for v in values], np.int64)
    return remap[indices] if len(first) < len(values) else indices, list(first)
