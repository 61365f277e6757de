"""Bridges: an ``mlflow.log_metric`` loop through ``workbench:`` vs MLflow's sqlite store
(the same number of points in one run each, interleaved repetitions), importing 300
MLflow runs x 100 steps and 300,000 TensorBoard scalars (each repetition into a new
store, then again into the same one: nothing changes). Writes the ``bridges`` section.

    python benchmarks/bench_bridges.py [--runs 300] [--steps 100] [--scalars 300000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _results import Results, interleave, quick, reps


def log_metric_loop(uri: str, n: int) -> float:
    """Points per second of ``mlflow.log_metric`` in one run, end_run (flush) included."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench")
    t = time.perf_counter()
    with mlflow.start_run():
        for i in range(n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    return n / (time.perf_counter() - t)


def make_mlflow_source(db: Path, runs: int, steps: int) -> None:
    """An MLflow sqlite store with ``runs`` runs of ``steps`` points each (log_batch)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    exp = client.create_experiment("src")
    now = int(time.time() * 1000)
    for r in range(runs):
        run = client.create_run(exp, run_name=f"r{r}")
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("loss", 1.0 / (s + 1) + r, now + s, s) for s in range(steps)],
            params=[Param("i", str(r)), Param("lr", "0.1")],
        )
        client.set_terminated(run.info.run_id)


def make_event_files(logdir: Path, scalars: int, runs: int = 10) -> None:
    from tensorboardX import SummaryWriter

    per_run = scalars // runs
    for r in range(runs):
        w = SummaryWriter(str(logdir / f"run{r}"), max_queue=10000, flush_secs=3600)
        for s in range(per_run // 4):
            for tag in ("loss", "acc", "lr", "grad_norm"):
                w.add_scalar(tag, 1.0 / (s + 1), s)
        w.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loop-points", type=int, default=200 if quick() else 1_000, help="points per side")
    ap.add_argument("--runs", type=int, default=30 if quick() else 300)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--scalars", type=int, default=20_000 if quick() else 300_000)
    args = ap.parse_args()
    import workbench as wb

    res = Results("bridges", "the MLflow and TensorBoard bridges")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        os.chdir(d)
        n = args.loop_points
        loop = interleave(
            {
                "wb": lambda: log_metric_loop(f"workbench://{d / 'wb' / '.workbench'}", n),
                "mlflow": lambda: log_metric_loop(f"sqlite:///{d / 'loop.db'}", n),
            },
            reps(3, 1),
            returns=True,
        )
        what = f"mlflow.log_metric loop of {n:,} points, one run, end_run included"
        w = res.add("log_metric_pps_wb", loop["wb"], "points/s", f"workbench: URI: {what}")
        m = res.add("log_metric_pps_mlflow", loop["mlflow"], "points/s", f"MLflow sqlite: {what}")
        res.add("log_metric_pps_ratio", w / m, "x", "workbench: over MLflow sqlite (medians)")

        db = d / "src.db"
        t = time.perf_counter()
        make_mlflow_source(db, args.runs, args.steps)
        print(
            f"(made the MLflow source, {args.runs} runs x {args.steps} steps, in {time.perf_counter() - t:.1f} s)"
        )
        logdir = d / "tb"
        t = time.perf_counter()
        make_event_files(logdir, args.scalars)
        print(f"(wrote {args.scalars:,} scalars with tensorboardX in {time.perf_counter() - t:.1f} s)")
        times: dict[str, list[float]] = {"ml1": [], "ml2": [], "tb1": [], "tb2": []}

        def imports(kind: str):
            def once() -> None:
                store = d / f"{kind}-{len(times[kind + '1'])}" / ".workbench"
                for attempt in ("1", "2"):
                    t = time.perf_counter()
                    if kind == "ml":
                        rep = wb.import_mlflow(f"sqlite:///{db}", store=store, progress=False)
                        want = (args.runs, 0) if attempt == "1" else (0, args.runs)
                    else:
                        rep = wb.import_tensorboard(logdir, store=store, progress=False)
                        want = (10, 0) if attempt == "1" else (0, 10)
                    times[kind + attempt].append(time.perf_counter() - t)
                    if (rep.added, rep.unchanged) != want:
                        raise SystemExit(
                            f"{kind} import {attempt}: added/unchanged {rep.added}/{rep.unchanged}, want {want}"
                        )

            return once

        interleave({"ml": imports("ml"), "tb": imports("tb")}, reps(3, 1), warmup=0)
        res.add(
            "import_mlflow_s",
            times["ml1"],
            "s",
            f"import {args.runs} MLflow runs x {args.steps} steps (sqlite), new store",
        )
        res.add("import_mlflow_again_s", times["ml2"], "s", "the same import again (all unchanged)")
        tb = res.add(
            "import_tb_s",
            times["tb1"],
            "s",
            f"import {args.scalars:,} TensorBoard scalars (10 runs), new store",
        )
        res.add("import_tb_pps", args.scalars / tb, "points/s", "TensorBoard import rate (median time)")
        res.add("import_tb_again_s", times["tb2"], "s", "the same import again (all unchanged)")
    res.write()


if __name__ == "__main__":
    main()
