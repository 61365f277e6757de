"""The spool and the rescue files: batches written beside the store, folded in later.

A writer that finds the store locked never waits: it writes its batch as one spool file
under ``spool/`` (about 0.5 ms), and the next session of any process applies the files,
oldest first, before doing anything else. A process that cannot write the store at exit
saves what it still holds as a rescue file (``unflushed/*.json`` in the store's folder,
else a fallback folder, see :func:`rescue_dirs`), which the next session folds in too.

Every file is written atomically (a temporary file renamed into place; rescue files
and spills are fsync'd first, spool files of a busy store are not: a power cut can
only leave one that its checksum rejects) and carries the sha256 of its payload,
checked *before* the payload is parsed: a damaged file is never handed to Arrow or
DuckDB. After the checksum, every value is checked (types, run ids, finite values,
timestamps within sane bounds, valid UTF-8) before anything is folded.
A file that fails is moved to ``spool/bad/`` with a warning naming it, and the rest of
the spool is folded. A file that cannot be applied for a passing reason (disk full, an
I/O error) is left where it is for the next session: only damage moves a file aside.

Each batch has an id, recorded in the store in the transaction that applies it (as the
names of folded files are), so a batch applied twice (a retry after a commit that did
happen, a fold interrupted after its commit) changes nothing the second time.

Spool file format (``*.arrow``)::

    8 bytes   b"WBSPOOL2"
    32 bytes  sha256 of the payload
    8 bytes   payload length, unsigned little-endian
    payload   an Arrow IPC file: the metric points (run_id dictionary-encoded, key,
              step int64, value float64, timestamp int64 in ms) whose schema metadata
              ``workbench_batch`` holds the rest of the batch as JSON, with its
              ``batch_id``

Files that start with ``ARROW1`` (no header) were written by earlier versions: they are
read with the same value checks, after Arrow's full validation.

Rescue file format (``*.json``): a first line ``{"workbench_rescue": 2, "sha256": HEX,
"bytes": N, ...}`` then N bytes of JSON, ``{"batches": [{"batch_id", "batch",
"points": [[run_id, keys, steps, values, unix_times], ...]}, ...]}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import shutil
import struct
import time
import uuid
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DamagedFileError
from .records import Batch
from .writes import RUN_COLUMNS, apply, empty_metrics_table, metrics_table

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "MAX_TIME_MS",
    "check_batch",
    "fallback_dirs",
    "fold",
    "merge",
    "new_batch_id",
    "read_file",
    "read_spool",
    "rescue_dirs",
    "write_rescue",
    "write_spool",
]

log = logging.getLogger(__name__)

MAGIC = b"WBSPOOL2"
_HEADER = struct.Struct("<8s32sQ")
_LEGACY_MAGIC = b"ARROW1"
_RESCUE_MARK = b'{"workbench_rescue": 2'
#: Rescue files of earlier versions (no checksum, no batch ids) start so; they are left alone.
_LEGACY_RESCUE = b'{"ops": '
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

_seq = 0


def new_batch_id() -> str:
    """A new batch id (recorded in the store when the batch is applied)."""
    return uuid.uuid4().hex


def _new_name(suffix: str) -> str:
    global _seq
    _seq += 1
    # Names sort by time, so folding applies one process's batches in order.
    return f"{time.time_ns():020d}-{os.getpid()}-{_seq:08d}{suffix}"


# -- writing -------------------------------------------------------------------------
def _write_atomic(directory: Path, name: str, chunks: Iterable[Any], sync: bool = True) -> Path:
    """Write ``chunks`` to ``directory/name`` so that nobody ever sees part of it: a
    temporary file, renamed into place (with ``sync``, fsync'd first, and its folder
    after). On failure the temporary file is removed."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    tmp = directory / (name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            for chunk in chunks:
                view = memoryview(chunk).cast("B")
                while view:
                    view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        with contextlib.suppress(OSError):
            dfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    return path


def _batch_json(batch: Batch) -> dict[str, Any]:
    return {
        "experiments": batch.experiments,
        "runs": batch.runs,
        "params": batch.params,
        "tags": batch.tags,
        "artifacts": batch.artifacts,
        "ends": batch.ends,
        "heartbeats": batch.heartbeats,
        "contexts": batch.contexts,
        "environments": batch.environments,
        "created_ms": batch.created_ms,
    }


