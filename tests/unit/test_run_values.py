"""run_values: one row per run with its params, latest metrics and tags as maps, derived
from the long tables and kept equal to them by every write (tests/conftest.py checks
every store a test leaves behind with ``run_values.drift``)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

import workbench as wb
from workbench.store import SCHEMA_VERSION, get_store, imports, run_values
from workbench.store.store import Store


def _seed(n: int = 6) -> list[str]:
    ids = []
    for i in range(n):
        run = wb.start_run(name=f"r{i}", params={"model": "ridge" if i % 2 else "tree", "i": str(i)})
        for step in range(3):
            wb.log_metric("loss", 1.0 / (i + step + 1), step=step)
        if i % 3:
            wb.set_tags({"team": f"t{i % 3}"})
        run.end()
        ids.append(run.run_id)
    wb.start_run(name="bare").end()  # a run with no values has no row
    wb.flush()
    return ids


def _rows(store: Store) -> dict[str, tuple]:
    with store.session() as con:
        return {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT run_id, map_entries(params), map_entries(metrics), map_entries(tags) FROM run_values"
            ).fetchall()
        }


def test_rows_hold_each_runs_params_latest_metrics_and_tags():
    ids = _seed()
    rows = _rows(get_store())
    assert sorted(rows) == sorted(ids)  # "bare" has none
    params, metrics, tags = ({e["key"]: e["value"] for e in m} for m in rows[ids[1]])
    assert params == {"i": "1", "model": "ridge"}
    assert metrics == {"loss": 1.0 / (1 + 2 + 1)}  # the latest step's value
    assert tags == {"team": "t1"}
    assert rows[ids[0]][2] is None  # no tags


def test_migration_11_fills_run_values_from_the_long_tables(tmp_path):
    _seed()
    store = get_store()
    before = wb.runs("params.model = 'ridge' and metrics.loss < 1", ["metrics.loss DESC"])
    store.release()
    con = duckdb.connect(str(store.db_path))
    con.execute("DROP TABLE run_values")
    con.execute("DELETE FROM _workbench_migrations WHERE version = 11")
    con.close()
    again = Store(store.directory)
    with again.session() as con:
        assert con.execute("SELECT max(version) FROM _workbench_migrations").fetchone()[0] == SCHEMA_VERSION
        assert run_values.drift(con) == []
        assert con.execute("SELECT count(*) FROM run_values").fetchone()[0] == 6
    after = again.search_runs("params.model = 'ridge' and metrics.loss < 1", ["metrics.loss DESC"])
    assert len(after) == 3
    pd.testing.assert_frame_equal(after, before)


def test_drift_names_a_run_whose_row_is_wrong_and_rebuild_mends_it():
    """The check the whole suite relies on can fail: a row changed behind the store's
    back, a row missing, and a row for a run without values are each found."""
    ids = _seed()
    store = get_store()
    with store.session() as con:
        con.execute("UPDATE run_values SET params = map(['model'], ['lasso']) WHERE run_id = ?", [ids[0]])
        con.execute("DELETE FROM run_values WHERE run_id = ?", [ids[1]])
        con.execute("INSERT INTO run_values VALUES ('no-such-run', NULL, map(['x'], [1.0]), NULL)")
        assert run_values.drift(con) == sorted([*ids[:2], "no-such-run"])
        run_values.rebuild(con)
        assert run_values.drift(con) == []


def test_a_rolled_back_import_leaves_run_values_as_it_was():
    ids = _seed(2)
    store = get_store()
    before = _rows(store)
    with store.session() as con:
        with pytest.raises(RuntimeError, match="stop"), imports.transaction(con):
            imports.upsert_key_values(con, "params", [(ids[0], "model", "changed")])
            imports.delete_tag(con, ids[1], "team")
            raise RuntimeError("stop")
        assert run_values.drift(con) == []
    assert _rows(store) == before


def test_an_import_of_many_runs_merges_their_values_once(monkeypatch):
    """Inside a transaction the values written are collected and merged into the rows
    once per map before the COMMIT, not after each write, and nothing reads the long
    tables; a deletion recomputes its run's row from them."""
    ids = _seed(4)
    store = get_store()
    merges: list[tuple[str, int]] = []
    refreshes: list[list[str]] = []
    real_merge, real_refresh = run_values._merge, run_values.refresh
    monkeypatch.setattr(
        run_values,
        "_merge",
        lambda con, column, values: merges.append((column, len(values))) or real_merge(con, column, values),
    )
    monkeypatch.setattr(
        run_values,
        "refresh",
        lambda con, run_ids: refreshes.append(sorted(run_ids)) or real_refresh(con, run_ids),
    )
    with store.session() as con, imports.transaction(con):
        for rid in ids:
            imports.upsert_key_values(con, "params", [(rid, "extra", "1"), (rid, "model", "lasso")])
            imports.upsert_key_values(
                con, "params", [(rid, "model", "kept")], replace=False
            )  # MLflow's params
            imports.upsert_key_values(con, "tags", [(rid, "extra", "2")])
    assert sorted(merges) == [("params", 8), ("tags", 4)] and refreshes == []
    found = wb.runs("params.extra = '1' and tags.extra = '2' and params.model = 'lasso'")
    assert set(found["run_id"]) == set(ids)
    # Outside a transaction each write is its own, applied at once.
    with store.session() as con:
        imports.delete_tag(con, ids[0], "extra")
    assert refreshes == [[ids[0]]]
    assert set(wb.runs("tags.extra = '2'")["run_id"]) == set(ids[1:])


def test_a_flush_of_metric_points_merges_latest_values_without_recomputing(monkeypatch):
    """The write a training loop repeats: its latest values are merged into the row, the
    long tables are not read."""
    run = wb.start_run(name="train", params={"lr": "0.1"})
    wb.log_metric("loss", 5.0, step=0)
    wb.flush()
    calls: list[list[str]] = []
    real = run_values.refresh
    monkeypatch.setattr(
        run_values, "refresh", lambda con, run_ids: calls.append(sorted(run_ids)) or real(con, run_ids)
    )
    for step in range(1, 50):
        wb.log_metrics({"loss": 5.0 / step, "acc": step / 50}, step=step)
    wb.log_metric("loss", 99.0, step=3)  # an older step: not the latest
    wb.flush()
    run.end()
    wb.flush()
    assert calls == []  # nothing was recomputed from the long tables
    row = wb.runs("metrics.loss < 1")
    assert list(row["run_id"]) == [run.run_id]
    assert row["metrics.loss"][0] == 5.0 / 49 and row["metrics.acc"][0] == 49 / 50
    with get_store().session() as con:
        assert run_values.drift(con) == []
