"""The stores bench_scale.py measures, built in bulk through the store's own write path
(``Store.write`` of large batches, as a fold of spool files writes them) and cached under
``$WB_SCALE_CACHE`` (default ``/tmp/wb-scale-cache``) between invocations; and MLflow's
store of the same runs, cloned with SQL from runs its API created."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

MODELS = ["ridge", "lasso", "tree", "forest"]
CACHE = Path(os.environ.get("WB_SCALE_CACHE", "/tmp/wb-scale-cache"))
BUILD_VERSION = 4  # bump when the built stores change shape (the schema version is in the key too)
LONG_RUNS, LONG_STEPS = 10, 1_000_000
CHAIN = 11  # runs chained by files: lineage depth 10 from the middle reaches both ends


def rid(rng: random.Random) -> str:
    # Random ids, as uuid4 gives: no ordering a query could lean on.
    return f"{rng.getrandbits(128):032x}"


def payload(i: int) -> tuple[dict[str, str], dict[str, float]]:
    rng = random.Random(i)
    params = {f"p{k}": str(rng.choice([0.1, 0.5, 1, 2, 5])) for k in range(9)} | {"model": MODELS[i % 4]}
    metrics = {
        "rmse": 40 + 30 * rng.random(),
        "mae": 30 + 20 * rng.random(),
        "r2": rng.random(),
        "epoch_time": rng.random(),
    }
    return params, metrics


def curve_table(run_ids: list[str], steps: int, starts_ms: list[int], span_ms: int, seed: int):
    """A ``loss`` curve per run, as a training loop logs it: decaying with noise, one
    point per step, the points of each run spread over ``span_ms`` from its start (so
    each run's points lie within its own lifetime, as a real run's do)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    n = len(run_ids)
    step = np.tile(np.arange(steps, dtype=np.int64), n)
    scale = np.repeat(rng.uniform(0.5, 2.0, n), steps)
    value = scale * np.exp(-step / max(steps / 4, 1)) + 0.05 * rng.standard_normal(n * steps)
    value = np.round(value.astype(np.float32), 6).astype(np.float64)  # float32 precision, as GPUs log
    ts = np.repeat(np.asarray(starts_ms, dtype=np.int64), steps) + step * span_ms // max(steps, 1)
    return pa.table(
        {
            "run_id": pa.DictionaryArray.from_arrays(
                pa.array(np.repeat(np.arange(n, dtype=np.int32), steps)), pa.array(run_ids)
            ),
            "key": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n * steps, np.int32)), pa.array(["loss"])
            ),
            "step": step,
            "value": value,
            "timestamp": ts,
        }
    )