def write_spool(spool_dir: Path, batch: Batch, batch_id: str | None = None, sync: bool = False) -> Path:
    """Write ``batch`` as a new spool file in ``spool_dir``; returns its path.

    The rename makes it whole or absent for other processes and across a SIGKILL.
    ``sync`` also makes it durable across a power cut (fsync, ~3 ms; spills use it). A
    spool file torn by a power cut without it is caught by its checksum.

    Raises
    ------
    OSError
        The folder cannot take the file (nothing is left behind).
    """
    import pyarrow as pa
    import pyarrow.ipc as ipc

    table = (
        metrics_table(batch) if (batch.metrics or batch.metrics_table is not None) else empty_metrics_table()
    )
    rest = _batch_json(batch) | {"batch_id": batch_id}
    table = table.replace_schema_metadata({b"workbench_batch": json.dumps(rest).encode()})
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    payload = sink.getvalue()
    header = _HEADER.pack(MAGIC, hashlib.sha256(payload).digest(), payload.size)
    return _write_atomic(spool_dir, _new_name(".arrow"), (header, payload), sync=sync)


def _points_json(batch: Batch) -> list[list[Any]]:
    out: list[list[Any]] = []
    for run_id, keys, steps, values, times in batch.metrics:
        out.append([run_id, list(keys), _tolist(steps), _tolist(values), _tolist(times)])
    if batch.metrics_table is not None:
        t = batch.metrics_table
        run_ids = t.column("run_id").cast("string").to_pylist()
        keys = t.column("key").to_pylist()
        steps = t.column("step").to_pylist()
        values = t.column("value").to_pylist()
        times = [ms / 1000 for ms in t.column("timestamp").to_pylist()]
        by_run: dict[str, list[list[Any]]] = {}
        for row in zip(run_ids, keys, steps, values, times):
            cols = by_run.setdefault(row[0], [[], [], [], []])
            for col, v in zip(cols, row[1:]):
                col.append(v)
        out.extend([rid, *cols] for rid, cols in by_run.items())
    return out


def _tolist(x: Any) -> list[Any]:
    return x.tolist() if hasattr(x, "tolist") else list(x)


def write_rescue(directory: Path, batches: Sequence[tuple[str | None, Batch]], store_dir: Path) -> Path:
    """Save batches that could not be written as one rescue file in ``directory``.

    Raises
    ------
    OSError
        The folder cannot take the file (nothing is left behind).
    """
    body = json.dumps(
        {
            "batches": [
                {"batch_id": bid, "batch": _batch_json(b), "points": _points_json(b)} for bid, b in batches
            ]
        },
        default=str,
    ).encode()
    header = json.dumps(
        {
            "workbench_rescue": 2,
            "sha256": hashlib.sha256(body).hexdigest(),
            "bytes": len(body),
            "store": str(store_dir),
            "points": sum(b.n_points for _, b in batches),
        }
    ).encode()
    return _write_atomic(directory, _new_name(".json"), (header, b"\n", body), sync=True)


def fallback_dirs(store_dir: Path) -> list[Path]:
    """Where rescue files of ``store_dir`` go when the store's own folder cannot take
    them: ``$XDG_STATE_HOME/workbench/rescue/KEY``, ``~/.local/state/workbench/rescue/KEY``
    and ``$TMPDIR/workbench-rescue-UID/KEY``, KEY naming the store."""
    key = hashlib.sha256(os.fsencode(os.path.realpath(store_dir))).hexdigest()[:16]
    roots: list[Path] = []
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg and os.path.isabs(xdg):
        roots.append(Path(xdg) / "workbench" / "rescue")
    home = os.path.expanduser("~")
    if home != "~" and os.path.isabs(home):
        roots.append(Path(home) / ".local" / "state" / "workbench" / "rescue")
    tmp = os.environ.get("TMPDIR") or "/tmp"  # noqa: S108
    uid = os.getuid() if hasattr(os, "getuid") else 0
    shared = Path(tmp) / f"workbench-rescue-{uid}"
    try:
        mine = shared.stat().st_uid == uid
    except OSError:
        mine = True  # made by us, private, when first needed
    if mine:  # never one another user made in a shared folder
        roots.append(shared)
    out: list[Path] = []
    for r in roots:
        if r / key not in out:
            out.append(r / key)
    return out


def rescue_dirs(store_dir: Path) -> list[Path]:
    """Every folder a rescue file of ``store_dir`` may be in, the store's own first."""
    return [store_dir / "unflushed", *fallback_dirs(store_dir)]


