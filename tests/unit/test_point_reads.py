"""Points are read by series id, and long curves from block summaries
(``metric_blocks``), not through the ``metrics`` view (issue 16). ``metric_history``,
curves and live polls must find exactly what a plain filter on run ids finds, however the
points were written: many batches, out of order, repeated steps, NaN, sparse steps."""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pandas as pd
import pytest

from workbench.store import queries
from workbench.store.migrations import MIGRATIONS, SCHEMA_VERSION
from workbench.store.records import Batch
from workbench.store.store import Store

N_RUNS = 60


def _plain_history(con, run_ids, keys):
    sql = (
        "SELECT m.run_id, m.key, m.step, m.value, m.timestamp FROM metrics m "
        "JOIN (SELECT unnest(?::VARCHAR[]) AS run_id, generate_subscripts(?::VARCHAR[], 1) AS o) s "
        "USING (run_id)"
    )
    params = [list(run_ids), list(run_ids)]
    if keys is not None:
        sql += " WHERE m.key IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(keys))
    return con.execute(sql + " ORDER BY s.o, m.key, m.step, m.timestamp", params).df()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Runs whose points interleave in time, arrive in many small batches (many row
    groups), carry times older than other runs' (imports), or none at all."""
    store = Store(tmp_path_factory.mktemp("points") / "store")
    store.check_schema()
    rng = random.Random(3)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(N_RUNS)]
    b = Batch(experiments={"e": 1})
    for i, rid in enumerate(ids):
        b.runs.append(
            {
                "run_id": rid,
                "experiment": "e",
                "run_name": f"r{i}",
                "status": "finished",
                "start_time": 1_000_000 + i * 1000,
                "end_time": 2_000_000,
                "source": "python",
                "parent_run_id": None,
            }
        )
    store.write(b)
    for rnd in range(40):
        b = Batch()
        for i, rid in enumerate(ids):
            if i % 10 == 9 or rng.random() < 0.5:
                continue  # every tenth run logs nothing
            keys = ["loss", "acc"] if i % 3 else ["loss"]
            # Run 0 brings old times (as an import would); the rest log as time passes.
            t = 10.0 + rnd if i == 0 else 1_000.0 + rnd * 60 + i
            steps = list(range(rnd * 100, rnd * 100 + 100))
            for k in keys:
                b.metrics.append(
                    (rid, [k] * len(steps), steps, [rng.random() for _ in steps], [t] * len(steps))
                )
        store.write(b)
    store.ids = ids
    return store


