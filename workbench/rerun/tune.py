"""Optuna search over a notebook's parameters: each trial is one notebook execution.

Trials run through the same machinery as sweeps (local worker processes, or Dask tasks
with ``executor=``). The study lives beside the store, in Optuna's journal file storage
(``.workbench/optuna/journal.log``), so ``tune`` with the same study name resumes it. The
runs carry the tags ``tune_id``, ``trial``, ``study``, ``objective`` and ``direction``.

Pruning: while a trial's notebook runs, the points it logs of the objective are
reported to the trial (step by step); when the study's pruner says stop, the notebook is
interrupted, its run ends ``killed`` with the tag ``pruned``, and the trial is PRUNED.

optuna is imported only when a tune starts.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from .. import procs
from ..errors import InvalidInputError
from ..store import Batch, Store
from ..tracking import flush
from .cluster import DEFAULT_UPLOAD_LIMIT, DaskExecutor, connect, pack_folder
from .jobs import as_store, make_spec, notebook_kernel, resolve_source, store_snapshot
from .params import check_params, parse_value, recorded_values
from .pool import Executor, JobResult

__all__ = ["PRUNED_TAG", "TUNE_TAGS", "parse_distribution", "tune", "tune_history"]

log = logging.getLogger(__name__)

#: The tags every run of a tune carries.
TUNE_TAGS = ("tune_id", "trial", "study", "objective", "direction")
#: The tag of a run whose trial was pruned (its value: the step).
PRUNED_TAG = "pruned"
_STUDY_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_TUNE_ID_ATTR = "workbench.tune_id"


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise InvalidInputError("tune needs Optuna: pip install 'workbench[tune]'") from None
    return optuna


def parse_distribution(text: str) -> Any:
    """An Optuna distribution from its command-line form.

    ``float:LOW:HIGH`` (``:log`` for a log scale, ``:step=S`` for a grid),
    ``int:LOW:HIGH`` (``:log``, ``:step=S``), ``cat:A,B,C`` (values typed like ``-p``:
    numbers, ``True``/``False``/``None``, else text).

    Raises
    ------
    InvalidInputError
        Naming the accepted forms.
    """
    optuna = _optuna()
    d = optuna.distributions
    usage = "accepted: float:LOW:HIGH[:log|:step=S], int:LOW:HIGH[:log|:step=S], cat:A,B,C"
    if not isinstance(text, str):
        raise InvalidInputError(f"a search space entry must be text, got {text!r}; {usage}")
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind in ("cat", "categorical"):
        choices = [parse_value(c.strip()) for c in rest.split(",") if c.strip()]
        if not choices:
            raise InvalidInputError(f"{text!r} lists no choices; {usage}")
        return d.CategoricalDistribution(choices)
    if kind not in ("float", "int"):
        raise InvalidInputError(f"{text!r}: unknown kind {kind!r}; {usage}")
    parts = rest.split(":")
    if len(parts) < 2 or len(parts) > 3:
        raise InvalidInputError(f"{text!r} needs a low and a high bound; {usage}")
    cast = float if kind == "float" else int
    try:
        low, high = cast(parts[0]), cast(parts[1])
    except ValueError:
        what = "integers" if kind == "int" else "numbers"
        raise InvalidInputError(f"{text!r}: the bounds must be {what}; {usage}") from None
    log_scale, step = False, None
    if len(parts) == 3:
        opt = parts[2].strip()
        if opt == "log":
            log_scale = True
        elif opt.startswith("step="):
            try:
                step = cast(opt[5:])
            except ValueError:
                what = "an integer" if kind == "int" else "a number"
                raise InvalidInputError(f"{text!r}: the step must be {what}; {usage}") from None
        else:
            raise InvalidInputError(f"{text!r}: unknown option {opt!r}; {usage}")
    try:
        if kind == "float":
            return d.FloatDistribution(low, high, log=log_scale, step=step)
        return d.IntDistribution(low, high, log=log_scale, step=step or 1)
    except ValueError as e:
        raise InvalidInputError(f"{text!r}: {e}") from None


def _check_space(space: Any, nb: dict[str, Any], label: str) -> dict[str, Any]:
    optuna = _optuna()
    if not isinstance(space, Mapping) or not space:
        raise InvalidInputError(
            "space must map parameter names to Optuna distributions, e.g. "
            "{'alpha': optuna.distributions.FloatDistribution(1e-3, 1, log=True)}"
        )
    out = {}
    for name, dist in space.items():
        if isinstance(dist, str):
            dist = parse_distribution(dist)
        if not isinstance(dist, optuna.distributions.BaseDistribution):
            raise InvalidInputError(
                f"space[{name!r}] is {dist!r}; give an Optuna distribution (FloatDistribution, "
                "IntDistribution, CategoricalDistribution) or its text form, e.g. 'float:0.001:1:log'"
            )
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            samples = list(dist.choices)
        else:
            samples = [dist.low]
        for v in samples:
            check_params(nb, {name: v}, label)
        out[name] = dist
    return out


def _objective_key(objective: Any) -> str:
    if not isinstance(objective, str) or not objective.strip():
        raise InvalidInputError(f"objective must name a metric, e.g. 'metrics.rmse', got {objective!r}")
    key = objective.strip()
    if key.startswith("metrics."):
        key = key[len("metrics.") :].strip('`"')
    elif "." in key and key.split(".", 1)[0] in ("params", "tags", "attributes"):
        raise InvalidInputError(f"objective must be a metric (metrics.NAME), got {objective!r}")
    if not key:
        raise InvalidInputError(f"objective must name a metric, e.g. 'metrics.rmse', got {objective!r}")
    return key


def _journal(store: Store) -> Any:
    optuna = _optuna()
    folder = store.directory / "optuna"
    folder.mkdir(parents=True, exist_ok=True)
    backend_cls = getattr(optuna.storages, "journal", None)
    path = str(folder / "journal.log")
    if backend_cls is not None and hasattr(backend_cls, "JournalFileBackend"):
        backend = backend_cls.JournalFileBackend(path)
    else:  # optuna < 4
        backend = optuna.storages.JournalFileStorage(path)
    return optuna.storages.JournalStorage(backend)


def _open_study(
    study: Any, default_name: str, direction: str, sampler: Any, pruner: Any, store: Store
) -> Any:
    optuna = _optuna()
    if isinstance(study, optuna.Study):
        if sampler is not None or pruner is not None:
            raise InvalidInputError("give sampler/pruner when creating the optuna.Study, not with study=")
        s = study
    else:
        name = default_name if study is None else study
        if not isinstance(name, str) or not _STUDY_NAME.match(name):
            raise InvalidInputError(
                f"study must be a name of letters, digits, '_', '.', '-' (or an optuna.Study), got {study!r}"
            )
        s = optuna.create_study(
            study_name=name,
            storage=_journal(store),
            sampler=sampler,
            pruner=pruner,
            direction=direction,
            load_if_exists=True,
        )
    if s.direction.name.lower() != direction:
        raise InvalidInputError(
            f"study {s.study_name!r} {s.direction.name.lower()}s its objective; give direction="
            f"{s.direction.name.lower()!r} (or another study name) to continue it"
        )
    if not s.user_attrs.get(_TUNE_ID_ATTR):
        s.set_user_attr(_TUNE_ID_ATTR, uuid.uuid4().hex[:12])
    return s


class _Pruning:
    """Reports a trial's objective points, step by step, and asks its pruner."""

    def __init__(self, key: str, trials: dict[str, Any]) -> None:
        self.key = key
        self._trials = trials
        self._reported: dict[str, set[int]] = {}
        #: job id -> the step its trial was pruned at.
        self.pruned_at: dict[str, int] = {}

    def check(self, spec: dict[str, Any], result: JobResult, points: list[tuple[int, float]]) -> str | None:
        trial = self._trials[spec["job_id"]]
        seen = self._reported.setdefault(spec["job_id"], set())
        for step, value in sorted(points):
            if step in seen or not math.isfinite(value):
                continue
            seen.add(step)
            trial.report(value, step)
            if trial.should_prune():
                self.pruned_at[spec["job_id"]] = step
                return f"pruned by optuna at step {step} ({self.key}={value:.6g})"
        return None


