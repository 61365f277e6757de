"""The runs table's cells and its static HTML: headers, formatted values, the table frame.

Split out of :mod:`workbench.widgets.runs_table`, which re-exports the public names here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from ..comparison import origin_column
from ._base import MISSING_HTML

__all__ = ["cell_html", "column_decimals", "header_text", "run_count", "static_html", "table_frame"]


_HEADERS = {
    "run_id": "id",
    "run_name": "name",
    "status": "status",
    "start_time": "start",
    "duration_s": "duration",
}
_STATUS_COLOURS = {"finished": "#1b7f3b", "failed": "#b00020", "running": "#1565c0", "killed": "#757575"}


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and other containers are values, not missing
        return False


def _fmt_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _fmt_time(ts: Any) -> str:
    # Stored in UTC; people read their own clock.
    when = ts.to_pydatetime() if isinstance(ts, pd.Timestamp) else ts
    if isinstance(when, datetime):
        return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(when)


def column_decimals(values: pd.Series) -> int | None:
    """Decimals that give a metric column's largest value four significant digits (None
    for very large or small values, shown in scientific notation)."""
    nums = pd.to_numeric(values, errors="coerce").dropna().abs()
    if nums.empty:
        return None
    top = float(nums.max())
    if top >= 1e7 or (0 < top < 1e-3):
        return None
    digits = math.floor(math.log10(top)) + 1 if top >= 1 else 0
    return max(0, min(6, 4 - digits))


def cell_html(column: str, value: Any, decimals: int | None = None) -> str:
    """One table cell's content as escaped HTML (shared by the widget and the static table).

    Parameters
    ----------
    column
        The column name (``run_id``, ``status``, ``metrics.rmse``...).
    value
        The raw value from :func:`table_frame`'s DataFrame.
    decimals
        For a metric: the number of decimals its column shows (default: six
        significant digits).
    """
    if _is_missing(value):
        return MISSING_HTML
    if column == "run_id":
        return f'<code title="{html.escape(str(value))}">{html.escape(str(value)[:8])}</code>'
    if column == "status":
        colour = _STATUS_COLOURS.get(str(value), "inherit")
        return f'<span style="color:{colour}">{html.escape(str(value))}</span>'
    if column == "start_time":
        return html.escape(_fmt_time(value))
    if column == "duration_s":
        return html.escape(_fmt_duration(float(value)))
    if column.startswith("metrics.") and isinstance(value, (int, float)):
        return f"{float(value):.{decimals}f}" if decimals is not None else f"{float(value):.6g}"
    return html.escape(str(value))


def header_text(column: str, columns: Sequence[str] = ()) -> str:
    """The label shown above a column.

    Parameters
    ----------
    column
        A column of :func:`table_frame`'s DataFrame.
    columns
        The other columns shown: a ``metrics.*``/``params.*`` column is labelled by its
        bare name unless another shown column has the same one.

    Returns
    -------
    str
        ``id``, ``name``, ``status``, ``start``, ``duration``, ``rmse``, or the full name
        (``metrics.loss``, ``params.loss``) where a param and a metric share a name.
    """
    if column in _HEADERS:
        return _HEADERS[column]
    kind, _, name = column.partition(".")
    if kind in ("metrics", "params") and name:
        twins = [c for c in columns if c != column and c.partition(".")[2] == name]
        return column if twins else name
    return column


def table_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The columns the runs table shows, in order, from a :func:`workbench.runs` DataFrame.

    Parameters
    ----------
    df
        A DataFrame from :func:`workbench.runs`, or one this function already returned
        (it is idempotent).

    Returns
    -------
    pandas.DataFrame
        ``run_id, run_name, status, start_time, origin`` (rerun of / sweep / how it was
        recorded), ``duration_s`` (seconds, NaN while a run has not ended), then the
        ``metrics.*`` and ``params.*`` columns, index 0..n-1.
    """
    out = pd.DataFrame(index=df.index)
    for col in ("run_id", "run_name", "status", "start_time"):
        out[col] = df[col] if col in df.columns else None
    if "origin" in df.columns:
        out["origin"] = df["origin"]
    elif "source" in df.columns:
        out["origin"] = origin_column(df)
    if "duration_s" in df.columns:
        out["duration_s"] = df["duration_s"]
    elif "start_time" in df.columns and "end_time" in df.columns and len(df):
        out["duration_s"] = (df["end_time"] - df["start_time"]).dt.total_seconds()
    else:
        out["duration_s"] = float("nan")
    metrics = [c for c in df.columns if c.startswith("metrics.")]
    params = [c for c in df.columns if c.startswith("params.")]
    return pd.concat([out, df[metrics], df[params]], axis=1).reset_index(drop=True)


def static_html(df: pd.DataFrame, max_rows: int = 500, columns: Sequence[str] | None = None) -> str:
    """A self-contained HTML table of runs, for viewers that cannot show live widgets.

    Parameters
    ----------
    df
        Runs as returned by :func:`workbench.runs` or :attr:`RunsWidget.dataframe`.
    max_rows
        Rows beyond this are summarized in a note, keeping saved notebooks small.
    columns
        The columns of :func:`table_frame` to show, in order; all by default.

    Returns
    -------
    str
        A ``<div>`` holding a ``<table>`` with inline styles only (notebook sanitizers
        drop ``<style>`` blocks) and the same cells as the widget.
    """
    frame = table_frame(df)
    cols = [c for c in columns if c in frame.columns] if columns is not None else list(frame.columns)
    frame = frame[cols]
    th = "padding:2px 8px;text-align:left;border-bottom:1px solid #bbb;white-space:nowrap"
    td = "padding:2px 8px;text-align:left;border-bottom:1px solid #eee;white-space:nowrap"
    head = "".join(
        f'<th style="{th}" title="{html.escape(c)}">{html.escape(header_text(c, cols))}</th>' for c in cols
    )
    decimals = {c: column_decimals(frame[c]) for c in cols if c.startswith("metrics.")}
    body = []
    for row in frame.head(max_rows).itertuples(index=False, name=None):
        cells = "".join(
            f'<td style="{td}">{cell_html(c, v, decimals.get(c))}</td>' for c, v in zip(cols, row)
        )
        body.append(f"<tr>{cells}</tr>")
    n = len(frame)
    more = f" (first {max_rows} shown)" if n > max_rows else ""
    return (
        '<div class="workbench-runs" style="overflow-x:auto">'
        f'<table style="border-collapse:collapse;font-size:12px"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        f'<div style="color:#555;font-size:12px;margin-top:4px">{run_count(n)}{more}</div></div>'
    )


def run_count(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"
