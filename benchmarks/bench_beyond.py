"""Beyond one machine: bundles, sweeps on Dask, Optuna search (issue 15's benchmarks).

- ``bundle``: export and import 1,000 runs x 1,000 metric points (seconds; the bundle's
  size against the store's); then importing it again (nothing changes).
- ``dask``: the demo's 8-notebook sweep on a 2-worker ``LocalCluster`` (worker processes)
  vs ``jobs=2`` locally; the cluster's start is timed apart.
- ``tune``: on the demo notebook, TPE's best RMSE after 16 trials vs a 16-point grid's.

Export, import and the sweeps are medians of interleaved repetitions; the tune figures
are one seeded study against one grid (best values, not timings). Writes the ``beyond``
section of RESULTS.md.
Run: ``python benchmarks/bench_beyond.py [bundle] [dask] [tune]`` (all by default).
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from _results import Results, interleave, quick, reps

N_RUNS = 100 if quick() else 1000


def _size(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else path.stat().st_size
    )


def bench_bundle(res: Results, work: Path) -> None:
    import workbench as wb

    a, b = work / "a", work / "b"
    import random

    rng = random.Random(0)
    wb.set_store(a)
    t = time.perf_counter()
    for i in range(N_RUNS):
        with wb.start_run(
            name=f"run-{i}", experiment="bench", params={"alpha": i, "model": "ridge"}, watch_files=False
        ):
            for step in range(1000):
                # A falling curve with noise, as training losses are (not one repeated curve).
                wb.log_metric("loss", 1.0 / (step + 1) + rng.random() * 0.01, step=step)
            wb.log_metrics({"rmse": 50.0 + i % 7})
    wb.flush()
    wb.set_store(None)
    print(f"recorded {N_RUNS:,} runs x 1,000 points in {time.perf_counter() - t:.1f} s")
    bundle = work / "runs.wbz"
    report = wb.export_runs(bundle, store=a)
    print(f"export: {report.counts['metrics']:,} points")
    stores: list[Path] = []

    def export() -> None:
        wb.export_runs(work / f"again-{len(stores)}.wbz", store=a)

    def import_new() -> None:
        stores.append(work / f"b{len(stores)}")
        imported = wb.import_runs(bundle, store=stores[-1])
        assert len(imported.added) == N_RUNS and imported.points == N_RUNS * 1001

    def import_again() -> None:
        again = wb.import_runs(bundle, store=b)
        assert not again.added and not again.updated and again.points == 0

    wb.import_runs(bundle, store=b)
    t = interleave({"export": export, "import": import_new, "again": import_again}, reps(3, 1), warmup=0)
    what = f"{N_RUNS:,} runs x 1,000 points"
    res.add("export_s", t["export"], "s", f"export_runs of {what} to a bundle")
    res.add("import_s", t["import"], "s", "import_runs of that bundle into an empty store")
    res.add("import_again_s", t["again"], "s", "importing it again (no change)")
    res.add("bundle_mb", bundle.stat().st_size / 1e6, "MB", f"the bundle of {what}")
    res.add(
        "store_mb",
        _size(a) / 1e6,
        "MB",
        f"the store it came from (workbench.duckdb {(a / 'workbench.duckdb').stat().st_size / 1e6:.1f} MB)",
    )


def bench_dask(res: Results, work: Path) -> None:
    import dask
    import distributed

    import workbench as wb
    from workbench.demo import DEMO_GRID, write_demo_notebook

    nb = write_demo_notebook(work / "demo")
    store = work / "store"
    wb.sweep(nb, {"learning_rate": [0.1]}, jobs=1, progress=False, store=store)  # warm caches
    t = time.perf_counter()
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = distributed.Client(cluster)
    start_s = time.perf_counter() - t
    print(f"2-worker LocalCluster started in {start_s:.1f} s (not counted)")

    def local() -> None:
        s = wb.sweep(nb, DEMO_GRID, jobs=2, progress=False, store=store)
        assert all(j.status == "finished" for j in s.jobs.values())

    def remote() -> None:
        s = wb.sweep(nb, DEMO_GRID, executor=client, progress=False, store=store)
        assert all(j.status == "finished" for j in s.jobs.values())

    try:
        t = interleave({"local": local, "dask": remote}, reps(2, 1), warmup=0)
    finally:
        client.close()
        cluster.close()
    n = len(list(itertools.product(*DEMO_GRID.values())))
    lo = res.add("sweep_local_s", t["local"], "s", f"the demo's {n}-notebook sweep, --jobs 2 locally")
    da = res.add("sweep_dask_s", t["dask"], "s", "the same sweep on a 2-worker LocalCluster")
    res.add("dask_over_local_pct", 100 * (da / lo - 1), "%", "LocalCluster over --jobs 2 (medians)")


def bench_tune(res: Results, work: Path) -> None:
    import optuna

    import workbench as wb
    from workbench.demo import write_demo_notebook

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    nb = write_demo_notebook(work / "demo")
    store = work / "store"
    grid = {"learning_rate": [0.03, 0.05, 0.1, 0.2], "max_depth": [2, 3], "subsample": [0.7, 1.0]}
    if quick():
        grid = {"learning_rate": [0.05, 0.1], "max_depth": [2, 3], "subsample": [1.0]}
    n = len(list(itertools.product(*grid.values())))
    t = time.perf_counter()
    g = wb.sweep(nb, grid, jobs=2, progress=False, order_by="metrics.rmse ASC", store=store)
    grid_s = time.perf_counter() - t
    grid_best = float(g.results["metrics.rmse"].min())
    space = {"learning_rate": "float:0.01:0.3:log", "max_depth": "int:2:5", "subsample": "float:0.5:1.0"}
    t = time.perf_counter()
    study = wb.tune(nb, space, objective="metrics.rmse", n_trials=n, jobs=2,
                    sampler=optuna.samplers.TPESampler(seed=0), progress=False, store=store)  # fmt: skip
    tune_s = time.perf_counter() - t
    print(f"{n}-point grid: best RMSE {grid_best:.3f} ({grid_s:.0f} s);  TPE {n} trials (seed 0): best RMSE "
          f"{study.best_value:.3f} ({tune_s:.0f} s) with {study.best_params}")  # fmt: skip
    res.add(
        "tpe_best_rmse",
        study.best_value,
        "RMSE",
        f"best of {n} TPE trials (seed 0) on the demo notebook: one study",
    )
    res.add("grid_best_rmse", grid_best, "RMSE", f"best of a {n}-point grid on the demo notebook")


def main() -> None:
    wanted = sys.argv[1:] or ["bundle", "dask", "tune"]
    res = Results("beyond", "bundles, sweeps on Dask, Optuna search")
    for name in wanted:
        work = Path(tempfile.mkdtemp(prefix=f"wb-bench-{name}-"))
        os.environ["WORKBENCH_STORE"] = str(work / "store")
        {"bundle": bench_bundle, "dask": bench_dask, "tune": bench_tune}[name](res, work)
    res.write()


if __name__ == "__main__":
    main()
