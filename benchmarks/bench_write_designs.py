"""The two multi-process write designs for the store, measured side by side.

4 processes each write 100 batches of 1,000 metric points into one DuckDB file:

- ``lock+attach`` (the design Workbench uses): each batch takes the fcntl lock,
  ATTACHes the file to a long-lived in-memory DuckDB, inserts in one transaction,
  DETACHes, releases;
- ``lock+connect``: the same, but opening a new DuckDB connection per batch;
- ``spool``: each batch is written to a per-process Arrow spool file (no lock); whoever
  gets the lock without waiting folds every spool file into DuckDB; a final fold at the
  end;
- ``workbench``: what Workbench's store does, the two combined: a batch is written
  directly (lock + ATTACH) when the lock is free, and spooled when it is not; every
  session folds the spool first. Measured through ``Store.write`` itself, with the
  real schema (so it also maintains the latest-value table the others lack).

Printed per design: wall time until all 400,000 points are in the DuckDB file, the
median time a writer spends per batch, and a check that every point arrived once.
Run: ``python benchmarks/bench_write_designs.py``.
"""

from __future__ import annotations

import fcntl
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

N_PROCS, N_BATCHES, BATCH = 4, 100, 1_000
if os.environ.get("WB_DESIGN_SIZES"):
    N_BATCHES, BATCH = (int(x) for x in os.environ["WB_DESIGN_SIZES"].split(","))
SCHEMA = "CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR, key VARCHAR, step BIGINT, value DOUBLE, timestamp BIGINT)"


def _batch(worker: int, b: int):
    import numpy as np
    import pyarrow as pa

    steps = np.arange(b * BATCH, (b + 1) * BATCH, dtype=np.int64)
    return pa.table(
        {
            "run_id": pa.array([f"w{worker}"] * BATCH),
            "key": pa.array(["loss"] * BATCH),
            "step": steps,
            "value": steps.astype(np.float64),
            "timestamp": np.full(BATCH, int(time.time() * 1000), dtype=np.int64),
        }
    )


class _Lock:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def try_acquire(self) -> bool:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            os.close(self.fd)
            return False

    def __exit__(self, *a):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _worker_attach(d: str, worker: int, q) -> None:
    import duckdb

    db, lock = Path(d) / "m.duckdb", _Lock(Path(d) / "lock")
    mem = duckdb.connect()
    times = []
    for b in range(N_BATCHES):
        tbl = _batch(worker, b)
        t = time.perf_counter()
        with lock:
            mem.execute(f"ATTACH '{db}' AS s")
            mem.execute("BEGIN")
            mem.register("tbl", tbl)
            mem.execute("INSERT INTO s.metrics SELECT * FROM tbl")
            mem.execute("COMMIT")
            mem.execute("DETACH s")
        times.append(time.perf_counter() - t)
    q.put(times)


def _worker_connect(d: str, worker: int, q) -> None:
    import duckdb

    db, lock = Path(d) / "m.duckdb", _Lock(Path(d) / "lock")
    times = []
    for b in range(N_BATCHES):
        tbl = _batch(worker, b)
        t = time.perf_counter()
        with lock:
            con = duckdb.connect(str(db))
            con.register("tbl", tbl)
            con.execute("INSERT INTO metrics SELECT * FROM tbl")
            con.close()
        times.append(time.perf_counter() - t)
    q.put(times)


def _fold(d: Path, mem) -> None:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    files = sorted((d / "spool").glob("*.arrow"))
    if not files:
        return
    tables = []
    for f in files:
        with pa.memory_map(str(f)) as src:
            tables.append(ipc.open_file(src).read_all())
    mem.register("allt", pa.concat_tables(tables))
    mem.execute(f"ATTACH '{d / 'm.duckdb'}' AS s")
    mem.execute("INSERT INTO s.metrics SELECT * FROM allt")
    mem.execute("DETACH s")
    for f in files:
        f.unlink()


