"""The Python API's write path: values, steps, statuses, and every refused input."""

from __future__ import annotations

import contextlib
import math
import os
from fractions import Fraction

import duckdb
import numpy as np
import pytest

import workbench as wb


def test_context_manager_records_params_metrics_tags_and_finishes():
    with wb.start_run(
        name="first", experiment="exp", params={"alpha": 0.1, "model": "ridge"}, tags={"team": "a"}
    ) as run:
        for i in range(5):
            wb.log_metric("loss", 1.0 / (i + 1))
        wb.log_metrics({"rmse": 3.5, "r2": 0.25})
        wb.log_param("epochs", 10)
        wb.set_tag("note", "hello")
        assert wb.active_run() is run
    assert wb.active_run() is None
    rec = wb.get_run(run.run_id)
    assert rec.run_name == "first" and rec.experiment == "exp" and rec.status == "finished"
    assert rec.params == {"alpha": "0.1", "epochs": "10", "model": "ridge"}
    assert rec.metrics == {"loss": pytest.approx(0.2), "r2": 0.25, "rmse": 3.5}
    assert rec.tags == {"note": "hello", "team": "a"}
    assert rec.end_time >= rec.start_time
    hist = wb.metric_history(run.run_id, "loss")
    assert list(hist.columns) == ["run_id", "key", "step", "value", "timestamp"]
    assert hist["step"].tolist() == [0, 1, 2, 3, 4]
    assert hist["value"].tolist() == pytest.approx([1, 0.5, 1 / 3, 0.25, 0.2])


def test_runs_dataframe_is_shaped_like_mlflow_search_runs():
    with wb.start_run(params={"a": 1}, tags={"t": "x"}):
        wb.log_metric("m", 2.0, step=3)
        wb.log_metric("m", 1.0, step=1)  # an older step does not become the latest value
    df = wb.runs()
    for col in [
        "run_id",
        "run_name",
        "experiment",
        "status",
        "start_time",
        "end_time",
        "params.a",
        "metrics.m",
        "tags.t",
    ]:
        assert col in df.columns
    assert df.loc[0, "metrics.m"] == 2.0
    assert df.loc[0, "params.a"] == "1"
    assert str(df["start_time"].dtype).startswith("datetime64")


def test_exception_marks_failed_with_traceback_and_keeps_points():
    with pytest.raises(ZeroDivisionError):
        with wb.start_run() as run:
            wb.log_metric("x", 1.0)
            1 / 0  # noqa: B018
    rec = wb.get_run(run.run_id)
    assert rec.status == "failed"
    assert "ZeroDivisionError" in rec.error
    assert rec.metrics == {"x": 1.0}


def test_keyboard_interrupt_marks_killed():
    with pytest.raises(KeyboardInterrupt):
        with wb.start_run() as run:
            raise KeyboardInterrupt
    assert wb.get_run(run.run_id).status == "killed"


@pytest.mark.parametrize("status", ["failed", "KILLED", "Finished"])
def test_end_run_status(status):
    run = wb.start_run()
    wb.end_run(status=status)
    assert wb.get_run(run.run_id).status == status.lower()


def test_end_run_refuses_unknown_status_and_keeps_run_active():
    run = wb.start_run()
    with pytest.raises(wb.InvalidInputError, match="finished, failed, killed"):
        wb.end_run("done")
    assert wb.active_run() is run
    wb.end_run()


def test_steps_default_to_one_more_than_the_last_and_accept_numpy_ints():
    with wb.start_run() as run:
        wb.log_metric("a", 1.0)
        wb.log_metric("a", 1.0, step=np.int64(10))
        wb.log_metric("a", 1.0)
        wb.log_metric("a", np.float32(0.5), step=20.0)  # an integral float is accepted
    assert wb.metric_history(run.run_id, "a")["step"].tolist() == [0, 10, 11, 20]


