"""Rerun, sweep and reproduce notebooks through papermill.

A rerun executes a run's recorded notebook snapshot (never the file as it is now on
disk) with the kernel it recorded, in the original notebook's folder so relative paths
resolve, with new parameters injected papermill's way. The notebook's own ``%%track``
cells record the new runs; the environment they inherit links them to their origin
(``parent_run_id``, ``source``, a ``sweep_id`` tag). When a notebook fails before any
tracked cell, the rerun records a failed run itself, so every job leaves a run behind,
with the executed (or partial) output notebook as its artifact.

Jobs run in worker processes (``workbench.worker``), as many at once as ``jobs`` says.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import context, procs
from .env import (
    WORKBENCH_NOTEBOOK_ORIGIN,
    WORKBENCH_NOTEBOOK_PATH,
    WORKBENCH_PARENT_RUN_ID,
    WORKBENCH_SOURCE,
    WORKBENCH_STORE,
    WORKBENCH_TAGS,
)
from .errors import InvalidInputError, NotFoundError, WorkbenchError
from .store.store import Batch, RunRecord, Store, get_store
from .tracking import current_store, flush

__all__ = [
    "JobResult",
    "RerunJob",
    "ReproduceReport",
    "Sweep",
    "notebook_parameters",
    "parse_value",
    "reproduce",
    "rerun",
    "start_rerun",
    "sweep",
]

_JOB_TAG = "workbench.job"


class KernelNotFoundError(InvalidInputError):
    """The kernel a notebook needs is not installed here."""


# -- parameters ----------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """Type a command-line parameter value as papermill's ``-p`` does: ``True``/``False``,
    ``None``, integers and floats become those; anything else stays a string."""
    if text == "True":
        return True
    if text == "False":
        return False
    if text == "None":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def load_yaml_params(source: str | os.PathLike[str]) -> Any:
    """Parameters from a YAML file (a mapping, or for sweeps a list of mappings).

    Raises
    ------
    InvalidInputError
        The file is missing or is not valid YAML (the message names the line).
    """
    import yaml

    path = Path(source)
    try:
        text = path.read_text()
    except OSError as e:
        raise InvalidInputError(f"cannot read parameters file {str(path)!r}: {e.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        start = getattr(e, "context_mark", None)
        if start is not None and mark is not None and start.line != mark.line:
            where += f" (in what starts at line {start.line + 1})"
        problem = getattr(e, "problem", None) or str(e)
        raise InvalidInputError(f"{path.name} is not valid YAML{where}: {problem}") from None


_PLAIN = (str, int, float, bool, type(None))


def _check_value(name: str, value: Any) -> None:
    if isinstance(value, _PLAIN):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInputError(f"parameter {name!r} is {value}; give a finite number")
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_value(name, v)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidInputError(f"parameter {name!r}: dict keys must be strings, got {k!r}")
            _check_value(name, v)
        return
    raise InvalidInputError(
        f"parameter {name!r} is a {type(value).__name__}; parameters must be numbers, strings, "
        "booleans, None, or lists/dicts of those"
    )


def notebook_defaults(nb: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters cell's names with their literal default values (None when the
    default is not a literal)."""
    out: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        if "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                try:
                    out[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    out[node.targets[0].id] = None
    for name in context.parameter_names(dict(nb)):
        out.setdefault(name, None)
    return out


def check_params(nb: Mapping[str, Any], params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate ``params`` against the notebook's parameters cell; returns them as a dict.

    Raises
    ------
    InvalidInputError
        A name the parameters cell does not define (listing the accepted names), a value
        of an unsupported type, or a non-numeric value for a numeric parameter.
    """
    if not isinstance(params, Mapping):
        raise InvalidInputError(f"parameters must be a mapping of name -> value, got {type(params).__name__}")
    defaults = notebook_defaults(nb)
    unknown = [k for k in params if k not in defaults]
    if unknown:
        if not defaults:
            raise InvalidInputError(
                f"{where} has no cell tagged 'parameters', so it takes no parameters (got {', '.join(unknown)})"
            )
        raise InvalidInputError(
            f"{where} has no parameter {', '.join(repr(u) for u in unknown)}; "
            f"its parameters cell defines: {', '.join(defaults)}"
        )
    for name, value in params.items():
        _check_value(name, value)
        default = defaults.get(name)
        is_num = isinstance(default, (int, float)) and not isinstance(default, bool)
        if is_num and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            raise InvalidInputError(
                f"parameter {name!r} is a number in {where} (default {default!r}); got {value!r}"
            )
    return dict(params)


def _typed(value: str, default: Any) -> Any:
    """A recorded (string) parameter value, typed back for injection."""
    if isinstance(default, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def parse_sweep_args(tokens: Sequence[str]) -> dict[str, Any]:
    """Parse ``-p NAME V1 V2 ... [-p ...] [--jobs N] [--order-by M] [--combos YAML]
    [--kernel K]`` (the shape ``workbench sweep`` and ``%wb sweep`` take).

    Values are typed as papermill's ``-p`` types them; a value may be negative
    (``-p lr -0.5``), since only the known option names end a value list.

    Returns
    -------
    dict
        ``grid``, ``jobs``, ``order_by``, ``combos`` (path or None), ``kernel``.
    """
    options = {
        "-j": "jobs",
        "--jobs": "jobs",
        "-o": "order_by",
        "--order-by": "order_by",
        "--combos": "combos",
        "-y": "combos",
        "--kernel": "kernel",
    }
    starts = {"-p", "--param", *options}
    out: dict[str, Any] = {"grid": {}, "jobs": 1, "order_by": None, "combos": None, "kernel": None}
    i = 0
    toks = list(tokens)
    while i < len(toks):
        tok = toks[i]
        if tok in ("-p", "--param"):
            if i + 1 >= len(toks) or toks[i + 1] in starts:
                raise InvalidInputError(
                    f"{tok} needs a parameter name and at least one value: -p alpha 0.1 1.0"
                )
            name = toks[i + 1]
            j = i + 2
            values = []
            while j < len(toks) and toks[j] not in starts:
                values.append(parse_value(toks[j]))
                j += 1
            if not values:
                raise InvalidInputError(f"-p {name} needs at least one value: -p {name} V1 V2 ...")
            out["grid"].setdefault(name, []).extend(values)
            i = j
        elif tok in options:
            if i + 1 >= len(toks):
                raise InvalidInputError(f"{tok} needs a value")
            key, raw = options[tok], toks[i + 1]
            if key == "jobs":
                if not raw.isdigit() or int(raw) < 1:
                    raise InvalidInputError(f"--jobs takes a positive whole number, got {raw!r}")
                out["jobs"] = int(raw)
            else:
                out[key] = raw
            i += 2
        else:
            raise InvalidInputError(
                f"unexpected {tok!r}; accepted: -p NAME V1 V2 ..., --jobs N, --order-by 'metrics.x ASC', "
                "--combos FILE.yaml, --kernel NAME"
            )
    return out


# -- notebooks and kernels -------------------------------------------------------------
@dataclass
class _Source:
    """A notebook to execute: its snapshot bytes and where it came from."""

    data: bytes
    nb: dict[str, Any]
    origin_path: Path | None
    label: str
    run: RunRecord | None = None


def _source_from_run(store: Store, run_ref: str) -> _Source:
    rec = store.get_run(run_ref)
    sha = rec.context.get("notebook_sha")
    if not sha:
        how = "from a script or the Python API" if rec.source == "api" else f"with source {rec.source!r}"
        raise InvalidInputError(
            f"run {rec.run_name} ({rec.run_id[:8]}) was recorded {how} and has no notebook snapshot, so it "
            "cannot be rerun; runs recorded by %%track (or %wb start) in a saved notebook can"
        )
    blob = store.blob_path(sha)
    if not blob.exists():
        raise NotFoundError(f"the notebook snapshot of run {rec.run_id[:8]} is missing from {blob.parent}")
    data = blob.read_bytes()
    path = rec.context.get("notebook_path")
    origin = Path(path) if path and path != context.UNKNOWN_NOTEBOOK else None
    return _Source(data, json.loads(data), origin, f"the notebook of run {rec.run_id[:8]}", rec)


def _source_from_path(path: str | os.PathLike[str]) -> _Source:
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"notebook {str(p)!r} does not exist")
    data = p.read_bytes()
    try:
        nb = json.loads(data)
    except ValueError:
        raise InvalidInputError(f"{p.name} is not a notebook (not JSON)") from None
    return _Source(data, nb, p.absolute(), p.name)


def _resolve_source(store: Store, notebook_or_run: str | os.PathLike[str]) -> _Source:
    text = os.fspath(notebook_or_run)
    if text.endswith(".ipynb") or Path(text).exists():
        return _source_from_path(text)
    return _source_from_run(store, text)


def check_kernel(name: str | None) -> str:
    """The kernel to use, verified installed.

    Raises
    ------
    KernelNotFoundError
        Naming the kernels that are installed.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    name = name or "python3"
    if name not in specs:
        raise KernelNotFoundError(
            f"kernel {name!r} is not installed here; installed kernels: {', '.join(sorted(specs)) or 'none'} "
            "(pass kernel= / --kernel to use one of them)"
        )
    return name


# -- jobs -------------------------------------------------------------------------------
@dataclass
class JobResult:
    """What one notebook execution produced."""

    job_id: str
    parameters: dict[str, Any]
    status: str = "queued"
    run_ids: list[str] = field(default_factory=list)
    error: str | None = None
    output_sha: str | None = None

    @property
    def run_id(self) -> str | None:
        """The job's (first) new run."""
        return self.run_ids[0] if self.run_ids else None


class _Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            # Its own process group: a terminal's Ctrl-C reaches the parent only, which
            # then stops the workers in order.
            start_new_session=True,
        )
        self.job: dict[str, Any] | None = None
        ready = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not ready:
            raise WorkbenchError("a notebook worker process failed to start")

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Send a job and wait for its result (or the worker's death)."""
        self.job = spec
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"status": "killed", "error": "the worker process had died", "worker_died": True}
        while True:
            line = self.proc.stdout.readline()
            if not line:
                code = self.proc.wait()
                return {
                    "status": "killed",
                    "error": f"the worker process died (exit status {code})",
                    "worker_died": True,
                }
            msg = json.loads(line)
            if msg.get("event") == "done" and msg.get("job_id") == spec["job_id"]:
                self.job = None
                return msg

    def interrupt(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)

    def close(self, timeout: float = 20.0) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class _Executor:
    """Runs job specs on ``jobs`` workers and reports progress."""

    def __init__(self, store: Store, jobs: int, on_progress: Callable[[dict[str, int]], None] | None) -> None:
        self.store = store
        self.jobs = jobs
        self.on_progress = on_progress
        self.stop_event = threading.Event()
        self.counts = {"done": 0, "failed": 0, "running": 0, "queued": 0}
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []

    def _progress(self, **delta: int) -> None:
        with self._lock:
            for k, v in delta.items():
                self.counts[k] += v
            snapshot = dict(self.counts)
        if self.on_progress is not None:
            self.on_progress(snapshot)

    def stop(self) -> None:
        """Stop: queued jobs are not started, running ones are interrupted (their runs
        become ``killed``)."""
        self.stop_event.set()
        for w in list(self._workers):
            w.interrupt()

    def run(self, specs: list[dict[str, Any]], results: dict[str, JobResult]) -> None:
        queue = list(specs)
        self._progress(queued=len(queue))
        qlock = threading.Lock()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}

        def work() -> None:
            worker: _Worker | None = None
            try:
                while not self.stop_event.is_set():
                    with qlock:
                        if not queue:
                            return
                        spec = queue.pop(0)
                    if worker is None or worker.proc.poll() is not None:
                        worker = _Worker(env)
                        self._workers.append(worker)
                    self._progress(queued=-1, running=1)
                    results[spec["job_id"]].status = "running"
                    reply = worker.run(spec)
                    try:
                        self._finish(spec, reply, results[spec["job_id"]])
                    finally:
                        # Normally _finish sets it last; if it raised, still say how it ended.
                        if results[spec["job_id"]].status == "running":
                            results[spec["job_id"]].status = reply["status"]
                    self._progress(
                        running=-1, **({"done": 1} if reply["status"] == "finished" else {"failed": 1})
                    )
            finally:
                if worker is not None:
                    worker.close()

        threads = [
            threading.Thread(target=work, daemon=True) for _ in range(max(1, min(self.jobs, len(specs))))
        ]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
        except KeyboardInterrupt:
            self.stop()
            for t in threads:
                t.join()
            raise

    def _end_orphans(self, spec: dict[str, Any], wait_s: float = 10.0) -> None:
        """After a worker died, end the kernel it left running and wait for its runs.

        The kernel's runs carry its pid; terminating it lets any reader mark them
        ``killed``. A run not yet flushed when the worker died may still arrive.
        """
        where = f"tags.`{_JOB_TAG}` = '{spec['job_id']}'"
        started = time.monotonic()
        deadline = started + wait_s
        signalled: set[int] = set()
        while time.monotonic() < deadline:
            df = self.store.search_runs(where)
            running = [self.store.get_run(r) for r in df[df["status"] == "running"]["run_id"]]
            for rec in running:
                pid = rec.context.get("pid")
                if pid and pid not in signalled and rec.context.get("host") == procs.hostname():
                    signalled.add(pid)
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGTERM)
            if len(df) and not running:
                return
            if not len(df) and time.monotonic() > started + 3.0:
                return  # nothing was recorded in time: the job's own failed run will say so
            time.sleep(0.25)

    def _finish(self, spec: dict[str, Any], reply: dict[str, Any], result: JobResult) -> None:
        """Record the job's outcome: find its runs (or record one), attach the output."""
        flush()
        # result.status is set last: other threads (the server's job endpoint, progress
        # bars) read a finished status as "run_ids and the output are there".
        status = reply["status"]
        result.error = reply.get("error")
        if reply.get("worker_died"):
            self._end_orphans(spec)
        df = self.store.search_runs(f"tags.`{_JOB_TAG}` = '{spec['job_id']}'", "attributes.start_time ASC")
        run_ids = list(df["run_id"])
        out = Path(spec["output"])
        batch = Batch()
        if not run_ids:
            # The notebook failed before (or has no) tracked cell: the job still leaves a run.
            run_id = uuid.uuid4().hex
            now = int(time.time() * 1000)
            origin = spec["env"].get(WORKBENCH_NOTEBOOK_ORIGIN)
            experiment = Path(origin).stem if origin else "Default"
            batch.experiments[experiment] = now
            batch.runs.append(
                {
                    "run_id": run_id,
                    "experiment": experiment,
                    "run_name": spec["name"],
                    "status": status,
                    "start_time": spec["started_ms"],
                    "end_time": now,
                    "source": spec["env"][WORKBENCH_SOURCE],
                    "parent_run_id": spec["env"].get(WORKBENCH_PARENT_RUN_ID),
                    "error": result.error,
                    "notebook_path": origin,
                    "notebook_sha": spec["snapshot_sha"],
                }
            )
            batch.params.extend((run_id, k, context.param_value(v)) for k, v in spec["parameters"].items())
            tags = json.loads(spec["env"][WORKBENCH_TAGS])
            batch.tags.extend((run_id, k, str(v)) for k, v in tags.items())
            run_ids = [run_id]
        if out.exists():
            sha, size, stored = self.store.put_file(out)
            result.output_sha = sha
            for rid in run_ids:
                batch.artifacts.append(
                    {
                        "run_id": rid,
                        "path": f"{spec['name']}.output.ipynb",
                        "kind": "notebook",
                        "sha256": sha,
                        "size": size,
                        "direction": "output",
                        "stored_path": str(stored),
                        "created_at": int(time.time() * 1000),
                    }
                )
        self.store.write(batch)
        with contextlib.suppress(OSError):
            out.unlink()
            Path(spec["input"]).unlink()
            out.parent.rmdir()
        result.run_ids = run_ids
        result.status = status


