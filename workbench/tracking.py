"""Runs and the buffered writer behind every logging call.

A logging call validates its input and appends a tuple to an in-memory list: no I/O,
about a microsecond. A background thread per store writes what has accumulated in one
transaction: every second, as soon as a run ends, when a run's buffer passes
``FLUSH_POINTS``, and at interpreter exit. ``flush()`` writes synchronously. Several
runs ending close together share one transaction (group commit), which is what keeps
run creation far below the ~3 ms a store session costs.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import stat
import sys
import threading
import time
import traceback
import uuid
import warnings
from array import array
from collections.abc import Mapping
from operator import index as _as_index
from pathlib import Path
from typing import Any

from . import filewatch, procs
from .env import WORKBENCH_PARENT_RUN_ID, WORKBENCH_SOURCE, WORKBENCH_TAGS, WORKBENCH_WATCH_FILES
from .errors import InvalidInputError, NoActiveRunError, WorkbenchError
from .store.store import Batch, Store, get_store

log = logging.getLogger(__name__)

__all__ = [
    "Run",
    "active_run",
    "end_run",
    "flush",
    "last_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "set_store",
    "set_tag",
    "set_tags",
    "start_run",
    "use_dataset",
]

#: A run's buffer size that wakes the writer at once.
FLUSH_POINTS = 500_000
#: Past this many unwritten points the logging call itself writes (back-pressure).
MAX_BUFFERED_POINTS = 2_000_000
#: Seconds between background flushes while there is something to write.
FLUSH_INTERVAL_S = 1.0
#: After a run ends, the writer waits this long for others to end before writing, so a
#: loop of short runs shares transactions instead of paying one per run.
GROUP_COMMIT_S = 0.02
#: Files a run opened, up to this many bytes in total, are hashed as it ends (bigger
#: ones by the file worker, after checking they did not change since).
SYNC_HASH_BYTES = 64 * 1024 * 1024
#: Seconds between heartbeats of a running run that logs nothing.
HEARTBEAT_S = 30.0

STATUSES = ("finished", "failed", "killed")
DEFAULT_EXPERIMENT = "Default"

_time = time.time
_stack: list[Run] = []
_last_run: Run | None = None
_store_override: str | None = None


def _now_ms() -> int:
    return int(_time() * 1000)


class Run:
    """One tracked run. Made by :func:`start_run`; also a context manager.

    The logging methods mirror the module-level functions (``wb.log_metric`` logs to
    the active run; ``run.log_metric`` to this one).
    """

    def __init__(
        self,
        writer: _Writer,
        run_id: str,
        run_name: str,
        experiment: str,
        parent_run_id: str | None,
        source: str,
    ) -> None:
        self.run_id = run_id
        self.run_name = run_name
        self.experiment = experiment
        self.parent_run_id = parent_run_id
        self.source = source
        self.status = "running"
        self._writer = writer
        self._key_col: list[str] = []
        self._step_col = array("q")
        self._value_col = array("d")
        self._times = array("d")
        self._steps: dict[str, int] = {}
        self._params: dict[str, str] = {}
        self._ended = False
        #: Called by the writer with (keys, steps, values) of each flushed chunk (live charts).
        self._on_flush: Any = None
        #: Files seen opened while the run is active (None when not watching).
        self._watch: Any = None
        #: (path, direction) recorded explicitly, so the file watch does not repeat them.
        self._declared: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"<Run {self.run_name} ({self.run_id[:8]}) {self.status}>"

    @property
    def store(self) -> Store:
        """The store this run is written to."""
        return self._writer.store

    # -- metrics ---------------------------------------------------------------
    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record one value of metric ``key``.

        Parameters
        ----------
        key
            Metric name, a non-empty string.
        value
            A finite number (int, float, or a NumPy/PyTorch scalar).
        step
            Integer step. By default one more than this key's previous step (0 first).

        Raises
        ------
        InvalidInputError
            Non-string key, non-numeric/NaN/infinite value, non-integer step, ended run.
        """
        # The hot path: plain type checks first, the slow explanations only on failure.
        if type(key) is not str or not key:
            raise _bad_key("metric", key)
        if self._ended:
            raise InvalidInputError(f"run {self.run_id[:8]} has ended; start a new run to log {key!r}")
        if type(value) is float:
            v = value
        elif type(value) is int:
            v = float(value)
        else:
            v = _to_float(key, value)
        if v - v != 0.0:
            raise InvalidInputError(
                f"metric {key!r} got {v}: metric values must be finite numbers (not NaN or inf)"
            )
        if step is None:
            step = self._steps.get(key, -1) + 1
        elif type(step) is not int:
            step = _to_step(key, step)
        # Four parallel columns, appended in this order: the writer reads len(_times)
        # first, so every column holds at least that many points when it slices them.
        # The step goes first because it is the only append that can fail (int64 range).
        try:
            self._step_col.append(step)
        except OverflowError:
            raise InvalidInputError(f"step for metric {key!r} is out of the 64-bit range: {step}") from None
        self._steps[key] = step
        self._key_col.append(key)
        self._value_col.append(v)
        times = self._times
        times.append(_time())
        if len(times) >= FLUSH_POINTS:
            self._writer.points_full(len(times))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record several metrics at once (same rules as :meth:`log_metric`).

        All values are checked before any is recorded, so a bad one records none.
        """
        if not isinstance(metrics, Mapping):
            raise InvalidInputError(
                f"log_metrics takes a dict of name -> number, got {type(metrics).__name__}"
            )
        for k, v in metrics.items():
            if type(k) is not str or not k:
                raise _bad_key("metric", k)
            val = float(v) if type(v) in (int, float) else _to_float(k, v)
            if val - val != 0.0:
                raise InvalidInputError(
                    f"metric {k!r} got {val}: metric values must be finite numbers (not NaN or inf)"
                )
        if step is not None and type(step) is not int:
            step = _to_step(next(iter(metrics), "?"), step)
        for k, v in metrics.items():
            self.log_metric(k, v, step)

    # -- params and tags ---------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        """Record a parameter. Stored as ``str(value)``, as MLflow does.

        Logging the same key again with the same value is a no-op; with a different value
        it is refused, since a run's parameters describe how it was started.
        """
        if type(key) is not str or not key:
            raise _bad_key("param", key)
        self._check_open(f"log param {key!r}")
        text = value if isinstance(value, str) else str(value)
        old = self._params.get(key)
        if old is not None:
            if old == text:
                return
            raise InvalidInputError(
                f"param {key!r} is already {old!r} in run {self.run_id[:8]}; a run's params cannot "
                f"change (got {text!r}). Log it under another name or start a new run"
            )
        self._params[key] = text
        self._writer.ops.append(("param", self.run_id, key, text))

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record several parameters (see :meth:`log_param`)."""
        if not isinstance(params, Mapping):
            raise InvalidInputError(f"log_params takes a dict of name -> value, got {type(params).__name__}")
        for k in params:
            if type(k) is not str or not k:
                raise _bad_key("param", k)
        for k, v in params.items():
            self.log_param(k, v)

    @property
    def params(self) -> dict[str, str]:
        """The parameters logged so far."""
        return dict(self._params)

    def set_tag(self, key: str, value: Any) -> None:
        """Set a tag (a string label; setting it again replaces the value)."""
        if type(key) is not str or not key:
            raise _bad_key("tag", key)
        self._check_open(f"set tag {key!r}")
        self._writer.ops.append(("tag", self.run_id, key, value if isinstance(value, str) else str(value)))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set several tags."""
        if not isinstance(tags, Mapping):
            raise InvalidInputError(f"set_tags takes a dict of name -> value, got {type(tags).__name__}")
        for k, v in tags.items():
            self.set_tag(k, v)

    # -- artifacts, datasets, models ---------------------------------------------
    def log_artifact(self, path: str | os.PathLike[str], kind: str = "file", name: str | None = None) -> str:
        """Copy a file (or every file of a directory) into the store, content-addressed:
        identical content is stored once, whichever run logs it.

        Returns the sha256 of the file (of the last file, for a directory).
        """
        self._check_open("log an artifact")
        if not isinstance(kind, str) or not kind.strip():
            raise InvalidInputError(f"artifact kind must be a non-empty string, got {kind!r}")
        p = Path(path)
        if not p.exists():
            raise InvalidInputError(
                f"artifact {str(p)!r} does not exist (give an existing file or directory)"
            )
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        digest = ""
        with filewatch.quiet():
            for f in files:
                digest, size, dest = self.store.put_file(f)
                self._add_artifact(os.path.abspath(f), kind, digest, size, "output", str(dest), name)
        return digest

    def use_dataset(
        self, data: Any, name: str | None = None, *, role: str | None = None, profile: bool = True
    ) -> str:
        """Record a dataset the run reads: a file (sha256, size, path) or a pandas
        DataFrame (a stable content hash), with a DuckDB profile of its columns.

        Parameters
        ----------
        data
            A file path or a DataFrame. Files are hashed in 1 MiB chunks, not copied.
        name
            How cards and comparisons name it; the file stem or ``dataframe`` by default.
        role
            ``training`` or ``evaluation``; guessed from the name (test/eval/valid mean
            evaluation) when not given.
        profile
            Compute per-column statistics for tables (the ones DuckDB's ``SUMMARIZE``
            gives, in one aggregate scan).

        Returns
        -------
        str
            The content hash.
        """
        self._check_open("record a dataset")
        from .datasets import describe

        with filewatch.quiet():
            d = describe(data, name, role, profile)
        self._add_artifact(d["path"], "dataset", d["sha256"], d["size"], "input", None, d["name"], d["meta"])
        return d["sha256"]

    def log_model(self, model: Any, name: str | None = None) -> str:
        """Save a model as an output of the run: a path (file or directory saved by its
        library) is copied; any other object is serialized with joblib (pickle when
        joblib is absent) into the store's artifact folder.

        Returns
        -------
        str
            The sha256 of the stored model (what :func:`register_model` versions).

        Raises
        ------
        InvalidInputError
            The object cannot be pickled (the message names the part that failed).
        """
        self._check_open("log a model")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise InvalidInputError(f"model name must be a non-empty string, got {name!r}")
        if isinstance(model, (str, os.PathLike)):
            p = Path(model)
            if not p.exists():
                raise InvalidInputError(
                    f"model {str(p)!r} does not exist (give a saved model file or directory, or the model object)"
                )
            if p.is_dir():
                return self._log_model_dir(p, name or p.name)
            return self.log_artifact(p, kind="model", name=name or p.stem)
        from .model_io import describe_model, serialize_model

        data, fmt = serialize_model(model)
        name = name or "model"
        return self._log_model_bytes(f"{name}.{fmt}", data, name, {**describe_model(model), "format": fmt})

    def _log_model_bytes(self, path: str, data: bytes, name: str, meta: dict[str, Any]) -> str:
        """Store ``data`` as a blob and record it as the run's model ``name``."""
        with filewatch.quiet():
            digest = self.store.put_bytes(data)
        self._add_artifact(
            path, "model", digest, len(data), "output", str(self.store.blob_path(digest)), name, meta
        )
        return digest

    def _log_model_dir(self, directory: Path, name: str) -> str:
        """A model saved as a folder (``save_pretrained`` and the like): every file is
        stored as a ``file`` artifact, and the model is one artifact, a manifest of
        relative path -> sha256, so it is registered, carded and loaded as one thing."""
        from .model_io import MANIFEST_KEY

        files = sorted(f for f in directory.rglob("*") if f.is_file())
        if not files:
            raise InvalidInputError(f"model folder {str(directory)!r} is empty")
        manifest: dict[str, str] = {}
        with filewatch.quiet():
            for f in files:
                rel = f.relative_to(directory).as_posix()
                digest, size, dest = self.store.put_file(f)
                manifest[rel] = digest
                self._add_artifact(
                    os.path.abspath(f), "file", digest, size, "output", str(dest), f"{name}/{rel}"
                )
        # The marker key first: is_manifest() looks for it in the first bytes.
        data = json.dumps({MANIFEST_KEY: 1, "files": dict(sorted(manifest.items()))}).encode()
        meta = {"format": "directory", "files": len(manifest)}
        return self._log_model_bytes(os.path.abspath(directory), data, name, meta)

    def _add_artifact(
        self,
        path: str,
        kind: str,
        sha256: str,
        size: int,
        direction: str,
        stored_path: str | None,
        name: str | None,
        meta: dict[str, Any] | None = None,
        created_at: int | None = None,
    ) -> None:
        self._declared.add((path, direction))
        self._writer.ops.append(
            (
                "artifact",
                {
                    "run_id": self.run_id,
                    "path": path,
                    "kind": str(kind),
                    "sha256": sha256,
                    "size": size,
                    "direction": direction,
                    "stored_path": stored_path,
                    "created_at": created_at or _now_ms(),
                    "name": name,
                    "meta": json.dumps(meta, default=str) if meta else None,
                },
            )
        )

    def _snapshot_files(self, watch: Any) -> list[dict[str, Any]]:
        """What each file the run opened is as the run ends (first half, in ``end``).

        Files are stat-ed, and hashed here while the total stays under
        ``SYNC_HASH_BYTES``: a later run rewriting the same path must not change what
        this run is recorded to have read or written. Bigger files are hashed by the
        worker, which checks first that they did not change since.
        """
        from .datasets import sha256_file

        entries: list[dict[str, Any]] = []
        budget = SYNC_HASH_BYTES
        with filewatch.quiet():
            for direction, paths in (("input", watch.inputs()), ("output", watch.outputs())):
                opened_at = watch.read if direction == "input" else watch.written
                for path in paths:
                    if (path, direction) in self._declared:
                        continue
                    st = _file_stat(path)
                    if st is None:
                        continue  # removed, or not a regular file: nothing to link
                    entry = {"path": path, "direction": direction, "opened": opened_at[path], "stat": st}
                    entry["sha256"] = None
                    if st[0] <= budget:
                        budget -= st[0]
                        try:
                            entry["sha256"] = sha256_file(path)[0]
                        except OSError:
                            continue
                    entries.append(entry)
        return entries

    def _record_files(self, entries: list[dict[str, Any]], truncated: bool) -> None:
        """Hash what was too big to hash at the end, profile tabular inputs, and record
        them all as input and output artifacts (second half, in the worker)."""
        from .datasets import AUTO_DATASET_SUFFIXES, MODEL_SUFFIXES, profile_meta, sha256_file

        changed = []
        with filewatch.quiet():
            for e in entries:
                path, direction = e["path"], e["direction"]
                try:
                    if e["sha256"] is None:
                        digest = sha256_file(path)[0]
                        if _file_stat(path) != e["stat"]:
                            changed.append(path)  # rewritten since the run ended: not its content
                            continue
                        e["sha256"] = digest
                except OSError:
                    continue
                suffix = os.path.splitext(path)[1].lower()
                meta: dict[str, Any] = {"detected": True}
                if direction == "input" and suffix in AUTO_DATASET_SUFFIXES:
                    kind = "dataset"
                    meta["role"] = "training"
                    if _file_stat(path) == e["stat"]:  # profile only the content that was read
                        meta.update(profile_meta(path))
                else:
                    kind = "model" if direction == "output" and suffix in MODEL_SUFFIXES else "file"
                # Stamped with when the run opened the file, which is what orders a writer
                # before its readers in the lineage graph.
                self._add_artifact(
                    path, kind, e["sha256"], e["stat"][0], direction, None, Path(path).stem, meta, e["opened"]
                )
        if changed:
            note = "changed before they could be hashed, so not recorded: " + ", ".join(changed)
            self._writer.ops.append(("tag", self.run_id, "workbench.files_changed", note[:2000]))
        if truncated:
            note = f"only the first {filewatch.MAX_PATHS} files opened were recorded"
            self._writer.ops.append(("tag", self.run_id, "workbench.files_truncated", note))

    # -- lifecycle ---------------------------------------------------------------
    def end(self, status: str = "finished", error: str | None = None) -> None:
        """End the run with ``status`` (finished, failed or killed). Ending twice is a no-op."""
        status = _check_status(status)
        if self._ended:
            return
        self._ended = True
        self.status = status
        if self in _stack:
            _stack.remove(self)
        watch, self._watch = self._watch, None
        if watch is not None:
            filewatch.stop(watch)
        end_op = ("end", self.run_id, status, _now_ms(), error)
        entries: list[dict[str, Any]] = []
        if watch is not None:
            try:
                entries = self._snapshot_files(watch)
            except Exception as exc:  # noqa: BLE001 - lineage is a bonus; never fail the run over it
                log.warning("could not record the files run %s opened: %s", self.run_id[:8], exc)
        if not entries and not (watch is not None and watch.truncated):
            self._writer.ops.append(end_op)
            self._writer.run_ended()
            return
        # Profiling tables and hashing big files can take a while: a worker thread does
        # it, and the run is written as ended once its files are recorded. flush() and
        # interpreter exit wait for it.
        _submit_file_job(lambda: self._finish_files(entries, watch.truncated, end_op))

    def _finish_files(self, entries: list[dict[str, Any]], truncated: bool, end_op: tuple[Any, ...]) -> None:
        try:
            self._record_files(entries, truncated)
        except Exception as exc:  # noqa: BLE001 - lineage is a bonus; never fail the run over it
            log.warning("could not record the files run %s opened: %s", self.run_id[:8], exc)
        finally:
            self._writer.ops.append(end_op)
            self._writer.run_ended()

    def set_context(self, **context: Any) -> None:
        """Fill in run context columns (notebook, git, environment...) after the start.

        Used by the notebook integration, which captures the slow parts in the background.
        """
        self._writer.ops.append(("context", self.run_id, context))

    def record_environment(self, env: Mapping[str, Any]) -> None:
        """Store an environment row (packages etc., see ``context.environment``) once per hash."""
        self._writer.ops.append(("environment", {**env, "created_at": _now_ms()}))

    def _check_open(self, what: str) -> None:
        if self._ended:
            raise InvalidInputError(f"cannot {what}: run {self.run_id[:8]} has ended")

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            self.end("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("killed", "KeyboardInterrupt")
        else:
            self.end("failed", "".join(traceback.format_exception(exc_type, exc, tb)))


def _bad_key(what: str, key: Any) -> InvalidInputError:
    return InvalidInputError(f"{what} names must be non-empty strings, got {key!r} ({type(key).__name__})")


def _to_float(key: str, value: Any) -> float:
    if isinstance(value, bool) or isinstance(value, (str, bytes)):
        raise InvalidInputError(
            f"metric {key!r} got {value!r} ({type(value).__name__}): metric values must be numbers"
        )
    try:
        # NumPy and PyTorch scalars (and 0-d arrays) convert; a vector does not.
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"metric {key!r} got {value!r} ({type(value).__name__}): metric values must be numbers"
        ) from None


