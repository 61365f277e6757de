"""Core tracking benchmarks, Workbench beside MLflow (sqlite store) in the same process.

Writes the ``core`` section of ``benchmarks/RESULTS.md``. Run with ``make bench`` or
``python benchmarks/bench_core.py`` (``WB_BENCH_QUICK=1``: small sizes, a smoke run).

Both sides do the same work, and every figure is the median of interleaved repetitions
(each repetition runs Workbench and MLflow once, alternating which goes first):

1. a ``log_metric`` loop of the same number of points in each (1,000: MLflow commits
   each point, about 4 ms apiece), flush/commit included; Workbench alone also at
   1,000,000 points; MLflow's ``log_batch`` in batches of 1,000;
2. ms per run created with 10 params and 5 metrics, ended, committed (100 runs each);
3. ``runs(filter, order_by)`` at 10,000 runs, and loading all 10,000 as a DataFrame;
4. ``metric_history`` for 20 runs of 1,000 points;
5. ``import`` time, in a fresh interpreter (minus the interpreter's own start-up).

MLflow's 10,000 runs are cloned with SQL from runs it created through its own API
(creating them through the API would take minutes); the queries then go through
``mlflow.search_runs`` as usual.
"""

from __future__ import annotations

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

from _results import Results, interleave, quick, reps

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

FILTER = "metrics.rmse < 50 and params.model = 'ridge'"
ORDER = ["metrics.rmse ASC"]
MODELS = ["ridge", "lasso", "tree", "forest"]
# Equal work on both sides: points logged one by one, runs created, runs queried.
N_EQUAL_POINTS, N_CREATE, N_QUERY = (200, 20, 1_000) if quick() else (1_000, 100, 10_000)
N_WB_POINTS = 100_000 if quick() else 1_000_000
N_BATCH_POINTS = 20_000


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


class WorkbenchSide:
    """Workbench's half of each measurement; each method is one timed repetition."""

    def __init__(self, root: Path) -> None:
        import workbench as wb

        self.wb, self.root, self.created = wb, root, 0
        wb.set_store(root / "wb-points")
        with wb.start_run():  # warm-up: imports, store creation
            for i in range(1000):
                wb.log_metric("x", i * 0.5)
        wb.flush()

    def points(self, n: int) -> float:
        wb = self.wb
        wb.set_store(self.root / "wb-points")
        with wb.start_run():
            t = time.perf_counter()
            for i in range(n):
                wb.log_metric("x", i * 0.5)
            wb.flush()
            return n / (time.perf_counter() - t)

    def create_runs(self) -> float:
        wb = self.wb
        wb.set_store(self.root / "wb-runs")
        t = time.perf_counter()
        for _ in range(N_CREATE):
            params, metrics = _run_payload(self.created)
            self.created += 1
            with wb.start_run(params=params):
                wb.log_metrics(metrics)
        wb.flush()
        return (time.perf_counter() - t) * 1000 / N_CREATE

    def seed_queries(self) -> int:
        wb = self.wb
        wb.set_store(self.root / "wb-query")
        for i in range(N_QUERY):
            params, metrics = _run_payload(i)
            with wb.start_run(params=params):
                wb.log_metrics(metrics)
        wb.flush()
        assert len(wb.runs()) == N_QUERY
        wb.set_store(self.root / "wb-history")
        self.history_ids = []
        for _ in range(20):
            with wb.start_run() as r:
                for s in range(1000):
                    wb.log_metric("loss", 1 / (s + 1), step=s)
                self.history_ids.append(r.run_id)
        wb.flush()
        assert len(wb.metric_history(self.history_ids, "loss")) == 20_000
        wb.set_store(self.root / "wb-query")
        return len(wb.runs(FILTER, ORDER))

    def query(self) -> None:
        self.wb.set_store(self.root / "wb-query")
        self.wb.runs(FILTER, ORDER)

    def load_all(self) -> None:
        self.wb.set_store(self.root / "wb-query")
        self.wb.runs()

    def history(self) -> None:
        self.wb.set_store(self.root / "wb-history")
        self.wb.metric_history(self.history_ids, "loss")


