"""A tracked run: the logging calls, validated and buffered in memory.

A logging call validates its input and appends to the run's buffer: no I/O, about a
microsecond. The writer (:mod:`.writer`) takes what has accumulated and writes it in
batches; :meth:`Run.subscribe` lets a live chart see each batch go by.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .. import procs
from ..errors import InvalidInputError
from ..store import Store
from . import files
from .checks import (
    STATUSES,
    bad_key,
    check_key_values,
    check_status,
    check_text,
    clean_text,
    clean_values,
    to_float,
    to_step,
    too_big,
)
from .lifecycle import active_runs
from .points import FlushCallback, PointBuffer
from .writer import FLUSH_POINTS, Writer

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_EXPERIMENT",
    "STATUSES",
    "Run",
    "check_key_values",
    "check_status",
    "check_text",
    "clean_text",
    "create_run",
]

DEFAULT_EXPERIMENT = "Default"

_time = time.time


def now_ms() -> int:
    """The current time in milliseconds since the epoch."""
    return int(_time() * 1000)


class Run:
    """One tracked run. Made by :func:`start_run`; also a context manager.

    The logging methods mirror the module-level functions (``wb.log_metric`` logs to
    the active run; ``run.log_metric`` to this one).
    """

    def __init__(
        self,
        writer: Writer,
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
        #: The metric points logged and not yet written; the writer takes them from here.
        self.buffer = PointBuffer()
        # The buffer's columns, bound here too: log_metric then pays no extra attribute
        # lookup per point (the writer deletes from them in place, never rebinds them).
        self._key_col = self.buffer.keys
        self._step_col = self.buffer.steps
        self._value_col = self.buffer.values
        self._times = self.buffer.times
        self._steps: dict[str, int] = {}
        self._params: dict[str, str] = {}
        self._ended = False
        #: Files seen opened while the run is active (None when not watching).
        self._watch: Any = None
        #: (path, direction) recorded explicitly, so the file watch does not repeat them.
        self._declared: set[tuple[str, str]] = set()
        self._on_end: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<Run {self.run_name} ({self.run_id[:8]}) {self.status}>"

    @property
    def store(self) -> Store:
        """The store this run is written to."""
        return self._writer.store

    @property
    def ended(self) -> bool:
        """Whether the run has ended (:meth:`end`); an ended run refuses new data."""
        return self._ended

    def on_end(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the run ends, before its end is recorded."""
        self._on_end.append(callback)

    @property
    def pending_points(self) -> int:
        """How many logged metric points are still buffered, not yet written."""
        return len(self._times)

    def subscribe(self, callback: FlushCallback) -> Callable[[], None]:
        """Call ``callback(keys, steps, values)`` with the metric points of every chunk
        the writer takes for the store (live charts follow a run this way).

        The callback runs in the writer's thread, once per flush, with parallel
        sequences (a list of keys, arrays of steps and values). It must be quick and
        must not log to the run; an exception it raises is logged and ignored, since a
        chart must never cost data. Each point is offered once, when it leaves the
        buffer (a write that fails is retried with the same points, not offered again).

        Returns
        -------
        callable
            Call it (no arguments) to unsubscribe.
        """
        if not callable(callback):
            raise InvalidInputError(f"subscribe takes a callable, got {type(callback).__name__}")
        return self.buffer.subscribe(callback)

    # -- metrics ---------------------------------------------------------------
    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record one value of metric ``key``.

        Parameters
        ----------
        key
            Metric name, a non-empty string.
        value
            A finite number: an int, a float, or a one-element array or tensor (anything
            with ``item()`` or ``__float__``: NumPy, PyTorch, JAX, TensorFlow).
        step
            Integer step. By default one more than this key's previous step (0 first).

        Raises
        ------
        InvalidInputError
            Non-string or invalid-text key, non-numeric/NaN/infinite value, non-integer
            step, ended run.
        BufferFullError
            Past ``MAX_BUFFERED_POINTS`` points that no store or folder could take (the
            point is kept in memory).
        """
        # The hot path: plain type checks first, the slow explanations only on failure.
        # A key in _steps was checked when first logged (a non-empty str, valid text).
        steps = self._steps
        try:
            known = key in steps
        except TypeError:  # unhashable: not a name either
            known = False
        if not known:
            if type(key) is not str or not key:
                raise bad_key("metric", key)
            check_text("metric name", key)
        if self._ended:
            raise InvalidInputError(f"run {self.run_id[:8]} has ended; start a new run to log {key!r}")
        if type(value) is float:
            v = value
        elif type(value) is int:
            try:
                v = float(value)
            except OverflowError:
                raise too_big(key, value) from None
        else:
            v = to_float(key, value)
        if v - v != 0.0:
            raise InvalidInputError(
                f"metric {key!r} got {v}: metric values must be finite numbers (not NaN or inf)"
            )
        if step is None:
            step = steps.get(key, -1) + 1
        elif type(step) is not int:
            step = to_step(key, step)
        # Four parallel columns, appended in this order: the writer reads len(_times)
        # first, so every column holds at least that many points when it slices them.
        # The step goes first because it is the only append that can fail (int64 range).
        try:
            self._step_col.append(step)
        except OverflowError:
            raise InvalidInputError(f"step for metric {key!r} is out of the 64-bit range: {step}") from None
        steps[key] = step
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
        # Converted once: a tensor's item() may wait for its device.
        values: dict[str, float] = {}
        for k, v in metrics.items():
            if type(k) is not str or not k:
                raise bad_key("metric", k)
            if k not in self._steps:
                check_text("metric name", k)
            val = v if type(v) is float else to_float(k, v)
            if val - val != 0.0:
                raise InvalidInputError(
                    f"metric {k!r} got {val}: metric values must be finite numbers (not NaN or inf)"
                )
            values[k] = val
        if step is not None and type(step) is not int:
            step = to_step(next(iter(metrics), "?"), step)
        if self._ended and values:
            raise InvalidInputError(
                f"run {self.run_id[:8]} has ended; start a new run to log {next(iter(values))!r}"
            )
        # Appended here rather than through log_metric per key (checked above): a third
        # of the cost per point in a training loop (issue 13: 10 keys per call). Same
        # column order as log_metric: step (the only append that can fail), key, value, time.
        steps, now = self._steps, _time()
        key_col, step_col, value_col, times = self._key_col, self._step_col, self._value_col, self._times
        for k, val in values.items():
            st = steps.get(k, -1) + 1 if step is None else step
            try:
                step_col.append(st)
            except OverflowError:
                raise InvalidInputError(f"step for metric {k!r} is out of the 64-bit range: {st}") from None
            steps[k] = st
            key_col.append(k)
            value_col.append(val)
            times.append(now)
        if len(times) >= FLUSH_POINTS:
            self._writer.points_full(len(times))

    # -- params and tags ---------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        """Record a parameter. Stored as ``str(value)``, as MLflow does.

        Logging the same key again with the same value is a no-op; with a different value
        it is refused, since a run's parameters describe how it was started.
        """
        if type(key) is not str or not key:
            raise bad_key("param", key)
        check_text("param name", key)
        self._check_open(f"log param {key!r}")
        text = value if isinstance(value, str) else str(value)
        check_text(f"the value of param {key!r}", text)
        self._add_param(key, text)

    def _add_param(self, key: str, text: str) -> None:
        # ``key`` and ``text`` were checked.
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
        self._add_params(check_key_values("param", params))

    def _add_params(self, texts: Mapping[str, str]) -> None:
        for k, text in texts.items():
            self._check_open(f"log param {k!r}")
            self._add_param(k, text)

    @property
    def params(self) -> dict[str, str]:
        """The parameters logged so far."""
        return dict(self._params)

    def set_tag(self, key: str, value: Any) -> None:
        """Set a tag (a string label; setting it again replaces the value)."""
        if type(key) is not str or not key:
            raise bad_key("tag", key)
        check_text("tag name", key)
        self._check_open(f"set tag {key!r}")
        text = value if isinstance(value, str) else str(value)
        check_text(f"the value of tag {key!r}", text)
        self._writer.ops.append(("tag", self.run_id, key, text))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set several tags."""
        if not isinstance(tags, Mapping):
            raise InvalidInputError(f"set_tags takes a dict of name -> value, got {type(tags).__name__}")
        self._add_tags(check_key_values("tag", tags))

    def _add_tags(self, texts: Mapping[str, str]) -> None:
        for k, text in texts.items():
            self._check_open(f"set tag {k!r}")
            self._writer.ops.append(("tag", self.run_id, k, text))

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
        found = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        digest = ""
        with files.quiet():
            for f in found:
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
        from ..datasets import describe

        with files.quiet():
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
        with files.quiet():
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

        found = sorted(f for f in directory.rglob("*") if f.is_file())
        if not found:
            raise InvalidInputError(f"model folder {str(directory)!r} is empty")
        manifest: dict[str, str] = {}
        with files.quiet():
            for f in found:
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
                    # File names may hold bytes that are not UTF-8 (Python decodes them
                    # to lone surrogates): stored escaped, never refused.
                    "path": clean_text(path),
                    "kind": clean_text(str(kind)),
                    "sha256": sha256,
                    "size": size,
                    "direction": direction,
                    "stored_path": None if stored_path is None else clean_text(stored_path),
                    "created_at": created_at or now_ms(),
                    "name": None if name is None else clean_text(name),
                    "meta": json.dumps(meta, default=str) if meta else None,
                },
            )
        )

    def _add_tag_op(self, key: str, value: str) -> None:
        # After the run ended (set_tag refuses by then): the file records' notes.
        self._writer.ops.append(("tag", self.run_id, clean_text(key), clean_text(value)))

    # -- lifecycle ---------------------------------------------------------------
    def end(self, status: str = "finished", error: str | None = None) -> None:
        """End the run with ``status`` (finished, failed or killed). Ending twice is a no-op."""
        status = check_status(status)
        if self._ended:
            return
        for callback in self._on_end:  # before the end is recorded: a last system sample
            try:
                callback()
            except Exception:  # noqa: BLE001 - what watches a run never fails it
                log.debug("an end callback failed", exc_info=True)
        self._ended = True
        self.status = status
        if self in active_runs:
            active_runs.remove(self)
        watch, self._watch = self._watch, None
        if watch is not None:
            files.stop(watch)
        end_op = ("end", self.run_id, status, now_ms(), None if error is None else clean_text(str(error)))
        entries: list[dict[str, Any]] = []
        if watch is not None:
            try:
                entries = files.snapshot(watch, self._declared)
            except Exception as exc:  # noqa: BLE001 - lineage is a bonus; never fail the run over it
                log.warning("could not record the files run %s opened: %s", self.run_id[:8], exc)
        if not entries and not (watch is not None and watch.truncated):
            self._writer.ops.append(end_op)
            self._writer.run_ended()
            return
        # Profiling tables and hashing big files can take a while: a worker thread does
        # it, and the run is written as ended once its files are recorded. flush() and
        # interpreter exit wait for it.
        files.submit(lambda: self._finish_files(entries, watch.truncated, end_op))

    def _finish_files(self, entries: list[dict[str, Any]], truncated: bool, end_op: tuple[Any, ...]) -> None:
        try:
            files.record(entries, truncated, self._add_artifact, self._add_tag_op)
        except Exception as exc:  # noqa: BLE001 - lineage is a bonus; never fail the run over it
            log.warning("could not record the files run %s opened: %s", self.run_id[:8], exc)
        finally:
            self._writer.ops.append(end_op)
            self._writer.run_ended()

    def set_context(self, **context: Any) -> None:
        """Fill in run context columns (notebook, git, environment...) after the start.

        Used by the notebook integration, which captures the slow parts in the background.
        """
        self._writer.ops.append(("context", self.run_id, clean_values(context)))

    def record_environment(self, env: Mapping[str, Any]) -> None:
        """Store an environment row (packages etc., see ``context.environment``) once per hash."""
        self._writer.ops.append(("environment", {**clean_values(env), "created_at": now_ms()}))

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


