"""The query paths added for scale (issue 16) give what the plain paths give, on one store.

- ``search_runs`` spreads params, metrics and tags into columns in Arrow, once per table;
  ``iter_runs`` pivots them in DuckDB; the plain path pivots long
  rows in pandas (``queries.select_runs`` + ``queries.runs_frame``).
- ``iter_runs`` streams the same frame in batches; the CLI's CSV is written from it.
- ``resolve_run_ids`` resolves full ids in one query; the plain path resolves each.
- ``metric_history`` resolves prefixes in its own session.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from click.testing import CliRunner

import workbench as wb
from workbench.api import iter_runs
from workbench.cli import cli
from workbench.store import queries
from workbench.store.records import Batch
from workbench.store.search import build_query
from workbench.store.store import Store

N_RUNS = 4500  # more than two 2,048-row DuckDB vectors: iter_runs yields several batches
# Keys that a naive pivot gets wrong: case-only differences (SQL identifiers ignore
# case), quotes, dots, spaces, and a key present in one table and absent in others.
ODD_KEYS = ["Alpha", "alpha", 'q"uote', "it's", "a.b c", "lr"]


def _build(directory) -> Store:
    store = Store(directory)
    store.check_schema()
    rng = random.Random(5)
    b = Batch(experiments={"e1": 1, "e2": 2})
    for i in range(N_RUNS):
        rid = f"{rng.getrandbits(128):032x}"
        b.runs.append(
            {
                "run_id": rid,
                "experiment": "e1" if i % 3 else "e2",
                "run_name": f"r{i}",
                "status": "finished" if i % 7 else "failed",
                "start_time": 10_000 + i * 1000,
                "end_time": None if i % 11 == 0 else 10_500 + i * 1000,
                "source": "python",
                "parent_run_id": None,
            }
        )
        if i % 50 == 7:
            continue  # a run with no params, metrics or tags at all (no run_values row)
        # Each run has a random subset of keys, so every column has holes.
        for k in ODD_KEYS:
            if rng.random() < 0.6:
                b.params.append((rid, k, str(rng.choice([0.1, 1, "x", ""]))))
        b.params.append((rid, "model", ["ridge", "lasso", "tree"][i % 3]))
        keys = [k for k in ("rmse", "Rmse", "loss") if rng.random() < 0.8]
        b.metrics.append((rid, keys, [0] * len(keys), [rng.random() * 100 for _ in keys], [1.0] * len(keys)))
        if i % 2:
            b.tags.append((rid, "team", "ab"[i % 4 // 2]))
        if i % 5 == 0:
            b.tags.append((rid, "it's", "t"))
    store.write(b)
    ids = [r["run_id"] for r in b.runs]
    store.set_deleted(ids[3], True)
    return store


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("scale") / "store")


def _plain(store: Store, flt=None, order=None, experiment=None, deleted=False, limit=None, offset=0):
    with store.session() as con:
        base, long = queries.select_runs(con, build_query(flt, order), experiment, deleted, limit, offset)
    return queries.runs_frame(base, long)


CASES = [
    {},
    {"flt": "metrics.rmse < 50 and params.model = 'ridge'", "order": ["metrics.rmse ASC"]},
    {"flt": "params.`it's` = 'x' or tags.team = 'a'", "order": ["params.Alpha DESC", "attributes.run_name"]},
    {"experiment": "e2", "deleted": True},
    {"limit": 200, "offset": 0},
    {"limit": 200, "offset": 4400, "order": ["metrics.loss DESC"]},
    {"flt": "params.model = 'none'"},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(c) or "all")
def test_search_runs_equals_the_plain_path(big, case):
    got = big.search_runs(
        case.get("flt"),
        case.get("order"),
        case.get("experiment"),
        case.get("deleted", False),
        case.get("limit"),
        case.get("offset", 0),
    )
    want = _plain(big, **case)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want)


def test_the_odd_keys_are_distinct_columns(big):
    cols = set(big.search_runs(limit=500).columns)
    assert {"params.Alpha", "params.alpha", 'params.q"uote', "params.it's", "params.a.b c"} <= cols
    assert {"metrics.rmse", "metrics.Rmse", "tags.it's"} <= cols


@pytest.mark.parametrize(
    "case", [{}, CASES[1], CASES[3], {"limit": 3000}], ids=["all", "filtered", "e2", "3000"]
)
def test_iter_runs_streams_the_same_frame_in_batches(big, case):
    kwargs = dict(
        filter=case.get("flt"),
        order_by=case.get("order"),
        experiment=case.get("experiment"),
        include_deleted=case.get("deleted", False),
        limit=case.get("limit"),
    )
    batches = list(big.iter_runs(**kwargs, batch_rows=2048))
    whole = big.search_runs(**kwargs)
    if len(whole) > 2048:
        assert len(batches) > 1 and max(len(b) for b in batches) <= 2048
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole)


def test_iter_runs_with_no_match_still_gives_the_columns(big):
    batches = list(iter_runs("params.model = 'none'", store=big))
    assert len(batches) == 1 and batches[0].empty
    assert list(batches[0].columns) == list(big.search_runs("params.model = 'none'").columns)


def test_iter_runs_closed_early_releases_the_store(big):
    it = big.iter_runs(batch_rows=2048)
    next(it)
    it.close()
    assert len(big.search_runs(limit=5)) == 5  # the lock and the _sel table are free again


def test_cli_csv_is_the_dataframes_csv(big):
    for args, flt in (([], None), (["-f", "params.model = 'tree'", "-n", "2100"], "params.model = 'tree'")):
        res = CliRunner().invoke(
            cli,
            ["--store", str(big.directory), "runs", "--format", "csv", *args],
            obj={},
            catch_exceptions=False,
        )
        assert res.exit_code == 0
        want = _plain(big, flt=flt, limit=2100 if args else None).to_csv(index=False)
        assert res.output == want


def test_cli_csv_bad_filter_is_one_line(big):
    res = CliRunner().invoke(
        cli, ["--store", str(big.directory), "runs", "--format", "csv", "-f", "params.x ="], obj={}
    )
    assert res.exit_code == 1
    assert res.output.startswith("Error: invalid filter") and res.output.count("\n") == 1


def test_resolve_run_ids_equals_one_by_one(big):
    ids = list(big.search_runs(limit=40)["run_id"])
    refs = [*ids[:10], *(i[:12] for i in ids[10:20]), f"  {ids[20]} "]
    with big.session() as con:
        assert queries.resolve_run_ids(con, refs) == [queries.resolve_run_id(con, r) for r in refs]
        for bad, err in (("", wb.WorkbenchError), ("zz", wb.RunNotFoundError), ("", wb.WorkbenchError)):
            with pytest.raises(err):
                queries.resolve_run_ids(con, [ids[0], bad])


def test_metric_history_by_prefix_equals_by_full_id(big):
    ids = list(big.search_runs(limit=20)["run_id"])
    by_prefix = wb.metric_history([i[:10] for i in ids], store=big)
    pd.testing.assert_frame_equal(by_prefix, wb.metric_history(ids, store=big))
    assert list(dict.fromkeys(by_prefix["run_id"])) == [i for i in ids if i in set(by_prefix["run_id"])]


# The lineage step as it was written before issue 16 (a join of every artifact to its
# run, then the filter): the plain path the rewritten queries must equal.
_PLAIN_ARTIFACTS = (
    "SELECT a.run_id, a.path, a.kind, a.sha256, a.size, a.direction, a.name, a.created_at "
    "FROM artifacts a JOIN runs r USING (run_id) WHERE r.deleted_at IS NULL AND "
    "(a.run_id IN (SELECT unnest(?::VARCHAR[])) OR a.sha256 IN (SELECT unnest(?::VARCHAR[]))) "
    "ORDER BY a.created_at, a.rowid"
)
_PLAIN_RUNS = (
    "SELECT run_id, run_name, status, experiment, source, parent_run_id, start_time FROM runs "
    "WHERE deleted_at IS NULL AND (run_id IN (SELECT unnest(?::VARCHAR[])) "
    "OR parent_run_id IN (SELECT unnest(?::VARCHAR[])) "
    "OR run_id IN (SELECT parent_run_id FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))))"
)


def _plain_step(con, run_ids, shas):
    artifacts = queries.artifact_dicts(con, _PLAIN_ARTIFACTS, [list(run_ids), list(shas)])
    ids = sorted({*run_ids, *(a["run_id"] for a in artifacts)})
    cur = con.execute(_PLAIN_RUNS, [ids, list(run_ids), list(run_ids)])
    cols = [d[0] for d in cur.description]
    return {"artifacts": artifacts, "runs": {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}}


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """60 runs: chains by file hashes, a file read by many, reruns (parents), a deleted
    run in the middle of a chain, and artifacts created in the same millisecond."""
    store = Store(tmp_path_factory.mktemp("lineage") / "store")
    store.check_schema()
    rng = random.Random(3)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(60)]
    b = Batch(experiments={"e": 1})
    for i, rid in enumerate(ids):
        parent = ids[i - 5] if i % 9 == 0 and i >= 5 else None
        b.runs.append(
            {
                "run_id": rid,
                "experiment": "e",
                "run_name": f"r{i}",
                "status": "finished",
                "start_time": 1000 + i,
                "end_time": 2000 + i,
                "source": "rerun" if parent else "python",
                "parent_run_id": parent,
            }
        )
        art = {"run_id": rid, "kind": "file", "size": 1, "stored_path": None, "created_at": 5000 + i // 3}
        b.artifacts.append(art | {"path": f"out{i}", "sha256": f"{i:064x}", "direction": "output"})
        if i:
            b.artifacts.append(art | {"path": f"in{i}", "sha256": f"{i - 1:064x}", "direction": "input"})
        b.artifacts.append(
            art | {"path": "shared.csv", "sha256": "f" * 64, "direction": "input", "kind": "dataset"}
        )
    store.write(b)
    store.set_deleted(ids[20], True)
    return store, ids


def test_lineage_step_equals_the_plain_join(linked):
    store, ids = linked
    cases = [
        (ids[:1], []),
        (ids[18:23], [f"{i:064x}" for i in (19, 20, 40)]),
        ([ids[10], ids[45]], ["f" * 64]),
        ([], [f"{i:064x}" for i in range(0, 60, 7)]),
        (ids, []),
        (["nope"], ["nope"]),
    ]
    with store.session() as con:
        for run_ids, shas in cases:
            assert store.lineage_step(run_ids, shas, con=con) == _plain_step(con, run_ids, shas)


def test_lineage_walk_skips_the_deleted_run(linked):
    store, ids = linked
    g = wb.lineage(ids[25], depth=10, store=store)
    assert ids[20] not in g.upstream_runs
    assert ids[24] in g.upstream_runs and ids[26] in g.downstream_runs


@pytest.mark.parametrize(
    "case", [{}, CASES[1], CASES[3], {"limit": 200, "offset": 4400}], ids=["p0", "filtered", "e2", "last"]
)
def test_runs_page_is_search_and_count_in_one_session(big, case):
    args = (case.get("flt"), case.get("order"), case.get("experiment"), case.get("deleted", False))
    limit, offset = case.get("limit", 200), case.get("offset", 0)
    df, total = big.runs_page(*args, limit, offset)
    pd.testing.assert_frame_equal(df, big.search_runs(*args, limit, offset))
    assert total == big.count_runs(args[0], args[2], args[3]) == len(big.search_runs(*args))


@pytest.mark.parametrize(
    "case",
    [{}, CASES[1], CASES[2], CASES[3], CASES[6], {"limit": 200, "offset": 4400}],
    ids=["p0", "filtered", "odd_keys", "e2", "none", "last"],
)
def test_the_panels_page_rows_are_the_runs_search_runs_finds(big, case):
    """The REST page is built from plain rows (no DataFrame); it must say what the
    DataFrame path says."""
    from workbench.server.handlers import page_row, run_rows

    args = (case.get("flt"), case.get("order"), case.get("experiment"), case.get("deleted", False))
    limit, offset = case.get("limit", 200), case.get("offset", 0)
    page, keys, total = big.runs_page_rows(*args, limit, offset)
    df, want_total = big.runs_page(*args, limit, offset)
    assert [page_row(r) for r in page] == run_rows(df)
    assert keys["params"] == [c[7:] for c in df.columns if c.startswith("params.")]
    assert keys["metrics"] == [c[8:] for c in df.columns if c.startswith("metrics.")]
    assert total == want_total


def test_page_rows_leave_out_nan_metrics_as_the_dataframe_path_does(tmp_path):
    """The API refuses NaN, but an MLflow import can bring one in."""
    from workbench.server.handlers import page_row, run_rows

    store = Store(tmp_path / "nan")
    store.check_schema()
    rid = "ab" * 16
    b = Batch(experiments={"e": 1})
    b.runs.append(
        {
            "run_id": rid,
            "experiment": "e",
            "run_name": "r",
            "status": "finished",
            "start_time": 1000,
            "end_time": 2000,
            "source": "python",
            "parent_run_id": None,
        }
    )
    b.params.append((rid, "a", "1"))
    b.metrics.append((rid, ["loss", "acc"], [0, 0], [float("nan"), 0.5], [1.0, 1.0]))
    store.write(b)
    page, keys, total = store.runs_page_rows()
    assert [page_row(r) for r in page] == run_rows(store.runs_page()[0])
    assert page_row(page[0])["metrics"] == {"acc": 0.5} and total == 1


def test_log_metrics_stores_what_log_metric_per_key_stores(tmp_path):
    """log_metrics appends its points itself (the hot path of a training loop); the
    plain path is log_metric per key."""
    import numpy as np

    logged = {}
    for how in ("dict", "per_key"):
        wb.set_store(tmp_path / how)
        with wb.start_run() as run:
            for i in range(300):
                d = {"loss": 1 / (i + 1), "acc": i / 300, "lr": np.float32(0.5), "n": i, "auto": 2.0 * i}
                step = None if i % 3 == 0 else 10 * i
                if how == "dict":
                    run.log_metrics(d, step)
                else:
                    for k, v in d.items():
                        run.log_metric(k, v, step)
        wb.flush()
        logged[how] = wb.metric_history(run.run_id).drop(columns=["run_id", "timestamp"])
        wb.set_store(None)
    assert len(logged["dict"]) == 1500
    pd.testing.assert_frame_equal(logged["dict"], logged["per_key"])


def test_log_metrics_refuses_as_log_metric_does(tmp_path):
    wb.set_store(tmp_path / "s")
    run = wb.start_run()
    with pytest.raises(wb.WorkbenchError, match="out of the 64-bit range"):
        run.log_metrics({"a": 1.0, "b": 2.0}, 2**63)
    with pytest.raises(wb.WorkbenchError, match="must be finite"):
        run.log_metrics({"a": 1.0, "b": float("nan")})
    run.log_metrics({"a": 1.0})
    run.end()
    run.log_metrics({})  # nothing to record: no error, as before
    with pytest.raises(wb.WorkbenchError, match="has ended; start a new run to log 'a'"):
        run.log_metrics({"a": 1.0})
    wb.flush()
    assert wb.metric_history(run.run_id)[["key", "step", "value"]].values.tolist() == [["a", 0, 1.0]]