def _make_spec(
    store: Store,
    src: _Source,
    snapshot_sha: str,
    params: dict[str, Any],
    kernel: str,
    source: str,
    parent: str | None,
    tags: dict[str, str],
    name: str,
) -> dict[str, Any]:
    job_id = uuid.uuid4().hex[:12]
    job_dir = store.directory / "jobs" / job_id
    job_dir.mkdir(parents=True)
    # Named like the original, so the runs it records carry the same experiment name.
    stem = src.origin_path.stem if src.origin_path else "notebook"
    inp = job_dir / f"{stem}.ipynb"
    inp.write_bytes(src.data)
    cwd = src.origin_path.parent if src.origin_path and src.origin_path.parent.is_dir() else Path.cwd()
    env = {
        WORKBENCH_STORE: str(store.directory),
        WORKBENCH_SOURCE: source,
        WORKBENCH_NOTEBOOK_PATH: str(inp),
        WORKBENCH_NOTEBOOK_ORIGIN: str(src.origin_path) if src.origin_path else "",
        WORKBENCH_TAGS: json.dumps({**tags, _JOB_TAG: job_id}),
        "JPY_SESSION_NAME": "",
    }
    if parent:
        env[WORKBENCH_PARENT_RUN_ID] = parent
    return {
        "job_id": job_id,
        "name": name,
        "input": str(inp),
        "output": str(job_dir / f"{stem}.output.ipynb"),
        "parameters": params,
        "kernel": kernel,
        "cwd": str(cwd),
        "env": env,
        "snapshot_sha": snapshot_sha,
        "started_ms": int(time.time() * 1000),
    }