def build_store(directory: Path, n_runs: int, points: int, long_runs: bool) -> dict:
    """Create a store of ``n_runs`` runs (10 params, 4 final metrics, 2 tags, a ``loss``
    curve of ``points`` steps, an output artifact each), plus, with ``long_runs``, 10
    runs of 1M steps and a chain of runs linked by files. Returns what the bench needs."""
    from workbench.store.records import Batch
    from workbench.store.store import Store

    directory.mkdir(parents=True, exist_ok=True)
    store = Store(directory)
    store.check_schema()
    rng = random.Random(n_runs)
    t0 = time.time() - n_runs
    ids = [rid(rng) for _ in range(n_runs)]
    chunk = max(1, min(5_000, 5_000_000 // max(points, 1)))
    for c in range(0, n_runs, chunk):
        b = Batch(experiments={"scale": int(t0 * 1000)})
        part = ids[c : c + chunk]
        for j, run_id in enumerate(part, start=c):
            start = int((t0 + j) * 1000)
            b.runs.append(
                {
                    "run_id": run_id,
                    "experiment": "scale",
                    "run_name": f"run-{j}",
                    "status": "finished",
                    "start_time": start,
                    "end_time": start + 900,
                    "source": "python",
                }
            )
            params, metrics = payload(j)
            b.params.extend((run_id, k, v) for k, v in params.items())
            b.tags.extend([(run_id, "team", "ab"[j % 2]), (run_id, "sweep_id", f"s{j // 100}")])
            b.metrics.append((run_id, list(metrics), [0] * 4, list(metrics.values()), [t0 + j] * 4))
            b.artifacts.append(
                {
                    "run_id": run_id,
                    "path": "model.pkl",
                    "kind": "model",
                    "sha256": f"{j:064x}",
                    "size": 1,
                    "direction": "output",
                    "stored_path": None,
                    "created_at": start + 800,
                }
            )
        store.write(b)
        if points:
            starts = [int((t0 + j) * 1000) for j in range(c, c + len(part))]
            store.write(Batch(metrics_table=curve_table(part, points, starts, 900, c)))
    info = {"ids": ids, "long": [], "chain": []}
    if long_runs:
        info["long"] = _add_long_runs(store, t0)
        info["chain"] = _add_chain(store, t0)
    return info


def _add_long_runs(store, t0: float) -> list[str]:
    from workbench.store.records import Batch

    rng = random.Random(7)
    ids = [rid(rng) for _ in range(LONG_RUNS)]
    runs = [
        {
            "run_id": r,
            "experiment": "long",
            "run_name": f"long-{i}",
            "status": "finished",
            "start_time": int(t0 * 1000) + i,
            "end_time": int(t0 * 1000) + 10**6,
            "source": "python",
        }
        for i, r in enumerate(ids)
    ]
    store.write(Batch(experiments={"long": int(t0 * 1000)}, runs=runs))
    for i, r in enumerate(ids):
        start = int(t0 * 1000) + i
        store.write(Batch(metrics_table=curve_table([r], LONG_STEPS, [start], 10**6 - i, 100 + i)))
    return ids


def _add_chain(store, t0: float) -> list[str]:
    """Runs each reading the file the previous one wrote."""
    from workbench.store.records import Batch

    rng = random.Random(11)
    ids = [rid(rng) for _ in range(CHAIN)]
    b = Batch(experiments={"chain": int(t0 * 1000)})
    for i, r in enumerate(ids):
        start = int(t0 * 1000) + i * 10_000
        b.runs.append(
            {
                "run_id": r,
                "experiment": "chain",
                "run_name": f"step-{i}",
                "status": "finished",
                "start_time": start,
                "end_time": start + 5_000,
                "source": "python",
            }
        )
        art = {"run_id": r, "kind": "file", "size": 10, "stored_path": None}
        if i:
            b.artifacts.append(
                art
                | {
                    "path": f"f{i - 1}.csv",
                    "sha256": f"c{i - 1:063x}",
                    "direction": "input",
                    "created_at": start + 1,
                }
            )
        b.artifacts.append(
            art
            | {"path": f"f{i}.csv", "sha256": f"c{i:063x}", "direction": "output", "created_at": start + 2}
        )
    store.write(b)
    return ids


def cached_store(n_runs: int, points: int, long_runs: bool) -> tuple[Path, dict, float | None]:
    """The store for these sizes: from the cache, else built (and the build time)."""
    from workbench.store.migrations import SCHEMA_VERSION

    # A store of an older schema would be migrated on open, and timed doing it.
    directory = CACHE / f"v{BUILD_VERSION}-s{SCHEMA_VERSION}-{n_runs}-{points}-{int(long_runs)}"
    meta = directory / "bench-meta.json"
    if meta.exists():
        return directory, json.loads(meta.read_text()), None
    shutil.rmtree(directory, ignore_errors=True)
    t = time.perf_counter()
    info = build_store(directory, n_runs, points, long_runs)
    took = time.perf_counter() - t
    meta.write_text(json.dumps(info))
    return directory, info, took


def clone_mlflow(db: Path, templates: list[str], total: int) -> None:
    con = sqlite3.connect(db)
    cur = con.cursor()
    tables = {
        t: [c[1] for c in cur.execute(f"PRAGMA table_info({t})")]
        for t in ("runs", "params", "metrics", "latest_metrics", "tags")
    }
    rows = {
        t: cur.execute(
            f"SELECT * FROM {t} WHERE run_uuid IN ({','.join('?' * len(templates))})", templates
        ).fetchall()
        for t in tables
    }
    for i in range(len(templates), total):
        src, new = templates[i % len(templates)], uuid.uuid4().hex
        params, metrics = payload(i)
        for t, cols in tables.items():
            out = []
            for row in rows[t]:
                d = dict(zip(cols, row))
                if d["run_uuid"] != src:
                    continue
                d["run_uuid"] = new
                if t == "params" and d["key"] in params:
                    d["value"] = params[d["key"]]
                if t in ("metrics", "latest_metrics") and d["key"] in metrics:
                    d["value"] = metrics[d["key"]]
                out.append(tuple(d[c] for c in cols))
            cur.executemany(f"INSERT INTO {t} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", out)
    con.commit()
    con.close()
