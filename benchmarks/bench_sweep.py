"""A sweep of 8 short notebooks: ``--jobs 1`` vs ``--jobs 2`` vs a plain papermill loop.

The notebook is the same in all three (a parameters cell and a ``%%track`` cell that
fits a small scikit-learn model), so the difference between the plain loop and
``jobs=1`` is what Workbench's orchestration costs (worker process, job bookkeeping,
recording each job's output notebook), and ``jobs=1`` vs ``jobs=2`` is the parallel
speedup on this machine. Each variant runs once after a warm-up execution.

Run: ``python benchmarks/bench_sweep.py``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ALPHAS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]


def _notebook(path: Path) -> None:
    nb = new_notebook()
    params = new_code_cell("alpha = 1.0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        new_code_cell("%load_ext workbench"),
        new_code_cell(
            "%%track --metrics rmse\n"
            "from sklearn.datasets import load_diabetes\n"
            "from sklearn.linear_model import Ridge\n"
            "from sklearn.model_selection import cross_val_score\n"
            "X, y = load_diabetes(return_X_y=True)\n"
            "rmse = -cross_val_score(Ridge(alpha=alpha), X, y, cv=5, scoring='neg_root_mean_squared_error').mean()"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def main() -> None:
    import papermill as pm

    import workbench as wb

    work = Path(tempfile.mkdtemp(prefix="wb-sweep-bench-"))
    nb = work / "ridge.ipynb"
    _notebook(nb)
    os.environ["WORKBENCH_STORE"] = str(work / "store")
    wb.set_store(work / "store")
    pm.execute_notebook(str(nb), str(work / "warm.ipynb"), parameters={"alpha": 1.0}, progress_bar=False)

    t = time.perf_counter()
    for i, a in enumerate(ALPHAS):
        pm.execute_notebook(
            str(nb), str(work / f"plain{i}.ipynb"), parameters={"alpha": a}, progress_bar=False, cwd=str(work)
        )
    plain = time.perf_counter() - t

    timings = {}
    for jobs in (1, 2):
        t = time.perf_counter()
        result = wb.sweep(nb, {"alpha": ALPHAS}, jobs=jobs, wait=True, progress=False)
        timings[jobs] = time.perf_counter() - t
        assert result.counts["done"] == len(ALPHAS), result.counts
        assert len(result.results) == len(ALPHAS)

    n = len(ALPHAS)
    print(f"{n} notebooks, each a 5-fold Ridge fit on the diabetes data, on {os.cpu_count()} cores:")
    print(f"  plain papermill loop      {plain:6.2f} s  ({plain / n:.2f} s per notebook)")
    print(
        f"  workbench sweep --jobs 1  {timings[1]:6.2f} s  overhead over plain papermill {100 * (timings[1] / plain - 1):+.1f}%"
    )
    print(
        f"  workbench sweep --jobs 2  {timings[2]:6.2f} s  speedup over --jobs 1 {timings[1] / timings[2]:.2f}x"
    )


if __name__ == "__main__":
    main()
