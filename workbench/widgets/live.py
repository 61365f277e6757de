"""A live, throttled metric chart for a cell that is still running.

A run's flushes feed it (``run.subscribe(chart.feed)``: the tracking writer thread
calls :meth:`LiveChart.feed` with every batch it writes); feeding only appends to
bounded per-key series under a lock. Drawing happens in :meth:`LiveChart.render`, at
most once per ``min_interval_s``, so a loop logging a million points costs a few chart
updates, not a million.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidInputError

__all__ = ["LiveChart"]


class _Series:
    """Every ``stride``-th point of one metric, plus the latest point.

    When the kept points exceed the budget, every other one is dropped and the stride
    doubles, so the kept points stay evenly spaced over the whole run and their number
    stays between half the budget and the budget.
    """

    __slots__ = ("last", "last_kept", "seen", "steps", "stride", "values")

    def __init__(self) -> None:
        self.steps: list[Any] = []
        self.values: list[Any] = []
        self.stride = 1
        self.seen = 0
        self.last: tuple[Any, Any] | None = None
        self.last_kept = False  # whether `last` is also the final kept point


class LiveChart:
    """A metric chart that redraws itself while a cell runs, throttled and bounded.

    Parameters
    ----------
    title
        Shown above the chart, with the latest value of each metric.
    min_interval_s
        Least time between two redraws (forced ones excepted).
    max_points
        Most points drawn per metric (at least 2), however many were fed.
    clock
        Monotonic time source in seconds; replaceable for tests.
    handle
        An existing display handle to draw into (see ``IPython.display.display(...,
        display_id=True)``); by default the first render displays a new output.

    Attributes
    ----------
    render_count : int
        How many times the chart was drawn.

    Examples
    --------
    >>> live = LiveChart("training")                 # doctest: +SKIP
    >>> live.feed(["loss", "loss"], [0, 1], [0.9, 0.7])
    >>> live.render()                                # draws now: first render
    >>> live.close()                                 # final, forced render
    """

    def __init__(
        self,
        title: str,
        min_interval_s: float = 1.0,
        max_points: int = 500,
        *,
        clock: Callable[[], float] = time.monotonic,
        handle: Any = None,
    ) -> None:
        if not isinstance(max_points, int) or max_points < 2:
            raise InvalidInputError(f"max_points must be an integer of at least 2, got {max_points!r}")
        if not min_interval_s >= 0:
            raise InvalidInputError(f"min_interval_s must be >= 0, got {min_interval_s!r}")
        self.title = title
        self.min_interval_s = float(min_interval_s)
        self.max_points = max_points
        self._clock = clock
        self._lock = threading.Lock()  # guards the series and the dirty/time bookkeeping
        self._render_lock = threading.Lock()  # one render at a time, so one display handle
        self._series: dict[str, _Series] = {}
        self._dirty = False
        self._last_render: float | None = None
        # A display handle made by the cell's own thread: outputs a background thread
        # displays anew land in whichever cell runs then, updates land where they belong.
        self._handle: Any = handle
        self.render_count = 0
        self.closed = False

    def feed(self, keys: Sequence[str], steps: Sequence[Any], values: Sequence[Any]) -> None:
        """Append points; ``keys[i]`` was ``values[i]`` at ``steps[i]``. Never draws.

        Parameters
        ----------
        keys, steps, values
            Parallel sequences (lists, tuples or NumPy arrays) of equal length.
        """
        n = len(keys)
        if len(steps) != n or len(values) != n:
            raise InvalidInputError(
                f"feed needs parallel sequences; got {n} keys, {len(steps)} steps, {len(values)} values"
            )
        if not n:
            return
        import numpy as np

        # Vectorised per key: a flush hands over up to a second's worth of points (a
        # million in a tight loop), and this runs in the writer thread beside the loop.
        step_arr = np.asarray(steps)
        value_arr = np.asarray(values, dtype=np.float64)
        if isinstance(keys, list) and keys.count(keys[0]) == n:
            groups = {keys[0]: slice(None)}
        else:
            key_arr = np.asarray(keys, dtype=object)
            groups = {k: key_arr == k for k in dict.fromkeys(keys)}
        # Kept points plus the latest one must fit in max_points.
        budget = self.max_points - 1
        with self._lock:
            for key, where in groups.items():
                s = self._series.get(key)
                if s is None:
                    s = self._series[key] = _Series()
                st, va = step_arr[where], value_arr[where]
                # Points whose running index is a multiple of the stride are kept.
                keep = (np.arange(s.seen, s.seen + len(st)) % s.stride) == 0
                s.steps.extend(st[keep].tolist())
                s.values.extend(va[keep].tolist())
                s.seen += len(st)
                while len(s.steps) > budget:
                    s.steps = s.steps[::2]
                    s.values = s.values[::2]
                    s.stride *= 2
                s.last = (st[-1].item(), va[-1].item())
                s.last_kept = (s.seen - 1) % s.stride == 0
            self._dirty = True

    def points(self) -> dict[str, tuple[list[int], list[float]]]:
        """What would be drawn now.

        Returns
        -------
        dict
            Metric key -> (steps, values): the kept points, the latest one included.
        """
        with self._lock:
            out = {}
            for key, s in self._series.items():
                steps, values = list(s.steps), list(s.values)
                if s.last is not None and not s.last_kept:
                    steps.append(s.last[0])
                    values.append(s.last[1])
                out[key] = ([int(x) for x in steps], [float(x) for x in values])
            return out

    def render(self, force: bool = False) -> bool:
        """Redraw the chart unless it was drawn less than ``min_interval_s`` ago.

        The first render displays the chart (``display(..., display_id=True)``); later
        ones update that same output in place.

        Parameters
        ----------
        force
            Draw even if the interval has not passed or nothing new was fed.

        Returns
        -------
        bool
            Whether the chart was drawn.
        """
        if self.closed:
            return False
        # A feeding thread may call render too: never block it behind a slow redraw.
        if not self._render_lock.acquire(blocking=force):
            return False
        try:
            now = self._clock()
            with self._lock:
                if not self._series:
                    return False
                if not force:
                    if not self._dirty:
                        return False
                    if self._last_render is not None and now - self._last_render < self.min_interval_s:
                        return False
                self._dirty = False
                self._last_render = now
            # Built outside the data lock: feeding goes on while the chart is drawn.
            self._show(self._chart(self.points()))
            self.render_count += 1
            return True
        finally:
            self._render_lock.release()

    def close(self) -> None:
        """Draw the final state (forced) and stop: later renders are ignored."""
        if self.closed:
            return
        with self._lock:
            pending = self._dirty or (self.render_count == 0 and bool(self._series))
        if pending:
            self.render(force=True)
        self.closed = True

    def __enter__(self) -> LiveChart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _chart(self, points: dict[str, tuple[list[int], list[float]]]) -> dict[str, Any]:
        # The Vega-Lite spec is written directly: building it through altair (import,
        # schema validation) costs tens of milliseconds a redraw, this well under one.
        # Only curves get a plot: a metric logged once (the --metrics values read after
        # the cell) would be an empty row with a lone point; its value goes in the title.
        curves = {key: p for key, p in points.items() if len(p[0]) >= 2} or points
        latest = ", ".join(f"{key} {values[-1]:.4g}" for key, (_s, values) in points.items() if values)
        title = f"{self.title} — {latest}" if latest else self.title
        if len(title) > 120:
            title = title[:119] + "…"
        rows = [
            {"key": key, "step": st, "value": v}
            for key, (steps, values) in curves.items()
            for st, v in zip(steps, values)
        ]
        return {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "title": title,
            "data": {"values": rows},
            "facet": {"row": {"field": "key", "type": "nominal", "title": None}},
            "spec": {
                "width": 520,
                "height": 120,
                "mark": {"type": "line", "tooltip": True},
                "encoding": {
                    "x": {"field": "step", "type": "quantitative"},
                    "y": {"field": "value", "type": "quantitative", "scale": {"zero": False}, "title": None},
                },
            },
            "resolve": {"scale": {"y": "independent"}},
        }

    def _show(self, spec: dict[str, Any]) -> None:
        # Imported here so the module loads without IPython (and tests can patch display).
        from IPython import display as ipd

        bundle = {"application/vnd.vegalite.v5+json": spec, "text/plain": f"<live chart: {spec['title']}>"}
        if self._handle is None:
            self._handle = ipd.display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