def _to_step(key: str, step: Any) -> int:
    if isinstance(step, bool):
        raise InvalidInputError(f"step for metric {key!r} must be an integer, got {step!r}")
    try:
        s = _as_index(step)
    except TypeError:
        if isinstance(step, float) and step.is_integer():
            return int(step)
        raise InvalidInputError(
            f"step for metric {key!r} must be an integer, got {step!r} ({type(step).__name__})"
        ) from None
    return int(s)


def _check_status(status: str) -> str:
    s = str(status).lower() if isinstance(status, str) else None
    if s not in STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    return s


class _Writer:
    """The per-process, per-store buffer and its background flushing thread."""

    def __init__(self, store: Store) -> None:
        # Import the write path's libraries now: imported at interpreter exit they would
        # fail (they register exit hooks, which Python refuses once shutdown has begun;
        # DuckDB's Arrow scan pulls in pandas, which pulls in concurrent.futures.thread).
        import concurrent.futures.thread  # noqa: F401

        import duckdb  # noqa: F401
        import numpy  # noqa: F401
        import pyarrow  # noqa: F401

        self.store = store
        self.ops: list[tuple[Any, ...]] = []
        self.runs: dict[str, Run] = {}
        self.error: BaseException | None = None
        self._known_experiments: set[str] = set()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._last_write = time.monotonic()
        self._run_ended = False
        self._pid = os.getpid()

    # -- called from logging code -----------------------------------------------
    def add_run(
        self, run: Run, row: dict[str, Any], params: Mapping[str, Any] | None, tags: Mapping[str, Any] | None
    ) -> None:
        if run.experiment not in self._known_experiments:
            self.ops.append(("experiment", run.experiment, row["start_time"]))
            self._known_experiments.add(run.experiment)
        self.ops.append(("run", row))
        self.runs[run.run_id] = run
        if params:
            run.log_params(params)
        if tags:
            run.set_tags(tags)
        self._ensure_thread()

    def points_full(self, n: int) -> None:
        if n >= MAX_BUFFERED_POINTS:
            self.flush()
        else:
            self._wake.set()

    def run_ended(self) -> None:
        self._run_ended = True
        self._wake.set()

    # -- flushing -----------------------------------------------------------------
    def has_pending(self) -> bool:
        return bool(self.ops) or any(len(r._times) for r in list(self.runs.values()))

    def flush(self) -> None:
        """Write everything buffered so far, in this thread, in one transaction."""
        with self._flush_lock:
            # Ops before points: a point's run row is then always in this batch or an earlier one.
            n = len(self.ops)
            ops = self.ops[:n]
            del self.ops[:n]
            chunks: list[tuple[Run, _Columns]] = []
            for run in list(self.runs.values()):
                k = len(run._times)
                if k:
                    # Slicing and deleting are atomic under the GIL: points appended by the
                    # logging thread meanwhile land after index k and stay for the next flush.
                    cols = (run._key_col[:k], run._step_col[:k], run._value_col[:k], run._times[:k])
                    for col in (run._key_col, run._step_col, run._value_col, run._times):
                        del col[:k]
                    chunks.append((run, cols))
                    if run._on_flush is not None:
                        try:
                            run._on_flush(cols[0], cols[1], cols[2])
                        except Exception:  # noqa: BLE001 - a chart must never cost data
                            log.debug("live chart update failed", exc_info=True)
            batch = _make_batch(ops, chunks)
            batch.heartbeats = [r.run_id for r in list(self.runs.values()) if not r._ended]
            try:
                self.store.write(batch)
            except BaseException as e:
                self.ops[:0] = ops
                for run, cols in chunks:
                    for col, part in zip((run._key_col, run._step_col, run._value_col, run._times), cols):
                        col[:0] = part
                self.error = e
                raise
            self.error = None
            self._last_write = time.monotonic()
            for run_id, run in list(self.runs.items()):
                if run._ended and not run._times:
                    self.runs.pop(run_id, None)

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():
            # Forked child: the parent's thread does not exist here, and its buffers are the parent's.
            self._pid = os.getpid()
            self._thread = None
            self.ops.clear()
            self.runs.clear()
        _register_exit_hook()
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="workbench-writer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        backoff = FLUSH_INTERVAL_S
        while not self._stopping:
            self._wake.wait(backoff)
            self._wake.clear()
            if self._stopping:
                return
            if self._run_ended:
                self._run_ended = False
                time.sleep(GROUP_COMMIT_S)
            active = any(not r._ended for r in list(self.runs.values()))
            due_heartbeat = active and time.monotonic() - self._last_write > HEARTBEAT_S
            if not (self.has_pending() or due_heartbeat):
                continue
            try:
                self.flush()
                backoff = FLUSH_INTERVAL_S
            except BaseException as e:  # noqa: BLE001 - the thread must survive to retry
                if backoff == FLUSH_INTERVAL_S and not self._stopping:
                    warnings.warn(
                        f"Workbench could not write to {self.store.directory} ({e}); "
                        "the data stays in memory and will be retried",
                        RuntimeWarning,
                        stacklevel=1,
                    )
                backoff = min(backoff * 2, 30.0)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread and write what is left; rescue it to a file if that fails."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._pid != os.getpid():
            return
        # Another thread may be mid-flush with data it took from the buffer: let it finish
        # before deciding nothing is left (the interpreter kills daemon threads next).
        acquired = self._flush_lock.acquire(timeout=timeout)
        if acquired:
            self._flush_lock.release()
        if not self.has_pending():
            return
        try:
            self.flush()
        except BaseException as e:  # noqa: BLE001
            path = self._rescue()
            print(
                f"workbench: could not write to {self.store.directory} at exit ({e}); "
                f"the unwritten data was saved to {path}",
                file=sys.stderr,
            )

    def _rescue(self) -> Path:
        directory = self.store.directory / "unflushed"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{int(_time())}-{os.getpid()}.json"
        payload = {
            "ops": self.ops,
            "points": {
                rid: {
                    "key": r._key_col,
                    "step": list(r._step_col),
                    "value": list(r._value_col),
                    "time": list(r._times),
                }
                for rid, r in self.runs.items()
                if len(r._times)
            },
        }
        path.write_text(json.dumps(payload, default=str))
        return path


