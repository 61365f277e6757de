"""The store package's seams: old import paths, one quoting helper, lineage in one session."""

from __future__ import annotations

import duckdb
import pytest

import workbench as wb
from workbench.store import get_store
from workbench.store.sql import quote_identifier, quote_literal


def test_public_names_keep_their_import_paths():
    import workbench.search
    import workbench.store.search
    from workbench.datasets import profile_relation, sha256_file
    from workbench.store.blobs import sha256_file as blob_sha256
    from workbench.store.profile import profile_relation as store_profile
    from workbench.store.schema import MIGRATIONS, SCHEMA_VERSION
    from workbench.store.store import Batch, RunRecord, Store, get_store  # noqa: F401

    for name in ("Query", "build_query", "parse_filter", "parse_order_by"):
        assert getattr(workbench.search, name) is getattr(workbench.store.search, name)
    assert profile_relation is store_profile and sha256_file is blob_sha256
    assert SCHEMA_VERSION == len(MIGRATIONS) and MIGRATIONS[0][0] == MIGRATIONS[0].name


@pytest.mark.parametrize("text", ["plain", "it's", "''", "a'); DROP TABLE x; --", 'double "quote"', "naïve"])
def test_quoting_round_trips_through_duckdb(text):
    con = duckdb.connect()
    assert con.execute(f"SELECT {quote_literal(text)}").fetchone()[0] == text
    con.execute(f"CREATE TABLE t ({quote_identifier(text)} INTEGER)")
    assert con.execute("SELECT column_name FROM (DESCRIBE t)").fetchone()[0] == text


def test_a_file_and_columns_with_quotes_in_their_names_are_profiled(tmp_path):
    from workbench.store.profile import profile_relation

    path = tmp_path / "it's here.csv"
    path.write_text('a"b,c\n1,x\n3,y\n')
    profile = profile_relation(path)
    assert profile["rows"] == 2
    assert [(c["name"], c["min"], c["max"]) for c in profile["columns"]] == [('a"b', 1, 3), ("c", "x", "y")]


def test_a_lineage_walk_holds_one_session(tmp_path, monkeypatch):
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    with wb.start_run(name="writer") as run:
        wb.log_artifact(data, kind="dataset")
    wb.flush()
    store = get_store()
    sessions = []
    attached = store._attached

    def counting(*args, **kwargs):
        sessions.append(1)
        return attached(*args, **kwargs)

    monkeypatch.setattr(store, "_attached", counting)
    with store.lineage_steps() as step:
        near = step([run.run_id], [])
        sha = near["artifacts"][0]["sha256"]
        far = step([], [sha])
    assert len(sessions) == 1
    assert run.run_id in near["runs"] and [a["run_id"] for a in far["artifacts"]] == [run.run_id]
