"""Rerun, sweep and reproduce notebooks through papermill.

A rerun executes a run's recorded notebook snapshot (never the file as it is now on
disk) with the kernel it recorded, in the original notebook's folder so relative paths
resolve, with new parameters injected papermill's way. The notebook's own ``%%track``
cells record the new runs; the environment they inherit links them to their origin
(``parent_run_id``, ``source``, a ``sweep_id`` tag). When a notebook fails before any
tracked cell, the rerun records a failed run itself, so every job leaves a run behind,
with the executed (or partial) output notebook as its artifact.

Jobs run in worker processes (:mod:`.pool`), as many at once as ``jobs`` says.
"""

from __future__ import annotations

import math
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import procs
from ..errors import InvalidInputError
from ..store import RunRecord, Store
from ..tracking import flush
from .cluster import DEFAULT_UPLOAD_LIMIT, DaskExecutor, connect, pack_folder
from .jobs import (
    Source,
    as_store,
    make_spec,
    notebook_kernel,
    resolve_source,
    source_from_run,
    store_snapshot,
)
from .params import check_params, expand_grid, recorded_values
from .pool import Executor, JobResult

__all__ = [
    "ReproduceReport",
    "RerunJob",
    "Sweep",
    "reproduce",
    "rerun",
    "set_progress_display",
    "start_rerun",
    "sweep",
]


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


def starting_params(
    src: Source, params: Mapping[str, Any] | None, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What a job of ``src`` injects: a run's own recorded parameters (typed back;
    ``base`` when already read), overridden by ``params``; for a notebook file,
    ``params`` alone (its defaults apply to the rest, as with papermill).

    Raises
    ------
    InvalidInputError
        Bad ``params`` (see :func:`check_params`), or a value the run recorded that its
        notebook's parameter cannot take, when ``params`` does not replace it.
    """
    given = check_params(src.nb, params if params is not None else {}, src.label)
    if src.run is None:
        return given
    if base is None:
        base = recorded_values(src.nb, src.run)
    for name, value in base.items():
        if name in given:
            continue
        try:
            check_params(src.nb, {name: value}, src.label)
        except InvalidInputError as e:
            raise InvalidInputError(
                f"{e} (the value run {src.run.run_id[:8]} recorded; give {name} to replace it)"
            ) from None
    return {**base, **given}


def prepare_rerun(
    run_id: str, params: Mapping[str, Any] | None, kernel: str | None, store: Store
) -> tuple[dict[str, Any], JobResult]:
    src = source_from_run(store, run_id)
    assert src.run is not None
    checked = starting_params(src, params)
    spec = make_spec(
        store,
        src,
        store_snapshot(store, src),
        checked,
        notebook_kernel(src.nb, kernel, src.run.context.get("kernel")),
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
    s = as_store(store)
    spec, result = prepare_rerun(run_id, params, kernel, s)
    thread = threading.Thread(
        target=Executor(s, 1, None).run,
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

    The rerun starts from the run's own parameters (as it recorded them, typed back by
    the notebook's defaults); ``params`` changes some of them, and the others keep the
    run's values, not the notebook's defaults.

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
    s = as_store(store)
    spec, result = prepare_rerun(run_id, params, kernel, s)
    Executor(s, 1, None).run([spec], {spec["job_id"]: result})
    return result


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
        executor: Executor | DaskExecutor,
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

    def _start(
        self, specs: list[dict[str, Any]], bar: Any, wait: bool, on_end: Callable[[], None] | None = None
    ) -> None:
        """Run the jobs: here until done (``wait``), else in a background thread;
        ``on_end`` is called once they have ended (a Dask client to close)."""
        executor = self._executor

        def end() -> None:
            if bar is not None:
                bar.close()
            if on_end is not None:
                on_end()

        def run_all() -> None:
            try:
                executor.run(specs, self.jobs)
            except BaseException as e:  # noqa: BLE001 - handed to wait()
                self._error = e
            finally:
                end()

        if wait:
            try:
                executor.run(specs, self.jobs)
            finally:
                end()
        else:
            self._thread = threading.Thread(target=run_all, name="workbench-sweep", daemon=True)
            self._thread.start()

    def __repr__(self) -> str:
        c = self.counts
        return f"<Sweep {self.sweep_id}: {c['done']} done, {c['failed']} failed, {c['running']} running, {c['queued']} queued>"


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
    executor: Any = None,
    upload: bool = False,
    upload_limit: int | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> Sweep:
    """Execute a notebook for every combination of parameter values, ``jobs`` at a time
    on this machine, or as tasks of a Dask cluster.

    Parameters
    ----------
    notebook
        A notebook path, or a run id (prefix) whose snapshot to sweep. From a run,
        the parameters a combination does not set keep that run's values; from a
        path, the notebook's defaults.
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
    executor
        A ``dask.distributed.Client`` (or a scheduler address, ``tcp://host:8786``):
        each notebook execution becomes one Dask task, run against a temporary store on
        the worker, whose runs are imported here as each task completes. ``jobs`` is
        then the cluster's business. Needs ``pip install 'workbench[dask]'``.
    upload
        With ``executor``: ship the notebook's folder (without ``.workbench``, ``.git``,
        caches) to the workers, which run the notebook in a copy of it. Without it,
        the notebook's relative paths must resolve on the workers (shared storage).
    upload_limit
        Largest folder ``upload`` ships, in bytes (default 100 MB).

    Returns
    -------
    Sweep
        Whose runs all carry the tag ``sweep_id``.

    Raises
    ------
    InvalidInputError
        Bad grid, parameters, order, kernel or executor; a folder over the upload
        limit. Nothing has run.
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise InvalidInputError(f"jobs must be a positive integer, got {jobs!r}")
    if upload and executor is None:
        raise InvalidInputError("upload ships the notebook's folder to a Dask cluster; give executor= too")
    combinations = expand_grid(grid, combos)
    s = as_store(store)
    src, sweep_id, specs = _plan_sweep(s, notebook, combinations, order_by, kernel)
    results = {sp["job_id"]: JobResult(sp["job_id"], sp["parameters"]) for sp in specs}
    packed = _upload(src, upload, upload_limit)
    client, on_end = (None, None) if executor is None else connect(executor)
    in_kernel = procs.in_kernel()
    bar = _progress_display(len(specs), in_kernel) if progress else None
    on_progress = bar.update if bar else None
    runner: Any = (
        Executor(s, jobs, on_progress)
        if client is None
        else DaskExecutor(s, client, jobs, on_progress, packed)
    )
    result = Sweep(sweep_id, s, runner, results, order_by)
    if bar is not None:
        bar.attach(result)
    result._start(specs, bar, wait=not in_kernel if wait is None else wait, on_end=on_end)
    return result


