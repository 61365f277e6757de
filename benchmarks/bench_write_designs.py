"""The multi-process write designs for the store, measured side by side.

4 processes each write batches of metric points into one DuckDB file (two sizes:
100 batches of 1,000 points, and 20 batches of 20,000):

- ``lock+attach``: each batch takes the fcntl lock, ATTACHes the file to a long-lived
  in-memory DuckDB, inserts in one transaction, DETACHes, releases;
- ``lock+connect``: the same, but opening a new DuckDB connection per batch;
- ``spool``: each batch is written to a per-process Arrow spool file (no lock); whoever
  gets the lock without waiting folds every spool file into DuckDB; a final fold at the
  end. The writer's time per batch includes the folds it does, as Workbench's does;
- ``workbench``: what Workbench's store does, the two combined: a batch is written
  directly (lock + ATTACH) when the lock is free, and spooled when it is not; every
  session folds the spool first. Measured through ``Store.write`` itself, with the
  real schema (so it also maintains the latest-value table the others lack).

Per design: points/s over the wall time until every point is in the DuckDB file
(process start-up included), and the median time a writer spends per batch (waiting
and folding included). Each repetition runs every design once, in rotating order;
the figures are medians over repetitions. After each run the rows are counted per
writer: every (writer, step) must be there exactly once with its value, or the script
stops (the check is itself checked first on a table with one row doubled and one lost).
Run: ``python benchmarks/bench_write_designs.py`` (``WB_BENCH_QUICK=1``: a smoke run).
"""

from __future__ import annotations

import fcntl
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

from _results import Results, interleave, quick, reps

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
        if lock.try_acquire():
            try:
                _fold(dd, mem)
            finally:
                lock.__exit__()
        # The fold is part of the writer's time, as it is in Store.write.
        times.append(time.perf_counter() - t)
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


def stored_once(db: Path, n_procs: int, n_batches: int, batch: int) -> str:
    """ "" if every writer's every step is in ``db`` exactly once with its value, else
    what is wrong (counted per writer: rows, distinct steps, the sum of the values)."""
    import duckdb

    n = n_batches * batch
    want = (n, n, float(n * (n - 1) // 2))  # values are the steps: 0 + 1 + ... + n-1
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = dict(
            (r[0], tuple(r[1:]))
            for r in con.execute(
                "SELECT run_id, count(*), count(DISTINCT step), sum(value) FROM metrics GROUP BY run_id"
            ).fetchall()
        )
    finally:
        con.close()
    bad = [f"w{w}: {got.get(f'w{w}')}" for w in range(n_procs) if got.get(f"w{w}") != want]
    extra = sorted(set(got) - {f"w{w}" for w in range(n_procs)})
    if bad or extra:
        return f"expected (rows, distinct steps, sum) = {want} per writer; got {'; '.join(bad)} {extra or ''}"
    return ""


def _check_the_check(d: Path) -> None:
    """stored_once must be able to fail: a table with one row doubled, then one lost."""
    import duckdb

    db = d / "check.duckdb"
    con = duckdb.connect(str(db))
    con.execute(SCHEMA)
    con.execute("INSERT INTO metrics SELECT 'w0', 'loss', i, i, 0 FROM range(10) t(i)")
    con.close()
    assert stored_once(db, 1, 1, 10) == "", "a correct table must pass"
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO metrics VALUES ('w0', 'loss', 3, 3, 0)")
    con.close()
    assert stored_once(db, 1, 1, 10), "a doubled row must fail the check"
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM metrics WHERE step = 3")
    con.close()
    assert stored_once(db, 1, 1, 10), "a lost row must fail the check"


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

        store = get_store(d / "wb")
        with store.session():  # folds whatever is still spooled
            pass
        store.release()  # the check below opens the file itself
        db = d / "wb" / "workbench.duckdb"
    wall = time.perf_counter() - t
    wrong = stored_once(db, N_PROCS, N_BATCHES, BATCH)
    if wrong:
        raise SystemExit(f"{design} did not store every point exactly once: {wrong}")
    return {"wall_s": wall, "median_batch_ms": statistics.median(per_batch) * 1000}


DESIGNS = {
    "lock_connect": ("lock+connect", _worker_connect),
    "lock_attach": ("lock+attach", _worker_attach),
    "spool": ("spool", _worker_spool),
    "workbench": ("workbench", _worker_workbench),
}


def _variant(key: str, total: int, batch_ms: dict[str, list[float]]):
    """One repetition of a design: returns points/s, keeps the writer's ms per batch."""

    def once() -> float:
        r = run(*DESIGNS[key])
        batch_ms[key].append(r["median_batch_ms"])
        print(
            f"  {key:<13} {r['wall_s']:6.2f} s  {total / r['wall_s']:>11,.0f} points/s  "
            f"writer {r['median_batch_ms']:7.2f} ms/batch  stored once"
        )
        return total / r["wall_s"]

    return once


def main() -> None:
    global N_BATCHES, BATCH
    res = Results("write_designs", "4 processes writing into one DuckDB file, four designs")
    _check_the_check(Path(tempfile.mkdtemp(prefix="wb-design-check-")))
    print("stored_once checked: it fails on a doubled row and on a lost row")
    sizes = [("small", 100, 1_000), ("large", 20, 20_000)]
    if quick():
        sizes = [("small", 20, 1_000), ("large", 4, 20_000)]
    for size, n_batches, batch in sizes:
        N_BATCHES, BATCH = n_batches, batch
        total = N_PROCS * N_BATCHES * BATCH
        print(f"\n{N_PROCS} processes x {N_BATCHES} batches x {BATCH:,} points = {total:,} points")
        batch_ms: dict[str, list[float]] = {k: [] for k in DESIGNS}

        pps = interleave(
            {k: _variant(k, total, batch_ms) for k in DESIGNS}, reps(3, 1), warmup=0, returns=True
        )
        for key, (label, _) in DESIGNS.items():
            what = f"{label}, {N_PROCS} x {N_BATCHES} batches of {BATCH:,} points"
            res.add(f"{key}_{size}_pps", pps[key], "points/s", what + ", until all are in the file")
            res.add(f"{key}_{size}_batch_ms", batch_ms[key], "ms", what + ": writer's median time per batch")
    res.write()


if __name__ == "__main__":
    main()