_Columns = tuple[list[str], "array[int]", "array[float]", "array[float]"]


def _make_batch(ops: list[tuple[Any, ...]], chunks: list[tuple[Run, _Columns]]) -> Batch:
    batch = Batch()
    for op in ops:
        kind = op[0]
        if kind == "param":
            batch.params.append(op[1:])
        elif kind == "tag":
            batch.tags.append(op[1:])
        elif kind == "run":
            batch.runs.append(op[1])
        elif kind == "end":
            batch.ends.append(op[1:])
        elif kind == "artifact":
            batch.artifacts.append(op[1])
        elif kind == "experiment":
            batch.experiments[op[1]] = op[2]
        elif kind == "context":
            batch.contexts.append((op[1], op[2]))
        elif kind == "environment":
            batch.environments.append(op[1])
    batch.metrics = [(run.run_id, *cols) for run, cols in chunks]
    return batch


_writers: dict[Path, _Writer] = {}
_writers_lock = threading.Lock()


def writer_for(store: Store) -> _Writer:
    """The process's writer for ``store``.

    The first call in a process opens the store once, so a store that cannot be used
    (corrupt, newer schema) is refused when the run starts, not later in the background.
    """
    with _writers_lock:
        w = _writers.get(store.directory)
        if w is None:
            w = _Writer(store)
            store.schema_version()  # creates and migrates the store, or raises
            _writers[store.directory] = w
        return w


