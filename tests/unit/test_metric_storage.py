"""Metric points are stored in 4 bytes a value where float32 holds the value exactly, and
in 8 otherwise (``metric_points``), with one summary row per series (``metric_series``);
``metrics``, ``latest_metrics`` and ``metric_spans`` are views. Every value must come back
bit for bit, whatever path wrote it, and a store of the old layout is converted whole."""

from __future__ import annotations

import math
import random
import struct

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import workbench as wb
from workbench.store import get_store, imports
from workbench.store.migrations import MIGRATIONS, SCHEMA_VERSION
from workbench.store.points import series_points
from workbench.store.records import Batch
from workbench.store.store import Store

F32 = np.float32

#: Finite values wb.log_metric takes, each with its own storage question.
FINITE = [
    0.0,
    -0.0,
    0.1,  # not a float32: 8 bytes
    float(F32(0.1)),  # what a GPU's float32 0.1 becomes in Python: 4 bytes
    1 / 3,
    float(F32(1 / 3)),
    5e-324,  # the smallest float64 subnormal
    2.2250738585072014e-308,  # the smallest normal float64
    float(F32(1e-45)),  # the smallest float32 subnormal
    float(F32(1.1754942e-38)),  # a float32 subnormal
    float(np.finfo(F32).max),
    float(np.nextafter(float(np.finfo(F32).max), math.inf)),  # just beyond float32
    -float(np.finfo(F32).max),
    1e300,
    -1e300,
    1.7976931348623157e308,
    16777216.0,
    16777217.0,  # the first integer float32 cannot hold
    2.0**63,
    123456.789,
    float(F32(123456.789)),
]
#: What only other paths (MLflow's API, importers) bring: NaN of every kind and infinities.
NON_FINITE = [
    math.nan,
    -math.nan,
    struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000001))[0],  # a signalling NaN
    struct.unpack("<d", struct.pack("<Q", 0x7FF80000DEADBEEF))[0],  # a NaN with a payload
    math.inf,
    -math.inf,
]


def bits(values) -> list[int]:
    return [struct.unpack("<Q", struct.pack("<d", float(v)))[0] for v in values]


def test_every_finite_value_round_trips_bit_for_bit_through_the_public_api():
    with wb.start_run() as run:
        for i, v in enumerate(FINITE):
            wb.log_metric("v", v, step=i)
        wb.log_metric("gpu", np.float32(0.1))  # a float32 scalar, as a GPU loop logs it
    wb.flush()
    h = wb.metric_history([run.run_id], ["v"])
    assert list(h["step"]) == list(range(len(FINITE)))
    assert bits(h["value"]) == bits(FINITE)
    assert bits(wb.metric_history([run.run_id], ["gpu"])["value"]) == bits([float(F32(0.1))])
    assert bits([wb.get_run(run.run_id).metrics["v"]]) == bits([FINITE[-1]])
    # Both halves of the storage were used: 4 bytes where float32 holds the value.
    with get_store().session() as con:
        n32, n64 = con.execute("SELECT count(value32), count(value64) FROM metric_points").fetchone()
    with np.errstate(over="ignore"):
        exact = sum(1 for v in FINITE if float(F32(v)) == v)
    assert (n32, n64) == (exact + 1, len(FINITE) - exact)


def test_nan_and_infinities_round_trip_bit_for_bit_through_an_import(tmp_path):
    """NaN (with its sign and payload) and infinities come from MLflow's API and importers,
    which write through ``imports.insert_points``."""
    store = Store(tmp_path / "s")
    values = NON_FINITE + FINITE
    rid = "ab" * 16
    store.write(Batch(experiments={"e": 1}, runs=[_run(rid)]))
    points = pa.table(
        {
            "run_id": [rid] * len(values),
            "key": ["v"] * len(values),
            "step": pa.array(range(len(values)), pa.int64()),
            "value": pa.array(values, pa.float64()),
            "timestamp": pa.array([1000] * len(values), pa.int64()),
        }
    )
    with store.session() as con, imports.transaction(con):
        assert imports.insert_points(con, points) == len(values)
    h = store.metric_history([rid], ["v"])
    assert bits(h["value"]) == bits(values)
    with store.session() as con:
        got = imports.metric_points(con, rid, "v")
        # Written again, every point is found equal (the dedupe reads the view) and skipped.
        with imports.transaction(con):
            assert imports.insert_points(con, points) == 0
    assert sorted(bits(g[2] for g in got)) == sorted(bits(values))