class MlflowSide:
    """MLflow's half (sqlite store, as ``mlflow.set_tracking_uri("sqlite:///...")``)."""

    def __init__(self, root: Path) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        self.mlflow, self.root, self.created = mlflow, root, 0
        self.db = root / "mlflow.db"
        mlflow.set_tracking_uri(f"sqlite:///{self.db}")
        self.client = MlflowClient()
        self.exp = self.client.create_experiment("bench", artifact_location=str(root / "mlartifacts"))
        with mlflow.start_run(experiment_id=self.exp):  # warm-up
            mlflow.log_metric("x", 0.0)

    def points(self, n: int) -> float:
        with self.mlflow.start_run(experiment_id=self.exp):
            t = time.perf_counter()
            for i in range(n):
                self.mlflow.log_metric("x", i * 0.5, step=i)
            return n / (time.perf_counter() - t)

    def batch_points(self) -> float:
        from mlflow.entities import Metric

        with self.mlflow.start_run(experiment_id=self.exp) as run:
            now = int(time.time() * 1000)
            t = time.perf_counter()
            for start in range(0, N_BATCH_POINTS, 1000):
                batch = [Metric("y", i * 0.5, now, i) for i in range(start, start + 1000)]
                self.client.log_batch(run.info.run_id, metrics=batch)
            return N_BATCH_POINTS / (time.perf_counter() - t)

    def create_runs(self) -> float:
        mlflow = self.mlflow
        t = time.perf_counter()
        for _ in range(N_CREATE):
            params, metrics = _run_payload(self.created)
            self.created += 1
            with mlflow.start_run(experiment_id=self.exp):
                mlflow.log_params(params)
                mlflow.log_metrics(metrics)
        return (time.perf_counter() - t) * 1000 / N_CREATE

    def seed_queries(self) -> int:
        from mlflow.entities import Metric

        mlflow, client = self.mlflow, self.client
        self.q_exp = client.create_experiment("query", artifact_location=str(self.root / "mlartifacts-q"))
        template_ids = []
        for i in range(20):
            params, metrics = _run_payload(i)
            with mlflow.start_run(experiment_id=self.q_exp) as r:
                mlflow.log_params(params)
                mlflow.log_metrics(metrics)
                template_ids.append(r.info.run_id)
        _clone_mlflow_runs(self.db, template_ids, N_QUERY)
        h_exp = client.create_experiment("history", artifact_location=str(self.root / "mlartifacts-h"))
        self.history_ids = []
        for _ in range(20):
            with mlflow.start_run(experiment_id=h_exp) as r:
                now = int(time.time() * 1000)
                points = [Metric("loss", 1 / (s + 1), now, s) for s in range(1000)]
                client.log_batch(r.info.run_id, metrics=points)
                self.history_ids.append(r.info.run_id)
        assert len(mlflow.search_runs(experiment_ids=[self.q_exp])) == N_QUERY
        return len(mlflow.search_runs(experiment_ids=[self.q_exp], filter_string=FILTER, order_by=ORDER))

    def query(self) -> None:
        self.mlflow.search_runs(experiment_ids=[self.q_exp], filter_string=FILTER, order_by=ORDER)

    def load_all(self) -> None:
        self.mlflow.search_runs(experiment_ids=[self.q_exp])

    def history(self) -> None:
        for i in self.history_ids:
            self.client.get_metric_history(i, "loss")


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


def import_seconds(modules: list[str], repetitions: int) -> dict[str, list[float]]:
    """Fresh-interpreter import times, interleaved with a bare interpreter start whose
    median is subtracted (what ``import`` itself costs)."""

    def once(code: str):
        def start() -> None:
            subprocess.run([sys.executable, "-c", code], check=True)

        return start

    variants = {"pass": once("pass")} | {m: once(f"import {m}") for m in modules}
    samples = interleave(variants, repetitions)
    base = statistics.median(samples.pop("pass"))
    return {m: [s - base for s in v] for m, v in samples.items()}


def _pair(
    res: Results, row: str, samples: dict[str, list[float]], unit: str, what: str, higher: bool
) -> None:
    """File the Workbench and MLflow rows of one measure, and their ratio (of medians)."""
    w = res.add(f"{row}_wb", samples["wb"], unit, f"Workbench: {what}")
    m = res.add(f"{row}_mlflow", samples["mlflow"], unit, f"MLflow: {what}")
    res.add(f"{row}_ratio", w / m if higher else m / w, "x", f"Workbench's advantage: {what}")


def _ms(samples: dict[str, list[float]]) -> dict[str, list[float]]:
    return {k: [s * 1000 for s in v] for k, v in samples.items()}


def main() -> None:
    res = Results("core", "Workbench vs MLflow 3 (sqlite store), same process, same work")
    root = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    wbs, mls = WorkbenchSide(root), MlflowSide(root)
    n = reps(5)

    pts = interleave(
        {"wb": lambda: wbs.points(N_EQUAL_POINTS), "mlflow": lambda: mls.points(N_EQUAL_POINTS)},
        n,
        returns=True,
    )
    _pair(
        res,
        "log_metric_pps",
        pts,
        "points/s",
        f"log_metric loop of {N_EQUAL_POINTS:,} points, flush included",
        True,
    )
    big = interleave({"wb": lambda: wbs.points(N_WB_POINTS), "batch": mls.batch_points}, n, returns=True)
    res.add(
        "log_metric_pps_1m_wb",
        big["wb"],
        "points/s",
        f"Workbench alone: log_metric loop of {N_WB_POINTS:,} points, flush included",
    )
    res.add(
        "log_batch_pps_mlflow",
        big["batch"],
        "points/s",
        f"MLflow log_batch, {N_BATCH_POINTS:,} points in batches of 1,000",
    )

    runs = interleave({"wb": wbs.create_runs, "mlflow": mls.create_runs}, n, returns=True)
    _pair(
        res,
        "run_create_ms",
        runs,
        "ms",
        f"per run created (10 params, 5 metrics), {N_CREATE} runs each",
        False,
    )

    found_wb, found_ml = wbs.seed_queries(), mls.seed_queries()
    assert found_wb == found_ml, f"both must find the same runs: Workbench {found_wb}, MLflow {found_ml}"
    res.add("query_matches", found_wb, "runs", f"runs both find with {FILTER!r}")
    q = _ms(interleave({"wb": wbs.query, "mlflow": mls.query}, n))
    _pair(res, "query_ms", q, "ms", f"runs(filter, order_by) at {N_QUERY:,} runs", False)
    load = _ms(interleave({"wb": wbs.load_all, "mlflow": mls.load_all}, reps(3)))
    _pair(res, "load_all_ms", load, "ms", f"all {N_QUERY:,} runs as a DataFrame", False)
    hist = _ms(interleave({"wb": wbs.history, "mlflow": mls.history}, n))
    _pair(res, "history_ms", hist, "ms", "metric_history, 20 runs x 1,000 points", False)
    wbs.wb.set_store(None)

    imp = import_seconds(["workbench", "mlflow"], reps(7, 2))
    _pair(
        res,
        "import_s",
        {"wb": imp["workbench"], "mlflow": imp["mlflow"]},
        "s",
        "import in a fresh interpreter",
        False,
    )
    res.write()


if __name__ == "__main__":
    main()