def _value(store: Store, run_ids: list[str], key: str) -> float | None:
    """The objective of a job: the latest value of ``key`` in its last run that has it."""
    for rid in reversed(run_ids):
        v = store.get_run(rid).metrics.get(key)
        if v is not None and math.isfinite(v):
            return float(v)
    return None


def tune(
    notebook: str | os.PathLike[str],
    space: Mapping[str, Any] | None = None,
    objective: str = "metrics.rmse",
    direction: str = "minimize",
    n_trials: int = 20,
    jobs: int = 1,
    sampler: Any = None,
    executor: Any = None,
    study: Any = None,
    *,
    pruner: Any = None,
    kernel: str | None = None,
    upload: bool = False,
    upload_limit: int | None = None,
    progress: bool = True,
    store: str | os.PathLike[str] | Store | None = None,
) -> Any:
    """Search a notebook's parameters with Optuna: each trial executes the notebook once.

    Parameters
    ----------
    notebook
        A notebook path, or a run id (prefix) whose snapshot to tune (the parameters
        not searched then keep that run's values).
    space
        Parameter name -> Optuna distribution (``FloatDistribution(1e-3, 1, log=True)``,
        ``IntDistribution(2, 8)``, ``CategoricalDistribution(["ridge", "lasso"])``), or
        its text form (``"float:0.001:1:log"``, ``"int:2:8"``, ``"cat:ridge,lasso"``).
    objective
        The metric to optimize, ``metrics.NAME``: its latest value in the trial's run.
    direction
        ``minimize`` or ``maximize``.
    n_trials
        Trials to run now (added to those a resumed study has).
    jobs
        Trials in flight at once.
    sampler, pruner
        Optuna's (default: TPE, and the median pruner).
    executor
        A ``dask.distributed.Client`` or scheduler address: trials become Dask tasks, as
        with :func:`~workbench.rerun.sweep`.
    study
        A study name (default ``<notebook>-<metric>``; the same name resumes it) or an
        ``optuna.Study``.
    upload, upload_limit
        With ``executor``: ship the notebook's folder to the workers (see ``sweep``).
    progress
        Show a progress bar with the best value so far.

    Returns
    -------
    optuna.Study
        The study, with every trial of this and earlier calls. A failed notebook is a
        FAIL trial; a pruned one PRUNED.

    Raises
    ------
    InvalidInputError
        Bad space, objective, direction, counts, study, kernel or executor; optuna (or
        dask, with an executor) not installed. Nothing has run.
    """
    _optuna()
    _check_counts(n_trials, jobs, direction, upload, executor)
    key = _objective_key(objective)
    s = as_store(store)
    src = resolve_source(s, notebook)
    dists = _check_space(space, src.nb, src.label)
    kname = notebook_kernel(src.nb, kernel, src.run.context.get("kernel") if src.run else None)
    packed = _packed_folder(src, upload_limit) if upload else None
    stem = src.origin_path.stem if src.origin_path else "notebook"
    default_name = re.sub(r"[^A-Za-z0-9_.\-]", "-", f"{stem}-{key}")[:100]
    st = _open_study(study, default_name, direction, sampler, pruner, s)

    from .core import _progress_display

    bar = _progress_display(n_trials, procs.in_kernel(), kind="tune") if progress else None
    client, on_end = (None, None) if executor is None else connect(executor)
    on_progress = bar.update if bar is not None else None
    runner: Any = (
        Executor(s, jobs, on_progress)
        if client is None
        else DaskExecutor(s, client, jobs, on_progress, packed)
    )
    if bar is not None:
        bar.attach(runner)
    trials = _Trials(st, s, src, dists, key, direction, kname, n_trials, bar)
    try:
        runner.run_jobs(trials.next_job, n_trials, on_done=trials.on_done, monitor=trials.monitor)
    finally:
        if bar is not None:
            bar.close()
        if on_end is not None:
            on_end()
        flush()
    return st


