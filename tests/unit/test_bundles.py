"""Run bundles: real zip files between two real stores, compared value by value."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import workbench as wb
from workbench.bridges.bundle import BundleError, BundleVersionError, read_manifest
from workbench.store import SCHEMA_VERSION, Batch, get_store
from workbench.store.bundles import TABLES


def dump(directory):
    """Every row of every bundle table, with blob paths made relative to the store."""
    store = get_store(directory)
    out = {}
    with store.session() as con:
        for table in TABLES:
            cur = con.execute(f"SELECT * FROM {table}")
            cols = [d[0] for d in cur.description]
            rows = []
            for row in cur.fetchall():
                r = dict(zip(cols, row))
                if r.get("stored_path"):
                    r["stored_path"] = r["stored_path"].replace(str(store.directory), "<store>")
                rows.append(tuple(sorted(r.items())))
            out[table] = sorted(rows, key=repr)
    return out


def blobs(directory):
    return sorted(p.name for p in (directory / "artifacts").rglob("*") if p.is_file())


@pytest.fixture
def source(tmp_path):
    """Store A with runs that have everything a bundle carries: params, a metric history,
    tags, a dataset with its profile, a file they read, an artifact, a model registered
    with an alias, and card text."""
    a = tmp_path / "a"
    wb.set_store(a)
    (tmp_path / "data.csv").write_text("x,y\n1,2\n3,4\n")
    ids = []
    for i in range(3):
        with wb.start_run(
            name=f"ridge-{i}", experiment="diabetes", params={"alpha": i / 10}, tags={"team": "x"}
        ):
            for step in range(200):
                wb.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            wb.log_metrics({"rmse": 50.0 + i, "r2": 0.4 - i / 100})
            pd.read_csv(tmp_path / "data.csv")
            wb.use_dataset(
                pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["u", "v", "w"]}), name="val", role="evaluation"
            )
            (tmp_path / f"report-{i}.txt").write_text(f"report {i}")
            wb.log_artifact(str(tmp_path / f"report-{i}.txt"))
            wb.log_model({"weights": [i, i + 1]}, name="model")
            ids.append(wb.active_run().run_id)
    wb.flush()
    wb.register_model(ids[0], "diabetes", alias="champion")
    get_store(a).set_card_sections(ids[0], {"intended_use": "A test."})
    wb.set_store(None)
    return a, ids


def test_round_trip_between_two_stores_value_by_value(source, tmp_path):
    a, ids = source
    b = tmp_path / "b"
    bundle = tmp_path / "runs.wbz"
    report = wb.export_runs(bundle, store=a)
    assert report.runs == 3 and report.counts["metrics"] == 3 * 202 and not report.missing_blobs
    manifest = read_manifest(bundle)
    assert manifest["schema_version"] == SCHEMA_VERSION and sorted(manifest["run_ids"]) == sorted(ids)
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
    assert {f"tables/{t}.parquet" for t in TABLES} <= names
    assert {f"blobs/{d}" for d in blobs(a)} == {n for n in names if n.startswith("blobs/")}

    first = wb.import_runs(bundle, store=b)
    assert sorted(first.added) == sorted(ids) and first.points == 3 * 202 and not first.conflicts
    before = dump(b)
    assert before == dump(a)  # every row of every table, value by value
    assert blobs(b) == blobs(a)

    again = wb.import_runs(bundle, store=b)
    assert (again.added, again.updated, again.points, again.blobs, again.conflicts) == ([], [], 0, 0, [])
    assert again.unchanged == 3 and dump(b) == before
    home = wb.import_runs(bundle, store=a)  # into the store it came from
    assert (home.added, home.updated, home.points, home.conflicts) == ([], [], 0, [])
    assert dump(a) == before

    # What the other store can do with them: history, lineage, registry, cards.
    rec = get_store(b).get_run(ids[0])
    assert rec.metrics["rmse"] == 50.0 and rec.params["alpha"] == "0.0" and rec.tags["team"] == "x"
    hist = get_store(b).metric_history([ids[1]], ["loss"])
    assert list(hist["step"]) == list(range(200)) and hist["value"].iloc[-1] == pytest.approx(1 / 201)
    (version,) = get_store(b).model_versions("diabetes")
    assert version["run_id"] == ids[0] and version["aliases"] == ["champion"]
    from workbench.card import model_card
    from workbench.lineage import lineage

    card = model_card("diabetes@champion", store=b)
    assert "A test." in card and "val" in card and "rmse" in card
    graph = lineage(ids[0], store=b)
    assert graph is not None


def test_a_run_with_more_points_gains_them(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    wb.set_store(a)
    run = wb.start_run(name="long", experiment="e")
    for step in range(50):
        wb.log_metric("loss", float(step), step=step)
    wb.flush()
    early = tmp_path / "early.wbz"
    wb.export_runs(early, store=a)
    for step in range(50, 80):
        wb.log_metric("loss", float(step), step=step)
    wb.end_run()
    wb.flush()
    late = tmp_path / "late.wbz"
    wb.export_runs(late, store=a)
    wb.set_store(None)

    wb.import_runs(early, store=b)
    assert get_store(b).get_run(run.run_id).status == "running"
    grown = wb.import_runs(late, store=b)
    assert grown.updated == [run.run_id] and grown.points == 30 and not grown.conflicts
    rec = get_store(b).get_run(run.run_id)
    assert rec.status == "finished" and rec.metrics["loss"] == 79.0
    assert dump(b) == dump(a)
    # The older bundle adds nothing back.
    assert wb.import_runs(early, store=b).points == 0 and dump(b) == dump(a)


def test_conflicting_records_are_reported_and_the_store_keeps_its_own(source, tmp_path):
    a, ids = source
    b = tmp_path / "b"
    bundle = tmp_path / "runs.wbz"
    wb.export_runs(bundle, store=a)
    # Store B already has version 1 of "diabetes" (another run), and a tag that differs.
    wb.set_store(b)
    with wb.start_run(name="theirs", experiment="other"):
        wb.log_model({"w": 0}, name="model")
        other = wb.active_run().run_id
    wb.flush()
    wb.register_model(other, "diabetes", alias="champion")
    wb.set_store(None)
    wb.import_runs(bundle, store=b)
    get_store(b).write(Batch(tags=[(ids[1], "team", "y")]))
    report = wb.import_runs(bundle, store=b)
    text = "\n".join(report.conflicts)
    assert f"run {ids[1][:8]}: tag team is 'y' here, 'x' in the bundle (kept 'y')" in text
    assert f"model diabetes version 1 is run {other[:8]} here, run {ids[0][:8]} in the bundle" in text
    assert get_store(b).get_run(ids[1]).tags["team"] == "y"
    assert [v["run_id"] for v in get_store(b).model_versions("diabetes")] == [other]
    assert "conflict(s), this store's values kept" in str(report)


def _rewrite(bundle, dest, change):
    """Copy a bundle member by member, letting ``change(name, data)`` alter each."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(dest, "w") as out:
        for name in src.namelist():
            data = change(name, src.read(name))
            if data is not None:
                out.writestr(name, data)