def _store_snapshot(store: Store, src: _Source) -> str:
    if src.run is not None and src.run.context.get("notebook_sha"):
        return src.run.context["notebook_sha"]
    return store.put_bytes(src.data)


# -- public API -------------------------------------------------------------------------
@dataclass
class RerunJob:
    """A rerun started in the background (see :func:`start_rerun`)."""

    result: JobResult
    thread: threading.Thread

    def wait(self) -> JobResult:
        """Block until the rerun has ended; returns its result."""
        while self.thread.is_alive():
            self.thread.join(0.2)
        return self.result


def _prepare_rerun(
    run_id: str, params: Mapping[str, Any] | None, kernel: str | None, store: Store
) -> tuple[dict[str, Any], JobResult]:
    src = _source_from_run(store, run_id)
    assert src.run is not None
    checked = check_params(src.nb, params or {}, src.label)
    kname = check_kernel(kernel or src.nb.get("metadata", {}).get("kernelspec", {}).get("name"))
    spec = _make_spec(
        store,
        src,
        _store_snapshot(store, src),
        checked,
        kname,
        "rerun",
        src.run.run_id,
        {},
        f"rerun of {src.run.run_name}",
    )
    return spec, JobResult(spec["job_id"], checked)


def start_rerun(
    run_id: str,
    params: Mapping[str, Any] | None = None,
    *,
    kernel: str | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> RerunJob:
    """Like :func:`rerun`, but returns at once, once the input is validated; the job
    runs in a background thread (the Jupyter server uses this).

    Raises
    ------
    RunNotFoundError, InvalidInputError, KernelNotFoundError
        As :func:`rerun`, before anything starts.
    """
    s = _as_store(store)
    spec, result = _prepare_rerun(run_id, params, kernel, s)
    thread = threading.Thread(
        target=_Executor(s, 1, None).run,
        args=([spec], {spec["job_id"]: result}),
        name="workbench-rerun",
        daemon=True,
    )
    thread.start()
    return RerunJob(result, thread)


def rerun(
    run_id: str,
    params: Mapping[str, Any] | None = None,
    *,
    kernel: str | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> JobResult:
    """Re-execute a run's recorded notebook snapshot with (some) new parameters.

    Parameters
    ----------
    run_id
        The run (id or unique prefix) whose notebook to rerun.
    params
        New values for names of the notebook's ``parameters`` cell.
    kernel
        Kernel to use; by default the one the notebook recorded.

    Returns
    -------
    JobResult
        ``status``, the new ``run_ids`` (their ``parent_run_id`` is ``run_id``, their
        source ``rerun``), ``error`` naming the failing cell if it failed.

    Raises
    ------
    RunNotFoundError, InvalidInputError, KernelNotFoundError
        Unknown run, a run without a notebook snapshot, unknown parameter names or bad
        values, a kernel that is not installed.
    """
    s = _as_store(store)
    spec, result = _prepare_rerun(run_id, params, kernel, s)
    _Executor(s, 1, None).run([spec], {spec["job_id"]: result})
    return result


def notebook_parameters(
    run_id: str, *, store: str | os.PathLike[str] | Store | None = None
) -> dict[str, Any]:
    """The parameters a run's notebook takes, with their default values (the parameters
    cell of its snapshot), e.g. to prefill a rerun form.

    Raises
    ------
    InvalidInputError
        The run has no notebook snapshot.
    """
    src = _source_from_run(_as_store(store), run_id)
    return notebook_defaults(src.nb)


class Sweep:
    """A running or finished sweep: progress, stop, and the results table.

    Returned by :func:`sweep`. ``wait()`` blocks until every job has ended; ``stop()``
    ends it early (running jobs' runs become ``killed``); ``results`` is the sweep's
    runs ordered by ``order_by``.
    """

    def __init__(
        self,
        sweep_id: str,
        store: Store,
        executor: _Executor,
        jobs: dict[str, JobResult],
        order_by: str | None,
    ) -> None:
        self.sweep_id = sweep_id
        self.store = store
        self.jobs = jobs
        self.order_by = order_by
        self._executor = executor
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def counts(self) -> dict[str, int]:
        """done / failed / running / queued job counts."""
        return dict(self._executor.counts)

    def stop(self) -> None:
        """Stop the sweep: no new job starts; running jobs are interrupted."""
        self._executor.stop()

    def wait(self) -> Sweep:
        """Block until the sweep ends; returns itself."""
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(0.2)
        if self._error is not None:
            raise self._error
        return self

    @property
    def done(self) -> bool:
        """Whether every job has ended."""
        return self._thread is None or not self._thread.is_alive()

    @property
    def results(self) -> Any:
        """The sweep's runs (pandas DataFrame), ordered by ``order_by``."""
        flush()
        order = [self.order_by] if self.order_by else None
        return self.store.search_runs(f"tags.sweep_id = '{self.sweep_id}'", order)

    def __repr__(self) -> str:
        c = self.counts
        return f"<Sweep {self.sweep_id}: {c['done']} done, {c['failed']} failed, {c['running']} running, {c['queued']} queued>"


def expand_grid(
    grid: Mapping[str, Sequence[Any]] | None, combos: Iterable[Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The cartesian product of ``grid`` followed by the explicit ``combos``."""
    out: list[dict[str, Any]] = []
    if grid:
        if not isinstance(grid, Mapping):
            raise InvalidInputError(
                f"grid must map parameter names to lists of values, got {type(grid).__name__}"
            )
        values = []
        for name, vals in grid.items():
            if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or not vals:
                raise InvalidInputError(f"grid[{name!r}] must be a non-empty list of values, got {vals!r}")
            values.append(list(vals))
        out.extend(dict(zip(grid, combo)) for combo in itertools.product(*values))
    for c in combos or []:
        if not isinstance(c, Mapping):
            raise InvalidInputError(f"each explicit combination must be a mapping, got {c!r}")
        out.append(dict(c))
    if not out:
        raise InvalidInputError("a sweep needs a grid (name -> list of values) or a list of combinations")
    return out


def sweep(
    notebook: str | os.PathLike[str],
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    combos: Iterable[Mapping[str, Any]] | None = None,
    jobs: int = 1,
    order_by: str | None = None,
    kernel: str | None = None,
    wait: bool | None = None,
    progress: bool = True,
    store: str | os.PathLike[str] | Store | None = None,
) -> Sweep:
    """Execute a notebook for every combination of parameter values, ``jobs`` at a time.

    Parameters
    ----------
    notebook
        A notebook path, or a run id (prefix) whose snapshot to sweep.
    grid
        ``{"alpha": [0.1, 1.0], "depth": [2, 3]}``: every combination is one job.
    combos
        Explicit combinations (e.g. loaded from YAML), run after the grid's.
    jobs
        Notebooks executed in parallel.
    order_by
        E.g. ``"metrics.rmse ASC"``: the order of :attr:`Sweep.results`.
    wait
        Block until done. By default False inside a notebook (the progress widget's Stop
        button then works) and True elsewhere.
    progress
        Show a progress bar (tqdm in a terminal, a widget in a notebook).

    Returns
    -------
    Sweep
        Whose runs all carry the tag ``sweep_id``.
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise InvalidInputError(f"jobs must be a positive integer, got {jobs!r}")
    combinations = expand_grid(grid, combos)
    s = _as_store(store)
    src = _resolve_source(s, notebook)
    checked = [check_params(src.nb, c, src.label) for c in combinations]
    if order_by is not None:
        from .search import parse_order_by

        parse_order_by(order_by)
    kname = check_kernel(kernel or src.nb.get("metadata", {}).get("kernelspec", {}).get("name"))
    sha = _store_snapshot(s, src)
    sweep_id = uuid.uuid4().hex[:12]
    parent = src.run.run_id if src.run else None
    specs = []
    for i, params in enumerate(checked, start=1):
        label = ", ".join(f"{k}={v}" for k, v in params.items())
        specs.append(
            _make_spec(
                s, src, sha, params, kname, "sweep", parent, {"sweep_id": sweep_id}, f"sweep {i}: {label}"
            )
        )
    results = {sp["job_id"]: JobResult(sp["job_id"], sp["parameters"]) for sp in specs}
    in_kernel = procs.in_kernel()
    bar = _progress_display(len(specs), in_kernel) if progress else None
    executor = _Executor(s, jobs, bar.update if bar else None)
    result = Sweep(sweep_id, s, executor, results, order_by)
    if bar is not None:
        bar.attach(result)

    def run_all() -> None:
        try:
            executor.run(specs, results)
        except BaseException as e:  # noqa: BLE001 - handed to wait()
            result._error = e
        finally:
            if bar is not None:
                bar.close()

    if wait is None:
        wait = not in_kernel
    if wait:
        try:
            executor.run(specs, results)
        finally:
            if bar is not None:
                bar.close()
    else:
        result._thread = threading.Thread(target=run_all, name="workbench-sweep", daemon=True)
        result._thread.start()
    return result


class _TqdmBar:
    def __init__(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="sweep", unit="nb")

    def attach(self, sweep: Sweep) -> None:
        pass

    def update(self, c: dict[str, int]) -> None:
        self.bar.n = c["done"] + c["failed"]
        self.bar.set_postfix(done=c["done"], failed=c["failed"], running=c["running"], refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


class _WidgetBar:
    """Progress for notebooks: a bar, counts and a Stop button."""

    def __init__(self, total: int) -> None:
        import ipywidgets as w
        from IPython.display import display

        self.total = total
        self.bar = w.IntProgress(value=0, min=0, max=total, description="sweep", bar_style="info")
        self.label = w.HTML(f"0 / {total} done")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop")
        display(w.HBox([self.bar, self.label, self.stop_button]))

    def attach(self, sweep: Sweep) -> None:
        def on_stop(_: Any) -> None:
            self.stop_button.disabled = True
            self.stop_button.description = "stopping"
            sweep.stop()

        self.stop_button.on_click(on_stop)

    def update(self, c: dict[str, int]) -> None:
        self.bar.value = c["done"] + c["failed"]
        self.label.value = (
            f"{c['done']} done, <b style='color:#c62828'>{c['failed']} failed</b>, "
            f"{c['running']} running, {c['queued']} queued"
        )
        if c["failed"]:
            self.bar.bar_style = "warning"

    def close(self) -> None:
        self.stop_button.disabled = True
        self.bar.bar_style = "success" if self.bar.bar_style == "info" else self.bar.bar_style


def _progress_display(total: int, in_kernel: bool) -> Any:
    if in_kernel:
        try:
            return _WidgetBar(total)
        except ImportError:
            pass
    return _TqdmBar(total)


@dataclass
class ReproduceReport:
    """Whether a rerun with the same parameters gave the same metrics, and what differs."""

    original: str
    rerun: str | None
    reproduced: bool
    metrics: list[dict[str, Any]]
    environment: dict[str, Any]
    error: str | None = None

    def to_text(self) -> str:
        """A readable report."""
        lines = [f"original {self.original}", f"rerun    {self.rerun or '-'}"]
        if self.error:
            lines.append(f"rerun failed: {self.error}")
        lines.append("")
        width = max([len(m["metric"]) for m in self.metrics] + [6])
        lines.append(f"{'metric':<{width}}  {'original':>14}  {'rerun':>14}  same")
        for m in self.metrics:
            o = "-" if m["original"] is None else f"{m['original']:.6g}"
            r = "-" if m["rerun"] is None else f"{m['rerun']:.6g}"
            lines.append(f"{m['metric']:<{width}}  {o:>14}  {r:>14}  {'yes' if m['same'] else 'NO'}")
        env = self.environment
        lines.append("")
        if (
            not any(env.get(k) for k in ("added", "removed", "changed"))
            and not env.get("python")
            and not env.get("git_commit")
        ):
            lines.append("environment: identical")
        else:
            lines.append("environment differences:")
            for k in ("python", "git_commit"):
                if env.get(k):
                    lines.append(f"  {k}: {env[k][0]} -> {env[k][1]}")
            lines += [f"  + {p}" for p in env.get("added", [])]
            lines += [f"  - {p}" for p in env.get("removed", [])]
            lines += [f"  ~ {n}: {a} -> {b}" for n, a, b in env.get("changed", [])]
        lines.append("")
        lines.append("REPRODUCED" if self.reproduced else "NOT REPRODUCED")
        return "\n".join(lines)


def _env_diff(store: Store, a: RunRecord, b: RunRecord) -> dict[str, Any]:
    def pkgs(rec: RunRecord) -> dict[str, str]:
        h = rec.context.get("env_hash")
        env = store.environment(h) if h else None
        return dict(p.split("==", 1) for p in env["packages"]) if env else {}

    pa, pb = pkgs(a), pkgs(b)
    out: dict[str, Any] = {
        "added": sorted(f"{n}=={pb[n]}" for n in pb.keys() - pa.keys()),
        "removed": sorted(f"{n}=={pa[n]}" for n in pa.keys() - pb.keys()),
        "changed": sorted((n, pa[n], pb[n]) for n in pa.keys() & pb.keys() if pa[n] != pb[n]),
    }
    for key, col in (("python", "python_version"), ("git_commit", "git_commit")):
        va, vb = a.context.get(col), b.context.get(col)
        if va != vb:
            out[key] = (va, vb)
    return out


def reproduce(
    run_id: str,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    kernel: str | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> ReproduceReport:
    """Rerun a run with its own parameters and report whether its metrics came out the
    same (within ``rtol``/``atol``) and how the environment differs.

    Returns
    -------
    ReproduceReport
        ``reproduced`` is True when every original metric is matched.
    """
    if not (isinstance(rtol, (int, float)) and rtol >= 0 and isinstance(atol, (int, float)) and atol >= 0):
        raise InvalidInputError(f"rtol and atol must be non-negative numbers, got {rtol!r}, {atol!r}")
    s = _as_store(store)
    src = _source_from_run(s, run_id)
    assert src.run is not None
    defaults = notebook_defaults(src.nb)
    params = {k: _typed(v, defaults.get(k)) for k, v in src.run.params.items() if k in defaults}
    job = rerun(src.run.run_id, params, kernel=kernel, store=s)
    original = src.run
    new = None
    if job.run_ids:
        # The rerun of the same cell: matched by cell id when the notebook has several.
        candidates = [s.get_run(r) for r in job.run_ids]
        same_cell = [c for c in candidates if c.context.get("cell_id") == original.context.get("cell_id")]
        new = (same_cell or candidates)[0]
    rows = []
    for key, value in sorted(original.metrics.items()):
        got = new.metrics.get(key) if new else None
        same = got is not None and math.isclose(value, got, rel_tol=rtol, abs_tol=atol)
        rows.append({"metric": key, "original": value, "rerun": got, "same": same})
    env = _env_diff(s, original, new) if new else {}
    ok = job.status == "finished" and bool(rows) and all(r["same"] for r in rows)
    return ReproduceReport(original.run_id, new.run_id if new else None, ok, rows, env, job.error)


def _as_store(store: str | os.PathLike[str] | Store | None) -> Store:
    if isinstance(store, Store):
        return store
    return current_store() if store is None else get_store(store)