def test_the_mlflow_api_stores_nan_as_nan(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    mlflow.set_tracking_uri(f"workbench://{tmp_path / 'ml' / '.workbench'}")
    try:
        with mlflow.start_run() as r:
            mlflow.log_metric("x", math.nan, step=0)
            mlflow.log_metric("x", -math.inf, step=1)
            mlflow.log_metric("x", 0.1, step=2)
        hist = mlflow.MlflowClient().get_metric_history(r.info.run_id, "x")
    finally:
        mlflow.set_tracking_uri(None)
    assert math.isnan(hist[0].value) and hist[1].value == -math.inf and hist[2].value == 0.1


def _run(rid: str, i: int = 0) -> dict:
    return {
        "run_id": rid,
        "experiment": "e",
        "run_name": f"r{i}",
        "status": "finished",
        "start_time": 1 + i,
        "end_time": 2 + i,
        "source": "python",
    }


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value", "timestamp"])


def _reference(points: pd.DataFrame) -> pd.DataFrame:
    """Latest point and extent per (run, key), as MLflow defines the latest: highest step,
    then newest time, then largest value (NaN above all)."""
    df = points.assign(nan=points["value"].isna())
    df = df.sort_values(["run_id", "key", "step", "timestamp", "nan", "value"], kind="stable")
    g = df.groupby(["run_id", "key"], sort=True)
    out = g.agg(
        min_step=("step", "min"),
        max_step=("step", "max"),
        n=("step", "size"),
        min_ts=("timestamp", "min"),
        max_ts=("timestamp", "max"),
    )
    last = g.tail(1).set_index(["run_id", "key"])
    out["value"], out["timestamp"] = last["value"], last["timestamp"]
    return out.reset_index()


def _summaries(store: Store) -> pd.DataFrame:
    with store.session() as con:
        return con.execute(
            "SELECT l.run_id, l.key, s.min_step, s.max_step, s.n, s.min_ts, s.max_ts, l.value, l.timestamp, "
            "l.step FROM latest_metrics l JOIN metric_spans s USING (run_id, key) ORDER BY 1, 2"
        ).df()


@pytest.mark.parametrize("seed", range(4))
def test_summaries_equal_a_recomputation_whatever_the_batches(tmp_path, seed):
    """Points of several runs and keys, ties of step and time, NaN and repeated values,
    written in random batches through every input shape (lists of one or many keys, one
    run over several entries, Arrow tables with plain or dictionary run ids and keys):
    the views give what a recomputation from every point gives."""
    rng = random.Random(seed)
    runs = [f"{rng.getrandbits(128):032x}" for _ in range(5)]
    keys = ["loss", "acc", "lr"]
    rows = []
    for _ in range(3000):
        v = rng.choice([rng.random(), float(F32(rng.random())), math.nan, 1.0, 2.0])
        rows.append((rng.choice(runs), rng.choice(keys), rng.randrange(40), v, rng.randrange(5) * 1000))
    store = Store(tmp_path / "s")
    store.write(Batch(experiments={"e": 1}, runs=[_run(r, i) for i, r in enumerate(runs)]))
    i = 0
    while i < len(rows):
        part = rows[i : i + rng.randrange(1, 400)]
        i += len(part)
        shape = rng.randrange(4)
        b = Batch()
        if shape == 0:  # lists: one entry per point's run, each entry maybe many keys
            for rid in runs:
                mine = [p for p in part if p[0] == rid]
                if mine:
                    b.metrics.append(
                        (
                            rid,
                            [p[1] for p in mine],
                            [p[2] for p in mine],
                            [p[3] for p in mine],
                            [p[4] / 1000 for p in mine],
                        )
                    )
        elif shape == 1:  # lists: one entry per point (a run over several entries)
            b.metrics = [(p[0], [p[1]], [p[2]], [p[3]], [p[4] / 1000]) for p in part]
        else:
            run_col = pa.array([p[0] for p in part], pa.string())
            key_col = pa.array([p[1] for p in part], pa.string())
            if shape == 3:
                run_col, key_col = run_col.dictionary_encode(), key_col.dictionary_encode()
            b.metrics_table = pa.table(
                {
                    "run_id": run_col,
                    "key": key_col,
                    "step": pa.array([p[2] for p in part], pa.int64()),
                    "value": pa.array([p[3] for p in part], pa.float64()),
                    "timestamp": pa.array([p[4] for p in part], pa.int64()),
                }
            )
        store.write(b)
    want = _reference(_frame(rows))
    got = _summaries(store)
    assert (got["step"] == got["max_step"]).all()
    for col in ("run_id", "key", "min_step", "max_step", "n", "min_ts", "max_ts", "timestamp"):
        assert list(got[col]) == list(want[col]), col
    assert bits(got["value"]) == bits(want["value"])
    history = store.metric_history(runs)
    assert len(history) == len(rows)
    with store.session() as con:
        sids = con.execute("SELECT count(DISTINCT sid), count(*) FROM metric_series").fetchone()
    assert sids[0] == sids[1] == len(want)


def test_a_dictionary_with_a_value_twice_is_one_series():
    table = pa.table(
        {
            "run_id": pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int32()), pa.array(["a", "a"])),
            "key": pa.array(["k", "k", "j"]),
            "step": pa.array([1, 2, 3], pa.int64()),
            "value": pa.array([1.0, 2.0, 3.0]),
            "timestamp": pa.array([1, 2, 3], pa.int64()),
        }
    )
    pts = series_points(Batch(metrics_table=table))
    assert sorted(pts.series) == [("a", "j"), ("a", "k")]
    summary = pts.summary().to_pydict()
    assert dict(zip(summary["key"], summary["n"])) == {"k": 2, "j": 1}