@pytest.mark.parametrize(
    "damage",
    ["truncated", "flipped byte", "member removed", "member added", "manifest hash edited", "not a zip"],
)
def test_a_damaged_bundle_is_refused_with_nothing_written(source, tmp_path, damage):
    a, _ = source
    bundle = tmp_path / "runs.wbz"
    wb.export_runs(bundle, store=a)
    bad = tmp_path / "bad.wbz"
    data = bundle.read_bytes()
    if damage == "truncated":
        bad.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "not a zip":
        bad.write_text("hello")
    elif damage == "flipped byte":

        def flip(name, blob):
            if name == "tables/metrics.parquet":
                b = bytearray(blob)
                b[len(b) // 2] ^= 0xFF
                return bytes(b)
            return blob

        _rewrite(bundle, bad, flip)
    elif damage == "member removed":
        _rewrite(bundle, bad, lambda n, d: None if n == "tables/tags.parquet" else d)
    elif damage == "member added":
        with zipfile.ZipFile(bad, "w") as z, zipfile.ZipFile(bundle) as src:
            for n in src.namelist():
                z.writestr(n, src.read(n))
            z.writestr("blobs/" + "0" * 64, b"extra")
    else:

        def edit(name, blob):
            if name == "manifest.json":
                m = json.loads(blob)
                m["members"]["tables/runs.parquet"]["sha256"] = "f" * 64
                return json.dumps(m)
            return blob

        _rewrite(bundle, bad, edit)
    b = tmp_path / "b"
    with pytest.raises(BundleError) as e:
        wb.import_runs(bad, store=b)
    msg = str(e.value)
    assert "\n" not in msg and "nothing was imported" in msg
    assert not b.exists()  # not even the store was created
    # Into an existing store: nothing changes there either.
    wb.import_runs(bundle, store=b)
    before, before_blobs = dump(b), blobs(b)
    with pytest.raises(BundleError):
        wb.import_runs(bad, store=b)
    assert dump(b) == before and blobs(b) == before_blobs


def test_a_bundle_from_a_newer_schema_is_refused(source, tmp_path):
    a, _ = source
    bundle, newer = tmp_path / "runs.wbz", tmp_path / "newer.wbz"
    wb.export_runs(bundle, store=a)

    def bump(name, blob):
        if name == "manifest.json":
            m = json.loads(blob)
            m["schema_version"] = SCHEMA_VERSION + 1
            return json.dumps(m)
        return blob

    _rewrite(bundle, newer, bump)
    with pytest.raises(BundleVersionError, match="newer Workbench .*upgrade workbench"):
        wb.import_runs(newer, store=tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_bad_input_is_one_line_at_every_entry_point(source, tmp_path):
    a, _ = source
    cases = [
        (lambda: wb.export_runs(123, store=a), "bundle path must be a file path"),
        (lambda: wb.export_runs(tmp_path, store=a), "is a folder"),
        (lambda: wb.export_runs(tmp_path / "no" / "x.wbz", store=a), "does not exist"),
        (lambda: wb.export_runs(tmp_path / "x.wbz", "metrics.rmse >", store=a), "invalid filter"),
        (lambda: wb.export_runs(tmp_path / "x.wbz", "metrics.rmse > 1000", store=a), "no runs matching"),
        (lambda: wb.export_runs(tmp_path / "x.wbz", experiment=7, store=a), "experiment must be"),
        (lambda: wb.import_runs(tmp_path / "missing.wbz", store=a), "does not exist"),
        (lambda: wb.import_runs(12, store=a), "path of a bundle file"),
        (lambda: wb.import_runs(io.BytesIO(b"junk"), store=a), "not a Workbench bundle"),
    ]
    for call, message in cases:
        with pytest.raises(wb.InvalidInputError, match=message) as e:
            call()
        assert "\n" not in str(e.value)
    assert not (tmp_path / "x.wbz").exists()

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "workbench", "--store", str(a), *args], capture_output=True, text=True
        )

    for args, message in [
        (["export", "-o", str(tmp_path / "x.wbz"), "-f", "metrics.rmse >"], "invalid filter"),
        (["export", "-f", "metrics.rmse > 1"], "give -o FILE.wbz"),
        (["export", "-o", str(tmp_path / "x.wbz"), "mlflow", "x"], "go without a subcommand"),
        (["import", "bundle", str(tmp_path / "missing.wbz")], "does not exist"),
        (["import", "bundle", str(a / "workbench.duckdb")], "not a Workbench bundle"),
    ]:
        r = cli(*args)
        assert r.returncode == 1, r
        assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
    ok = cli("export", "-o", str(tmp_path / "x.wbz"), "-e", "diabetes")
    assert ok.returncode == 0 and "exported 3 run(s)" in ok.stdout
    ok = cli("--store", str(tmp_path / "c"), "import", "bundle", str(tmp_path / "x.wbz"))
    assert ok.returncode == 0 and "3 run(s) added" in ok.stdout


@pytest.mark.slow
def test_an_imported_run_is_rerun_from_the_importing_store(tmp_path, monkeypatch):
    nb = new_notebook()
    nb.cells = [
        new_code_cell("alpha = 1.0", metadata={"tags": ["parameters"]}),
        new_code_cell("%load_ext workbench"),
        new_code_cell("%%track --name fit --metrics score\nscore = alpha * 2"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "fit.ipynb"
    nbformat.write(nb, path)
    a, b = tmp_path / "a", tmp_path / "b"
    s = wb.sweep(path, {"alpha": [1.0]}, progress=False, store=a)
    (run_id,) = s.jobs[next(iter(s.jobs))].run_ids
    bundle = tmp_path / "runs.wbz"
    wb.export_runs(bundle, store=a)
    path.unlink()  # the notebook file is gone: the snapshot in the bundle is what reruns
    wb.import_runs(bundle, store=b)
    result = wb.rerun(run_id[:8], {"alpha": 3.0}, store=b)
    assert result.status == "finished", result.error
    new = get_store(b).get_run(result.run_id)
    assert new.metrics == {"score": 6.0} and new.parent_run_id == run_id
    assert not get_store(a).search_runs(f"attributes.run_id = '{new.run_id}'").shape[0]