def _check_counts(n_trials: Any, jobs: Any, direction: Any, upload: bool, executor: Any) -> None:
    for what, n in (("n_trials", n_trials), ("jobs", jobs)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise InvalidInputError(f"{what} must be a positive integer, got {n!r}")
    if direction not in ("minimize", "maximize"):
        raise InvalidInputError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    if upload and executor is None:
        raise InvalidInputError("upload ships the notebook's folder to a Dask cluster; give executor= too")


def _packed_folder(src: Any, upload_limit: int | None) -> Any:
    """The notebook's folder packed for the Dask workers (``upload=True``)."""
    if src.origin_path is None or not src.origin_path.parent.is_dir():
        raise InvalidInputError(f"upload: the folder of {src.label} is not on this machine")
    if upload_limit is not None and (not isinstance(upload_limit, int) or upload_limit < 1):
        raise InvalidInputError(f"upload_limit must be a positive number of bytes, got {upload_limit!r}")
    return pack_folder(src.origin_path.parent, upload_limit or DEFAULT_UPLOAD_LIMIT)


class _Trials:
    """Asks the study for a trial per job and tells it each job's outcome."""

    def __init__(
        self,
        st: Any,
        s: Store,
        src: Any,
        dists: dict[str, Any],
        key: str,
        direction: str,
        kname: str | None,
        n_trials: int,
        bar: Any,
    ) -> None:
        self.st, self.s, self.src, self.dists, self.key, self.kname = st, s, src, dists, key, kname
        self.n_trials, self.bar = n_trials, bar
        self.sha = store_snapshot(s, src)
        self.base = recorded_values(src.nb, src.run) if src.run is not None else {}
        self.parent = src.run.run_id if src.run else None
        self.tags = {
            "tune_id": st.user_attrs[_TUNE_ID_ATTR],
            "study": st.study_name,
            "objective": key,
            "direction": direction,
        }
        self.lock = threading.Lock()
        self.trials: dict[str, Any] = {}
        self.started = 0
        self.monitor = _Pruning(key, self.trials)

    def next_job(self) -> tuple[dict[str, Any], JobResult] | None:
        from .core import starting_params

        with self.lock:
            if self.started >= self.n_trials:
                return None
            self.started += 1
            trial = self.st.ask(self.dists)
        params = starting_params(self.src, trial.params, self.base)
        label = ", ".join(f"{k}={v}" for k, v in trial.params.items())
        spec = make_spec(
            self.s, self.src, self.sha, params, self.kname, "tune", self.parent,
            {**self.tags, "trial": str(trial.number)}, f"trial {trial.number}: {label}",
        )  # fmt: skip
        self.trials[spec["job_id"]] = trial
        return spec, JobResult(spec["job_id"], params)

    def on_done(self, spec: dict[str, Any], reply: dict[str, Any], result: JobResult) -> None:
        optuna = _optuna()
        trial = self.trials[spec["job_id"]]
        trial.set_user_attr("run_ids", result.run_ids)
        state, value = optuna.trial.TrialState.FAIL, None
        if reply.get("stopped_by_watch"):
            state = optuna.trial.TrialState.PRUNED
            step = self.monitor.pruned_at.get(spec["job_id"], -1)
            self.s.write(Batch(tags=[(r, PRUNED_TAG, str(step)) for r in result.run_ids]))
        elif result.status == "finished":
            value = _value(self.s, result.run_ids, self.key)
            if value is None:
                result.error = f"the notebook logged no finite {self.key!r} metric"
                log.warning("workbench: trial %d: %s", trial.number, result.error)
            else:
                state = optuna.trial.TrialState.COMPLETE
        if result.error:
            trial.set_user_attr("error", result.error)
        try:
            self.st.tell(trial, value if state == optuna.trial.TrialState.COMPLETE else None, state=state)
        except RuntimeError as e:
            # GridSampler calls study.stop() once its grid is done, which Optuna allows only
            # inside optimize(); the trial's state is stored before that.
            if "Study.stop" not in str(e):
                raise
        if self.bar is not None and hasattr(self.bar, "set_best"):
            try:
                best = self.st.best_trial
                self.bar.set_best(best.value, best.params)
            except ValueError:
                pass  # no complete trial yet


def tune_history(tune_id: str, *, store: str | os.PathLike[str] | Store | None = None) -> dict[str, Any]:
    """A tune's optimisation history, read from its runs (no Optuna needed): each trial's
    state and value, the best value so far after each trial, and the best trial.

    Parameters
    ----------
    tune_id
        The ``tune_id`` tag of its runs (any unique prefix of 4+ characters), or its
        study name.

    Returns
    -------
    dict
        ``tune_id``, ``study``, ``objective``, ``direction``, ``trials`` (ordered by
        number: ``trial``, ``run_id``, ``state`` complete/pruned/fail/running, ``value``,
        ``best_so_far``, ``params``) and ``best`` (the best trial's entry, or None).

    Raises
    ------
    InvalidInputError
        Not an id or study name.
    NotFoundError
        No run of such a tune.
    """
    from ..errors import NotFoundError

    if not isinstance(tune_id, str) or not _STUDY_NAME.match(tune_id):
        raise InvalidInputError(
            f"give a tune id or study name (letters, digits, '_', '.', '-'), got {tune_id!r}"
        )
    s = as_store(store)
    flush(s)
    df = s.search_runs(f"tags.tune_id LIKE '{tune_id}%' or tags.study = '{tune_id}'")
    if not len(df):
        raise NotFoundError(f"no runs of a tune {tune_id!r} in {s.directory}")
    ids = set(df["tags.tune_id"].dropna())
    if len(ids) > 1:
        raise InvalidInputError(
            f"{tune_id!r} names several tunes ({', '.join(sorted(ids))}); give more of the id"
        )
    first = df.iloc[0]
    key, direction = first.get("tags.objective"), first.get("tags.direction") or "minimize"
    better = min if direction == "minimize" else max
    rows = []
    for _, r in df.iterrows():
        value = r.get(f"metrics.{key}") if key else None
        value = (
            float(value)
            if value is not None and not (isinstance(value, float) and math.isnan(value))
            else None
        )
        pruned = isinstance(r.get(f"tags.{PRUNED_TAG}"), str)
        state = {"finished": "complete", "running": "running"}.get(r["status"], "fail")
        if pruned:
            state = "pruned"
        elif state == "complete" and value is None:
            state = "fail"
        params = {
            c[len("params.") :]: r[c] for c in df.columns if c.startswith("params.") and isinstance(r[c], str)
        }
        rows.append(
            {
                "trial": int(r["tags.trial"]) if str(r.get("tags.trial", "")).isdigit() else None,
                "run_id": r["run_id"],
                "state": state,
                "value": value if state == "complete" else None,
                "params": params,
            }
        )
    rows.sort(key=lambda t: (t["trial"] is None, t["trial"] or 0, t["run_id"]))
    best_value, best = None, None
    for t in rows:
        if t["value"] is not None and (best_value is None or better(t["value"], best_value) == t["value"]):
            if best_value is None or t["value"] != best_value:
                best = t
            best_value = t["value"]
        t["best_so_far"] = best_value
    return {
        "tune_id": next(iter(ids), None),
        "study": first.get("tags.study"),
        "objective": key,
        "direction": direction,
        "trials": rows,
        "best": best,
    }