def current_store() -> Store:
    """The store new runs go to: ``set_store``'s, else the one ``resolve_store`` finds."""
    return get_store(_store_override)


def set_store(path: str | os.PathLike[str] | None) -> Path:
    """Use the store in directory ``path`` for the runs started from now on.

    ``None`` goes back to the default rule ($WORKBENCH_STORE, then the nearest
    ``.workbench/`` walking up from the working directory).

    Returns
    -------
    Path
        The store directory now in use.
    """
    global _store_override
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise InvalidInputError(f"set_store takes a directory path, got {type(path).__name__}")
    _store_override = None if path is None else os.fspath(path)
    return current_store().directory


_ADJECTIVES = (
    "amber brave calm clever crisp dapper eager fancy gentle glad jolly keen lively lucid "
    "mellow nimble noble placid quick quiet rapid shiny sunny swift tidy vivid witty zesty"
).split()
_NOUNS = (
    "otter falcon badger heron lynx marten osprey panda puffin quail raven robin salmon "
    "sparrow tapir tiger trout walrus wombat yak zebra bison crane eagle finch gecko"
).split()


def _run_name(run_id: str) -> str:
    n = int(run_id[:8], 16)
    return f"{_ADJECTIVES[n % len(_ADJECTIVES)]}-{_NOUNS[(n // 97) % len(_NOUNS)]}-{n % 1000}"