# -- reading and checking ----------------------------------------------------------------
class _Bad(ValueError):
    """A value a batch must not hold (the message says which and why)."""


def read_spool(path: Path) -> Batch:
    """The batch a spool file holds (checked; see :func:`read_file`)."""
    return read_file(path)[0][1]


def read_file(path: Path) -> list[tuple[str | None, Batch]]:
    """The batches (with their ids, None for files of earlier versions) a spool or
    rescue file holds, after its checksum and every value were checked.

    Raises
    ------
    DamagedFileError
        The file is damaged or holds values the store must not take.
    OSError
        The file could not be read (it is not judged).
    """
    data = path.read_bytes()
    try:
        if path.suffix == ".json":
            return _parse_rescue(data)
        if data[:8] == MAGIC:
            return [_parse_arrow(_verified(data))]
        if data[:6] == _LEGACY_MAGIC:
            return [_parse_arrow(data)]
        raise _Bad("it is not a Workbench spool file (unknown header)")
    except _Bad as e:
        raise DamagedFileError(f"{path} is damaged: {e}") from None


def _is_legacy_rescue(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(_LEGACY_RESCUE)) == _LEGACY_RESCUE
    except OSError:
        return False


def _verified(data: bytes) -> memoryview:
    if len(data) < _HEADER.size:
        raise _Bad(f"it is truncated ({len(data)} bytes)")
    _, digest, size = _HEADER.unpack_from(data)
    payload = memoryview(data)[_HEADER.size :]
    if size != len(payload):
        raise _Bad(f"its payload is {len(payload)} bytes, its header says {size}")
    if hashlib.sha256(payload).digest() != digest:
        raise _Bad("its checksum does not match its content")
    return payload


def _parse_arrow(payload: Any) -> tuple[str | None, Batch]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        table = ipc.open_file(pa.BufferReader(pa.py_buffer(payload))).read_all()
        table.validate(full=True)
        rest = json.loads(table.schema.metadata[b"workbench_batch"].decode("utf-8"))
    except _Bad:
        raise
    except Exception as e:  # noqa: BLE001 - anything Arrow or JSON says about it
        raise _Bad(f"it does not parse ({_one_line(e)})") from None
    if not isinstance(rest, dict):
        raise _Bad("its batch record is not an object")
    batch_id = rest.get("batch_id")
    if batch_id is not None:
        _text(batch_id, "batch_id")
    batch = _batch_from_json(rest)
    if table.num_rows:
        batch.metrics_table = _checked_metrics(table.replace_schema_metadata(None))
    return batch_id, batch


def _parse_rescue(data: bytes) -> list[tuple[str | None, Batch]]:
    if not data.startswith(_RESCUE_MARK):
        raise _Bad("it is not a Workbench rescue file (unknown header)")
    end = data.find(b"\n")
    if end < 0:
        raise _Bad("it has no header line")
    try:
        header = json.loads(data[:end].decode("utf-8"))
        body = memoryview(data)[end + 1 :]
        size, digest = header["bytes"], header["sha256"]
    except Exception as e:  # noqa: BLE001
        raise _Bad(f"its header does not parse ({_one_line(e)})") from None
    if size != len(body):
        raise _Bad(f"its payload is {len(body)} bytes, its header says {size}")
    if hashlib.sha256(body).hexdigest() != digest:
        raise _Bad("its checksum does not match its content")
    try:
        payload = json.loads(bytes(body).decode("utf-8"))
        entries = payload["batches"]
    except Exception as e:  # noqa: BLE001
        raise _Bad(f"it does not parse ({_one_line(e)})") from None
    if not isinstance(entries, list):
        raise _Bad("its batches are not a list")
    out: list[tuple[str | None, Batch]] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("batch"), dict):
            raise _Bad("a batch is not an object")
        bid = entry.get("batch_id")
        if bid is not None:
            _text(bid, "batch_id")
        batch = _batch_from_json(entry["batch"])
        points = entry.get("points") or []
        if not isinstance(points, list):
            raise _Bad("points are not a list")
        for chunk in points:
            if not isinstance(chunk, list) or len(chunk) != 5:
                raise _Bad("a chunk of points is not [run_id, keys, steps, values, times]")
            run_id, keys, steps, values, times = chunk
            _run_id(run_id, "points run_id")
            if not all(isinstance(c, list) and len(c) == len(keys) for c in (keys, steps, values, times)):
                raise _Bad(f"the point columns of run {run_id!r} differ in length")
            if not all(type(s) is int for s in steps) or not all(type(v) is float for v in values):
                raise _Bad(f"a step or value of run {run_id!r} has the wrong type")
            try:
                batch.metrics.append((run_id, keys, array("q", steps), array("d", values), array("d", times)))
            except (TypeError, OverflowError) as e:
                raise _Bad(f"a point of run {run_id!r} is out of range ({e})") from None
        if batch.metrics:
            try:
                table = metrics_table(batch)
            except Exception as e:  # noqa: BLE001 - e.g. a key Arrow cannot encode
                raise _Bad(f"its points do not convert ({_one_line(e)})") from None
            batch.metrics, batch.metrics_table = [], _checked_metrics(table)
        out.append((bid, batch))
    return out


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__


