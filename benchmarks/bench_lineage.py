"""Lineage, dataset and model card benchmarks (MLflow's dataset logging alongside).

Prints one table and writes ``benchmarks/results/lineage.json``. Run with ``make bench``
or ``python benchmarks/bench_lineage.py [--quick] [--no-mlflow]``.

What is measured:

1. the cost of file watching (the audit hook behind automatic lineage): ``log_metric``
   in a loop with the watch on and off, and ``open()`` of a small file with it on/off;
2. hashing a large file (MB/s) and profiling a CSV with DuckDB ``SUMMARIZE``;
3. recording a 100k-row DataFrame as a dataset: ``wb.use_dataset`` (hash + profile)
   beside ``mlflow.log_input(mlflow.data.from_pandas(df))`` in the same process;
4. runs that read one CSV and write another (the caller's wait, and the time until the
   files are hashed, profiled and written), and ``wb.lineage`` on a store of 2,000 such
   runs chained by those files;
5. building a model card as Markdown and as HTML (with its two SVG charts).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def _median(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_watch_overhead(wb, tmp: Path, n_points: int) -> dict[str, float]:
    """log_metric and open() cost with the file watch on and off, interleaved over
    rounds (the first round warms caches and is dropped), medians reported."""
    small = tmp / "small.txt"
    small.write_text("x")
    samples: dict[str, list[float]] = {}
    for round_ in range(4):
        for label, watch in (("off", False), ("on", True)):
            with wb.start_run(name=f"watch-{label}", watch_files=watch) as run:
                t = time.perf_counter()
                for i in range(n_points):
                    run.log_metric("loss", 1.0 / (i + 1), step=i)
                metric_us = (time.perf_counter() - t) / n_points * 1e6
                t = time.perf_counter()
                for _ in range(5000):
                    with open(small) as f:
                        f.read()
                open_us = (time.perf_counter() - t) / 5000 * 1e6
            if round_:
                samples.setdefault(f"log_metric_us_watch_{label}", []).append(metric_us)
                samples.setdefault(f"open_us_watch_{label}", []).append(open_us)
    wb.flush()
    return {k: statistics.median(v) for k, v in samples.items()}


def bench_hash_and_profile(tmp: Path, rows: int) -> dict[str, float]:
    """sha256 of a large file, and a DuckDB profile of a CSV."""
    import numpy as np
    import pandas as pd

    from workbench.datasets import profile_relation, sha256_file

    big = tmp / "big.bin"
    with open(big, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(256):
            f.write(chunk)
    t = _median(lambda: sha256_file(big), 3)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "b": rng.integers(0, 1000, size=rows),
            "c": rng.choice(["x", "y", "z"], size=rows),
            "d": rng.random(size=rows),
        }
    )
    csv = tmp / "data.csv"
    df.to_csv(csv, index=False)
    p = _median(lambda: profile_relation(csv), 3)
    return {
        "sha256_mb_per_s": 256 / t,
        "profile_csv_s": p,
        "profile_csv_rows": rows,
        "profile_csv_mb": csv.stat().st_size / 2**20,
    }


def bench_dataset_vs_mlflow(wb, tmp: Path, rows: int, with_mlflow: bool) -> dict[str, float]:
    """use_dataset(DataFrame) against mlflow.log_input(from_pandas(DataFrame))."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    df = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(10)} | {"target": rng.normal(size=rows)})
    with wb.start_run(name="dataset", watch_files=False) as run:
        ours = _median(lambda: run.use_dataset(df, name="train"), 5)
    wb.flush()
    out = {"use_dataset_ms": ours * 1000, "dataset_rows": rows}
    if with_mlflow:
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
        with mlflow.start_run():
            theirs = _median(
                lambda: mlflow.log_input(mlflow.data.from_pandas(df, name="train"), context="training"), 5
            )
        out["mlflow_log_input_ms"] = theirs * 1000
    return out


def bench_lineage_query(wb, tmp: Path, n_runs: int) -> dict[str, float]:
    """A chain of runs, each reading the previous one's file and writing the next."""
    data = tmp / "chain"
    data.mkdir()
    (data / "f0.csv").write_text("a\n0\n")
    ids = []
    ends = []
    t = time.perf_counter()
    for i in range(n_runs):
        run = wb.start_run(name=f"step{i}")
        (data / f"f{i}.csv").read_text()
        (data / f"f{i + 1}.csv").write_text(f"a\n{i + 1}\n")
        t_end = time.perf_counter()
        run.end()  # what the training code waits for: the hashing happens in a thread
        ends.append(time.perf_counter() - t_end)
        ids.append(run.run_id)
    wb.flush()
    record = (time.perf_counter() - t) / n_runs  # including hashing/profiling in the background
    mid = ids[n_runs // 2]
    d3 = _median(lambda: wb.lineage(mid, depth=3), 5)
    d10 = _median(lambda: wb.lineage(mid, depth=10), 5)
    assert len(wb.lineage(mid, depth=10).upstream_runs) == 10
    return {
        "chain_runs": n_runs,
        "end_run_with_2_files_ms": statistics.median(ends) * 1000,
        "run_with_2_files_recorded_ms": record * 1000,
        "lineage_depth3_ms": d3 * 1000,
        "lineage_depth10_ms": d10 * 1000,
    }


def bench_card(wb, tmp: Path) -> dict[str, float]:
    import pandas as pd
    from sklearn.linear_model import Ridge

    df = pd.DataFrame({"x": range(1000), "y": [i * 0.5 for i in range(1000)]})
    with wb.start_run(name="card", watch_files=False) as run:
        wb.use_dataset(df, name="train")
        wb.log_model(Ridge().fit(df[["x"]], df.y), name="ridge")
        for s in range(1000):
            wb.log_metric("loss", 1 / (s + 1), step=s)
        wb.log_metric("rmse", 1.0)
    wb.flush()
    wb.model_card(run.run_id, "html")  # warm-up: starts the chart renderer once
    return {
        "card_md_ms": _median(lambda: wb.model_card(run.run_id, "md"), 5) * 1000,
        "card_html_ms": _median(lambda: wb.model_card(run.run_id, "html"), 5) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smaller sizes (a smoke run).")
    parser.add_argument("--no-mlflow", action="store_true", help="Skip the MLflow side.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["WORKBENCH_STORE"] = str(tmp / "store")
        os.chdir(tmp)
        import workbench as wb

        results: dict[str, float] = {}
        results |= bench_watch_overhead(wb, tmp, 20_000 if args.quick else 200_000)
        results |= bench_hash_and_profile(tmp, 100_000 if args.quick else 1_000_000)
        results |= bench_dataset_vs_mlflow(wb, tmp, 100_000, not args.no_mlflow)
        results |= bench_lineage_query(wb, tmp, 200 if args.quick else 2000)
        results |= bench_card(wb, tmp)
    width = max(map(len, results))
    for k, v in results.items():
        print(f"{k:<{width}}  {v:,.3f}" if isinstance(v, float) else f"{k:<{width}}  {v:,}")
    if "mlflow_log_input_ms" in results:
        print(
            f"use_dataset vs mlflow.log_input: {results['mlflow_log_input_ms'] / results['use_dataset_ms']:.1f}x faster"
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "lineage.json").write_text(json.dumps(results, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