# -- the migration ------------------------------------------------------------------------
def _store_at(path, version: int) -> duckdb.DuckDBPyConnection:
    """A store file created by the first ``version`` migrations, as that version left it."""
    path.mkdir(parents=True)
    con = duckdb.connect(str(path / "workbench.duckdb"))
    con.execute(
        "CREATE TABLE _workbench_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMP NOT NULL)"
    )
    for number, (name, sql) in enumerate(MIGRATIONS[:version], start=1):
        sql(con) if callable(sql) else con.execute(sql)
        con.execute("INSERT INTO _workbench_migrations VALUES (?, ?, current_timestamp)", [number, name])
    return con


OLD_POINTS = [
    # run, key, step, value, timestamp
    ("a" * 32, "loss", 0, 0.5, 1000),
    ("a" * 32, "loss", 1, 0.1, 2000),
    ("a" * 32, "loss", 1, math.nan, 2000),  # same step and time: NaN is the largest, the latest
    ("a" * 32, "loss", 0, 1e300, 3000),
    ("a" * 32, "acc", 5, -0.0, 500),
    ("a" * 32, "acc", 2, float(F32(0.3)), 9000),
    ("b" * 32, "loss", 3, math.inf, 4000),
    ("b" * 32, "loss", 3, 5e-324, 4000),
]