CASES = {
    "one": (slice(3, 4), None),
    "few": (slice(0, 5), ["loss"]),
    "many": (slice(0, N_RUNS), None),
    "reversed": (slice(None, None, -1), ["acc", "loss"]),
    "no-points": (slice(9, 10), None),
    "missing-key": (slice(1, 8), ["nope"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_history_equals_the_plain_filter(store, case):
    sl, keys = CASES[case]
    ids = store.ids[sl]
    with store.session() as con:
        got = queries.metric_history(con, ids, keys)
        want = _plain_history(con, ids, keys)
    pd.testing.assert_frame_equal(got, want)
    if case == "many":
        assert len(got) > 50_000  # the case reads something


def test_a_run_given_twice_reads_twice_as_before(store):
    ids = [store.ids[1], store.ids[2], store.ids[1]]
    with store.session() as con:
        pd.testing.assert_frame_equal(queries.metric_history(con, ids, None), _plain_history(con, ids, None))


def test_migration_8_backfills_the_point_times(tmp_path):
    """A store written before migration 8 gets each span's times from its points."""
    (tmp_path / "old").mkdir()
    con = duckdb.connect(str(tmp_path / "old" / "workbench.duckdb"))
    con.execute(
        "CREATE TABLE _workbench_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMP NOT NULL)"
    )
    for number, (name, sql) in enumerate(MIGRATIONS[:7], start=1):
        con.execute(sql)
        con.execute("INSERT INTO _workbench_migrations VALUES (?, ?, current_timestamp)", [number, name])
    con.execute("INSERT INTO experiments VALUES ('e', 1)")
    con.execute(
        "INSERT INTO runs (run_id, experiment, run_name, status, start_time, source) "
        "VALUES (?, 'e', 'r', 'finished', 1, 'python')",
        ["cd" * 16],
    )
    con.execute(
        "INSERT INTO metrics VALUES (?, 'loss', 0, 0.5, 5000), (?, 'loss', 1, 0.4, 7000), (?, 'loss', 2, 0.3, 6000)",
        ["cd" * 16] * 3,
    )
    con.execute("INSERT INTO latest_metrics VALUES (?, 'loss', 2, 0.3, 6000)", ["cd" * 16])
    con.execute("INSERT INTO metric_spans VALUES (?, 'loss', 0, 2, 3)", ["cd" * 16])
    con.close()
    assert SCHEMA_VERSION >= 8
    store = Store(tmp_path / "old")
    with store.session() as con:
        got = con.execute("SELECT min_ts, max_ts FROM metric_spans").fetchall()
    assert got == [(5000, 7000)]


@pytest.mark.parametrize("max_points", [50, 1000, 10_000])
def test_buckets_equal_the_plain_series(store, max_points):
    """Series and live cursors by series id, against buckets computed in pandas from the
    plain history (these series span too few blocks to be read from them)."""
    ids = store.ids[:20]
    with store.session() as con:
        rows = queries.metric_buckets(con, ids, None, max_points)
        plain = _plain_history(con, ids, None)
        cursors = [None if i % 2 else 1500 for i in range(len(ids))]
        live = queries.metric_buckets(con, ids, None, max_points, after=cursors)
    for got, df in (
        (rows, plain),
        (live, plain[plain["step"] > plain["run_id"].map(dict(zip(ids, cursors))).fillna(-1)]),
    ):
        want = set()
        for (rid, key), g in df.groupby(["run_id", "key"]):
            s0, s1, n = g["step"].min(), g["step"].max(), len(g)
            if n > max_points:
                width = (s1 - s0 + 1) / (max_points // 2)
                b = ((g["step"] - s0) / width).apply(int)
            else:
                b = g["step"]
            for bucket, gg in g.groupby(b):
                want.add((rid, key, float(bucket), float(gg["value"].min()), float(gg["value"].max())))
        assert {(r[0], r[1], float(r[2]), r[4], r[6]) for r in got} == want
        assert got


# -- long curves: block summaries ------------------------------------------------------
LONG = {
    # name: (steps, batches): each a different way points arrive
    "dense": (np.arange(300_000), 7),
    "shuffled": (np.random.default_rng(1).permutation(200_000), 13),
    "repeated": (np.repeat(np.arange(100_000), 2), 5),
    "sparse": (np.arange(0, 40_000_000, 100), 3),
    "negative": (np.arange(-150_000, 150_000), 4),
    "one batch": (np.arange(150_000), 1),
}


def _values(rng, n):
    v = rng.normal(size=n).cumsum()
    v[rng.integers(0, n, 20)] = np.nan
    v[rng.integers(0, n, 5)] = np.inf
    v[rng.integers(0, n, 5)] = -np.inf
    v[rng.integers(0, n, 50)] = 0.1  # not a float32: a value64 point
    return v


@pytest.fixture(scope="module")
def long_store(tmp_path_factory):
    """One run per way of writing, plus a short run beside them, each logging ``loss``
    (and the dense one ``acc`` too)."""
    store = Store(tmp_path_factory.mktemp("long") / "store")
    rng = np.random.default_rng(7)
    ids = {name: f"{i:032x}" for i, name in enumerate([*LONG, "short"])}
    b = Batch(experiments={"e": 1})
    for name, rid in ids.items():
        b.runs.append(
            {
                "run_id": rid,
                "experiment": "e",
                "run_name": name,
                "status": "finished",
                "start_time": 1,
                "end_time": 2,
                "source": "python",
                "parent_run_id": None,
            }
        )
    store.write(b)
    for name, (steps, batches) in LONG.items():
        keys = ["loss", "acc"] if name == "dense" else ["loss"]
        for key in keys:
            values = _values(rng, len(steps))
            for part in np.array_split(np.arange(len(steps)), batches):
                store.write(
                    Batch(
                        metrics=[
                            (
                                ids[name],
                                [key] * len(part),
                                steps[part].tolist(),
                                values[part].tolist(),
                                [1000.0] * len(part),
                            )
                        ]
                    )
                )
    store.write(
        Batch(metrics=[(ids["short"], ["loss"] * 100, list(range(100)), list(range(100)), [1000.0] * 100)])
    )
    store.ids = ids
    return store


def _nan_key(x):
    return "nan" if x != x else x


def _block_reference(df, max_points):
    """Buckets of whole 256-step blocks (equal step ranges for a series spanning fewer
    blocks than buckets), computed in pandas from the plain points (NaN above every
    number, as DuckDB orders it)."""
    want = {}
    for (rid, key), g in df.groupby(["run_id", "key"]):
        step = g["step"].to_numpy()
        blk, buckets = step >> 8, max_points // 2
        b0, nb = blk.min(), blk.max() - blk.min() + 1
        if nb >= buckets:
            b = (blk - b0) // -(-nb // buckets)
        else:  # too few blocks: equal step ranges of the points
            b = np.floor((step - step.min()) / ((step.max() - step.min() + 1) / buckets)).astype(int)
        for bucket, gg in g.groupby(b):
            v = gg["value"]
            hi = np.nan if v.isna().any() else v.max()
            lo = v.min() if v.notna().any() else np.nan
            want[(rid, key, int(bucket))] = (_nan_key(lo), _nan_key(hi))
    return want


@pytest.mark.parametrize("max_points", [200, 1000])
def test_long_curves_from_blocks_equal_the_points(long_store, max_points):
    ids = list(long_store.ids.values())
    with long_store.session() as con:
        rows = queries.metric_buckets(con, ids, None, max_points)
        plain = _plain_history(con, ids, None)
    long = plain[plain["run_id"] != long_store.ids["short"]]
    want = _block_reference(long, max_points)
    long_ids = set(long["run_id"])
    got = {(r[0], r[1], int(r[2])): (_nan_key(r[4]), _nan_key(r[6])) for r in rows if r[0] in long_ids}
    assert got == want
    assert len(got) > 7 * (max_points // 4)
    for rid, key in long.groupby(["run_id", "key"]).groups:
        assert len([k for k in got if k[:2] == (rid, key)]) <= max_points // 2
    # Each point drawn is a point of the series: its step holds that value.
    points = set(zip(plain["run_id"], plain["key"], plain["step"], map(_nan_key, plain["value"])))
    for rid, key, _b, lo_step, lo, hi_step, hi in rows:
        assert (rid, key, lo_step, _nan_key(lo)) in points
        assert (rid, key, hi_step, _nan_key(hi)) in points
    # The short run keeps every point.
    short = [r for r in rows if r[0] == long_store.ids["short"]]
    assert [r[3] for r in short] == list(range(100))


def test_blocks_count_every_point(long_store):
    with long_store.session() as con:
        bad = con.execute(
            "SELECT s.sid, s.n, b.n FROM metric_series s FULL JOIN "
            "(SELECT sid, sum(n) AS n FROM metric_blocks GROUP BY sid) b USING (sid) "
            "WHERE s.n IS DISTINCT FROM b.n"
        ).fetchall()
    assert bad == []


def test_a_series_missing_blocks_is_read_from_its_points(long_store, tmp_path):
    """Blocks that do not account for every point (a store damaged by hand) are not
    used: the curve comes from the points, in equal step ranges."""
    ids = [long_store.ids["dense"]]
    with long_store.session() as con:
        sid = con.execute("SELECT sid FROM metric_series WHERE run_id = ? AND key = 'loss'", ids).fetchone()[
            0
        ]
        before = queries.metric_buckets(con, ids, ["loss"], 1000)
        con.execute("BEGIN")
        con.execute("DELETE FROM metric_blocks WHERE sid = ? AND block = 3", [sid])
        after = queries.metric_buckets(con, ids, ["loss"], 1000)
        con.execute("ROLLBACK")
        plain = _plain_history(con, ids, ["loss"])
    assert len(after) == 500 and len(before) == -(-1172 // 3)  # 300k steps: 1,172 blocks, 3 a bucket
    width = 300_000 / 500
    assert after[0][2] == 0 and after[-1][2] == 499
    assert after[10][4] == plain["value"][(plain["step"] >= 10 * width) & (plain["step"] < 11 * width)].min()


def test_deleting_a_runs_metrics_deletes_its_blocks(long_store):
    from workbench.store import imports

    rid = long_store.ids["sparse"]
    with long_store.session() as con:
        con.execute("BEGIN")
        sids = [r[0] for r in con.execute("SELECT sid FROM metric_series WHERE run_id = ?", [rid]).fetchall()]
        imports.delete_metrics(con, [rid])
        left = con.execute(f"SELECT count(*) FROM metric_blocks WHERE sid IN ({sids[0]})").fetchone()[0]
        con.execute("ROLLBACK")
    assert sids and left == 0


def test_migration_10_summarizes_the_stored_points(long_store, tmp_path):
    """A store from before metric_blocks gets them from its points, the same as writes
    made them."""
    import shutil

    with long_store.session() as con:
        want = con.execute(
            "SELECT sid, block, sum(n), min(lo), max(hi) FROM metric_blocks GROUP BY ALL"
        ).fetchall()
    long_store.release()  # the copy must not be taken while the file is attached
    shutil.copytree(long_store.directory, tmp_path / "old")
    con = duckdb.connect(str(tmp_path / "old" / "workbench.duckdb"))
    con.execute("DROP TABLE metric_blocks")
    con.execute("DROP TABLE run_values")  # migration 11, after it
    con.execute("DELETE FROM _workbench_migrations WHERE version >= 10")
    con.close()
    with Store(tmp_path / "old").session() as con:
        got = con.execute(
            "SELECT sid, block, sum(n), min(lo), max(hi) FROM metric_blocks GROUP BY ALL"
        ).fetchall()
        assert con.execute("SELECT max(version) FROM _workbench_migrations").fetchone()[0] == SCHEMA_VERSION
    key = lambda rows: sorted((r[0], r[1], r[2], _nan_key(r[3]), _nan_key(r[4])) for r in rows)  # noqa: E731
    assert key(got) == key(want) and len(got) > 2000
