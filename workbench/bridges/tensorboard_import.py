"""``wb.import_tensorboard(logdir)`` / ``workbench import tensorboard LOGDIR``.

Each folder under ``logdir`` holding event files (``events.out.tfevents.*``) becomes a
run, named after its path under ``logdir``. Scalars become metric histories with their
steps and wall times; the hparams plugin's values become params. ``add_hparams`` (torch's
and tensorboardX's ``SummaryWriter``) writes into a timestamped subfolder: it is folded
into its parent run. Files are read with the ``tensorboard`` package's protobufs (no
TensorFlow). A corrupt or truncated event file is skipped with a warning naming it,
and the rest imports. Importing again adds nothing: a run whose files are unchanged is
skipped, one whose files grew is replaced.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import struct
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store import imports
from ..store.records import now_ms
from ..store.store import Store
from . import _common
from .mlflow_import import target_store

__all__ = ["CorruptEventFileError", "TensorBoardReport", "import_tensorboard", "read_event_file"]

log = logging.getLogger(__name__)

_EVENT_FILE = re.compile(r"tfevents")
_TIMESTAMP_DIR = re.compile(r"^\d{9,}(\.\d+)?$")
_NAMESPACE = uuid.UUID("5b8f6c1e-4d0a-4c4e-9f55-7e0d7c1f2a11")


class CorruptEventFileError(ValueError):
    """An event file ends mid-record or holds a record that does not parse."""


@dataclass
class TensorBoardReport:
    """What an import of TensorBoard logs did."""

    logdir: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    points: int = 0
    skipped_files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"imported {self.logdir}: {self.added} runs added, {self.updated} updated, {self.unchanged} unchanged "
            f"({self.points:,} scalar points)"
        )
        if self.skipped_files:
            text += f"; skipped {len(self.skipped_files)} unreadable event file(s): {', '.join(self.skipped_files)}"
        return text


def _records(data: bytes, path: str) -> Iterator[bytes]:
    """The records of a TFRecord file: length (8 bytes), its masked CRC32C (4), data, data CRC (4)."""
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 12:
            raise CorruptEventFileError(f"truncated record header at byte {pos}")
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (crc,) = struct.unpack("<I", data[pos + 8 : pos + 12])
        if masked_crc32c(header) != crc:
            raise CorruptEventFileError(f"bad record header checksum at byte {pos}")
        if pos + 12 + length + 4 > end:
            raise CorruptEventFileError(f"truncated record at byte {pos}")
        yield data[pos + 12 : pos + 12 + length]
        pos += 12 + length + 4


def read_event_file(path: str | os.PathLike[str]) -> tuple[list[tuple[str, int, float, int]], dict[str, Any]]:
    """``(points, hparams)`` of one event file: scalar points ``(tag, step, value,
    wall_time_ms)`` and the hparams plugin's session values.

    Raises
    ------
    CorruptEventFileError
        The file is truncated or a record does not parse.
    """
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto import event_pb2

    with open(path, "rb") as f:
        data = f.read()
    points: list[tuple[str, int, float, int]] = []
    hparams: dict[str, Any] = {}
    parse = event_pb2.Event.FromString
    for rec in _records(data, str(path)):
        try:
            ev = parse(rec)
        except DecodeError as e:
            raise CorruptEventFileError(f"a record does not parse ({e})") from None
        if not ev.HasField("summary"):
            continue
        ms = int(ev.wall_time * 1000)
        for v in ev.summary.value:
            plugin = v.metadata.plugin_data.plugin_name
            kind = v.WhichOneof("value")
            if plugin == "hparams":
                if v.tag.endswith("session_start_info"):
                    hparams.update(_hparams(v.metadata.plugin_data.content))
                continue
            if kind == "simple_value":
                points.append((v.tag, int(ev.step), float(v.simple_value), ms))
            elif kind == "tensor" and plugin in ("scalars", ""):
                value = _tensor_scalar(v.tensor)
                if value is not None:
                    points.append((v.tag, int(ev.step), value, ms))
    return points, hparams


def _tensor_scalar(t: Any) -> float | None:
    if t.float_val:
        return float(t.float_val[0])
    if t.double_val:
        return float(t.double_val[0])
    if t.int_val:
        return float(t.int_val[0])
    if t.int64_val:
        return float(t.int64_val[0])
    if t.tensor_content and len(t.tensor_content) in (4, 8):
        return float(struct.unpack("<f" if len(t.tensor_content) == 4 else "<d", t.tensor_content)[0])
    return None


def _hparams(content: bytes) -> dict[str, Any]:
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    out = {}
    for name, value in data.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        if kind == "number_value":
            n = value.number_value
            out[name] = str(int(n)) if n.is_integer() else str(n)
        elif kind == "bool_value":
            out[name] = str(value.bool_value)
        elif kind == "string_value":
            out[name] = value.string_value
    return out


def _run_dirs(logdir: Path) -> dict[Path, list[Path]]:
    """Run folder -> its event files (hparams subfolders folded into their parent)."""
    runs: dict[Path, list[Path]] = {}
    for root, dirs, names in os.walk(logdir):
        dirs.sort()
        files = [Path(root) / n for n in sorted(names) if _EVENT_FILE.search(n)]
        if not files:
            continue
        d = Path(root)
        if d != logdir and _TIMESTAMP_DIR.match(d.name):
            d = d.parent  # add_hparams' timestamped folder: part of its parent run
        runs.setdefault(d, []).extend(files)
    return runs


def import_tensorboard(
    logdir: str | os.PathLike[str],
    experiment: str | None = None,
    *,
    store: str | os.PathLike[str] | Store | None = None,
    progress: bool | None = None,
) -> TensorBoardReport:
    """Import TensorBoard event files as Workbench runs.

    Parameters
    ----------
    logdir
        The folder TensorBoard would be pointed at (``tensorboard --logdir``).
    experiment
        The Workbench experiment of the runs (default: the folder's name).
    store
        The Workbench store to import into (default: the current one).
    progress
        Show a progress bar (default: when stderr is a terminal).

    Returns
    -------
    TensorBoardReport
        Runs added, updated and unchanged; scalar points; event files skipped.

    Raises
    ------
    InvalidInputError
        ``logdir`` is not a folder or holds no event files; nothing is imported.
    """
    root, runs = _check_logdir(logdir)
    experiment = experiment or root.name
    if not isinstance(experiment, str) or not experiment.strip():
        raise InvalidInputError(f"experiment must be a non-empty string, got {experiment!r}")
    target = target_store(store)
    report = TensorBoardReport(logdir=str(root))
    payload = _read_runs(runs, target, report, progress)
    _write(root, experiment, target, payload, report)
    for p in payload:
        if p[5]:
            report.updated += 1
        else:
            report.added += 1
    return report


def _check_logdir(logdir: Any) -> tuple[Path, dict[Path, list[Path]]]:
    """The absolute log folder and its runs' event files, or one line saying what is wrong."""
    if not isinstance(logdir, (str, os.PathLike)) or not str(logdir).strip():
        raise InvalidInputError(f"logdir must be a folder path, got {logdir!r}")
    root = Path(logdir).expanduser().absolute()
    if not root.is_dir():
        raise InvalidInputError(
            f"TensorBoard log folder {str(root)!r} does not exist (or is not a folder); give the folder "
            "holding the event files (events.out.tfevents.*), as for `tensorboard --logdir`"
        )
    runs = _run_dirs(root)
    if not runs:
        raise InvalidInputError(
            f"no TensorBoard event files (events.out.tfevents.*) under {str(root)!r}; give the folder "
            "`tensorboard --logdir` would be given"
        )
    return root, runs


def _read_runs(
    runs: dict[Path, list[Path]], target: Store, report: TensorBoardReport, progress: bool | None
) -> list[tuple[Path, str, list, dict, str, bool]]:
    """``(folder, run_id, points, hparams, digest, already_present)`` of each run whose
    files changed since the last import; unreadable files are skipped with a warning."""
    from tqdm.auto import tqdm

    ids = {d: uuid.uuid5(_NAMESPACE, str(d)).hex for d in runs}
    with _common.session(target) as con:
        known = imports.import_digests(con, list(ids.values()))
        present = imports.existing_run_ids(con, list(ids.values()))
    payload = []
    bar = tqdm(
        sorted(runs.items()),
        desc="reading event files",
        unit="run",
        disable=None if progress is None else not progress,
    )
    for d, files in bar:
        run_id = ids[d]
        digest = hashlib.sha256(
            repr([(str(f.relative_to(d)), f.stat().st_size) for f in files]).encode()
        ).hexdigest()
        if known.get(run_id) == digest:
            report.unchanged += 1
            continue
        points: list[tuple[str, int, float, int]] = []
        hparams: dict[str, Any] = {}
        read = 0
        for f in files:
            try:
                p, h = read_event_file(f)
            except (CorruptEventFileError, OSError) as e:
                warnings.warn(f"skipped unreadable event file {f}: {e}", RuntimeWarning, stacklevel=4)
                report.skipped_files.append(str(f))
                continue
            points.extend(p)
            hparams.update(h)
            read += 1
        if read:
            payload.append((d, run_id, points, hparams, digest, run_id in present))
    return payload


def _write(root: Path, experiment: str, target: Store, payload: list, report: TensorBoardReport) -> None:
    """Write the changed runs in one transaction (an import lands whole or not at all)."""
    with _common.session(target) as con, imports.transaction(con):
        imports.set_experiment(con, experiment, now_ms())
        imports.clear_runs(con, [p[1] for p in payload])
        rows = []
        for d, run_id, points, _hparams, _digest, _ in payload:
            times = [p[3] for p in points]
            name = d.relative_to(root).as_posix()
            rows.append(
                {
                    "run_id": run_id,
                    "experiment": experiment,
                    "run_name": root.name if name == "." else name,
                    "status": "finished",
                    "start_time": min(times) if times else int(d.stat().st_mtime * 1000),
                    "end_time": max(times) if times else int(d.stat().st_mtime * 1000),
                    "source": "tensorboard",
                }
            )
        imports.upsert_runs(con, rows)
        imports.upsert_key_values(con, "params", [(p[1], k, v) for p in payload for k, v in p[3].items()])
        imports.upsert_key_values(con, "tags", [(p[1], "tensorboard.logdir", str(p[0])) for p in payload])
        for _d, run_id, points, *_ in payload:
            if points:
                report.points += imports.insert_points(con, _table(run_id, points), dedupe=False)
        imports.record_imports(con, f"tensorboard:{root}", {p[1]: p[4] for p in payload})


def _table(run_id: str, points: Sequence[tuple[str, int, float, int]]) -> Any:
    import pyarrow as pa

    tags, steps, values, times = zip(*points)
    return pa.table(
        {
            "run_id": pa.DictionaryArray.from_arrays(
                pa.array([0] * len(points), pa.int32()), pa.array([run_id])
            ),
            "key": pa.array(tags, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
            "timestamp": pa.array(times, pa.int64()),
        }
    )
