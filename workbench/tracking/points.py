"""A run's unwritten metric points, and who is told when they leave for the store."""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: One chunk of points: keys, steps, values, times (parallel, equal length).
Columns = tuple[list[str], "array[int]", "array[float]", "array[float]"]
#: Called with (keys, steps, values) of each chunk taken for writing.
FlushCallback = Callable[[Any, Any, Any], None]


class PointBuffer:
    """Four parallel columns that ``Run.log_metric`` appends to and the writer drains.

    The logging thread appends the step, key, value and then the time; the writer reads
    ``len(times)`` first, so every column holds at least that many points when it takes
    them. Slicing and deleting are atomic under the GIL, so points appended meanwhile
    stay for the next flush.
    """

    __slots__ = ("_subscribers", "keys", "steps", "times", "values")

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.steps = array("q")
        self.values = array("d")
        self.times = array("d")
        self._subscribers: tuple[FlushCallback, ...] = ()

    def __len__(self) -> int:
        return len(self.times)

    def _columns(self) -> tuple[Any, Any, Any, Any]:
        return (self.keys, self.steps, self.values, self.times)

    def take(self) -> Columns | None:
        """Remove and return the points buffered so far (None when there are none),
        after handing them to the subscribers."""
        k = len(self.times)
        if not k:
            return None
        cols: Columns = (self.keys[:k], self.steps[:k], self.values[:k], self.times[:k])
        for col in self._columns():
            del col[:k]
        for callback in self._subscribers:
            try:
                callback(cols[0], cols[1], cols[2])
            except Exception:  # noqa: BLE001 - a chart must never cost data
                log.debug("a flush subscriber failed", exc_info=True)
        return cols

    def put_back(self, cols: Columns) -> None:
        """Return points :meth:`take` gave, ahead of newer ones. (The writer no longer
        does: a failed write is retried as the same batch, so it is applied once.)"""
        for col, part in zip(self._columns(), cols):
            col[:0] = part

    def as_dict(self) -> dict[str, list[Any]]:
        """The buffered points as JSON-ready lists (for the exit rescue file)."""
        return {
            "key": self.keys,
            "step": list(self.steps),
            "value": list(self.values),
            "time": list(self.times),
        }

    def subscribe(self, callback: FlushCallback) -> Callable[[], None]:
        """Call ``callback(keys, steps, values)`` from the writer thread with every chunk
        taken; returns a function that unsubscribes it."""
        # Replaced, never mutated: the writer thread iterates without a lock.
        self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            self._subscribers = tuple(c for c in self._subscribers if c is not callback)

        return unsubscribe
