"""The Python API's write path: values, steps, statuses, and every refused input."""

from __future__ import annotations

import math

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
