"""Progress of a sweep or a tune: a bar, counts and a Stop button in a notebook; tqdm
elsewhere. A tune's display also shows the best value so far and its parameters.

ipywidgets and tqdm are imported when a bar is made, never when this module loads. The
notebook display also carries its last state as HTML, which a saved notebook shows once
the widget is gone (reopened, kernel restarted), as the runs table does.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["TqdmProgress", "WidgetProgress", "progress_display"]


def _best_text(value: float, params: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
    return f"{value:.6g} ({shown})" if shown else f"{value:.6g}"


class TqdmProgress:
    """Progress in a terminal: a tqdm bar with the done and failed counts."""

    def __init__(self, total: int, kind: str = "sweep") -> None:
        from tqdm.auto import tqdm

        self.kind = kind
        self.best: str | None = None
        self.bar = tqdm(total=total, desc=kind, unit="nb" if kind == "sweep" else "trial")

    def attach(self, runner: Any) -> None:
        """Nothing to wire: a terminal sweep or tune stops on Ctrl-C."""

    def update(self, c: dict[str, int]) -> None:
        """Show the counts (done, failed, running, queued)."""
        self.bar.n = c["done"] + c["failed"]
        extra = {"best": self.best} if self.best else {}
        self.bar.set_postfix(done=c["done"], failed=c["failed"], running=c["running"], **extra, refresh=False)
        self.bar.refresh()

    def set_best(self, value: float, params: dict[str, Any]) -> None:
        """A tune's best value so far, and its parameters (shown from the next update)."""
        self.best = _best_text(value, params)

    def close(self) -> None:
        """The sweep has ended: no more updates."""
        self.bar.close()


class WidgetProgress:
    """Progress for notebooks: a bar, counts and a Stop button (and a tune's best)."""

    def __init__(self, total: int, kind: str = "sweep") -> None:
        import ipywidgets as w
        from IPython.display import display

        self.total = total
        self.bar = w.IntProgress(value=0, min=0, max=total, description=kind, bar_style="info")
        self.label = w.HTML(f"0 / {total} done")
        self.best = w.HTML("")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop")
        row = w.HBox([self.bar, self.label, self.stop_button])
        self.kind = kind
        self.box = w.VBox([row, self.best]) if kind == "tune" else row
        self._handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> dict[str, Any]:
        """The widget view, plus the state so far as HTML for viewers without it."""
        from ._base import STATIC_VIEW_MIMETYPE, static_view

        data = dict(self.box._repr_mimebundle_() or {})
        best = f"<br>{self.best.value}" if self.best.value else ""
        data["text/html"] = f"<div>{html.escape(self.kind)}: {self.label.value}{best}</div>"
        data[STATIC_VIEW_MIMETYPE] = static_view("text/html")
        return data

    def attach(self, runner: Any) -> None:
        """Make the Stop button stop ``runner`` (a :class:`~workbench.rerun.Sweep`, or
        anything with ``stop()``)."""

        def on_stop(_: Any) -> None:
            self.stop_button.disabled = True
            self.stop_button.description = "stopping"
            runner.stop()

        self.stop_button.on_click(on_stop)

    def update(self, c: dict[str, int]) -> None:
        """Show the counts (done, failed, running, queued)."""
        self.bar.value = c["done"] + c["failed"]
        self.label.value = (
            f"{c['done']} done, <b style='color:#c62828'>{c['failed']} failed</b>, "
            f"{c['running']} running, {c['queued']} queued"
        )
        if c["failed"]:
            self.bar.bar_style = "warning"

    def set_best(self, value: float, params: dict[str, Any]) -> None:
        """A tune's best value so far, and its parameters."""
        self.best.value = f"best so far: <b>{html.escape(_best_text(value, params))}</b>"

    def close(self) -> None:
        """The sweep has ended: no more updates."""
        self.stop_button.disabled = True
        self.bar.bar_style = "success" if self.bar.bar_style == "info" else self.bar.bar_style
        # The final counts (and best) into the saved output, for when the widget is gone.
        if self._handle is not None:
            self._handle.update(self._bundle(), raw=True)


def progress_display(total: int, in_kernel: bool, kind: str = "sweep") -> Any:
    """The progress display for a sweep (or ``kind="tune"``) of ``total`` jobs: the
    widget in a kernel (when ipywidgets is installed), else a tqdm bar. It has
    ``attach(runner)``, ``update(counts)``, ``set_best(value, params)`` and ``close()``."""
    if in_kernel:
        try:
            return WidgetProgress(total, kind)
        except ImportError:
            pass
    return TqdmProgress(total, kind)