def create_run(
    writer: Writer,
    name: str | None,
    experiment: str | None,
    parent_run_id: str | None,
    source: str,
    params: Mapping[str, Any] | None,
    tags: Mapping[str, Any] | None,
    context: Mapping[str, Any] | None,
    watch_files: bool,
) -> Run:
    """Make a run, queue its row, params and tags on ``writer``, and (``watch_files``)
    start noting the files it opens. The fluent ``start_run`` makes it active.

    Everything given is checked before anything is queued: a bad param or tag starts
    no run."""
    for what, text in (("run name", name), ("experiment", experiment), ("source", source)):
        if text is not None:
            check_text(what, text)
    if parent_run_id is not None:
        check_text("parent_run_id", parent_run_id)
    param_texts = check_key_values("param", params) if params else None
    tag_texts = check_key_values("tag", tags) if tags else None
    run_id = uuid.uuid4().hex
    new = Run(
        writer, run_id, name or _run_name(run_id), experiment or DEFAULT_EXPERIMENT, parent_run_id, source
    )
    now = now_ms()
    row: dict[str, Any] = {
        "run_id": run_id,
        "experiment": new.experiment,
        "run_name": new.run_name,
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
        row.update({k: v for k, v in clean_values(context).items() if k not in row})
    writer.add_run(new, row, param_texts, tag_texts)
    if watch_files:
        new._watch = files.start([str(writer.store.directory)])
    return new


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
