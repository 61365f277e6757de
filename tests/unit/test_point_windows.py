"""Curves and live polls read some runs' points through time windows
(``queries.windowed_points``) so DuckDB's zone maps skip the row groups written outside
them (issue 16). They, and ``metric_history`` (a series-id join), must find exactly what
a plain filter on run ids finds, however the points lie in time."""

from __future__ import annotations

import random

import duckdb
import pandas as pd
import pytest

from workbench.store import queries
from workbench.store.migrations import MIGRATIONS, SCHEMA_VERSION
from workbench.store.records import Batch
from workbench.store.store import Store

N_RUNS = 60  # more runs than MAX_WINDOWS, so windows hold several runs


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
    store = Store(tmp_path_factory.mktemp("windows") / "store")
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


@pytest.fixture(params=["one window", "many windows"])
def budget(request, monkeypatch):
    """Read through one window (all runs merged) and through one per run."""
    if request.param == "one window":
        monkeypatch.setattr(queries, "MAX_WINDOWS", 1)
    return request.param


def test_time_windows_merge_overlaps_then_cut_at_the_widest_gaps():
    ranges = {
        "a": (0, 10),
        "b": (5, 20),
        "c": (100, 110),
        "d": (115, 120),
        "e": (500, 510),
        "x": (None, None),
    }
    assert queries.time_windows(ranges, 16) == [
        (["a", "b"], 0, 20),
        (["c"], 100, 110),
        (["d"], 115, 120),
        (["e"], 500, 510),
        (["x"], None, None),
    ]
    assert queries.time_windows(ranges, 2) == [
        (["a", "b", "c", "d"], 0, 120),
        (["e"], 500, 510),
        (["x"], None, None),
    ]
    assert queries.time_windows(ranges, 1) == [(["a", "b", "c", "d", "e"], 0, 510), (["x"], None, None)]
    assert queries.time_windows({}, 4) == []


CASES = {
    "one": (slice(3, 4), None),
    "few": (slice(0, 5), ["loss"]),
    "many": (slice(0, N_RUNS), None),
    "reversed": (slice(None, None, -1), ["acc", "loss"]),
    "no-points": (slice(9, 10), None),
    "missing-key": (slice(1, 8), ["nope"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_history_equals_the_plain_filter(store, case, budget):
    sl, keys = CASES[case]
    ids = store.ids[sl]
    with store.session() as con:
        got = queries.metric_history(con, ids, keys)
        want = _plain_history(con, ids, keys)
    pd.testing.assert_frame_equal(got, want)
    if case == "many":
        assert len(got) > 50_000  # the case reads something


def test_a_run_given_twice_reads_twice_as_before(store, budget):
    ids = [store.ids[1], store.ids[2], store.ids[1]]
    with store.session() as con:
        pd.testing.assert_frame_equal(queries.metric_history(con, ids, None), _plain_history(con, ids, None))


def test_spans_without_times_are_read_without_a_time_bound(store, budget, monkeypatch):
    # Since migration 9 every series has its times (metric_series: NOT NULL); a span
    # without them is still read whole.
    spans = queries.series_spans

    def untimed(*args, **kwargs):
        return [s[:5] + (None, None) if s[0] == store.ids[2] else s for s in spans(*args, **kwargs)]

    monkeypatch.setattr(queries, "series_spans", untimed)
    with store.session() as con:
        want = _plain_history(con, store.ids[:6], None)
        assert queries.point_ranges(queries.series_spans(con, store.ids[:6], None))[store.ids[2]] == (
            None,
            None,
        )
        got = queries.metric_history(con, store.ids[:6], None)
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("max_points", [50, 1000, 10_000])
def test_buckets_through_windows_equal_the_plain_series(store, max_points, budget):
    """Series and live cursors read through windows, against buckets computed in pandas
    from the plain history."""
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
