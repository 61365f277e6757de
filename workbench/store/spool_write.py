"""Writing spool and rescue files (the format :mod:`.spool` describes): the header
and checksum, the atomic write, batch ids and file names, and the folders rescue files go to."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .records import Batch
from .writes import empty_metrics_table, metrics_table

__all__ = [
    "HEADER",
    "LEGACY_MAGIC",
    "LEGACY_RESCUE",
    "MAGIC",
    "RESCUE_MARK",
    "batch_json",
    "fallback_dirs",
    "new_batch_id",
    "rescue_dirs",
    "write_rescue",
    "write_spool",
]

MAGIC = b"WBSPOOL2"
HEADER = struct.Struct("<8s32sQ")
LEGACY_MAGIC = b"ARROW1"
RESCUE_MARK = b'{"workbench_rescue": 2'
#: Rescue files of earlier versions (no checksum, no batch ids) start so; they are left alone.
LEGACY_RESCUE = b'{"ops": '

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


def batch_json(batch: Batch) -> dict[str, Any]:
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
    rest = batch_json(batch) | {"batch_id": batch_id}
    table = table.replace_schema_metadata({b"workbench_batch": json.dumps(rest).encode()})
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    payload = sink.getvalue()
    header = HEADER.pack(MAGIC, hashlib.sha256(payload).digest(), payload.size)
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
                {"batch_id": bid, "batch": batch_json(b), "points": _points_json(b)} for bid, b in batches
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
