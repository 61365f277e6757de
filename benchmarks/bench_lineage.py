"""Lineage, dataset and model card benchmarks (MLflow's dataset logging alongside).

Writes the ``lineage`` section of RESULTS.md. Run with ``make bench`` or
``python benchmarks/bench_lineage.py [--no-mlflow]`` (``WB_BENCH_QUICK=1``: smaller sizes).
Compared variants run interleaved; figures are medians with their spread.

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
import os
import tempfile
import time
from pathlib import Path

from _results import Results, interleave, quick, reps

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def _ms(samples: list[float]) -> list[float]:
    return [s * 1000 for s in samples]


def bench_watch_overhead(res: Results, wb, tmp: Path, n_points: int) -> None:
    """log_metric and open() cost with the file watch on and off, interleaved over
    rounds (the first round warms caches and is dropped), medians reported."""
    small = tmp / "small.txt"
    small.write_text("x")
    samples: dict[str, list[float]] = {}
    for round_ in range(1 + reps(5, 2)):
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
    for label in ("off", "on"):
        res.add(f"log_metric_us_watch_{label}", samples[f"log_metric_us_watch_{label}"], "µs",
                f"log_metric per call, file watch {label}, {n_points:,} calls a round")  # fmt: skip
        res.add(f"open_us_watch_{label}", samples[f"open_us_watch_{label}"], "µs",
                f"open() + read of a small file, file watch {label}, 5,000 a round")  # fmt: skip


def bench_hash_and_profile(res: Results, tmp: Path, rows: int) -> None:
    """sha256 of a large file, and a DuckDB profile of a CSV."""
    import numpy as np
    import pandas as pd

    from workbench.datasets import profile_relation, sha256_file

    big = tmp / "big.bin"
    with open(big, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(256):
            f.write(chunk)
    t = interleave({"hash": lambda: sha256_file(big)}, reps(3, 1))["hash"]
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
    p = interleave({"profile": lambda: profile_relation(csv)}, reps(3, 1))["profile"]
    res.add("sha256_mb_per_s", [256 / x for x in t], "MB/s", "sha256_file of a 256 MiB file")
    mb = csv.stat().st_size / 2**20
    res.add("profile_csv_s", p, "s", f"column profile of a {rows:,}-row, {mb:.0f} MiB CSV")


def bench_dataset_vs_mlflow(res: Results, wb, tmp: Path, rows: int, with_mlflow: bool) -> None:
    """use_dataset(DataFrame) against mlflow.log_input(from_pandas(DataFrame))."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    df = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(10)} | {"target": rng.normal(size=rows)})
    variants = {}
    with wb.start_run(name="dataset", watch_files=False) as run:
        variants["wb"] = lambda: run.use_dataset(df, name="train")
        if not with_mlflow:
            t = interleave(variants, reps(5, 2))
        else:
            import mlflow

            mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
            with mlflow.start_run():
                variants["mlflow"] = lambda: mlflow.log_input(
                    mlflow.data.from_pandas(df, name="train"), context="training"
                )
                t = interleave(variants, reps(5, 2))
    wb.flush()
    what = f"a {rows:,} x 11 DataFrame"
    w = res.add("use_dataset_ms", _ms(t["wb"]), "ms", f"wb.use_dataset of {what} (hash + profile)")
    if with_mlflow:
        m = res.add(
            "mlflow_log_input_ms", _ms(t["mlflow"]), "ms", f"mlflow.log_input(from_pandas(...)) of {what}"
        )
        res.add("use_dataset_ratio", m / w, "x", "mlflow.log_input's time over use_dataset's (medians)")


def bench_lineage_query(res: Results, wb, tmp: Path, n_runs: int) -> None:
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
    assert len(wb.lineage(mid, depth=10).upstream_runs) == 10
    t = interleave(
        {"d3": lambda: wb.lineage(mid, depth=3), "d10": lambda: wb.lineage(mid, depth=10)}, reps(5, 2)
    )
    res.add(
        "end_run_with_2_files_ms",
        _ms(ends),
        "ms",
        f"end_run of a run that read one small CSV and wrote another ({n_runs:,} runs)",
    )
    res.add(
        "run_with_2_files_recorded_ms",
        record * 1000,
        "ms",
        "per run until recorded (hash, profile, write): total / runs",
    )
    res.add(
        "lineage_depth3_ms", _ms(t["d3"]), "ms", f"wb.lineage at depth 3, store of {n_runs:,} chained runs"
    )
    res.add(
        "lineage_depth10_ms", _ms(t["d10"]), "ms", f"wb.lineage at depth 10, store of {n_runs:,} chained runs"
    )


def bench_card(res: Results, wb, tmp: Path) -> None:
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
    t = interleave(
        {"md": lambda: wb.model_card(run.run_id, "md"), "html": lambda: wb.model_card(run.run_id, "html")},
        reps(5, 2),
    )
    res.add("card_md_ms", _ms(t["md"]), "ms", "model card as Markdown")
    res.add("card_html_ms", _ms(t["html"]), "ms", "model card as HTML (two SVG charts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-mlflow", action="store_true", help="Skip the MLflow side.")
    args = parser.parse_args()
    res = Results("lineage", "datasets, file watching, lineage and cards")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["WORKBENCH_STORE"] = str(tmp / "store")
        os.chdir(tmp)
        import workbench as wb

        bench_watch_overhead(res, wb, tmp, 20_000 if quick() else 200_000)
        bench_hash_and_profile(res, tmp, 100_000 if quick() else 1_000_000)
        bench_dataset_vs_mlflow(res, wb, tmp, 100_000, not args.no_mlflow)
        bench_lineage_query(res, wb, tmp, 200 if quick() else 2000)
        bench_card(res, wb, tmp)
    res.write()


if __name__ == "__main__":
    main()