@pytest.mark.parametrize(
    "value, match",
    [
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (-math.inf, "finite"),
        ("0.5", "must be numbers"),
        (None, "must be numbers"),
        (True, "must be numbers"),
        ([1.0, 2.0], "must be numbers"),
        (np.array([1.0, 2.0]), "must be numbers"),
    ],
)
def test_bad_metric_values_are_refused_and_nothing_recorded_is_lost(value, match):
    with wb.start_run() as run:
        wb.log_metric("ok", 1.0)
        with pytest.raises(wb.InvalidInputError, match=match):
            wb.log_metric("bad", value)
        wb.log_metric("ok", 2.0)
    rec = wb.get_run(run.run_id)
    assert rec.metrics == {"ok": 2.0}
    assert len(wb.metric_history(run.run_id, "ok")) == 2


@pytest.mark.parametrize("key", [1, None, "", ("a",), b"x"])
def test_non_string_keys_are_refused(key):
    with wb.start_run():
        with pytest.raises(wb.InvalidInputError, match="non-empty strings"):
            wb.log_metric(key, 1.0)
        with pytest.raises(wb.InvalidInputError, match="non-empty strings"):
            wb.log_param(key, 1)
        with pytest.raises(wb.InvalidInputError, match="non-empty strings"):
            wb.set_tag(key, 1)


@pytest.mark.parametrize("step", [1.5, "3", True, [1], 2**70])
def test_non_integer_steps_are_refused(step):
    with wb.start_run() as run:
        with pytest.raises(wb.InvalidInputError, match="step"):
            wb.log_metric("x", 1.0, step=step)
        wb.log_metric("x", 1.0)
    assert wb.metric_history(run.run_id, "x")["step"].tolist() == [0]


def test_log_metrics_checks_every_value_before_recording_any():
    with wb.start_run() as run:
        with pytest.raises(wb.InvalidInputError, match="'b'"):
            wb.log_metrics({"a": 1.0, "b": float("nan")})
    assert wb.get_run(run.run_id).metrics == {}


@pytest.mark.parametrize(
    "call",
    [
        lambda: wb.log_metric("x", 1.0),
        lambda: wb.log_metrics({"x": 1.0}),
        lambda: wb.log_param("p", 1),
        lambda: wb.log_params({"p": 1}),
        lambda: wb.set_tag("t", 1),
        lambda: wb.end_run(),
    ],
)
def test_logging_without_an_active_run_says_how_to_start_one(call):
    with pytest.raises(wb.NoActiveRunError, match="start_run"):
        call()


def test_a_second_run_needs_nested_and_then_records_its_parent():
    outer = wb.start_run()
    with pytest.raises(wb.InvalidInputError, match="nested=True"):
        wb.start_run()
    inner = wb.start_run(nested=True)
    assert wb.active_run() is inner
    wb.end_run()
    wb.end_run()
    assert wb.get_run(inner.run_id).parent_run_id == outer.run_id
    assert wb.get_run(outer.run_id).children == [inner.run_id]


def test_params_cannot_change_but_may_repeat():
    with wb.start_run() as run:
        wb.log_param("lr", 0.1)
        wb.log_param("lr", 0.1)
        with pytest.raises(wb.InvalidInputError, match="cannot change"):
            wb.log_param("lr", 0.2)
    assert wb.get_run(run.run_id).params == {"lr": "0.1"}


def test_logging_to_an_ended_run_is_refused():
    with wb.start_run() as run:
        pass
    with pytest.raises(wb.InvalidInputError, match="has ended"):
        run.log_metric("x", 1.0)


def test_artifacts_are_content_addressed_and_stored_once(tmp_path, store_dir):
    f = tmp_path / "model.txt"
    f.write_text("weights")
    g = tmp_path / "copy.txt"
    g.write_text("weights")
    with wb.start_run() as run:
        h1 = wb.log_artifact(f, kind="model")
        h2 = wb.log_artifact(g)
        with pytest.raises(wb.InvalidInputError, match="does not exist"):
            wb.log_artifact(tmp_path / "missing.bin")
    assert h1 == h2
    arts = wb.get_run(run.run_id).artifacts
    assert [a["kind"] for a in arts] == ["model", "file"]
    assert len(list((store_dir / "artifacts").rglob("*"))) == 2  # one folder, one blob


