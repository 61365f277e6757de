"""Beyond one machine: bundles, sweeps on Dask, Optuna search (issue 15's benchmarks).

- ``bundle``: export and import 1,000 runs x 1,000 metric points (seconds; the bundle's
  size against the store's); then importing it again (nothing changes).
- ``dask``: the demo's 8-notebook sweep on a 2-worker ``LocalCluster`` (worker processes)
  vs ``jobs=2`` locally; the cluster's start is timed apart.
- ``tune``: on the demo notebook, TPE's best RMSE after 16 trials vs a 16-point grid's.

Run: ``python benchmarks/bench_beyond.py [bundle] [dask] [tune]`` (all by default).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path


def _size(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else path.stat().st_size
    )


def bench_bundle(work: Path) -> None:
    import workbench as wb

    a, b = work / "a", work / "b"
    import random

    rng = random.Random(0)
    wb.set_store(a)
    t = time.perf_counter()
    for i in range(1000):
        with wb.start_run(
            name=f"run-{i}", experiment="bench", params={"alpha": i, "model": "ridge"}, watch_files=False
        ):
            for step in range(1000):
                # A falling curve with noise, as training losses are (not one repeated curve).
                wb.log_metric("loss", 1.0 / (step + 1) + rng.random() * 0.01, step=step)
            wb.log_metrics({"rmse": 50.0 + i % 7})
    wb.flush()
    wb.set_store(None)
    print(f"recorded 1,000 runs x 1,000 points in {time.perf_counter() - t:.1f} s")
    bundle = work / "runs.wbz"
    t = time.perf_counter()
    report = wb.export_runs(bundle, store=a)
    export_s = time.perf_counter() - t
    t = time.perf_counter()
    imported = wb.import_runs(bundle, store=b)
    import_s = time.perf_counter() - t
    t = time.perf_counter()
    again = wb.import_runs(bundle, store=b)
    again_s = time.perf_counter() - t
    assert len(imported.added) == 1000 and imported.points == 1_000_000 + 1000
    assert not again.added and not again.updated and again.points == 0
    print(f"export: {export_s:.2f} s  ({report.counts['metrics']:,} points)")
    print(f"import into an empty store: {import_s:.2f} s;  again (no change): {again_s:.2f} s")
    print(
        f"bundle {bundle.stat().st_size / 1e6:.1f} MB;  store {_size(a) / 1e6:.1f} MB "
        f"(workbench.duckdb {(a / 'workbench.duckdb').stat().st_size / 1e6:.1f} MB)"
    )


def bench_dask(work: Path) -> None:
    import dask
    import distributed

    import workbench as wb
    from workbench.demo import DEMO_GRID, write_demo_notebook

    nb = write_demo_notebook(work / "demo")
    store = work / "store"
    wb.sweep(nb, {"learning_rate": [0.1]}, jobs=1, progress=False, store=store)  # warm caches
    t = time.perf_counter()
    local = wb.sweep(nb, DEMO_GRID, jobs=2, progress=False, store=store)
    local_s = time.perf_counter() - t
    assert all(j.status == "finished" for j in local.jobs.values())
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
    try:
        t = time.perf_counter()
        remote = wb.sweep(nb, DEMO_GRID, executor=client, progress=False, store=store)
        dask_s = time.perf_counter() - t
    finally:
        client.close()
        cluster.close()
    assert all(j.status == "finished" for j in remote.jobs.values())
    print(f"demo sweep, 8 notebooks: --jobs 2 locally {local_s:.1f} s;  2-worker LocalCluster {dask_s:.1f} s "
          f"({(dask_s / local_s - 1) * 100:+.0f}%);  cluster start {start_s:.1f} s (not counted)")  # fmt: skip


def bench_tune(work: Path) -> None:
    import optuna

    import workbench as wb
    from workbench.demo import write_demo_notebook

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    nb = write_demo_notebook(work / "demo")
    store = work / "store"
    grid = {"learning_rate": [0.03, 0.05, 0.1, 0.2], "max_depth": [2, 3], "subsample": [0.7, 1.0]}
    t = time.perf_counter()
    g = wb.sweep(nb, grid, jobs=2, progress=False, order_by="metrics.rmse ASC", store=store)
    grid_s = time.perf_counter() - t
    grid_best = float(g.results["metrics.rmse"].min())
    space = {"learning_rate": "float:0.01:0.3:log", "max_depth": "int:2:5", "subsample": "float:0.5:1.0"}
    t = time.perf_counter()
    study = wb.tune(nb, space, objective="metrics.rmse", n_trials=16, jobs=2,
                    sampler=optuna.samplers.TPESampler(seed=0), progress=False, store=store)  # fmt: skip
    tune_s = time.perf_counter() - t
    print(f"16-point grid: best RMSE {grid_best:.3f} ({grid_s:.0f} s);  TPE 16 trials (seed 0): best RMSE "
          f"{study.best_value:.3f} ({tune_s:.0f} s) with {study.best_params}")  # fmt: skip


def main() -> None:
    wanted = sys.argv[1:] or ["bundle", "dask", "tune"]
    for name in wanted:
        work = Path(tempfile.mkdtemp(prefix=f"wb-bench-{name}-"))
        os.environ["WORKBENCH_STORE"] = str(work / "store")
        {"bundle": bench_bundle, "dask": bench_dask, "tune": bench_tune}[name](work)


if __name__ == "__main__":
    main()
