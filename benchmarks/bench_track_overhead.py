"""Per-cell cost of ``%%track`` in a real kernel, and the live chart's cost in a hot loop.

1. A cell doing nothing, executed N times untracked and N times as ``%%track``: the
   median round trip of each (execute request to reply, as a front end sees it) and
   the difference, which is what tracking adds to a cell. The kernel's session points
   at a saved notebook, as under JupyterLab, so reading and snapshotting it is included.
2. A tracked cell logging 100,000 points in a loop, with the live chart and with
   ``--no-live``: the ratio is the chart's cost. Once as a tight loop (about 0.1 s,
   which only the final redraw touches) and once with some work per step (a few
   seconds, so the chart redraws every second while the loop runs).

Both are interleaved (untracked/tracked, live/no-live alternate). The overhead's spread
comes from blocks of 10 pairs: the median difference of each block. Writes the
``track_overhead`` section of RESULTS.md.
Run: ``python benchmarks/bench_track_overhead.py [-n 60]`` (``WB_BENCH_QUICK=1``: fewer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from _results import Results, quick, reps
from jupyter_client.manager import start_new_kernel
from nbformat.v4 import new_code_cell, new_notebook


def _time_cell(kc, code: str) -> float:
    t = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=300, output_hook=lambda msg: None)
    elapsed = time.perf_counter() - t
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content']}")
    return elapsed


REPEAT = reps(9, 2)


def _loop_seconds(kc) -> float:
    reply = kc.execute_interactive(
        "", user_expressions={"s": "_loop_s"}, timeout=60, output_hook=lambda msg: None
    )
    return float(reply["content"]["user_expressions"]["s"]["data"]["text/plain"])


def main() -> None:
    ap = argparse.ArgumentParser(description="Measure the per-cell overhead of %%track.")
    ap.add_argument("-n", type=int, default=20 if quick() else 60, help="Cells of each kind.")
    args = ap.parse_args()
    res = Results("track_overhead", "%%track's cost per cell, and the live chart's, in a real kernel")
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
        res.add("cell_untracked_ms", [x * 1000 for x in plain], "ms", "an empty cell, untracked (round trip)")
        res.add("cell_tracked_ms", [x * 1000 for x in tracked], "ms", "the same cell as %%track")
        diffs = [(b - a) * 1000 for a, b in zip(plain, tracked)]
        blocks = [statistics.median(diffs[i : i + 10]) for i in range(0, len(diffs) - 9, 10)]
        res.add(
            "cell_overhead_ms",
            blocks,
            "ms",
            f"%%track - untracked: median of each block of 10 pairs ({args.n} pairs)",
        )

        _time_cell(kc, "import numpy as np\nw = np.random.rand(64)")
        loops = {
            "tight_loop": "for i in range(100_000):\n    wb.log_metric('loss', 1.0 / (i + 1))",
            # About 30 µs of work per step: a few seconds, so the chart redraws during it.
            "work_loop": "for i in range(100_000):\n    w = np.tanh(w * 0.999)\n"
            "    wb.log_metric('loss', float(w[0]))",
        }
        for label, loop in loops.items():
            cell_live, cell_quiet, loop_live, loop_quiet = [], [], [], []
            timed = f"import time as _time\n_t0 = _time.perf_counter()\n{loop}\n_loop_s = _time.perf_counter() - _t0"
            for _ in range(REPEAT):  # interleaved; each starts once the previous one's
                # background work (final flush, final redraw) is over
                _time_cell(kc, "import time; time.sleep(0.3); wb.flush()")
                cell_live.append(_time_cell(kc, f"%%track\n{timed}"))
                loop_live.append(_loop_seconds(kc))
                _time_cell(kc, "import time; time.sleep(0.3); wb.flush()")
                cell_quiet.append(_time_cell(kc, f"%%track --no-live\n{timed}"))
                loop_quiet.append(_loop_seconds(kc))
            la, lb = statistics.median(loop_live), statistics.median(loop_quiet)
            what = f"100,000 log_metric calls in a %%track cell, {label.replace('_', ' ')}: the loop's time"
            res.add(f"{label}_live_ms", [x * 1000 for x in loop_live], "ms", what + ", live chart on")
            res.add(f"{label}_quiet_ms", [x * 1000 for x in loop_quiet], "ms", what + ", --no-live")
            ca, cb = statistics.median(cell_live), statistics.median(cell_quiet)
            print(
                f"100,000 log_metric calls, {label} (median of {REPEAT}): the loop takes {la * 1000:.0f} ms with the "
                f"live chart, {lb * 1000:.0f} ms without ({100 * (la / lb - 1):+.1f}%); the whole cell "
                f"{ca * 1000:.0f} vs {cb * 1000:.0f} ms ({100 * (ca / cb - 1):+.1f}%)"
            )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    res.write()


if __name__ == "__main__":
    main()