def _text(v: Any, what: str, nullable: bool = False, nonempty: bool = False) -> None:
    if v is None and nullable:
        return
    if type(v) is not str:
        raise _Bad(f"{what} is {type(v).__name__}, not text")
    if nonempty and not v:
        raise _Bad(f"{what} is empty")
    if not v.isascii():
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise _Bad(f"{what} {v[:80]!r} is not valid UTF-8 text") from None


def _int(v: Any, what: str, bounds: tuple[int, int], nullable: bool = False) -> None:
    if v is None and nullable:
        return
    if type(v) is not int:
        raise _Bad(f"{what} is {type(v).__name__}, not an integer")
    if not bounds[0] <= v <= bounds[1]:
        raise _Bad(f"{what} {v} is out of range")


def _run_id(v: Any, what: str = "run_id") -> None:
    if type(v) is not str or not _RUN_ID.match(v):
        raise _Bad(f"{what} {str(v)[:80]!r} is not a run id")


def _scalar(v: Any, what: str) -> None:
    if v is None or type(v) in (bool, int):
        if type(v) is int:
            _int(v, what, _INT64)
        return
    if type(v) is float:
        if not math.isfinite(v):
            raise _Bad(f"{what} is {v}")
        return
    _text(v, what)


def _rows(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise _Bad(f"{what} is {type(v).__name__}, not a list")
    return v


def _batch_from_json(rest: Mapping[str, Any]) -> Batch:
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
        raise _Bad(f"its batch record lacks or mistypes {_one_line(e)}") from None
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
        raise _Bad("experiments is not an object")
    for name, created in batch.experiments.items():
        _text(name, "experiment name", nonempty=True)
        _int(created, f"experiment {name!r} created_at", (0, MAX_TIME_MS))
    for row in batch.runs:
        if not isinstance(row, dict):
            raise _Bad("a run row is not an object")
        for col in _RUN_REQUIRED:
            if row.get(col) is None:
                raise _Bad(f"a run row lacks {col}")
        _run_id(row["run_id"])
        if row["status"] not in _RUN_STATUSES:
            raise _Bad(f"run status {str(row['status'])[:40]!r} is unknown")
        for col, value in row.items():
            _text(col, "a run column name")
            if col in _RUN_INTS:
                _int(value, f"run {col}", _RUN_INTS[col], nullable=True)
            elif col == "git_dirty":
                if value is not None and type(value) is not bool:
                    raise _Bad("run git_dirty is not a boolean")
            elif col in RUN_COLUMNS:
                _text(value, f"run {col}", nullable=True)
            else:
                _scalar(value, f"run {col}")
    seen: set[str] = set()  # run ids checked already
    for what, rows in (("param", batch.params), ("tag", batch.tags)):
        for r in rows:
            if len(r) != 3:
                raise _Bad(f"a {what} is not (run_id, key, value)")
            run_id, key, value = r
            if type(run_id) is not str or run_id not in seen:
                _run_id(run_id)
                seen.add(run_id)
            if type(key) is str and key and key.isascii() and type(value) is str and value.isascii():
                continue  # the common case, at a fraction of the cost
            _text(key, f"{what} key", nonempty=True)
            _text(value, f"{what} {key!r} value")
    for a in batch.artifacts:
        if not isinstance(a, dict):
            raise _Bad("an artifact is not an object")
        _run_id(a.get("run_id"))
        for col in ("path", "kind", "sha256", "direction"):
            _text(a.get(col), f"artifact {col}")
        for col in ("stored_path", "name", "meta"):
            _text(a.get(col), f"artifact {col}", nullable=True)
        _int(a.get("size"), "artifact size", (0, _INT64[1]))
        _int(a.get("created_at"), "artifact created_at", (0, MAX_TIME_MS))
    for e in batch.ends:
        if len(e) != 4:
            raise _Bad("a run end is not (run_id, status, end_time, error)")
        _run_id(e[0])
        if e[1] not in _RUN_STATUSES:
            raise _Bad(f"run status {str(e[1])[:40]!r} is unknown")
        _int(e[2], "end_time", (0, MAX_TIME_MS))
        _text(e[3], "run error", nullable=True)
    for h in batch.heartbeats:
        _run_id(h)
    for c in batch.contexts:
        if len(c) != 2 or not isinstance(c[1], dict):
            raise _Bad("a run context is not (run_id, {column: value})")
        _run_id(c[0])
        for k, v in c[1].items():
            _text(k, "a context column name")
            _scalar(v, f"context {k}")
    for env in batch.environments:
        if not isinstance(env, dict):
            raise _Bad("an environment is not an object")
        for col in ("env_hash", "python", "platform", "packages"):
            _text(env.get(col), f"environment {col}")
        _int(env.get("created_at"), "environment created_at", (0, MAX_TIME_MS))
    for m in batch.metrics:
        _run_id(m[0])


def _checked_metrics(table: Any) -> Any:
    """``table`` if it is a metric points table whose every value the store can take."""
    import pyarrow as pa
    import pyarrow.compute as pc

    expected = {"key": pa.string(), "step": pa.int64(), "value": pa.float64(), "timestamp": pa.int64()}
    if table.column_names != ["run_id", "key", "step", "value", "timestamp"]:
        raise _Bad(f"its point columns are {table.column_names}")
    for name, typ in expected.items():
        if table.schema.field(name).type != typ:
            raise _Bad(f"its {name} column is {table.schema.field(name).type}, not {typ}")
    run_type = table.schema.field("run_id").type
    if run_type == pa.string():
        run_ids = pc.unique(table.column("run_id")).to_pylist()
    elif pa.types.is_dictionary(run_type) and run_type.value_type == pa.string():
        run_ids = []
        for chunk in table.column("run_id").chunks:
            if chunk.dictionary.null_count:
                raise _Bad("a run_id of its points is null")
            run_ids.extend(chunk.dictionary.to_pylist())
    else:
        raise _Bad(f"its run_id column is {run_type}")
    for name in table.column_names:
        if table.column(name).null_count:
            raise _Bad(f"its {name} column holds nulls")
    for rid in set(run_ids):
        _run_id(rid, "points run_id")
    if table.num_rows:
        if pc.min(pc.utf8_length(table.column("key"))).as_py() < 1:
            raise _Bad("a metric key is empty")
        if not pc.all(pc.is_finite(table.column("value"))).as_py():
            raise _Bad("a metric value is not a finite number")
        lo, hi = pc.min_max(table.column("timestamp")).values()
        if lo.as_py() < 0 or hi.as_py() > MAX_TIME_MS:
            raise _Bad(f"a point's timestamp is out of range ({lo.as_py()}..{hi.as_py()} ms)")
    return table


# -- folding -------------------------------------------------------------------------------
def merge(batches: Sequence[Batch]) -> Batch:
    """One batch holding several, in order (for folding many spool files at once)."""
    import pyarrow as pa

    out = Batch(created_ms=max(b.created_ms for b in batches))
    for b in batches:
        out.experiments.update(b.experiments)
        out.runs.extend(b.runs)
        out.params.extend(b.params)
        out.tags.extend(b.tags)
        out.artifacts.extend(b.artifacts)
        out.ends.extend(b.ends)
        out.heartbeats.extend(b.heartbeats)
        out.contexts.extend(b.contexts)
        out.environments.extend(b.environments)
        out.metrics.extend(b.metrics)
    tables = [b.metrics_table for b in batches if b.metrics_table is not None]
    if out.metrics:
        tables.append(metrics_table(Batch(metrics=out.metrics)))
        out.metrics = []
    if tables:
        out.metrics_table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return out


def _listing(spool_dir: Path, extra_dirs: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for directory, suffixes in ((spool_dir, (".arrow",)), *((d, (".arrow", ".json")) for d in extra_dirs)):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        found.extend(directory / n for n in names if n.endswith(suffixes) and not n.startswith("."))
    found.sort(key=lambda p: p.name)
    return found


def _data_error(e: BaseException) -> bool:
    """Whether a failure to apply a checked file is the file's fault (it would fail the
    same way every time) rather than the disk's or the database's (it may pass later)."""
    import duckdb

    data = (
        duckdb.ConstraintException,
        duckdb.ConversionException,
        duckdb.OutOfRangeException,
        duckdb.TypeMismatchException,
    )
    if isinstance(e, data):
        return True
    if isinstance(e, duckdb.InvalidInputException):
        return "invalidated" not in str(e)
    if isinstance(e, duckdb.Error):
        return False
    import pyarrow as pa

    return isinstance(e, (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError, KeyError))


def _set_aside(path: Path, spool_dir: Path, why: object) -> None:
    """Move a file that can never be applied to ``spool/bad/``, out of the way."""
    bad = spool_dir / "bad"
    where: Path | None = None
    try:
        bad.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, bad / path.name)
        except OSError:
            shutil.move(str(path), str(bad / path.name))  # another file system
        where = bad / path.name
    except OSError:
        with contextlib.suppress(OSError):
            os.replace(path, path.with_name(path.name + ".bad"))
            where = path.with_name(path.name + ".bad")
    log.warning(
        "workbench: %s; it was moved to %s, and the rest of the spool was folded",
        why,
        where or "nowhere (it could not be moved)",
    )


def _apply_files(
    con: duckdb.DuckDBPyConnection, items: Sequence[tuple[Path, list[tuple[str | None, Batch]]]]
) -> bool:
    batches = [b for _, bs in items for _, b in bs]
    ids = [bid for _, bs in items for bid, _ in bs if bid]
    return apply(con, merge(batches) if batches else Batch(), [p.name for p, _ in items], ids)


def fold(con: duckdb.DuckDBPyConnection, spool_dir: Path, rescue: Sequence[Path] = ()) -> int:
    """Apply every spool file of ``spool_dir`` and rescue file of the ``rescue`` folders
    not yet applied, oldest first; returns how many files were folded.

    Damaged files are moved to ``spool/bad/``. A failure that is not the files' fault
    (disk full, I/O error) is raised, with every file left in place for a later fold.
    """
    paths = _listing(spool_dir, rescue)
    if not paths:
        return 0
    names = [p.name for p in paths]
    applied = {
        r[0]
        for r in con.execute(
            "SELECT name FROM spool_applied WHERE name IN (SELECT unnest(?::VARCHAR[]))", [names]
        ).fetchall()
    }
    done: list[Path] = []
    todo: list[tuple[Path, list[tuple[str | None, Batch]]]] = []
    for path in paths:
        if path.name in applied:
            done.append(path)  # its commit happened; only the clean-up was interrupted
            continue
        if path.suffix == ".json" and _is_legacy_rescue(path):
            continue  # earlier versions' rescue files: kept for a person, never folded
        try:
            todo.append((path, read_file(path)))
        except FileNotFoundError:
            continue
        except DamagedFileError as e:
            _set_aside(path, spool_dir, e)
    if todo:
        ids = [bid for _, bs in todo for bid, _ in bs if bid]
        seen: set[str] = set()
        if ids:
            seen = {
                r[0]
                for r in con.execute(
                    "SELECT batch_id FROM applied_batches WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))",
                    [ids],
                ).fetchall()
            }
        work: list[tuple[Path, list[tuple[str | None, Batch]]]] = []
        for path, bs in todo:
            keep = []
            for bid, b in bs:
                if bid is None or bid not in seen:  # a batch applied already changes nothing
                    keep.append((bid, b))
                    if bid:
                        seen.add(bid)
            work.append((path, keep))
        # All in one transaction when they can be; file by file (to find a bad one) if not.
        try:
            _apply_files(con, work)
            done.extend(p for p, _ in work)
        except Exception as e:
            if not _data_error(e):
                raise  # not the files' fault: they stay for a later fold
            for item in work:
                try:
                    _apply_files(con, [item])
                except Exception as e2:
                    if not _data_error(e2):
                        raise
                    _set_aside(item[0], spool_dir, f"{item[0]} could not be applied ({_one_line(e2)})")
                    continue
                done.append(item[0])
    removed = []
    for path in done:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            continue  # its name stays recorded, so it is never applied again
        removed.append(path.name)
    if removed:
        import duckdb

        with contextlib.suppress(duckdb.Error):  # names left recorded are harmless
            con.execute("DELETE FROM spool_applied WHERE name IN (SELECT unnest(?::VARCHAR[]))", [removed])
    return len(done)
