"""The live chart under a ``%%track`` cell: fed by the run's flushes, drawn in place."""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from .. import tracking
from ..errors import WorkbenchError
from ..tracking import context


def attach_live_chart(run: tracking.Run, cell: str) -> Any:
    """Show a live chart of the run's metrics while the cell runs.

    Only for cells that log metrics themselves (the source mentions ``log_metric``): the
    chart's output place is made now, from the cell's own thread, since an output first
    displayed by the writer thread would land in whatever cell runs then.
    """
    if "log_metric" not in cell:
        return None
    try:
        from IPython.display import display

        from ..widgets.live import LiveChart
    except ImportError:
        return None
    handle = display({"text/plain": ""}, raw=True, display_id=True)
    if handle is None:  # not in a kernel with a display publisher
        return None
    return LiveHook(run, functools.partial(LiveChart, handle=handle))


class LiveHook:
    """Feeds a run's flushed points to a LiveChart, made once some metric has a curve
    (two points or more): a cell that logs only final values gets no chart."""

    def __init__(self, run: tracking.Run, chart_cls: Any) -> None:
        self._chart_cls = chart_cls
        self._chart: Any = None
        self._title = f"{run.run_name} ({run.run_id[:8]})"
        self._run = run
        self._pending: list[tuple[Any, Any, Any]] = []
        self._unsubscribe = run.subscribe(self._feed)

    def _feed(self, keys: Any, steps: Any, values: Any) -> None:
        if self._chart is None:
            self._pending.append((keys, steps, values))
            if sum(len(k) for k, _, _ in self._pending) < 2:
                return
            self._chart = self._chart_cls(self._title)
            for k, st, v in self._pending:
                self._chart.feed(k, st, v)
            self._pending = []
        else:
            self._chart.feed(keys, steps, values)
        if not self._run.ended:  # once ended, the final (forced) render draws
            self._chart.render()

    def finish(self, in_background: bool = True) -> None:
        """Draw the final state: the run's last points go through the chart.

        In the background (the default), off the cell's path: the chart's output is
        updated in place just after the cell ends, which a frontend (JupyterLab, VS Code)
        draws. A headless execution (papermill, nbclient, nbconvert) reads a cell's
        outputs only until the cell ends, so there the final draw happens before.
        """
        if self._chart is None and self._run.pending_points < 2:
            self._unsubscribe()
            return
        if in_background:
            threading.Thread(
                target=self._final, args=(0.1,), name="workbench-live-final", daemon=True
            ).start()
        else:
            self._final(0.0)

    def _final(self, delay: float) -> None:
        # In the background, the cell's reply goes out first; the update lands a moment later.
        if delay:
            time.sleep(delay)
        try:
            tracking.flush(self._run.store)
        except WorkbenchError:
            pass  # the data stays buffered and is retried; the chart shows what it has
        self._unsubscribe()
        if self._chart is not None:
            self._chart.close()


def frontend_attached(user_ns: dict[str, Any]) -> bool:
    """Whether a frontend that draws outputs updated after their cell ended shows this
    kernel: a Jupyter server session (JupyterLab, Notebook) or VS Code. Papermill,
    nbclient and nbconvert start kernels with neither."""
    return any(context.frontend_names(user_ns))
