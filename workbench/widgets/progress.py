"""Progress of a sweep: a bar, counts and a Stop button in a notebook; tqdm elsewhere.

ipywidgets and tqdm are imported when a bar is made, never when this module loads.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TqdmProgress", "WidgetProgress", "progress_display"]


class TqdmProgress:
    """Progress in a terminal: a tqdm bar with the done and failed counts."""

    def __init__(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="sweep", unit="nb")

    def attach(self, sweep: Any) -> None:
        """Nothing to wire: a terminal sweep stops on Ctrl-C."""

    def update(self, c: dict[str, int]) -> None:
        """Show the counts (done, failed, running, queued)."""
        self.bar.n = c["done"] + c["failed"]
        self.bar.set_postfix(done=c["done"], failed=c["failed"], running=c["running"], refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        """The sweep has ended: no more updates."""
        self.bar.close()


class WidgetProgress:
    """Progress for notebooks: a bar, counts and a Stop button."""

    def __init__(self, total: int) -> None:
        import ipywidgets as w
        from IPython.display import display

        self.total = total
        self.bar = w.IntProgress(value=0, min=0, max=total, description="sweep", bar_style="info")
        self.label = w.HTML(f"0 / {total} done")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop")
        display(w.HBox([self.bar, self.label, self.stop_button]))

    def attach(self, sweep: Any) -> None:
        """Make the Stop button stop ``sweep`` (a :class:`~workbench.rerun.Sweep`)."""

        def on_stop(_: Any) -> None:
            self.stop_button.disabled = True
            self.stop_button.description = "stopping"
            sweep.stop()

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

    def close(self) -> None:
        """The sweep has ended: no more updates."""
        self.stop_button.disabled = True
        self.bar.bar_style = "success" if self.bar.bar_style == "info" else self.bar.bar_style


def progress_display(total: int, in_kernel: bool) -> Any:
    """The progress display for a sweep of ``total`` jobs: the widget in a kernel (when
    ipywidgets is installed), else a tqdm bar. It has ``attach(sweep)``,
    ``update(counts)`` and ``close()``."""
    if in_kernel:
        try:
            return WidgetProgress(total)
        except ImportError:
            pass
    return TqdmProgress(total)