def test_run_ids_resolve_by_unique_prefix_and_ambiguity_lists_candidates():
    ids = []
    for _ in range(40):
        with wb.start_run() as r:
            ids.append(r.run_id)
    target = ids[0]
    assert wb.get_run(target[:12]).run_id == target
    first = {i[0] for i in ids}
    shared = next(c for c in first if sum(i.startswith(c) for i in ids) > 1)
    with pytest.raises(wb.AmbiguousRunError, match="ambiguous") as err:
        wb.get_run(shared)
    assert all(c.startswith(shared) for c in err.value.candidates)
    with pytest.raises(wb.RunNotFoundError, match="no run matches"):
        wb.get_run("zzzz")


def test_soft_delete_hides_and_restore_brings_back():
    with wb.start_run() as r:
        wb.log_metric("m", 1.0)
    wb.delete_run(r.run_id[:8])
    assert r.run_id not in set(wb.runs()["run_id"])
    assert r.run_id in set(wb.runs(include_deleted=True)["run_id"])
    assert wb.get_run(r.run_id).deleted
    wb.restore_run(r.run_id)
    assert r.run_id in set(wb.runs()["run_id"])


def test_set_store_switches_where_new_runs_go(tmp_path):
    other = tmp_path / "other"
    assert wb.set_store(other) == other
    with wb.start_run() as r:
        pass
    wb.flush()
    assert (other / "workbench.duckdb").exists()
    assert r.run_id in set(wb.runs(store=other)["run_id"])
    wb.set_store(None)
    assert r.run_id not in set(wb.runs()["run_id"])


def test_subscribers_see_each_flushed_chunk_until_they_unsubscribe():
    seen = []
    with wb.start_run() as run:
        unsubscribe = run.subscribe(lambda keys, steps, values: seen.append((list(keys), list(values))))
        run.subscribe(lambda *chunk: 1 / 0)  # a failing subscriber costs no data
        wb.log_metric("loss", 0.5)
        wb.log_metric("loss", 0.25)
        assert run.pending_points == 2 and not run.ended
        wb.flush()
        assert run.pending_points == 0
        unsubscribe()
        unsubscribe()  # twice is harmless
        wb.log_metric("loss", 0.125)
    assert run.ended
    wb.flush()
    assert seen == [(["loss", "loss"], [0.5, 0.25])]
    assert wb.metric_history(run.run_id, "loss")["value"].tolist() == [0.5, 0.25, 0.125]
    with pytest.raises(wb.InvalidInputError, match="callable"):
        run.subscribe("not a function")


def test_reset_drops_the_writers_and_the_next_run_starts_a_fresh_one():
    from workbench import tracking
    from workbench.tracking import lifecycle

    with wb.start_run():
        wb.log_metric("x", 1.0)
    wb.flush()
    (old,) = lifecycle.writers()
    tracking.reset()
    assert lifecycle.writers() == []
    with wb.start_run() as again:
        wb.log_metric("x", 2.0)
    wb.flush()
    (new,) = lifecycle.writers()
    assert new is not old
    assert wb.get_run(again.run_id).metrics == {"x": 2.0}


