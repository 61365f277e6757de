"""Per-cell cost of ``%%track`` in a real kernel, and the live chart's cost in a hot loop.

1. A cell doing nothing, executed N times untracked and N times as ``%%track``: the
   median round trip of each (execute request to reply, as a front end sees it) and
   the difference, which is what tracking adds to a cell. The kernel's session points
   at a saved notebook, as under JupyterLab, so reading and snapshotting it is included.
2. A tracked cell logging 100,000 points in a loop, with the live chart and with
   ``--no-live``: the ratio is the chart's cost.

Run: ``python benchmarks/bench_track_overhead.py [-n 60]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel
from nbformat.v4 import new_code_cell, new_notebook


def _time_cell(kc, code: str) -> float:
    t = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=300, output_hook=lambda msg: None)
    elapsed = time.perf_counter() - t
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content']}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description="Measure the per-cell overhead of %%track.")
    ap.add_argument("-n", type=int, default=60, help="Cells of each kind.")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wb-track-bench-"))
    nb_path = work / "bench.ipynb"
    nb = new_notebook(cells=[new_code_cell("%%track\npass")])
    nbformat.write(nb, nb_path)
    env = {**os.environ, "WORKBENCH_STORE": str(work / "store"), "JPY_SESSION_NAME": str(nb_path)}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(work), env=env)
    try:
        _time_cell(kc, "%load_ext workbench\nimport workbench as wb")
        for _ in range(3):  # warm-up: first-run imports, store creation, environment scan
            _time_cell(kc, "%%track\npass")
            _time_cell(kc, "pass")
        plain, tracked = [], []
        for _ in range(args.n):  # interleaved, so drift affects both alike
            plain.append(_time_cell(kc, "pass"))
            tracked.append(_time_cell(kc, "%%track\npass"))
        p, t = statistics.median(plain) * 1000, statistics.median(tracked) * 1000
        print(
            f"empty cell, median of {args.n}: untracked {p:.2f} ms, %%track {t:.2f} ms, overhead {t - p:.2f} ms"
        )

        loop = "for i in range(100_000):\n    wb.log_metric('loss', 1.0 / (i + 1))"
        live = statistics.median(_time_cell(kc, f"%%track\n{loop}") for _ in range(5))
        quiet = statistics.median(_time_cell(kc, f"%%track --no-live\n{loop}") for _ in range(5))
        print(
            f"100,000 log_metric calls in a tracked cell: with live chart {live * 1000:.0f} ms, "
            f"without {quiet * 1000:.0f} ms, chart cost {100 * (live / quiet - 1):+.1f}%"
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
