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
import os
import shutil
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DamagedFileError
from .records import Batch

# The file format's writing and the value checks live in their own modules; their names
# are re-exported here, where the store, the tracking writer and the tests find them.
from .spool_checks import (
    MAX_TIME_MS,
    Bad,
    batch_from_json,
    check_batch,
    check_run_id,
    check_text,
    checked_metrics,
    one_line,
)
from .spool_write import (
    HEADER,
    LEGACY_MAGIC,
    LEGACY_RESCUE,
    MAGIC,
    RESCUE_MARK,
    batch_json,
    fallback_dirs,
    new_batch_id,
    rescue_dirs,
    write_rescue,
    write_spool,
)
from .writes import apply, metrics_table

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

# The names these had before the module was split.
_HEADER = HEADER
_batch_json = batch_json
_Bad = Bad


# -- reading -------------------------------------------------------------------------------
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
        if data[:6] == LEGACY_MAGIC:
            return [_parse_arrow(data)]
        raise Bad("it is not a Workbench spool file (unknown header)")
    except Bad as e:
        raise DamagedFileError(f"{path} is damaged: {e}") from None


def _is_legacy_rescue(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(LEGACY_RESCUE)) == LEGACY_RESCUE
    except OSError:
        return False


def _verified(data: bytes) -> memoryview:
    if len(data) < HEADER.size:
        raise Bad(f"it is truncated ({len(data)} bytes)")
    _, digest, size = HEADER.unpack_from(data)
    payload = memoryview(data)[HEADER.size :]
    if size != len(payload):
        raise Bad(f"its payload is {len(payload)} bytes, its header says {size}")
    if hashlib.sha256(payload).digest() != digest:
        raise Bad("its checksum does not match its content")
    return payload


def _parse_arrow(payload: Any) -> tuple[str | None, Batch]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        table = ipc.open_file(pa.BufferReader(pa.py_buffer(payload))).read_all()
        table.validate(full=True)
        rest = json.loads(table.schema.metadata[b"workbench_batch"].decode("utf-8"))
    except Bad:
        raise
    except Exception as e:  # noqa: BLE001 - anything Arrow or JSON says about it
        raise Bad(f"it does not parse ({one_line(e)})") from None
    if not isinstance(rest, dict):
        raise Bad("its batch record is not an object")
    batch_id = rest.get("batch_id")
    if batch_id is not None:
        check_text(batch_id, "batch_id")
    batch = batch_from_json(rest)
    if table.num_rows:
        batch.metrics_table = checked_metrics(table.replace_schema_metadata(None))
    return batch_id, batch


def _parse_rescue(data: bytes) -> list[tuple[str | None, Batch]]:
    if not data.startswith(RESCUE_MARK):
        raise Bad("it is not a Workbench rescue file (unknown header)")
    end = data.find(b"\n")
    if end < 0:
        raise Bad("it has no header line")
    try:
        header = json.loads(data[:end].decode("utf-8"))
        body = memoryview(data)[end + 1 :]
        size, digest = header["bytes"], header["sha256"]
    except Exception as e:  # noqa: BLE001
        raise Bad(f"its header does not parse ({one_line(e)})") from None
    if size != len(body):
        raise Bad(f"its payload is {len(body)} bytes, its header says {size}")
    if hashlib.sha256(body).hexdigest() != digest:
        raise Bad("its checksum does not match its content")
    try:
        payload = json.loads(bytes(body).decode("utf-8"))
        entries = payload["batches"]
    except Exception as e:  # noqa: BLE001
        raise Bad(f"it does not parse ({one_line(e)})") from None
    if not isinstance(entries, list):
        raise Bad("its batches are not a list")
    out: list[tuple[str | None, Batch]] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("batch"), dict):
            raise Bad("a batch is not an object")
        bid = entry.get("batch_id")
        if bid is not None:
            check_text(bid, "batch_id")
        batch = batch_from_json(entry["batch"])
        points = entry.get("points") or []
        if not isinstance(points, list):
            raise Bad("points are not a list")
        for chunk in points:
            if not isinstance(chunk, list) or len(chunk) != 5:
                raise Bad("a chunk of points is not [run_id, keys, steps, values, times]")
            run_id, keys, steps, values, times = chunk
            check_run_id(run_id, "points run_id")
            if not all(isinstance(c, list) and len(c) == len(keys) for c in (keys, steps, values, times)):
                raise Bad(f"the point columns of run {run_id!r} differ in length")
            if not all(type(s) is int for s in steps) or not all(type(v) is float for v in values):
                raise Bad(f"a step or value of run {run_id!r} has the wrong type")
            try:
                batch.metrics.append((run_id, keys, array("q", steps), array("d", values), array("d", times)))
            except (TypeError, OverflowError) as e:
                raise Bad(f"a point of run {run_id!r} is out of range ({e})") from None
        if batch.metrics:
            try:
                table = metrics_table(batch)
            except Exception as e:  # noqa: BLE001 - e.g. a key Arrow cannot encode
                raise Bad(f"its points do not convert ({one_line(e)})") from None
            batch.metrics, batch.metrics_table = [], checked_metrics(table)
        out.append((bid, batch))
    return out


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
                    _set_aside(item[0], spool_dir, f"{item[0]} could not be applied ({one_line(e2)})")
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
