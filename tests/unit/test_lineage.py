"""Lineage: runs linked by the content they wrote and read, found without declaring files."""

from __future__ import annotations

import json
import shutil
import time

import pandas as pd
import pytest
from click.testing import CliRunner

import workbench as wb
from workbench.cli import cli
from workbench.errors import InvalidInputError


def _write_and_read(tmp_path):
    """prep writes data.csv (pandas to_csv), train reads it (read_csv); nothing declared."""
    with wb.start_run(name="prep") as prep:
        pd.DataFrame({"a": [1, 2, 3], "y": [2.0, 4.0, 6.0]}).to_csv(tmp_path / "data.csv", index=False)
    with wb.start_run(name="train") as train:
        df = pd.read_csv(tmp_path / "data.csv")
        wb.log_metric("rmse", float(df.y.std()))
        (tmp_path / "preds.txt").write_text("1 2 3")
    with wb.start_run(name="report") as report:
        (tmp_path / "preds.txt").read_text()
    return prep, train, report


def test_a_run_that_read_what_another_wrote_is_linked_without_declaring_it(tmp_path):
    prep, train, report = _write_and_read(tmp_path)
    graph = wb.lineage(train.run_id)
    assert graph.upstream_runs == [prep.run_id]
    assert graph.downstream_runs == [report.run_id]
    data = graph.nodes[f"artifact:{wb.get_run(prep.run_id).artifacts[0]['sha256']}"]
    assert data["type"] == "dataset" and data["label"] == "data"
    relations = {(e["source"].split(":")[0], e["relation"], e["target"].split(":")[0]) for e in graph.edges}
    assert relations == {("run", "wrote", "artifact"), ("artifact", "read", "run")}
    # The read input carries a DuckDB profile even though nobody declared it.
    inputs = [a for a in wb.get_run(train.run_id).artifacts if a["direction"] == "input"]
    assert inputs[0]["meta"]["detected"] and inputs[0]["meta"]["rows"] == 3


def test_the_link_follows_content_not_file_names(tmp_path):
    with wb.start_run(name="prep") as prep:
        (tmp_path / "out.csv").write_text("a\n1\n")
    shutil.copy(tmp_path / "out.csv", tmp_path / "renamed.csv")
    with wb.start_run(name="train") as train:
        (tmp_path / "renamed.csv").read_text()
    assert wb.lineage(train.run_id).upstream_runs == [prep.run_id]


def test_a_run_that_read_the_file_before_it_was_written_is_not_downstream(tmp_path):
    (tmp_path / "d.csv").write_text("a\n1\n")
    with wb.start_run(name="early") as early:
        (tmp_path / "d.csv").read_text()
    time.sleep(0.005)  # opens are ordered by millisecond; the same one would count as linked
    with wb.start_run(name="writer") as writer:
        (tmp_path / "d.csv").write_text("a\n1\n")  # same content, written later
    assert wb.lineage(writer.run_id).downstream_runs == []
    assert wb.lineage(early.run_id).upstream_runs == []


def test_reruns_link_to_their_origin_and_explicit_datasets_to_their_writer(tmp_path):
    with wb.start_run(name="prep", watch_files=False) as prep:
        (tmp_path / "x.parquet").write_bytes(b"not really parquet")
        wb.log_artifact(tmp_path / "x.parquet", kind="dataset")
    with wb.start_run(name="train", watch_files=False) as train:
        wb.use_dataset(tmp_path / "x.parquet", name="x", profile=False)
    with wb.start_run(name="again", source="rerun", parent_run_id=train.run_id, watch_files=False) as again:
        pass
    graph = wb.lineage(train.run_id)
    assert graph.upstream_runs == [prep.run_id] and graph.downstream_runs == [again.run_id]
    assert {
        "source": f"run:{train.run_id}",
        "target": f"run:{again.run_id}",
        "relation": "rerun_of",
    } in graph.edges
    assert wb.lineage(again.run_id, depth=2).upstream_runs == [train.run_id, prep.run_id]