BAD = "bad\udcff"


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: wb.log_metric(BAD, 1.0), "metric name"),
        (lambda: wb.log_metrics({"fine": 1.0, BAD: 2.0}), "metric name"),
        (lambda: wb.log_param(BAD, 1), "param name"),
        (lambda: wb.log_param("p", BAD), "the value of param 'p'"),
        (lambda: wb.log_params({"p": 1, "q": BAD}), "the value of param 'q'"),
        (lambda: wb.set_tag(BAD, "v"), "tag name"),
        (lambda: wb.set_tag("t", BAD), "the value of tag 't'"),
        (lambda: wb.set_tags({BAD: "v"}), "tag name"),
        (lambda: wb.start_run(name=BAD, nested=True), "run name"),
        (lambda: wb.start_run(experiment=BAD, nested=True), "run experiment"),
        (lambda: wb.start_run(params={"p": BAD}, nested=True), "the value of param 'p'"),
        (lambda: wb.start_run(tags={BAD: 1}, nested=True), "tag name"),
    ],
)
def test_reliability_3_a_lone_surrogate_is_refused_where_it_comes_in_and_poisons_nothing(call, names):
    with wb.start_run() as run:
        wb.log_metric("ok", 1.0)
        with pytest.raises(wb.InvalidInputError) as err:
            call()
        msg = str(err.value)
        assert msg.startswith(names) and "lone surrogate" in msg and "\n" not in msg, msg
        assert wb.active_run() is run  # no half-started run either
        wb.log_metric("ok", 2.0)
        wb.set_tag("after", "yes")
        wb.flush()  # every later flush works
    wb.flush()
    rec = wb.get_run(run.run_id)
    assert rec.metrics == {"ok": 2.0} and rec.tags == {"after": "yes"} and rec.params == {}
    assert list(wb.runs()["run_id"]) == [run.run_id]


def test_reliability_3_text_workbench_records_by_itself_is_escaped_not_refused(tmp_path):
    # A file name that is not UTF-8 (Python decodes it to a lone surrogate) and an
    # exception message holding one: recorded escaped, and the writer goes on.
    name = os.fsdecode(b"weights-\xff.bin")
    f = tmp_path / name
    f.write_bytes(b"w")
    with pytest.raises(ValueError):
        with wb.start_run() as run:
            wb.log_artifact(f)
            run.set_context(notebook_path=name)
            raise ValueError(f"cannot read {name}")
    wb.flush()
    rec = wb.get_run(run.run_id)
    assert rec.status == "failed" and "weights-\\udcff.bin" in rec.error
    assert rec.artifacts[0]["path"].endswith("weights-\\udcff.bin")
    assert rec.context["notebook_path"] == "weights-\\udcff.bin"


def test_reliability_3_the_text_check_runs_once_per_metric_key(monkeypatch):
    from workbench.tracking import run as run_mod

    calls = []
    real = run_mod.check_text
    with wb.start_run():
        monkeypatch.setattr(run_mod, "check_text", lambda what, text: calls.append(text) or real(what, text))
        for i in range(1000):
            wb.log_metric("loss", 0.5, step=i)
            wb.log_metric("acc", 0.5)
    assert sorted(calls) == ["acc", "loss"]


@pytest.mark.parametrize(
    "call",
    [
        lambda: wb.log_metric("a", 10**400),
        lambda: wb.log_metrics({"a": 10**400}),
        lambda: wb.log_metric("a", Fraction(10**400)),
        lambda: wb.log_metric("a", -(10**400), step=3),
    ],
)
def test_reliability_13_a_number_too_large_for_a_float_is_invalid_input(call):
    with wb.start_run() as run:
        with pytest.raises(wb.InvalidInputError, match="too large for a 64-bit float") as err:
            call()
        assert "\n" not in str(err.value)
        wb.log_metric("a", 1.0)
    assert wb.get_run(run.run_id).metrics == {"a": 1.0}