def _worker_spool(d: str, worker: int, q) -> None:
    import duckdb
    import pyarrow.ipc as ipc

    dd = Path(d)
    lock = _Lock(dd / "lock")
    mem = duckdb.connect()
    times = []
    for b in range(N_BATCHES):
        tbl = _batch(worker, b)
        t = time.perf_counter()
        tmp = dd / "spool" / f"{worker}-{b}.tmp"
        with ipc.new_file(str(tmp), tbl.schema) as w:
            w.write_table(tbl)
        tmp.rename(tmp.with_suffix(".arrow"))
        times.append(time.perf_counter() - t)
        if lock.try_acquire():
            try:
                _fold(dd, mem)
            finally:
                lock.__exit__()
    q.put(times)


def _worker_workbench(d: str, worker: int, q) -> None:
    import numpy as np

    from workbench.store import Batch, get_store

    store = get_store(Path(d) / "wb")
    times = []
    for b in range(N_BATCHES):
        steps = np.arange(b * BATCH, (b + 1) * BATCH, dtype=np.int64)
        batch = Batch(
            metrics=[
                (f"w{worker}", ["loss"] * BATCH, steps, steps.astype(np.float64), np.full(BATCH, time.time()))
            ]
        )
        t = time.perf_counter()
        store.write(batch)
        times.append(time.perf_counter() - t)
    q.put(times)


def run(design: str, target) -> dict:
    # Spawned workers re-import this module: hand them the sizes through the environment.
    os.environ["WB_DESIGN_SIZES"] = f"{N_BATCHES},{BATCH}"
    import duckdb

    d = Path(tempfile.mkdtemp(prefix=f"wb-design-{design}-"))
    (d / "spool").mkdir()
    con = duckdb.connect(str(d / "m.duckdb"))
    con.execute(SCHEMA)
    con.close()
    if design.startswith("workbench"):
        from workbench.store import get_store

        get_store(d / "wb").schema_version()
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=target, args=(str(d), i, q)) for i in range(N_PROCS)]
    t = time.perf_counter()
    for p in procs:
        p.start()
    per_batch = [x for _ in procs for x in q.get()]
    for p in procs:
        p.join()
    if design == "spool":
        with _Lock(d / "lock"):
            _fold(d, duckdb.connect())
    db = d / "m.duckdb"
    if design.startswith("workbench"):
        from workbench.store import get_store

        with get_store(d / "wb").session():  # folds whatever is still spooled
            pass
        db = d / "wb" / "workbench.duckdb"
    wall = time.perf_counter() - t
    con = duckdb.connect(str(db))
    n, distinct = con.execute("SELECT count(*), count(DISTINCT (run_id, step)) FROM metrics").fetchone()
    con.close()
    return {
        "wall_s": wall,
        "median_batch_ms": statistics.median(per_batch) * 1000,
        "points": n,
        "distinct": distinct,
    }


def main() -> None:
    import argparse

    global N_BATCHES, BATCH
    ap = argparse.ArgumentParser(description="Compare multi-process write designs for the store.")
    ap.add_argument("--batches", type=int, default=N_BATCHES, help="Batches per process.")
    ap.add_argument("--batch", type=int, default=BATCH, help="Points per batch.")
    args = ap.parse_args()
    N_BATCHES, BATCH = args.batches, args.batch
    total = N_PROCS * N_BATCHES * BATCH
    print(f"{N_PROCS} processes x {N_BATCHES} batches x {BATCH:,} points = {total:,} points\n")
    print(f"{'design':<14} {'wall s':>8} {'points/s':>12} {'writer ms/batch':>16} {'stored once':>12}")
    for design, target in (
        ("lock+attach", _worker_attach),
        ("lock+connect", _worker_connect),
        ("spool", _worker_spool),
        ("workbench", _worker_workbench),
    ):
        r = run(design, target)
        ok = r["points"] == r["distinct"] == total
        print(
            f"{design:<14} {r['wall_s']:>8.2f} {total / r['wall_s']:>12,.0f} {r['median_batch_ms']:>16.2f} {str(ok):>12}"
        )


if __name__ == "__main__":
    main()
