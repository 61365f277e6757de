"""A sweep of 8 short notebooks: ``--jobs 1`` vs ``--jobs 2`` vs a plain papermill loop.

The notebook is the same in all three (a parameters cell and a ``%%track`` cell that
fits a small scikit-learn model), so each variant records one run per notebook in the
same store; the script counts them after every repetition and stops if any is missing.
What the plain loop does not do is Workbench's orchestration: worker processes, job
bookkeeping, storing each job's output notebook and linking its run to the sweep. So
plain vs ``jobs=1`` is what that orchestration costs, and ``jobs=1`` vs ``jobs=2`` is
the parallel speedup on this machine. Each repetition runs the three variants once,
in rotating order, after one warm-up execution; the figures are medians.

Run: ``python benchmarks/bench_sweep.py`` (``WB_BENCH_QUICK=1``: 2 notebooks, a smoke run).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat
from _results import Results, interleave, quick, reps
from nbformat.v4 import new_code_cell, new_notebook

ALPHAS = [0.3, 3.0] if quick() else [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]


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


def _recorded(wb, before: int, what: str) -> int:
    """Runs recorded since ``before``; stops the script unless it is one per notebook."""
    wb.flush()
    n = len(wb.runs()) - before
    if n != len(ALPHAS):
        raise SystemExit(f"{what} recorded {n} runs for {len(ALPHAS)} notebooks")
    return n


def main() -> None:
    import papermill as pm

    import workbench as wb

    res = Results("sweep", f"a sweep of {len(ALPHAS)} notebooks: plain papermill loop, --jobs 1, --jobs 2")
    work = Path(tempfile.mkdtemp(prefix="wb-sweep-bench-"))
    nb = work / "ridge.ipynb"
    _notebook(nb)
    os.environ["WORKBENCH_STORE"] = str(work / "store")
    wb.set_store(work / "store")
    pm.execute_notebook(str(nb), str(work / "warm.ipynb"), parameters={"alpha": 1.0}, progress_bar=False)

    def plain() -> None:
        before = len(wb.runs())
        for i, a in enumerate(ALPHAS):
            out = work / f"plain{i}.ipynb"
            pm.execute_notebook(str(nb), str(out), parameters={"alpha": a}, progress_bar=False, cwd=str(work))
        _recorded(wb, before, "the plain papermill loop")

    def sweep(jobs: int):
        def once() -> None:
            before = len(wb.runs())
            result = wb.sweep(nb, {"alpha": ALPHAS}, jobs=jobs, wait=True, progress=False)
            assert result.counts["done"] == len(ALPHAS), result.counts
            _recorded(wb, before, f"sweep --jobs {jobs}")

        return once

    t = interleave({"plain": plain, "jobs1": sweep(1), "jobs2": sweep(2)}, reps(3, 1), warmup=0)
    n = len(ALPHAS)
    what = f"{n} notebooks, each a 5-fold Ridge fit on the diabetes data, a run recorded by each"
    p = res.add("plain_s", t["plain"], "s", f"plain papermill.execute_notebook loop: {what}")
    res.add("plain_per_notebook_s", p / n, "s", "plain papermill, per notebook")
    j1 = res.add("jobs1_s", t["jobs1"], "s", f"workbench sweep --jobs 1: {what}")
    j2 = res.add("jobs2_s", t["jobs2"], "s", f"workbench sweep --jobs 2: {what}")
    res.add("jobs1_over_plain_pct", 100 * (j1 / p - 1), "%", "--jobs 1 over plain papermill (medians)")
    res.add("jobs2_speedup", j1 / j2, "x", "--jobs 1 / --jobs 2 (medians)")
    res.write()


if __name__ == "__main__":
    main()