_self_started: int | None = None
_self_pid = -1


def _process_started() -> int | None:
    global _self_started, _self_pid
    if _self_pid != os.getpid():
        _self_pid, _self_started = os.getpid(), procs.start_time(os.getpid())
    return _self_started


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    nested: bool = False,
    source: str | None = None,
    parent_run_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    watch_files: bool | None = None,
) -> Run:
    """Start a run and make it the active one.

    Use it as a context manager (``with wb.start_run(): ...``) to end the run
    automatically: ``finished`` normally, ``failed`` (with the traceback) on an exception,
    ``killed`` on KeyboardInterrupt. Otherwise call :func:`end_run`.

    Parameters
    ----------
    name
        Run name; a readable random one (``swift-otter-412``) by default.
    experiment
        Experiment name; ``"Default"`` by default.
    params, tags
        Initial parameters and tags.
    nested
        Allow starting while another run is active; the new run's parent is that run.
    source
        What started the run (``api``, ``magic``, ``rerun``, ``sweep``); by default
        ``$WORKBENCH_SOURCE`` or ``api``.
    parent_run_id
        The run this one derives from; by default ``$WORKBENCH_PARENT_RUN_ID``.
    context
        Extra run context columns (notebook path, git state, ...), used by the magics.
    watch_files
        Note the files the run opens from Python and record them (hashed) as inputs
        and outputs when it ends, for lineage. On unless ``$WORKBENCH_WATCH_FILES=0``.

    Returns
    -------
    Run
        The new active run.

    Raises
    ------
    InvalidInputError
        A run is already active and ``nested`` is false, or an argument has the wrong type.
    """
    if _stack and not nested:
        cur = _stack[-1]
        raise InvalidInputError(
            f"run {cur.run_name} ({cur.run_id[:8]}) is still active; end it with wb.end_run() "
            "first, or pass nested=True to start a child run"
        )
    for label, val in (("name", name), ("experiment", experiment)):
        if val is not None and (not isinstance(val, str) or not val.strip()):
            raise InvalidInputError(f"run {label} must be a non-empty string, got {val!r}")
    store = current_store()
    writer = writer_for(store)
    if writer.error is not None:
        warnings.warn(
            f"Workbench's last write to {store.directory} failed ({writer.error}); retrying",
            RuntimeWarning,
            stacklevel=2,
        )
    run_id = uuid.uuid4().hex
    if parent_run_id is None:
        parent_run_id = (
            _stack[-1].run_id if nested and _stack else os.environ.get(WORKBENCH_PARENT_RUN_ID) or None
        )
    source = source or os.environ.get(WORKBENCH_SOURCE) or "api"
    run = Run(
        writer, run_id, name or _run_name(run_id), experiment or DEFAULT_EXPERIMENT, parent_run_id, source
    )
    now = _now_ms()
    row: dict[str, Any] = {
        "run_id": run_id,
        "experiment": run.experiment,
        "run_name": run.run_name,
        "status": "running",
        "start_time": now,
        "source": source,
        "parent_run_id": parent_run_id,
        "host": procs.hostname(),
        "pid": os.getpid(),
        "pid_started": _process_started(),
        "heartbeat": now,
    }
    if context:
        row.update({k: v for k, v in context.items() if k not in row})
    env_tags = _env_tags()
    if env_tags:
        tags = {**env_tags, **(tags or {})}
    writer.add_run(run, row, params, tags)
    if watch_files if watch_files is not None else os.environ.get(WORKBENCH_WATCH_FILES, "1") != "0":
        run._watch = filewatch.start([str(store.directory)])
    global _last_run
    if not _stack:  # a nested run's card is its outer run's
        _last_run = run
    _stack.append(run)
    return run


