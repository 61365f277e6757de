"""Performance at scale (issue 16): 10k and 100k runs, up to 100M points, each figure
beside its reference measured in the same run (raw DuckDB; MLflow's sqlite store at 10k).

Stores are built in bulk through the store's own write path (``Store.write`` of large
batches, as a fold of spool files writes them), not one API call per run, and cached
under ``$WB_SCALE_CACHE`` (default ``/tmp/wb-scale-cache``) between invocations.

Each figure is the median of interleaved repetitions (``_results``), written to its
section of ``benchmarks/RESULTS.md``; the table of the issue's targets follows.

Run: ``python benchmarks/bench_scale.py [--points-per-run N] [--no-mlflow] [--only PARTS]``.
``WB_BENCH_QUICK=1`` uses 2k/10k runs and 100 points per run (a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from _results import Results, interleave, quick, reps
from _scale_stores import (
    CACHE,
    CHAIN,
    LONG_RUNS,
    LONG_STEPS,
    cached_store,
    clone_mlflow,
    curve_table,
    payload,
)

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

FILTER = "metrics.rmse < 50 and params.model = 'ridge'"
ORDER = ["metrics.rmse ASC"]


# -- references ------------------------------------------------------------------------
def raw_pivot_sql() -> str:
    """Raw DuckDB: all live runs with params, latest metrics and tags pivoted wide."""
    cols = "r.run_id, r.run_name, r.experiment, r.status, r.start_time, r.end_time, r.source, r.parent_run_id"
    return (
        f"SELECT {cols}, p.* EXCLUDE (run_id), m.* EXCLUDE (run_id), t.* EXCLUDE (run_id) FROM runs r "
        "LEFT JOIN (PIVOT params ON key USING first(value) GROUP BY run_id) p USING (run_id) "
        "LEFT JOIN (PIVOT latest_metrics ON key USING first(value) GROUP BY run_id) m USING (run_id) "
        "LEFT JOIN (PIVOT tags ON key USING first(value) GROUP BY run_id) t USING (run_id) "
        "WHERE r.deleted_at IS NULL ORDER BY r.start_time DESC"
    )


def raw_history_sql() -> str:
    return (
        "SELECT run_id, key, step, value, timestamp FROM metrics WHERE run_id IN (SELECT unnest(?)) "
        "AND key = 'loss' ORDER BY run_id, key, step"
    )


def raw_query(db: Path, sql: str, params: list | None = None, release=None):
    """A variant for ``interleave``: raw DuckDB with a warm connection. The file is
    opened (and the query run once) untimed, since the store cannot attach it while a
    connection holds it; the sample is the second run of the query, into pandas.
    ``release``: called first, to make the store of this process let go of the file."""
    import duckdb

    def run() -> float:
        if release is not None:
            release()
        con = duckdb.connect(str(db), read_only=True)
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute(sql, params or []).df()
            t = time.perf_counter()
            con.execute(sql, params or []).df()
            return time.perf_counter() - t
        finally:
            con.close()

    return run


def _rss_of(cmd: list[str], env: dict) -> tuple[float, int]:
    """Peak RSS (MB) of a child process, and its stdout size in bytes."""
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=True)\n"
        "print(len(p.stdout), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *cmd], env=env, capture_output=True, text=True, check=True
    )
    size, kb = out.stdout.split()
    return int(kb) / 1024, int(size)


def _ms(samples: dict[str, list[float]]) -> dict[str, list[float]]:
    return {k: [s * 1000 for s in v] for k, v in samples.items()}


def _timed(fn):
    """``fn`` as an ``interleave(..., returns=True)`` variant: returns its own seconds."""

    def run() -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    return run


def _second_call(fn):
    """``fn`` measured as :func:`raw_query` measures the raw query: called once untimed
    (after the raw variant closed its connection, so the store attaches the file anew),
    the sample is the second call, made while the store still keeps the file."""

    def run() -> float:
        fn()
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    return run


def _cold_call(store, fn):
    """``fn`` right after the store let go of the file: attach and empty cache included."""

    def run() -> float:
        store.release()
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    return run


# -- measurements ----------------------------------------------------------------------
def bench_logging(res: Results, root: Path) -> None:
    import duckdb
    import numpy as np
    import pyarrow as pa

    import workbench as wb

    n = 200_000 if quick() else 1_000_000
    keys = [f"k{j}" for j in range(10)]
    wb.set_store(root / "log")
    with wb.start_run():  # warm-up: imports, store creation
        for i in range(10_000):
            wb.log_metric("loss", 0.5, step=i)
    wb.flush()

    def log_metric() -> float:
        with wb.start_run():
            t = time.perf_counter()
            for i in range(n):
                wb.log_metric("loss", i * 0.5, step=i)
            wb.flush()
            return n / (time.perf_counter() - t)

    def log_metrics() -> float:
        with wb.start_run():
            t = time.perf_counter()
            for i in range(n // 10):
                wb.log_metrics({k: i * 0.5 for k in keys}, step=i)
            wb.flush()
            return n / (time.perf_counter() - t)

    rid = uuid.uuid4().hex
    con = duckdb.connect(str(root / "raw.duckdb"))
    con.execute(
        "CREATE TABLE metrics (run_id VARCHAR, key VARCHAR, step BIGINT, value DOUBLE, timestamp BIGINT)"
    )

    def raw_append() -> float:
        # The same rows gathered in Python lists as a loop makes them, then one Arrow append.
        t = time.perf_counter()
        steps, values, times = [], [], []
        for i in range(n):
            steps.append(i)
            values.append(i * 0.5)
            times.append(time.time())
        one = pa.array(np.zeros(n, np.int32))
        tbl = pa.table(
            {
                "run_id": pa.DictionaryArray.from_arrays(one, pa.array([rid])),
                "key": pa.DictionaryArray.from_arrays(one, pa.array(["loss"])),
                "step": pa.array(steps, pa.int64()),
                "value": pa.array(values, pa.float64()),
                "timestamp": (np.array(times) * 1000).astype(np.int64),
            }
        )
        con.register("_tbl", tbl)
        con.execute(
            "INSERT INTO metrics SELECT run_id::VARCHAR, key::VARCHAR, step, value, timestamp FROM _tbl"
        )
        con.unregister("_tbl")
        return n / (time.perf_counter() - t)

    s = interleave(
        {"log_metric": log_metric, "log_metrics": log_metrics, "raw": raw_append}, reps(3, 1), returns=True
    )
    con.close()
    wb.set_store(None)
    w = res.add(
        "log_metric_pts_s", s["log_metric"], "points/s", f"log_metric(key, v, step=i) x {n:,}, flush incl."
    )
    r = res.add(
        "raw_append_pts_s",
        s["raw"],
        "points/s",
        "raw DuckDB: the same rows in Python lists, one Arrow append",
    )
    res.add("log_metric_vs_raw", w / r, "x", "log_metric / raw DuckDB append")
    res.add(
        "log_metrics_10_keys_pts_s",
        s["log_metrics"],
        "points/s",
        f"log_metrics(10-key dict, step=i), {n:,} points",
    )


def bench_reads(res: Results, size: str, directory: Path, info: dict) -> None:
    import workbench as wb
    from workbench.store.store import Store

    store = Store(directory)
    db = directory / "workbench.duckdb"
    n = len(info["ids"]) + len(info["long"]) + len(info["chain"])
    k = f"{n // 1000}k runs"
    s = _ms(
        interleave(
            {
                "wb": _second_call(lambda: wb.runs(store=store)),
                "raw": raw_query(db, raw_pivot_sql(), release=store.release),
            },
            reps(5, 1),
            returns=True,
        )
    )
    w = res.add(f"runs_all_{size}_ms", s["wb"], "ms", f"wb.runs() of all {k}")
    r = res.add(f"runs_all_{size}_raw_ms", s["raw"], "ms", f"raw DuckDB pivot into pandas, {k}")
    res.add(f"runs_all_{size}_vs_raw", w / r, "x", "wb.runs() / raw DuckDB pivot")
    found = len(wb.runs(FILTER, ORDER, store=store))
    s = _ms(
        interleave({"wb": _timed(lambda: wb.runs(FILTER, ORDER, store=store))}, reps(10, 2), returns=True)
    )
    res.add(f"search_{size}_ms", s["wb"], "ms", f"wb.runs({FILTER!r}, {ORDER}) at {k}: {found:,} runs")

    ids = info["ids"][:: max(1, len(info["ids"]) // 20)][:20]
    pts = len(wb.metric_history(ids, "loss", store=store))
    s = _ms(
        interleave(
            {
                "wb": _second_call(lambda: wb.metric_history(ids, "loss", store=store)),
                "cold": _cold_call(store, lambda: wb.metric_history(ids, "loss", store=store)),
                "raw": raw_query(db, raw_history_sql(), [ids], release=store.release),
            },
            reps(10, 2),
            returns=True,
        )
    )
    w = res.add(f"history_{size}_ms", s["wb"], "ms", f"metric_history of 20 runs ({pts:,} points) at {k}")
    res.add(
        f"history_{size}_cold_ms", s["cold"], "ms", "the same, the store's file attached anew (first call)"
    )
    r = res.add(f"history_{size}_raw_ms", s["raw"], "ms", "one raw DuckDB query into pandas")
    res.add(f"history_{size}_vs_raw", w / r, "x", "metric_history / raw DuckDB")
    if info["long"]:
        s = _ms(
            interleave(
                {"wb": _timed(lambda: store.metric_series(info["long"], ["loss"], 1000))},
                reps(5, 1),
                returns=True,
            )
        )
        res.add(
            f"curves_{size}_ms",
            s["wb"],
            "ms",
            f"{LONG_RUNS} runs x {LONG_STEPS:,} steps to 1,000 points each, at {k}",
        )
    if info["chain"]:
        mid = info["chain"][len(info["chain"]) // 2]
        g = wb.lineage(mid, depth=10, store=store)
        assert len(g.upstream_runs) + len(g.downstream_runs) == CHAIN - 1
        s = _ms(
            interleave(
                {"wb": _timed(lambda: wb.lineage(mid, depth=10, store=store))}, reps(5, 1), returns=True
            )
        )
        res.add(
            f"lineage_{size}_ms", s["wb"], "ms", f"wb.lineage(depth=10) reaching {CHAIN - 1} runs, at {k}"
        )


def bench_cli(res: Results, directory: Path, n: int) -> None:
    env = {**os.environ, "WORKBENCH_STORE": str(directory)}
    exe = str(Path(sys.executable).with_name("workbench"))

    def runs_n20() -> None:
        subprocess.run([exe, "runs", "-n", "20"], env=env, check=True, stdout=subprocess.DEVNULL)

    s = interleave({"cli": runs_n20}, reps(5, 1))  # timed by interleave
    res.add(
        "cli_runs_n20_s",
        s["cli"],
        "s",
        f"`workbench runs -n 20` at {n // 1000}k runs, process start included",
    )
    base, _ = _rss_of([exe, "runs", "-n", "1", "--format", "csv"], env)
    peak, size = _rss_of([exe, "runs", "--format", "csv"], env)
    res.add(
        "csv_rss_over_base_mb",
        peak - base,
        "MB",
        f"`workbench runs --format csv` of {n // 1000}k runs ({size / 1e6:.0f} MB): peak RSS {peak:.0f} MB "
        f"minus `-n 1`'s {base:.0f} MB",
    )


def bench_rest(res: Results, directory: Path, n: int) -> None:
    """One page of 200 runs, newest first, from a real jupyter server, as the panel asks."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "scalebench"
    work = Path(tempfile.mkdtemp(prefix="wb-scale-srv-"))
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter")),
            "server",
            f"--port={port}",
            "--no-browser",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--allow-root",
        ],
        env={**os.environ, "WORKBENCH_STORE": str(directory)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/workbench/api/runs?limit=200&offset=0"

    def get() -> dict:
        req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    try:
        deadline = time.time() + 90
        while True:
            try:
                got = get()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        assert len(got["runs"]) == 200 and got["total"] >= n - 20, got.get("total")
        s = _ms(interleave({"rest": _timed(get)}, reps(20, 3), returns=True))
        res.add(
            "rest_page_ms",
            s["rest"],
            "ms",
            f"GET workbench/api/runs?limit=200 at {n // 1000}k runs, over HTTP",
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def bench_size(res: Results, directory: Path, n_points: int, root: Path, mlflow_on: bool) -> None:
    """Bytes per point of the built store, and of a sample of the same curves in
    Workbench and in MLflow's sqlite store (MLflow's log_batch is too slow for 100M)."""
    from workbench.store.records import Batch
    from workbench.store.store import Store

    mb = (directory / "workbench.duckdb").stat().st_size / 1e6
    res.add(
        "store_mb_per_m_points",
        mb / (n_points / 1e6),
        "MB",
        f"store file {mb:,.0f} MB for {n_points:,} points",
    )
    runs, steps = 10, 10_000
    now = int(time.time() * 1000)
    curves = curve_table(
        [uuid.uuid4().hex for _ in range(runs)], steps, [now + 1000 * r for r in range(runs)], 900, 1
    )
    s = Store(root / "size-sample")
    s.check_schema()
    # What the points add to the file (an empty store is a few MB of table blocks).
    empty = s.db_path.stat().st_size
    s.write(Batch(metrics_table=curves))
    res.add(
        "sample_wb_bytes_per_point",
        (s.db_path.stat().st_size - empty) / (runs * steps),
        "B",
        f"Workbench store, growth of the file by {runs} x {steps:,} points, per point",
    )
    if not mlflow_on:
        return
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    db = root / "mlflow-size.db"
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    exp = client.create_experiment("size", artifact_location=str(root / "mla"))
    cols = curves.to_pydict()
    rids = [client.create_run(exp).info.run_id for _ in range(runs)]
    empty = db.stat().st_size
    for r, rid in enumerate(rids):
        for a in range(r * steps, (r + 1) * steps, 1000):
            client.log_batch(
                rid,
                metrics=[
                    Metric("loss", cols["value"][i], cols["timestamp"][i], cols["step"][i])
                    for i in range(a, a + 1000)
                ],
            )
    res.add(
        "sample_mlflow_bytes_per_point",
        (db.stat().st_size - empty) / (runs * steps),
        "B",
        f"MLflow sqlite store, growth by the same {runs} x {steps:,} points (log_batch), per point",
    )


def bench_mlflow_search(res: Results, n_runs: int) -> None:
    """MLflow's search_runs, filtered and ordered, at ``n_runs`` runs cloned with SQL
    from runs it created through its API (cached beside the stores)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    db = CACHE / f"mlflow-{n_runs}.db"
    done = CACHE / f"mlflow-{n_runs}.done"
    fresh = not done.exists()
    if fresh:  # an interrupted build leaves a partial database: start over
        db.unlink(missing_ok=True)
        shutil.rmtree(CACHE / "mlartifacts", ignore_errors=True)
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    if fresh:
        exp = client.create_experiment("q", artifact_location=str(CACHE / "mlartifacts"))
        templates = []
        for i in range(20):
            params, metrics = payload(i)
            with mlflow.start_run(experiment_id=exp) as r:
                mlflow.log_params(params)
                mlflow.log_metrics(metrics)
                templates.append(r.info.run_id)
        clone_mlflow(db, templates, n_runs)
        done.touch()
    exp = client.get_experiment_by_name("q").experiment_id
    found = len(mlflow.search_runs(experiment_ids=[exp], filter_string=FILTER, order_by=ORDER))
    s = _ms(
        interleave(
            {
                "ml": _timed(
                    lambda: mlflow.search_runs(experiment_ids=[exp], filter_string=FILTER, order_by=ORDER)
                )
            },
            reps(3, 1),
            returns=True,
        )
    )
    res.add(
        "mlflow_search_small_ms",
        s["ml"],
        "ms",
        f"mlflow.search_runs, same filter and order, {n_runs // 1000}k runs: {found:,} runs",
    )


PARTS = ("log", "small", "large", "cli", "rest", "size", "mlflow")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points-per-run", type=int, default=1000, help="Curve length at the largest store.")
    ap.add_argument("--no-mlflow", action="store_true", help="Skip MLflow.")
    ap.add_argument("--only", default="", help=f"Comma list of parts: {','.join(PARTS)} (default all).")
    args = ap.parse_args()
    small_n, large_n = (2_000, 10_000) if quick() else (10_000, 100_000)
    ppr = 100 if quick() else args.points_per_run
    parts = set(args.only.split(",")) if args.only else set(PARTS)
    mlflow_on = not args.no_mlflow and "mlflow" in parts
    res = Results("scale", "10k and 100k runs, up to 100M points, beside raw DuckDB and MLflow (issue 16)")
    root = Path(tempfile.mkdtemp(prefix="wb-scale-"))
    try:
        small_dir, small_info, took = cached_store(small_n, 100, False)
        if took:
            print(f"built {small_n:,} runs x 100 points in {took:.0f} s")
        large_dir, large_info, took = cached_store(large_n, ppr, True)
        if took:
            print(f"built {large_n:,} runs x {ppr:,} points (+{LONG_RUNS} x {LONG_STEPS:,}) in {took:.0f} s")
        if "log" in parts:
            bench_logging(res, root)
        if "small" in parts:
            bench_reads(res, "small", small_dir, small_info)
        if mlflow_on:
            bench_mlflow_search(res, small_n)
        if "large" in parts:
            bench_reads(res, "large", large_dir, large_info)
        if "rest" in parts:
            bench_rest(res, large_dir, large_n)
        if "cli" in parts:
            bench_cli(res, large_dir, large_n)
        if "size" in parts:
            bench_size(res, large_dir, large_n * (ppr + 4) + LONG_RUNS * LONG_STEPS, root, mlflow_on)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(res)
    if not args.only:  # a partial run must not replace the section of a full one
        res.write()


def report(res: Results) -> None:
    """The issue's table: each target beside the figures it is judged on."""
    m = {row: statistics.median(v) for row, v, _, _ in res.rows}

    def get(row: str, f: str = "{:,.1f}") -> str:
        return f.format(m[row]) if row in m else "-"

    def verdict(ok: bool | None) -> str:
        return "-" if ok is None else ("met" if ok else "NOT met")

    def chk(*rows: str, test) -> str:
        return verdict(test(*(m[r] for r in rows)) if all(r in m for r in rows) else None)

    lines = [
        (
            "log_metric(key, v, step=i) loop, flush incl.",
            f"{get('log_metric_pts_s', '{:,.0f}')} pts/s",
            f"{get('log_metric_vs_raw', '{:.2f}')}x raw append",
            ">= 1M pts/s, >= 0.5x raw",
            chk("log_metric_pts_s", "log_metric_vs_raw", test=lambda a, b: a >= 1e6 and b >= 0.5),
        ),
        (
            "log_metrics(10-key dict) loop, flush incl.",
            f"{get('log_metrics_10_keys_pts_s', '{:,.0f}')} pts/s",
            "W&B offline: bench_wandb.py (wandb/wb_vs_wandb)",
            ">= 1M pts/s",
            chk("log_metrics_10_keys_pts_s", test=lambda a: a >= 1e6),
        ),
    ]
    for size in ("small", "large"):
        lines.append(
            (
                f"wb.runs() of all runs ({size})",
                f"{get(f'runs_all_{size}_ms')} ms",
                f"raw {get(f'runs_all_{size}_raw_ms')} ms = {get(f'runs_all_{size}_vs_raw', '{:.2f}')}x",
                "<= 1.5x raw",
                chk(f"runs_all_{size}_vs_raw", test=lambda a: a <= 1.5),
            )
        )
    lines.append(
        (
            "filtered, ordered search (large)",
            f"{get('search_large_ms')} ms",
            "",
            "< 100 ms",
            chk("search_large_ms", test=lambda a: a < 100),
        )
    )
    lines.append(
        (
            "filtered, ordered search (small) vs MLflow",
            f"{get('search_small_ms')} ms",
            f"MLflow {get('mlflow_search_small_ms')} ms",
            ">= 50x",
            chk("search_small_ms", "mlflow_search_small_ms", test=lambda a, b: b / a >= 50),
        )
    )
    lines.append(
        (
            "REST page of 200 runs (large)",
            f"{get('rest_page_ms')} ms",
            "",
            "< 50 ms",
            chk("rest_page_ms", test=lambda a: a < 50),
        )
    )
    lines.append(
        (
            "metric_history 20 runs (large)",
            f"{get('history_large_ms')} ms",
            f"raw {get('history_large_raw_ms')} ms = {get('history_large_vs_raw', '{:.2f}')}x",
            "<= 1.5x raw",
            chk("history_large_vs_raw", test=lambda a: a <= 1.5),
        )
    )
    lines.append(
        (
            "curves 10 x 1M steps -> 1,000 pts",
            f"{get('curves_large_ms')} ms",
            "",
            "< 100 ms",
            chk("curves_large_ms", test=lambda a: a < 100),
        )
    )
    lines.append(
        (
            "workbench runs -n 20 (large)",
            f"{get('cli_runs_n20_s', '{:.2f}')} s",
            "",
            "< 0.4 s",
            chk("cli_runs_n20_s", test=lambda a: a < 0.4),
        )
    )
    lines.append(
        (
            "CSV export of all runs (large)",
            f"+{get('csv_rss_over_base_mb', '{:.0f}')} MB RSS",
            "",
            "< 150 MB over baseline",
            chk("csv_rss_over_base_mb", test=lambda a: a < 150),
        )
    )
    lines.append(
        (
            "store size",
            f"{get('store_mb_per_m_points', '{:.2f}')} MB/M pts",
            f"sample: {get('sample_wb_bytes_per_point')} B/pt vs MLflow {get('sample_mlflow_bytes_per_point')} B/pt",
            "<= 8 MB/M pts",
            chk("store_mb_per_m_points", test=lambda a: a <= 8),
        )
    )
    lines.append(
        (
            "lineage depth 10 (large)",
            f"{get('lineage_large_ms')} ms",
            "",
            "< 200 ms",
            chk("lineage_large_ms", test=lambda a: a < 200),
        )
    )
    head = ("target of issue 16", "Workbench", "reference", "target", "")
    width = [max(len(r[i]) for r in [head, *lines]) for i in range(5)]
    print()
    for r in [head, tuple("-" * w for w in width), *lines]:
        print("  ".join(c.ljust(w) for c, w in zip(r, width)).rstrip())


if __name__ == "__main__":
    main()
