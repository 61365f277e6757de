"""The store's own figures that the README quotes ("Many processes, one file", datasets,
search limits), each measured on a real store.

1. A session's cost: ``ATTACH`` + ``DETACH`` of the store file to a long-lived in-memory
   DuckDB against opening (and closing) a new connection to it, interleaved; and a whole
   empty ``Store.session()`` (lock, ATTACH, spool check, DETACH, unlock).
2. A writer that finds the lock taken (another process holds it): ``Store.write`` of a
   1,000-point batch, which spools it (Arrow IPC file, renamed into place); after the
   holder lets go, every spooled point is counted in the store.
3. The first processes on a new store: 4 and 8 processes started together, each
   creating a run and logging a point the moment a barrier releases them, on Workbench
   and on MLflow's sqlite store; the number that succeed, per repetition.
4. A dataset profile (``workbench.store.profile.profile_relation``: one aggregate query)
   against DuckDB's ``SUMMARIZE`` on the same 100,000 x 11 DataFrame, interleaved.
5. A filter at every limit at once (500 comparisons, 50 nested parentheses) on 1,000 runs.

Writes the ``store`` section of RESULTS.md. Run: ``python benchmarks/bench_store.py``
(``WB_BENCH_QUICK=1``: fewer repetitions).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import Results, interleave, reps

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def _points_batch(run_id: str, start: int, n: int):
    import numpy as np

    from workbench.store import Batch

    steps = np.arange(start, start + n, dtype=np.int64)
    return Batch(metrics=[(run_id, ["loss"] * n, steps, steps.astype(np.float64), np.full(n, time.time()))])


def bench_session(res: Results, root: Path) -> None:
    import duckdb

    from workbench.store import get_store

    store = get_store(root / "session")
    for i in range(20):  # a store with some content, the real schema
        store.write(_points_batch(f"r{i}", 0, 1000))
    mem = duckdb.connect()
    db = str(store.db_path)

    def attach() -> None:
        mem.execute(f"ATTACH '{db}' AS s")
        mem.execute("DETACH s")

    def connect() -> None:
        duckdb.connect(db).close()

    def session() -> None:
        with store.session():
            pass
        store.release()  # a cold session each time (the store keeps a warm one a moment)

    n = reps(200, 20)
    t = interleave({"attach": attach, "connect": connect, "session": session}, n, warmup=5)
    ms = {k: [s * 1000 for s in v] for k, v in t.items()}
    a = res.add("attach_ms", ms["attach"], "ms", "ATTACH + DETACH of the store file to an in-memory DuckDB")
    c = res.add("connect_ms", ms["connect"], "ms", "duckdb.connect(store file) + close")
    res.add("connect_over_attach", c / a, "x", "a new connection's cost over ATTACH's (medians)")
    res.add("session_ms", ms["session"], "ms", "an empty Store.session(): lock, ATTACH, spool check, DETACH")


_HOLDER = """
import sys, time
from pathlib import Path
from workbench.store.lock import StoreLock
lock = StoreLock(Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""


def bench_spool_write(res: Results, root: Path) -> None:
    import duckdb

    from workbench.store import get_store

    store = get_store(root / "spool")
    store.write(_points_batch("warm", 0, 10))
    n, size = reps(200, 20), 1000
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store.directory / "workbench.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        times = []
        for b in range(n):
            batch = _points_batch("spooled", b * size, size)
            t = time.perf_counter()
            store.write(batch)
            times.append((time.perf_counter() - t) * 1000)
        spooled = len(list(store.spool_dir.glob("*.arrow")))
    finally:
        holder.stdin.close()
        holder.wait()
    with store.session():  # folds the spool
        pass
    store.release()
    con = duckdb.connect(str(store.db_path), read_only=True)
    stored = con.execute("SELECT count(*) FROM metrics WHERE run_id = 'spooled'").fetchone()[0]
    con.close()
    if spooled != n or stored != n * size:
        raise SystemExit(f"spool: {spooled} files for {n} writes, {stored} points stored of {n * size}")
    res.add(
        "spool_write_ms", times, "ms", f"Store.write of {size:,} points while another process holds the lock"
    )
    print(f"  ({spooled} spool files, all {stored:,} points in the store after the fold)")


def _first_process(kind: str, root: str, barrier, out) -> None:
    try:
        if kind == "workbench":
            import workbench as wb

            wb.set_store(Path(root) / ".workbench")
            barrier.wait()
            with wb.start_run():
                wb.log_metric("x", 1.0)
            wb.flush()
        else:
            import mlflow

            mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
            barrier.wait()
            with mlflow.start_run():
                mlflow.log_metric("x", 1.0)
        out.put("ok")
    except Exception as exc:  # noqa: BLE001 - what failed is the figure
        out.put(f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}")


def race(kind: str, n: int) -> int:
    """Start ``n`` processes on a new store at the same instant; return how many succeed."""
    ctx = mp.get_context("spawn")
    root = tempfile.mkdtemp(prefix=f"wb-race-{kind}-")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_first_process, args=(kind, root, barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join()
    errors = sorted({r for r in results if r != "ok"})
    print(
        f"  {kind}, {n} processes: {results.count('ok')} succeeded{'; ' + ' | '.join(errors) if errors else ''}"
    )
    return results.count("ok")


def bench_first_processes(res: Results) -> None:
    for n in (4, 8):
        ok = interleave(
            {"wb": lambda n=n: race("workbench", n), "mlflow": lambda n=n: race("mlflow", n)},
            reps(3, 1),
            0,
            returns=True,
        )
        res.add(
            f"race{n}_wb_ok",
            ok["wb"],
            "processes",
            f"of {n} starting together on a new Workbench store, succeeded",
        )
        res.add(
            f"race{n}_mlflow_ok", ok["mlflow"], "processes", f"of {n} on a new MLflow sqlite store, succeeded"
        )
        res.add(
            f"race{n}_mlflow_lost",
            n - min(ok["mlflow"]),
            "processes",
            f"of {n}: MLflow's failures, worst run",
        )


def bench_profile(res: Results) -> None:
    import duckdb
    import numpy as np
    import pandas as pd

    from workbench.store.profile import profile_relation

    rows = 100_000
    rng = np.random.default_rng(1)
    df = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(10)} | {"target": rng.normal(size=rows)})

    def summarize() -> None:
        con = duckdb.connect()
        con.register("d", df)
        con.execute("SUMMARIZE d").fetchall()
        con.close()

    t = interleave({"profile": lambda: profile_relation(df), "summarize": summarize}, reps(7, 2))
    p = res.add(
        "profile_ms", [s * 1000 for s in t["profile"]], "ms", "profile_relation of a 100,000 x 11 DataFrame"
    )
    s = res.add(
        "summarize_ms", [s * 1000 for s in t["summarize"]], "ms", "DuckDB SUMMARIZE of the same DataFrame"
    )
    res.add("summarize_over_profile", s / p, "x", "SUMMARIZE's time over the profile's (medians)")