def _env_tags() -> dict[str, str]:
    # Tags a rerun/sweep gives every run of the notebook it executes (sweep_id, job id).
    raw = os.environ.get(WORKBENCH_TAGS)
    if not raw:
        return {}
    try:
        tags = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def last_run() -> Run | None:
    """The run started most recently in this process (active or ended), or None."""
    return _last_run


def active_run() -> Run | None:
    """The innermost active run, or None."""
    return _stack[-1] if _stack else None


def end_run(status: str = "finished") -> None:
    """End the active run with ``status`` (``finished``, ``failed`` or ``killed``).

    Returns at once; the background writer commits the run within milliseconds, and
    :func:`flush` waits for it.

    Raises
    ------
    NoActiveRunError
        No run is active.
    InvalidInputError
        ``status`` is not one of the accepted values.
    """
    status = _check_status(status)
    if not _stack:
        raise NoActiveRunError("end a run")
    _stack[-1].end(status)


def _active(what: str) -> Run:
    if not _stack:
        raise NoActiveRunError(what)
    return _stack[-1]


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Record one value of a metric in the active run (see :meth:`Run.log_metric`).

    Costs about a microsecond: the value is buffered and written in batches.

    Raises
    ------
    NoActiveRunError
        No run is active.
    InvalidInputError
        Non-string key, non-numeric/NaN/infinite value or non-integer step.
    """
    if not _stack:
        raise NoActiveRunError(f"log metric {key!r}")
    _stack[-1].log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Record several metrics in the active run, all at the same step."""
    _active("log metrics").log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    """Record a parameter of the active run (stored as a string)."""
    _active(f"log param {key!r}").log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Record several parameters of the active run."""
    _active("log params").log_params(params)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _active(f"set tag {key!r}").set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run."""
    _active("set tags").set_tags(tags)