def test_watch_files_off_records_no_files(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WATCH_FILES", "0")
    with wb.start_run() as run:
        (tmp_path / "f.txt").write_text("x")
    assert wb.get_run(run.run_id).artifacts == []


def test_lineage_formats_and_drawing(tmp_path):
    prep, train, _ = _write_and_read(tmp_path)
    graph = wb.lineage(train.run_id[:8])
    text = graph.to_text()
    assert f"written by run {prep.run_id[:8]} prep" in text and "read dataset data" in text
    assert graph.to_dot().startswith("digraph lineage {") and f'"run:{prep.run_id}"' in graph.to_dot()
    assert json.loads(graph.to_json())["upstream_runs"] == [prep.run_id]
    svg = graph._repr_html_()
    assert svg.count('class="wb-lineage-node"') == len(graph.nodes) == 5
    assert f'data-run-id="{prep.run_id}"' in svg


def test_lineage_bad_input():
    with wb.start_run(watch_files=False) as run:
        pass
    with pytest.raises(InvalidInputError, match="depth must be a whole number from 1 to 10"):
        wb.lineage(run.run_id, depth=0)
    with pytest.raises(wb.RunNotFoundError):
        wb.lineage("ffffffff")
    wb.delete_run(run.run_id)
    with pytest.raises(InvalidInputError, match="is deleted; restore it"):
        wb.lineage(run.run_id)


def test_lineage_cli(tmp_path):
    prep, train, _ = _write_and_read(tmp_path)
    wb.flush()
    runner = CliRunner()
    out = runner.invoke(cli, ["lineage", train.run_id[:8]])
    assert out.exit_code == 0 and f"written by run {prep.run_id[:8]}" in out.output
    out = runner.invoke(cli, ["lineage", train.run_id[:8], "--format", "json", "--depth", "1"])
    assert json.loads(out.output)["upstream_runs"] == [prep.run_id]
    out = runner.invoke(cli, ["lineage", train.run_id[:8], "--format", "dot"])
    assert out.output.startswith("digraph")
    out = runner.invoke(cli, ["lineage", "zzzz"])
    assert out.exit_code == 1 and "no run matches 'zzzz'" in out.output
    out = runner.invoke(cli, ["lineage", train.run_id, "--format", "png"])
    # Usage errors are one line with status 1, as every other error (README).
    assert out.exit_code == 1 and "'png' is not one of 'text', 'json', 'dot'" in out.output
    assert len(out.output.strip().splitlines()) == 1


def test_the_file_watch_never_breaks_an_open(tmp_path):
    import os

    with wb.start_run() as run:
        fd = os.open(tmp_path / "raw.bin", os.O_WRONLY | os.O_CREAT)  # os.open: no mode
        os.write(fd, b"x")
        os.close(fd)
        with open(os.open(tmp_path / "raw.bin", os.O_RDONLY), "rb") as f:  # a file descriptor
            assert f.read() == b"x"
        with open(bytes(tmp_path / "b.txt"), "w") as f:  # a bytes path
            f.write("y")
    outputs = {
        os.path.basename(a["path"]) for a in wb.get_run(run.run_id).artifacts if a["direction"] == "output"
    }
    assert outputs == {"raw.bin", "b.txt"}


def test_each_run_records_the_content_it_wrote_even_if_the_next_run_rewrites_it(tmp_path):
    import hashlib

    expected = {}
    for i in range(4):
        with wb.start_run(name=f"r{i}") as run:
            data = f"a\n{i}\n".encode() * 1000
            (tmp_path / "out.csv").write_bytes(data)
        expected[run.run_id] = hashlib.sha256(data).hexdigest()
    for run_id, sha in expected.items():
        (out,) = [a for a in wb.get_run(run_id).artifacts if a["direction"] == "output"]
        assert out["sha256"] == sha


def test_a_big_file_rewritten_before_the_worker_hashes_it_is_not_misrecorded(tmp_path, monkeypatch):
    import threading

    from workbench.tracking import files

    monkeypatch.setattr(files, "SYNC_HASH_BYTES", 0)  # every file goes to the worker
    gate = threading.Event()
    with wb.start_run(name="writer") as run:
        (tmp_path / "big.bin").write_bytes(b"first")
        files.submit(lambda: gate.wait(10))  # hold the worker
    (tmp_path / "big.bin").write_bytes(b"second version")
    gate.set()
    rec = wb.get_run(run.run_id)
    assert [a for a in rec.artifacts if a["direction"] == "output"] == []
    assert "big.bin" in rec.tags["workbench.files_changed"]


_FORK = """
import os, sys, time
import workbench as wb
with wb.start_run(name="parent"):
    open("data.csv", "w").write("a\\n1\\n")
pid = os.fork()
if pid == 0:
    sys.exit(0)  # the exit hook must not wait for the parent's file records
t = time.monotonic()
os.waitpid(pid, 0)
print(round(time.monotonic() - t, 1))
"""


def test_a_forked_child_does_not_wait_for_its_parents_file_records(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _FORK], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip()) < 5