def _old_store(tmp_path, *, summaries: bool = True):
    """A store of schema 8 holding OLD_POINTS (and their summaries, as version 8 wrote them)."""
    con = _store_at(tmp_path / "old", 8)
    con.execute("INSERT INTO experiments VALUES ('e', 0)")
    for i, rid in enumerate(("a" * 32, "b" * 32)):
        con.execute(
            "INSERT INTO runs (run_id, experiment, run_name, status, start_time, source) "
            "VALUES (?, 'e', ?, 'finished', ?, 'python')",
            [rid, f"r{i}", i],
        )
    # Arrow, not pandas: DuckDB reads a NaN of a DataFrame as NULL.
    cols = list(zip(*OLD_POINTS))
    con.register(
        "_old",
        pa.table(
            {"run_id": cols[0], "key": cols[1], "step": cols[2], "value": cols[3], "timestamp": cols[4]}
        ),
    )
    con.execute("INSERT INTO metrics SELECT * FROM _old")
    if summaries:
        # (From pandas: DuckDB's arg_max over a struct reads -0.0 back as 0.0.)
        df = _reference(_frame(OLD_POINTS))
        ref = pa.table({c: pa.array(df[c].to_numpy(), from_pandas=False) for c in df.columns})
        con.register("_ref", ref)
        con.execute("INSERT INTO latest_metrics SELECT run_id, key, max_step, value, timestamp FROM _ref")
        con.execute(
            "INSERT INTO metric_spans SELECT run_id, key, min_step, max_step, n, min_ts, max_ts FROM _ref"
        )
    con.close()
    return Store(tmp_path / "old")


@pytest.mark.parametrize("summaries", [True, False], ids=["summaries", "summaries lost"])
def test_a_store_of_schema_8_is_converted_whole(tmp_path, summaries):
    store = _old_store(tmp_path, summaries=summaries)
    assert store.schema_version() == SCHEMA_VERSION
    want = _frame(OLD_POINTS)
    got = store.metric_history(["a" * 32, "b" * 32])
    got["timestamp"] = (got["timestamp"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    key = ["run_id", "key", "step", "timestamp"]
    want = want.sort_values(key, kind="stable").reset_index(drop=True)
    got = got.sort_values(key, kind="stable").reset_index(drop=True)
    assert got[key].equals(want[key])
    # NaN and 5e-324 share (run, key, step, time) with another point: compare as sets.
    assert sorted(bits(got["value"])) == sorted(bits(want["value"]))
    summary = _summaries(store)
    ref = _reference(_frame(OLD_POINTS))
    for col in ("run_id", "key", "min_step", "max_step", "n", "min_ts", "max_ts", "timestamp"):
        assert list(summary[col]) == list(ref[col]), col
    assert bits(summary["value"]) == bits(ref["value"])
    # The store goes on: new points of an old series and of a new one.
    store.write(Batch(metrics=[("a" * 32, ["loss", "new"], [7, 0], [0.25, 1.5], [10.0, 10.0])]))
    assert wb.get_run("a" * 32, store=store).metrics == {"acc": -0.0, "loss": 0.25, "new": 1.5}
    with store.session() as con:
        assert con.execute("SELECT count(DISTINCT sid) = count(*) FROM metric_series").fetchone()[0]
        assert (
            con.execute(
                "SELECT count(*) FROM metric_points WHERE (value32 IS NULL) = (value64 IS NULL)"
            ).fetchone()[0]
            == 0
        )
        old = con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name IN ('metrics', 'latest_metrics')")
        assert old.fetchall() == []


def test_reads_use_the_series_id_to_skip_row_groups(tmp_path):
    """A read of one run's points through the ``metrics`` view scans only the row groups
    holding its series (the join passes the series id down to the scan's zone maps)."""
    store = Store(tmp_path / "s")
    runs = [f"{i:032x}" for i in range(40)]
    store.write(Batch(experiments={"e": 1}, runs=[_run(r, i) for i, r in enumerate(runs)]))
    n = 20_000
    for r in runs:  # 40 series of 20,000 points: several row groups
        store.write(Batch(metrics=[(r, ["loss"] * n, list(range(n)), [0.5] * n, [1.0] * n)]))
    with store.session() as con:
        sql = "SELECT count(*) FROM metrics WHERE run_id = ?"
        plan = con.execute(f"EXPLAIN ANALYZE {sql}", [runs[7]]).fetchall()[0][1]
        assert con.execute(sql, [runs[7]]).fetchone()[0] == n
    import re

    after = plan[plan.index("metric_points") :]
    scanned, total = map(int, re.search(r"Row Groups Scanned: (\d+) / (\d+)", after).groups())
    assert total >= 6 and scanned <= 2, plan