def log_artifact(path: str | os.PathLike[str], kind: str = "file", name: str | None = None) -> str:
    """Copy a file or directory into the store as an output of the active run.

    Returns
    -------
    str
        The file's sha256 (content address).
    """
    return _active("log an artifact").log_artifact(path, kind, name)


def use_dataset(data: Any, name: str | None = None, *, role: str | None = None, profile: bool = True) -> str:
    """Record a dataset (file path or DataFrame) the active run reads, with its content
    hash and a DuckDB column profile; see :meth:`Run.use_dataset`. Returns the hash."""
    return _active("record a dataset").use_dataset(data, name, role=role, profile=profile)


def log_model(model: Any, name: str | None = None) -> str:
    """Save a model (object or saved file/directory) as an output of the active run;
    see :meth:`Run.log_model`. Returns its sha256."""
    return _active("log a model").log_model(model, name)


def flush(store: Store | None = None) -> None:
    """Write everything buffered in this process (for ``store``, or every store) now.

    Raises
    ------
    WorkbenchError
        The store cannot be written (locked too long, corrupt, newer schema); the data
        stays buffered and is retried.
    """
    wait_for_file_records()
    with _writers_lock:
        writers = list(_writers.values())
    for w in writers:
        if store is None or w.store is store:
            w.flush()


