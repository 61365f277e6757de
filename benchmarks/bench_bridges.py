"""Bridges: an ``mlflow.log_metric`` loop through ``workbench:`` vs MLflow's sqlite store
(one run each), importing 1,000 MLflow runs x 100 steps, importing 1M TensorBoard scalars.

    python benchmarks/bench_bridges.py [--runs 1000] [--steps 100] [--scalars 1000000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


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
    ap.add_argument("--loop-points", type=int, default=20_000)
    ap.add_argument("--mlflow-loop-points", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--scalars", type=int, default=1_000_000)
    args = ap.parse_args()
    import workbench as wb

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        os.chdir(d)
        wbs = log_metric_loop(f"workbench://{d / 'wb' / '.workbench'}", args.loop_points)
        mls = log_metric_loop(f"sqlite:///{d / 'loop.db'}", args.mlflow_loop_points)
        print(
            f"mlflow.log_metric loop, one run: workbench: {wbs:,.0f} points/s, MLflow sqlite {mls:,.0f} "
            f"points/s ({wbs / mls:.1f}x)"
        )

        db = d / "src.db"
        t = time.perf_counter()
        make_mlflow_source(db, args.runs, args.steps)
        print(
            f"(made the MLflow source, {args.runs} runs x {args.steps} steps, in {time.perf_counter() - t:.1f} s)"
        )
        for attempt in ("first", "second"):
            t = time.perf_counter()
            rep = wb.import_mlflow(f"sqlite:///{db}", store=d / "imp" / ".workbench", progress=False)
            dt = time.perf_counter() - t
            print(
                f"import_mlflow {args.runs} runs x {args.steps} steps, {attempt} time: {dt:.2f} s "
                f"({rep.added} added, {rep.unchanged} unchanged, {rep.points:,} points)"
            )

        logdir = d / "tb"
        t = time.perf_counter()
        make_event_files(logdir, args.scalars)
        print(f"(wrote {args.scalars:,} scalars with tensorboardX in {time.perf_counter() - t:.1f} s)")
        for attempt in ("first", "second"):
            t = time.perf_counter()
            rep = wb.import_tensorboard(logdir, store=d / "tbimp" / ".workbench", progress=False)
            dt = time.perf_counter() - t
            print(
                f"import_tensorboard {args.scalars:,} scalars, {attempt} time: {dt:.2f} s "
                f"({rep.points / dt if rep.points else 0:,.0f} points/s; {rep.added} added, {rep.unchanged} unchanged)"
            )


if __name__ == "__main__":
    main()
