"""Core tracking benchmarks, Workbench beside MLflow (sqlite store) in the same process.

Prints one table and writes ``benchmarks/results/core.json``. Run with ``make bench``
or ``python benchmarks/bench_core.py [--quick] [--no-mlflow]``.

What is measured (the same work for both, each after a warm-up):

1. metric points/s from a ``log_metric`` loop, including the final flush/commit
   (MLflow: ``log_metric`` per point, and ``log_batch`` in batches of 1,000);
2. ms per run created with 10 params and 5 metrics, ended, committed;
3. ``runs(filter, order_by)`` at 10,000 runs, and loading all 10,000 as a DataFrame;
4. ``metric_history`` for 20 runs of 1,000 points;
5. ``import`` time, in a fresh interpreter.

MLflow's 10,000 runs are cloned with SQL from runs it created through its own API
(creating them through the API would take minutes); the queries then go through
``mlflow.search_runs`` as usual.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

FILTER = "metrics.rmse < 50 and params.model = 'ridge'"
ORDER = ["metrics.rmse ASC"]
MODELS = ["ridge", "lasso", "tree", "forest"]


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _run_payload(i: int) -> tuple[dict, dict]:
    rng = random.Random(i)
    params = {f"p{k}": rng.choice([0.1, 0.5, 1, 2, 5]) for k in range(9)} | {"model": MODELS[i % 4]}
    metrics = {
        "rmse": 40 + 30 * rng.random(),
        "mae": 30 + 20 * rng.random(),
        "r2": rng.random(),
        "loss": rng.random(),
        "epoch_time": rng.random(),
    }
    return params, metrics


# -- Workbench -----------------------------------------------------------------------
def bench_workbench(root: Path, n_points: int, n_runs_create: int, n_runs_query: int) -> dict:
    import workbench as wb

    res: dict[str, float] = {}
    wb.set_store(root / "wb-points")
    with wb.start_run():  # warm-up: imports, store creation
        for i in range(1000):
            wb.log_metric("x", i * 0.5)
    wb.flush()
    with wb.start_run():
        t = time.perf_counter()
        for i in range(n_points):
            wb.log_metric("x", i * 0.5)
        wb.flush()
        res["points_per_s"] = n_points / (time.perf_counter() - t)

    wb.set_store(root / "wb-runs")
    t = time.perf_counter()
    for i in range(n_runs_create):
        params, metrics = _run_payload(i)
        with wb.start_run(params=params):
            wb.log_metrics(metrics)
    wb.flush()
    res["ms_per_run"] = (time.perf_counter() - t) * 1000 / n_runs_create

    wb.set_store(root / "wb-query")
    for i in range(n_runs_query):
        params, metrics = _run_payload(i)
        with wb.start_run(params=params):
            wb.log_metrics(metrics)
    wb.flush()
    n = len(wb.runs(FILTER, ORDER))
    res["query_matches"] = n
    res["query_ms"] = _median_time(lambda: wb.runs(FILTER, ORDER), 10) * 1000
    res["load_all_ms"] = _median_time(lambda: wb.runs(), 5) * 1000
    assert len(wb.runs()) == n_runs_query

    wb.set_store(root / "wb-history")
    ids = []
    for _ in range(20):
        with wb.start_run() as r:
            for s in range(1000):
                wb.log_metric("loss", 1 / (s + 1), step=s)
            ids.append(r.run_id)
    wb.flush()
    assert len(wb.metric_history(ids, "loss")) == 20_000
    res["history_ms"] = _median_time(lambda: wb.metric_history(ids, "loss"), 10) * 1000
    wb.set_store(None)
    return res


# -- MLflow --------------------------------------------------------------------------
def bench_mlflow(root: Path, n_points: int, n_runs_create: int, n_runs_query: int) -> dict:
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    res: dict[str, float] = {}
    db = root / "mlflow.db"
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    exp_id = client.create_experiment("bench", artifact_location=str(root / "mlartifacts"))

    with mlflow.start_run(experiment_id=exp_id):  # warm-up
        mlflow.log_metric("x", 0.0)
    with mlflow.start_run(experiment_id=exp_id) as run:
        n = max(n_points // 2000, 200)
        t = time.perf_counter()
        for i in range(n):
            mlflow.log_metric("x", i * 0.5, step=i)
        res["points_per_s"] = n / (time.perf_counter() - t)
        rid = run.info.run_id
        n_b = 20_000
        t = time.perf_counter()
        now = int(time.time() * 1000)
        for start in range(0, n_b, 1000):
            client.log_batch(rid, metrics=[Metric("y", i * 0.5, now, i) for i in range(start, start + 1000)])
        res["batch_points_per_s"] = n_b / (time.perf_counter() - t)

    n = max(n_runs_create // 20, 30)
    t = time.perf_counter()
    for i in range(n):
        params, metrics = _run_payload(i)
        with mlflow.start_run(experiment_id=exp_id):
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
    res["ms_per_run"] = (time.perf_counter() - t) * 1000 / n

    q_exp = client.create_experiment("query", artifact_location=str(root / "mlartifacts-q"))
    template_ids = []
    for i in range(20):
        params, metrics = _run_payload(i)
        with mlflow.start_run(experiment_id=q_exp) as r:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            template_ids.append(r.info.run_id)
    _clone_mlflow_runs(db, template_ids, n_runs_query)
    found = mlflow.search_runs(experiment_ids=[q_exp], filter_string=FILTER, order_by=ORDER)
    res["query_matches"] = len(found)
    res["query_ms"] = (
        _median_time(
            lambda: mlflow.search_runs(experiment_ids=[q_exp], filter_string=FILTER, order_by=ORDER), 3
        )
        * 1000
    )
    res["load_all_ms"] = _median_time(lambda: mlflow.search_runs(experiment_ids=[q_exp]), 1) * 1000

    h_exp = client.create_experiment("history", artifact_location=str(root / "mlartifacts-h"))
    ids = []
    for _ in range(20):
        with mlflow.start_run(experiment_id=h_exp) as r:
            now = int(time.time() * 1000)
            client.log_batch(
                r.info.run_id, metrics=[Metric("loss", 1 / (s + 1), now, s) for s in range(1000)]
            )
            ids.append(r.info.run_id)
    res["history_ms"] = _median_time(lambda: [client.get_metric_history(i, "loss") for i in ids], 5) * 1000
    return res


def _clone_mlflow_runs(db: Path, template_ids: list[str], total: int) -> None:
    """Fill MLflow's own schema with copies of runs it created, with varied values, so
    its query path works on ``total`` genuine-looking runs."""
    con = sqlite3.connect(db)
    cur = con.cursor()
    tables = {
        t: [c[1] for c in cur.execute(f"PRAGMA table_info({t})")]
        for t in ("runs", "params", "metrics", "latest_metrics", "tags")
    }
    rows = {
        t: cur.execute(
            f"SELECT * FROM {t} WHERE run_uuid IN ({','.join('?' * len(template_ids))})", template_ids
        ).fetchall()
        for t in tables
    }
    for i in range(len(template_ids), total):
        src = template_ids[i % len(template_ids)]
        new = uuid.uuid4().hex
        params, metrics = _run_payload(i)
        for t, cols in tables.items():
            out = []
            for row in rows[t]:
                d = dict(zip(cols, row))
                if d["run_uuid"] != src:
                    continue
                d["run_uuid"] = new
                if t == "params" and d["key"] in params:
                    d["value"] = str(params[d["key"]])
                if t in ("metrics", "latest_metrics") and d["key"] in metrics:
                    d["value"] = metrics[d["key"]]
                if t == "tags" and d["key"] == "mlflow.runName":
                    d["value"] = f"clone-{i}"
                if t == "runs":
                    d["name"] = f"clone-{i}"
                out.append(tuple(d[c] for c in cols))
            cur.executemany(f"INSERT INTO {t} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", out)
    con.commit()
    con.close()


def import_time(module: str) -> float:
    def once(code: str) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t

    base = statistics.median(once("pass") for _ in range(3))
    return statistics.median(once(f"import {module}") for _ in range(5)) - base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
    ap.add_argument("--no-mlflow", action="store_true", help="Skip the MLflow side.")
    args = ap.parse_args()
    n_points, n_create, n_query = (100_000, 200, 1_000) if args.quick else (1_000_000, 2_000, 10_000)
    root = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    results = {"workbench": bench_workbench(root, n_points, n_create, n_query)}
    results["workbench"]["import_s"] = import_time("workbench")
    if not args.no_mlflow:
        results["mlflow"] = bench_mlflow(root, n_points, n_create, n_query)
        results["mlflow"]["import_s"] = import_time("mlflow")
    rows = [
        ("log_metric loop, points/s (flush included)", "points_per_s", True, "{:,.0f}"),
        ("ms per run (10 params, 5 metrics)", "ms_per_run", False, "{:.3f}"),
        (f"runs(filter, order_by) at {n_query:,} runs, ms", "query_ms", False, "{:.1f}"),
        (f"load all {n_query:,} runs as a DataFrame, ms", "load_all_ms", False, "{:.1f}"),
        ("metric_history, 20 runs x 1,000 points, ms", "history_ms", False, "{:.1f}"),
        ("import time, s", "import_s", False, "{:.3f}"),
    ]
    wbr, mlr = results["workbench"], results.get("mlflow")
    print(f"\n{'measure':<48} {'Workbench':>14} {'MLflow':>14} {'ratio':>9}")
    for label, key, higher, fmt in rows:
        w = wbr[key]
        line = f"{label:<48} {fmt.format(w):>14}"
        if mlr:
            m = mlr[key]
            ratio = w / m if higher else m / w
            line += f" {fmt.format(m):>14} {ratio:>8.0f}x"
        print(line)
    if mlr:
        print(f"{'MLflow log_batch, points/s':<48} {'':>14} {mlr['batch_points_per_s']:>14,.0f}")
        assert wbr["query_matches"] == mlr["query_matches"], "both must find the same runs"
    print(f"\n(the filter: {FILTER!r}, order_by {ORDER}; both found {wbr['query_matches']} runs)")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "core.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