# One worker records the files of ended runs, in order. A queue rather than a thread per
# run: starting a thread waits until it runs, which in a loop of short runs competing
# for the GIL cost ~12 ms per end_run; a put costs microseconds.
_file_jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
_file_worker: threading.Thread | None = None
_file_pending = 0
_file_cond = threading.Condition()


def _submit_file_job(job: Any) -> None:
    global _file_worker, _file_pending
    with _file_cond:
        if _file_worker is None or not _file_worker.is_alive():
            worker = threading.Thread(target=_file_loop, name="workbench-files", daemon=True)
            try:
                worker.start()  # once per process: the wait for it to run is paid once
            except RuntimeError:
                # No new threads at interpreter shutdown (some Python versions refuse them
                # in atexit hooks): do the job here instead.
                job()
                return
            _file_worker = worker
        _file_pending += 1
        _file_jobs.put(job)


def _reset_file_worker_after_fork() -> None:
    # A forked child has none of its parent's threads: without this it would wait at
    # exit for jobs no thread will run, or replay its parent's jobs.
    global _file_jobs, _file_worker, _file_pending, _file_cond
    _file_jobs = queue.SimpleQueue()
    _file_worker = None
    _file_pending = 0
    _file_cond = threading.Condition()
    filewatch.reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_file_worker_after_fork)


def _file_stat(path: str) -> tuple[int, int] | None:
    """``(size, mtime_ns)`` of a regular file, else None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None


def _file_loop() -> None:
    global _file_pending
    while True:
        job = _file_jobs.get()
        try:
            job()
        finally:
            with _file_cond:
                _file_pending -= 1
                _file_cond.notify_all()


def wait_for_file_records(timeout_s: float = 300.0) -> None:
    """Wait (bounded) until runs that ended have recorded the files they opened."""
    deadline = time.monotonic() + timeout_s
    with _file_cond:
        while _file_pending and (left := deadline - time.monotonic()) > 0:
            _file_cond.wait(left)


_exit_callbacks: list[Any] = []


def before_final_flush(callback: Any) -> None:
    """Call ``callback()`` at interpreter exit before the last write (e.g. to wait for
    context still being captured in the background)."""
    _exit_callbacks.append(callback)


def _at_exit() -> None:
    for callback in _exit_callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001 - the final flush must happen regardless
            log.debug("exit callback failed", exc_info=True)
    # A script that never ended its run: finished, or failed if it is dying of an
    # exception; in a kernel being shut down, killed.
    if _stack:
        if procs.in_kernel():
            status, error = "killed", "the kernel shut down while the run was active"
        elif getattr(sys, "last_type", None) is not None:
            status = "failed"
            error = "".join(traceback.format_exception(sys.last_type, sys.last_value, sys.last_traceback))
        else:
            status, error = "finished", None
        for run in list(reversed(_stack)):
            try:
                run.end(status, error)
            except WorkbenchError:
                pass
    wait_for_file_records()
    with _writers_lock:
        writers = list(_writers.values())
    for w in writers:
        w.close()


_exit_hook_registered = False


def _register_exit_hook() -> None:
    # Runs the final flush from threading's shutdown hooks, which Python calls before
    # any atexit handler: DuckDB's own atexit handler refuses Python scans once it ran.
    global _exit_hook_registered
    if _exit_hook_registered:
        return
    _exit_hook_registered = True
    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError
        register(_at_exit)
    except RuntimeError:
        atexit.register(_at_exit)