@pytest.mark.parametrize(
    "error",
    [
        lambda: duckdb.IOException('IO Error: Could not write file "wb.wal": No space left on device\nmore'),
        lambda: duckdb.TransactionException(
            "TransactionContext Error: cannot rollback - no transaction is active"
        ),
        lambda: OSError(28, "No space left on device"),
        lambda: UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed"),
    ],
)
def test_reliability_13_flush_raises_one_line_workbench_errors_and_keeps_the_data(monkeypatch, error):
    from workbench.store import writes

    with wb.start_run() as run:
        wb.log_metric("x", 1.0)
    wb.flush()
    real = writes.apply
    failures = []

    def failing(*args, **kwargs):
        failures.append(1)
        raise error()

    with wb.start_run() as second:
        for i in range(100):
            wb.log_metric("x", float(i), step=i)
    monkeypatch.setattr(writes, "apply", failing)
    with pytest.raises(wb.WorkbenchError) as err:
        wb.flush()
    assert type(err.value).__name__ == "StoreWriteError"
    assert "\n" not in str(err.value) and str(err.value).startswith("could not write to")
    assert failures
    monkeypatch.setattr(writes, "apply", real)
    wb.flush()
    assert wb.get_run(run.run_id).metrics == {"x": 1.0}
    assert wb.get_run(second.run_id).status == "finished"
    assert wb.metric_history(second.run_id, "x")["step"].tolist() == list(range(100))


def test_reliability_2_a_write_whose_commit_happened_before_its_error_is_not_applied_twice(monkeypatch):
    # The full disk of the issue: the COMMIT went through, then DETACH's checkpoint failed
    # and the write reported an error. The retry of that batch changes nothing.
    from workbench.errors import StoreWriteError
    from workbench.store import sessions as store_mod

    real = store_mod.detach_file
    hits = []

    def detach_then_fail(con, db_path, raise_errors):
        real(con, db_path, raise_errors)
        if raise_errors and not hits:
            hits.append(1)
            raise StoreWriteError("could not release the store: CHECKPOINT during DETACH failed")

    with wb.start_run() as first:
        wb.log_metric("warm", 1.0)
    wb.flush()
    monkeypatch.setattr(store_mod, "detach_file", detach_then_fail)
    with wb.start_run(name="retried", params={"a": 1}) as run:
        for i in range(1000):
            wb.log_metric("x", float(i), step=i)
    with contextlib.suppress(StoreWriteError):
        wb.flush()  # the background writer may have met the error first
    wb.flush()  # the retry: same batch, same id
    assert hits == [1]
    rec = wb.get_run(run.run_id)
    assert rec.status == "finished" and rec.params == {"a": "1"}
    assert wb.metric_history(run.run_id, "x")["step"].tolist() == list(range(1000))
    assert wb.get_run(first.run_id).metrics == {"warm": 1.0}


def test_reliability_4_past_the_cap_an_unwritable_store_spills_the_buffer_to_disk(monkeypatch):
    from workbench.errors import StoreWriteError
    from workbench.store.store import Store
    from workbench.tracking import run as run_mod
    from workbench.tracking import writer as writer_mod

    monkeypatch.setattr(run_mod, "FLUSH_POINTS", 1_000)
    monkeypatch.setattr(writer_mod, "FLUSH_POINTS", 1_000)
    monkeypatch.setattr(writer_mod, "MAX_BUFFERED_POINTS", 5_000)
    real = Store.write

    def unwritable(self, batch, batch_id=None):
        raise StoreWriteError(f"could not write to {self.db_path}: Read-only file system")

    held = 0
    with wb.start_run() as run:
        Store.write = unwritable
        try:
            for i in range(23_000):
                wb.log_metric("x", float(i), step=i)  # never raises: the spill worked
                held = max(held, run._writer.pending_points())
            spilled = list(run.store.spool_dir.glob("*.arrow"))
        finally:
            Store.write = real
    # Bounded by the cap, not by what was logged (23,000): the cap plus what a buffer
    # gathers before the writer notices (6,768 once in CI, on a loaded machine).
    assert held <= 2 * 5_000
    assert spilled  # on disk, not in memory
    wb.flush()
    assert wb.metric_history(run.run_id, "x")["step"].tolist() == list(range(23_000))
    assert wb.get_run(run.run_id).status == "finished"