def test_what_the_file_watch_notices_profiles_and_ignores(tmp_path):
    import os
    import pickle
    import sysconfig
    from pathlib import Path

    import numpy as np

    (tmp_path / "conf.json").write_text('{"a": 1}')
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "rows.jsonl").write_text("".join(f'{{"a": {i}, "b": {2 * i}}}\n' for i in range(5)))
    (tmp_path / "helper.py").write_text("x = 1")
    (tmp_path / "scratch.tmp").write_text("x")
    pd.DataFrame({"a": range(7)}).to_parquet(tmp_path / "t.parquet")
    with wb.start_run(name="io") as run:
        np.save(tmp_path / "w.npy", np.arange(3))  # numpy's files
        with open(tmp_path / "m.pkl", "wb") as f:  # and pickle's
            pickle.dump({"k": 1}, f)
        for name in ("conf.json", "notes.txt", "helper.py", "scratch.tmp"):
            (tmp_path / name).read_text()
        pd.read_json(tmp_path / "rows.jsonl", lines=True)
        wb.use_dataset(str(tmp_path / "t.parquet"), name="t")  # C code reads Parquet: declared
        # The Python installation and the store itself are never a run's data.
        Path(sysconfig.get_paths()["stdlib"], "LICENSE.txt").read_bytes()
        next(Path(sysconfig.get_paths()["purelib"]).glob("*.dist-info/METADATA")).read_text()
        (Path(os.environ["WORKBENCH_STORE"]) / "workbench.duckdb").read_bytes()
        Path("/usr/lib/os-release").read_text()  # and /usr/lib and the like
    wb.flush()
    found = {a["path"].rsplit("/", 1)[1]: a for a in wb.get_run(run.run_id).artifacts}
    # .py, temporaries, the installation and the store are ignored; everything else opened
    # from Python is recorded.
    assert set(found) == {"w.npy", "m.pkl", "conf.json", "notes.txt", "rows.jsonl", "t.parquet"}, found
    assert {n for n, a in found.items() if a["direction"] == "output"} == {"w.npy", "m.pkl"}
    # Tabular inputs are datasets with a profile; a .json or .txt read is a plain file.
    assert found["rows.jsonl"]["kind"] == "dataset" and found["rows.jsonl"]["meta"]["rows"] == 5
    assert found["t.parquet"]["kind"] == "dataset" and found["t.parquet"]["meta"]["rows"] == 7
    assert found["conf.json"]["kind"] == found["notes.txt"]["kind"] == "file"


def test_a_run_notes_at_most_1000_files_and_says_so(tmp_path):
    for i in range(1001):
        (tmp_path / f"f{i}.txt").write_text(str(i))
    with wb.start_run(name="many") as run:
        for i in range(1001):
            (tmp_path / f"f{i}.txt").read_text()
    wb.flush()
    rec = wb.get_run(run.run_id)
    assert len(rec.artifacts) == 1000
    assert rec.tags["workbench.files_truncated"] == "only the first 1000 files opened were recorded"
