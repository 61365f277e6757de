"""Plain-text renderings shared by the command line and the ``%wb`` magic."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from .store.store import RunRecord
from .tracking.system_metrics import PREFIX as SYSTEM_PREFIX


def runs_table(df: Any, wide: bool = False, columns: Sequence[str] | None = None) -> str:
    """A plain-text table of a ``runs()`` DataFrame for terminals and notebooks.

    Unless ``wide``, autologged estimator parameters (``Ridge.alpha``: names with a dot)
    and system metrics (``system/cpu_utilization_percentage``...) are left out, since a
    single estimator brings dozens of the one and every run a dozen of the other; ``show``
    lists all.
    ``columns`` (``metrics.rmse``, ``params.alpha``...) picks the metric and parameter
    columns instead. Each metric column shows its values with the same decimals.
    """
    out = df.copy()
    out.insert(0, "id", out["run_id"].str[:8])
    out["start"] = out["start_time"].dt.tz_convert(None).dt.strftime("%Y-%m-%d %H:%M:%S")
    dur = (out["end_time"] - out["start_time"]).dt.total_seconds()
    out["duration"] = dur.map(lambda s: "" if s != s else f"{s:.1f}s")
    from .comparison import origin_column

    out["origin"] = origin_column(out)
    cols = ["id", "run_name", "experiment", "status", "origin", "start", "duration"]
    if columns is not None:
        cols += [c for c in columns if c in out.columns]
    else:
        cols += [c for c in out.columns if c.startswith("metrics.") and _shown(c, wide)]
        cols += [c for c in out.columns if c.startswith("params.") and _shown(c, wide)]
    for c in cols:
        if c.startswith("metrics."):
            out[c] = _aligned(out[c])
    table = out[cols].rename(columns=lambda c: c.split(".", 1)[1] if "." in c else c)
    return table.to_string(index=False, na_rep="")


def _shown(column: str, wide: bool) -> bool:
    """Whether the runs table shows a ``metrics.*`` or ``params.*`` column."""
    if column.startswith("metrics."):
        return wide or not column.startswith(SYSTEM_PREFIX, 8)
    return column.startswith("params.") and (wide or "." not in column[7:])


def runs_rows_table(names: Sequence[str], rows: Sequence[Sequence[Any]], wide: bool = False) -> str:
    """:func:`runs_table` of runs given as plain rows (``workbench.api.runs_rows``: column
    names, one tuple per run, times in epoch ms), without pandas: the same text
    ``runs_table`` gives for the DataFrame of those runs, character for character
    (``DataFrame.to_string(index=False, na_rep="")``: cells and headers right-justified,
    one space between columns, tabs and newlines shown escaped, missing values blank).
    """
    from .comparison import origin

    at = {n: i for i, n in enumerate(names)}

    def column(name: str) -> list[Any]:
        i = at.get(name)
        return [None] * len(rows) if i is None else [r[i] for r in rows]

    def text(v: Any) -> str | None:
        return v if isinstance(v, str) else None

    sweeps, tunes = column("tags.sweep_id"), column("tags.tune_id")
    starts, ends = column("start_time"), column("end_time")
    cells: dict[str, list[str | None]] = {
        "id": [rid[:8] for rid in column("run_id")],
        "run_name": column("run_name"),
        "experiment": column("experiment"),
        "status": column("status"),
        "origin": [
            origin(text(src), text(par), sw if isinstance(sw, str) else text(tu))
            for src, par, sw, tu in zip(column("source"), column("parent_run_id"), sweeps, tunes)
        ],
        "start": [
            None if s is None else (_EPOCH + timedelta(milliseconds=s)).strftime(_START) for s in starts
        ],
        "duration": [
            None if s is None or e is None else f"{(e - s) / 1000:.1f}s" for s, e in zip(starts, ends)
        ],
    }
    shown = list(cells)
    shown += [c for c in names if c.startswith("metrics.") and _shown(c, wide)]
    shown += [c for c in names if c.startswith("params.") and _shown(c, wide)]
    for c in shown:
        if c.startswith("metrics."):
            cells[c] = list(_aligned(column(c)))
        elif c not in cells:
            cells[c] = column(c)
    table = []
    for c in shown:
        col = [_escaped(c.split(".", 1)[1] if "." in c else c)]
        col += ["" if v is None or v != v else _escaped(str(v)) for v in cells[c]]
        width = max(map(len, col))
        table.append([s.rjust(width) for s in col])
    return "\n".join(" ".join(line) for line in zip(*table))


_EPOCH = datetime(1970, 1, 1)
_START = "%Y-%m-%d %H:%M:%S"


def _escaped(s: str) -> str:
    # As pandas shows text in a table: a tab or line break as its escape, on one line.
    return s.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


def _aligned(values: Any) -> list[str]:
    """A column of numbers with one number of decimals: four significant digits for its
    largest value (``58.87``, ``62.00``; ``0.3228``), blank where missing."""
    nums = [float(v) for v in values if v is not None and v == v]
    if not nums:
        return ["" for _ in values]
    top = max(abs(v) for v in nums) or 1.0
    if top >= 1e7 or top < 1e-3:  # infinities too (an imported run may hold them)
        return ["" if v is None or v != v else f"{float(v):.4g}" for v in values]
    digits = math.floor(math.log10(top)) + 1 if top >= 1 else 0
    decimals = max(0, min(6, 4 - digits))
    return ["" if v is None or v != v else f"{float(v):.{decimals}f}" for v in values]


def format_run(rec: RunRecord) -> str:
    """Everything recorded about a run, as readable text."""

    def ts(ms: int | None) -> str:
        return (
            "-"
            if ms is None
            else datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        )

    lines = [
        f"run        {rec.run_id}",
        f"name       {rec.run_name}",
        f"experiment {rec.experiment}",
        f"status     {rec.status}" + (" (deleted)" if rec.deleted else ""),
        f"started    {ts(rec.start_time)}",
        f"ended      {ts(rec.end_time)}" + ("" if rec.duration_s is None else f"  ({rec.duration_s:.1f} s)"),
        f"source     {rec.source}",
    ]
    if rec.parent_run_id:
        lines.append(f"parent     {rec.parent_run_id}")
    if rec.children:
        lines.append(f"reruns     {', '.join(rec.children)}")
    for title, mapping in (("params", rec.params), ("metrics", rec.metrics), ("tags", rec.tags)):
        lines.append(f"\n{title}:" + ("" if mapping else " none"))
        width = max((len(k) for k in mapping), default=0)
        lines += [f"  {k:<{width}}  {_fmt(v)}" for k, v in mapping.items()]
    if rec.artifacts:
        lines.append("\nartifacts:")
        lines += [
            f"  {a['direction']:<6} {a['kind']:<8} {a.get('name') or ''}  {a['path']}  sha256:{a['sha256'][:12]}  {a['size']} B"
            for a in rec.artifacts
        ]
    context = {k: v for k, v in rec.context.items() if v not in (None, "")}
    if context:
        lines.append("\ncontext:")
        lines += [
            f"  {k:<13} {str(v).splitlines()[0] if v else v}"
            for k, v in context.items()
            if k != "cell_source"
        ]
    if rec.error:
        lines.append("\nerror:\n  " + "\n  ".join(rec.error.strip().splitlines()[-6:]))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def compare_table(result: dict[str, Any], show_all: bool = False) -> str:
    """Plain-text side-by-side view of ``compare_records`` output."""
    heads = [
        f"{r['run_name']} ({r['run_id'][:8]})"
        + (f" [{r['origin']}]" if r.get("origin") not in (None, "", "api", "magic") else "")
        for r in result["runs"]
    ]
    rows: list[list[str]] = []
    for name, values in result["params"].items():
        differs = name in result["differing_params"]
        if not show_all and _repeats_plain_param(name, result["params"]):
            continue  # GradientBoostingRegressor.max_depth beside max_depth
        if differs or show_all:
            rows.append([("* " if differs else "  ") + f"params.{name}", *[_cell(v) for v in values]])
    if not rows:
        rows.append(["  (parameters identical)", *["" for _ in heads]])
    system = set(result.get("system", ()))
    for name, values in result["metrics"].items():
        if name in system:
            continue
        best = result["best"].get(name)
        rows.append(
            [
                f"  metrics.{name}",
                *[(t or "-") + (" (best)" if i == best else "") for i, t in enumerate(_aligned(values))],
            ]
        )
    if system:  # CPU, memory, GPU: apart from the model's metrics, never "best"
        rows.append(["  System", *["" for _ in heads]])
        rows += [[f"    {n}", *[t or "-" for t in _aligned(result["metrics"][n])]] for n in sorted(system)]
    for d in (result.get("datasets") or {}).get("rows", []):
        mark = "  " if d["same"] else "* "
        rows.append([f"{mark}data.{d['name']}", *[(sha or "-")[:12] for sha in d["sha256"]]])
        for drift in d["drift"][:12]:
            rows.append([f"    {drift['column']}.{drift['stat']}", *[_cell(v) for v in drift["values"]]])
    widths = [max(len(x) for x in col) for col in zip(["", *heads], *rows)]
    fmt_row = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    out = [fmt_row(["", *heads]), fmt_row(["-" * w for w in widths])]
    out += [fmt_row(r) for r in rows]
    if (result.get("datasets") or {}).get("differ"):
        out.append("\nThese runs trained on different data (dataset hashes differ; profile drift listed).")
    out.append(
        "\n* differs between runs; (best) marks the best value (lowest, or highest for "
        "r2/accuracy/auc-like names)"
    )
    return "\n".join(out)


# Autologged estimator parameters are named ``ClassName.param`` (tracking/autolog.py).
_AUTOLOGGED = re.compile(r"^[A-Z][A-Za-z0-9_]*\.(.+)$")


def _repeats_plain_param(name: str, params: Mapping[str, Sequence[Any]]) -> bool:
    """Whether an autologged ``Estimator.x`` has the same values as the plain param ``x``."""
    m = _AUTOLOGGED.match(name)
    plain = params.get(m.group(1)) if m else None
    if plain is None:
        return False
    return all(a is None or (b is not None and _same(a, b)) for a, b in zip(params[name], plain))


def _same(a: Any, b: Any) -> bool:
    if str(a) == str(b):
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def _cell(v: Any) -> str:
    return "-" if v is None else _fmt(v)


def models_table(versions: Any) -> str:
    """Plain-text table of registered model versions (``workbench models``)."""
    rows = [["model", "version", "aliases", "run", "metrics", "registered"]]
    for v in versions:
        metrics = ", ".join(f"{k}={_fmt(x)}" for k, x in sorted(v.metrics.items())[:4])
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(v.created_at / 1000))
        rows.append(
            [
                v.name,
                str(v.version),
                " ".join(f"@{a}" for a in v.aliases),
                f"{v.run_name} ({v.run_id[:8]})",
                metrics,
                when,
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