def _upload(src: Source, upload: bool, limit: int | None) -> bytes | None:
    """The notebook's folder as zip bytes when ``upload`` (checked before anything runs)."""
    if not upload:
        return None
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise InvalidInputError(f"upload_limit must be a positive number of bytes, got {limit!r}")
    if src.origin_path is None or not src.origin_path.parent.is_dir():
        raise InvalidInputError(
            f"upload: the folder of {src.label} is not on this machine; run from where the notebook is"
        )
    return pack_folder(src.origin_path.parent, limit or DEFAULT_UPLOAD_LIMIT)


def _plan_sweep(
    store: Store,
    notebook: str | os.PathLike[str],
    combinations: list[dict[str, Any]],
    order_by: str | None,
    kernel: str | None,
) -> tuple[Source, str, list[dict[str, Any]]]:
    """Check everything a sweep needs before anything runs; its source, id and job specs."""
    src = resolve_source(store, notebook)
    checked = [check_params(src.nb, c, src.label) for c in combinations]
    base = recorded_values(src.nb, src.run) if src.run is not None else {}
    injected = [starting_params(src, c, base) for c in checked]
    if order_by is not None:
        from ..search import parse_order_by

        parse_order_by(order_by)
    kname = notebook_kernel(src.nb, kernel, src.run.context.get("kernel") if src.run else None)
    sha = store_snapshot(store, src)
    sweep_id = uuid.uuid4().hex[:12]
    parent = src.run.run_id if src.run else None
    specs = []
    for i, (combo, params) in enumerate(zip(checked, injected), start=1):
        label = ", ".join(f"{k}={v}" for k, v in combo.items())
        specs.append(
            make_spec(
                store, src, sha, params, kname, "sweep", parent, {"sweep_id": sweep_id}, f"sweep {i}: {label}"
            )
        )
    return src, sweep_id, specs


#: Makes a sweep's or tune's progress display: ``factory(total, in_kernel, kind=)``
#: (``kind``: ``sweep`` or ``tune``) returns an object with ``attach(runner)`` (anything
#: with ``stop()``), ``update(counts)``, ``close()`` and, for tunes, ``set_best(value,
#: params)``.
ProgressFactory = Callable[..., Any]
_progress_factory: ProgressFactory | None = None


def set_progress_display(factory: ProgressFactory | None) -> None:
    """Choose how sweeps show their progress (``progress=True``).

    The displays are views (``workbench.widgets.progress``: a widget with a Stop button
    in a notebook, tqdm elsewhere), which this service layer does not import; the
    ``workbench`` package registers them. ``None``: sweeps show no progress.
    """
    global _progress_factory
    _progress_factory = factory


def _progress_display(total: int, in_kernel: bool, kind: str = "sweep") -> Any:
    return None if _progress_factory is None else _progress_factory(total, in_kernel, kind=kind)


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
    s = as_store(store)
    src = source_from_run(s, run_id)
    assert src.run is not None
    # A rerun without new values: the run's own parameters, typed back.
    job = rerun(src.run.run_id, None, kernel=kernel, store=s)
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
