"""The value checks of :mod:`.spool`: every value a spool or rescue file holds is
checked (types, run ids, finite values, timestamps within sane bounds, valid UTF-8)
before anything is folded, and :func:`check_batch` checks a batch before it is written."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .records import Batch
from .writes import RUN_COLUMNS

__all__ = [
    "MAX_TIME_MS",
    "Bad",
    "batch_from_json",
    "check_batch",
    "check_run_id",
    "check_text",
    "checked_metrics",
    "one_line",
]

#: Timestamps (ms since the epoch) a point may carry: 1970 to 2200. pandas (and so
#: ``metric_history``) cannot represent times past 2262.
MAX_TIME_MS = 7_258_118_400_000
_INT64 = (-(2**63), 2**63 - 1)
_INT32 = (-(2**31), 2**31 - 1)
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}\Z")
_RUN_STATUSES = frozenset({"running", "finished", "failed", "killed"})
#: Run columns that hold integers (with their ranges) or a boolean; the rest hold text.
_RUN_INTS = {
    "start_time": (0, MAX_TIME_MS),
    "end_time": (0, MAX_TIME_MS),
    "heartbeat": (0, MAX_TIME_MS),
    "pid": _INT32,
    "execution_count": _INT32,
    "pid_started": _INT64,
}
_RUN_REQUIRED = ("run_id", "experiment", "run_name", "status", "start_time", "source")


class Bad(ValueError):
    """A value a batch must not hold (the message says which and why)."""


def one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__


def check_text(v: Any, what: str, nullable: bool = False, nonempty: bool = False) -> None:
    if v is None and nullable:
        return
    if type(v) is not str:
        raise Bad(f"{what} is {type(v).__name__}, not text")
    if nonempty and not v:
        raise Bad(f"{what} is empty")
    if not v.isascii():
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise Bad(f"{what} {v[:80]!r} is not valid UTF-8 text") from None


def _int(v: Any, what: str, bounds: tuple[int, int], nullable: bool = False) -> None:
    if v is None and nullable:
        return
    if type(v) is not int:
        raise Bad(f"{what} is {type(v).__name__}, not an integer")
    if not bounds[0] <= v <= bounds[1]:
        raise Bad(f"{what} {v} is out of range")


def check_run_id(v: Any, what: str = "run_id") -> None:
    if type(v) is not str or not _RUN_ID.match(v):
        raise Bad(f"{what} {str(v)[:80]!r} is not a run id")


def _scalar(v: Any, what: str) -> None:
    if v is None or type(v) in (bool, int):
        if type(v) is int:
            _int(v, what, _INT64)
        return
    if type(v) is float:
        if not math.isfinite(v):
            raise Bad(f"{what} is {v}")
        return
    check_text(v, what)


def _rows(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise Bad(f"{what} is {type(v).__name__}, not a list")
    return v


def batch_from_json(rest: Mapping[str, Any]) -> Batch:
    """A batch from its JSON record, every value checked."""
    try:
        batch = Batch(
            experiments=rest["experiments"],
            runs=_rows(rest["runs"], "runs"),
            params=[tuple(p) for p in _rows(rest["params"], "params")],
            tags=[tuple(t) for t in _rows(rest["tags"], "tags")],
            artifacts=_rows(rest["artifacts"], "artifacts"),
            ends=[tuple(e) for e in _rows(rest["ends"], "ends")],
            heartbeats=_rows(rest["heartbeats"], "heartbeats"),
            contexts=[tuple(c) for c in _rows(rest.get("contexts", []), "contexts")],
            environments=_rows(rest.get("environments", []), "environments"),
            created_ms=rest["created_ms"],
        )
    except (KeyError, TypeError) as e:
        raise Bad(f"its batch record lacks or mistypes {one_line(e)}") from None
    check_batch(batch)
    return batch


def check_batch(batch: Batch) -> None:
    """Check every record of ``batch`` except its metric points' keys, values and times
    (those are checked where they come in: the tracking API, or a file's table).

    Raises
    ------
    ValueError
        A record the store must not take; the message says which.
    """
    _int(batch.created_ms, "created_ms", (0, MAX_TIME_MS))
    if not isinstance(batch.experiments, dict):
        raise Bad("experiments is not an object")
    for name, created in batch.experiments.items():
        check_text(name, "experiment name", nonempty=True)
        _int(created, f"experiment {name!r} created_at", (0, MAX_TIME_MS))
    for row in batch.runs:
        if not isinstance(row, dict):
            raise Bad("a run row is not an object")
        for col in _RUN_REQUIRED:
            if row.get(col) is None:
                raise Bad(f"a run row lacks {col}")
        check_run_id(row["run_id"])
        if row["status"] not in _RUN_STATUSES:
            raise Bad(f"run status {str(row['status'])[:40]!r} is unknown")
        for col, value in row.items():
            check_text(col, "a run column name")
            if col in _RUN_INTS:
                _int(value, f"run {col}", _RUN_INTS[col], nullable=True)
            elif col == "git_dirty":
                if value is not None and type(value) is not bool:
                    raise Bad("run git_dirty is not a boolean")
            elif col in RUN_COLUMNS:
                check_text(value, f"run {col}", nullable=True)
            else:
                _scalar(value, f"run {col}")
    seen: set[str] = set()  # run ids checked already
    for what, rows in (("param", batch.params), ("tag", batch.tags)):
        for r in rows:
            if len(r) != 3:
                raise Bad(f"a {what} is not (run_id, key, value)")
            run_id, key, value = r
            if type(run_id) is not str or run_id not in seen:
                check_run_id(run_id)
                seen.add(run_id)
            if type(key) is str and key and key.isascii() and type(value) is str and value.isascii():
                continue  # the common case, at a fraction of the cost
            check_text(key, f"{what} key", nonempty=True)
            check_text(value, f"{what} {key!r} value")
    for a in batch.artifacts:
        if not isinstance(a, dict):
            raise Bad("an artifact is not an object")
        check_run_id(a.get("run_id"))
        for col in ("path", "kind", "sha256", "direction"):
            check_text(a.get(col), f"artifact {col}")
        for col in ("stored_path", "name", "meta"):
            check_text(a.get(col), f"artifact {col}", nullable=True)
        _int(a.get("size"), "artifact size", (0, _INT64[1]))
        _int(a.get("created_at"), "artifact created_at", (0, MAX_TIME_MS))
    for e in batch.ends:
        if len(e) != 4:
            raise Bad("a run end is not (run_id, status, end_time, error)")
        check_run_id(e[0])
        if e[1] not in _RUN_STATUSES:
            raise Bad(f"run status {str(e[1])[:40]!r} is unknown")
        _int(e[2], "end_time", (0, MAX_TIME_MS))
        check_text(e[3], "run error", nullable=True)
    for h in batch.heartbeats:
        check_run_id(h)
    for c in batch.contexts:
        if len(c) != 2 or not isinstance(c[1], dict):
            raise Bad("a run context is not (run_id, {column: value})")
        check_run_id(c[0])
        for k, v in c[1].items():
            check_text(k, "a context column name")
            _scalar(v, f"context {k}")
    for env in batch.environments:
        if not isinstance(env, dict):
            raise Bad("an environment is not an object")
        for col in ("env_hash", "python", "platform", "packages"):
            check_text(env.get(col), f"environment {col}")
        _int(env.get("created_at"), "environment created_at", (0, MAX_TIME_MS))
    for m in batch.metrics:
        check_run_id(m[0])


def checked_metrics(table: Any) -> Any:
    """``table`` if it is a metric points table whose every value the store can take."""
    import pyarrow as pa
    import pyarrow.compute as pc

    expected = {"key": pa.string(), "step": pa.int64(), "value": pa.float64(), "timestamp": pa.int64()}
    if table.column_names != ["run_id", "key", "step", "value", "timestamp"]:
        raise Bad(f"its point columns are {table.column_names}")
    for name, typ in expected.items():
        if table.schema.field(name).type != typ:
            raise Bad(f"its {name} column is {table.schema.field(name).type}, not {typ}")
    run_type = table.schema.field("run_id").type
    if run_type == pa.string():
        run_ids = pc.unique(table.column("run_id")).to_pylist()
    elif pa.types.is_dictionary(run_type) and run_type.value_type == pa.string():
        run_ids = []
        for chunk in table.column("run_id").chunks:
            if chunk.dictionary.null_count:
                raise Bad("a run_id of its points is null")
            run_ids.extend(chunk.dictionary.to_pylist())
    else:
        raise Bad(f"its run_id column is {run_type}")
    for name in table.column_names:
        if table.column(name).null_count:
            raise Bad(f"its {name} column holds nulls")
    for rid in set(run_ids):
        check_run_id(rid, "points run_id")
    if table.num_rows:
        if pc.min(pc.utf8_length(table.column("key"))).as_py() < 1:
            raise Bad("a metric key is empty")
        if not pc.all(pc.is_finite(table.column("value"))).as_py():
            raise Bad("a metric value is not a finite number")
        lo, hi = pc.min_max(table.column("timestamp")).values()
        if lo.as_py() < 0 or hi.as_py() > MAX_TIME_MS:
            raise Bad(f"a point's timestamp is out of range ({lo.as_py()}..{hi.as_py()} ms)")
    return table