def bench_filter_limits(res: Results, root: Path) -> None:
    import workbench as wb
    from workbench.store import search

    wb.set_store(root / "limits")
    n_runs = 1000
    for i in range(n_runs):
        run = wb.start_run(
            name=f"run{i}", experiment="big", params={"a": str(i % 10)}, tags={"team": "abc"[i % 3]}
        )
        wb.log_metric("rmse", float(i % 50))
        wb.log_metric("r2", i / n_runs)
        run.end("finished")
    wb.flush()
    kinds = [
        lambda i: f"params.a != 'x{i}'",
        lambda i: f"metrics.rmse > {-i}",
        lambda i: f"tags.k{i} IS NULL",
        lambda i: f"params.p{i} IS NULL",
        lambda i: "attributes.run_name LIKE 'run%'",
    ]
    depth = search.MAX_DEPTH
    terms = [kinds[i % len(kinds)](i) for i in range(search.MAX_TERMS - 1)]
    text = "(" * depth + "metrics.r2 >= 0" + ")" * depth + " AND " + " AND ".join(terms)
    found = len(wb.runs(text))
    if found != n_runs:
        raise SystemExit(f"the filter at the limits found {found} runs of {n_runs}")
    t = interleave({"limits": lambda: wb.runs(text)}, reps(7, 2))
    res.add(
        "filter_limits_s",
        t["limits"],
        "s",
        f"{search.MAX_TERMS} comparisons, {depth} nested parentheses, {n_runs:,} runs",
    )
    wb.set_store(None)


def main() -> None:
    res = Results("store", "the store's session, spool, first processes, profile and filter limits")
    root = Path(tempfile.mkdtemp(prefix="wb-bench-store-"))
    bench_session(res, root)
    bench_spool_write(res, root)
    bench_first_processes(res)
    bench_profile(res)
    bench_filter_limits(res, root)
    res.write()


if __name__ == "__main__":
    main()
