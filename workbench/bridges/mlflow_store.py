"""MLflow's tracking store, backed by a Workbench store: ``mlflow.set_tracking_uri("workbench:")``.

MLflow finds this class through the ``mlflow.tracking_store`` entry point for the
``workbench`` scheme. Runs logged through MLflow's fluent API, its client or any of its
autologging integrations land in the Workbench store as Workbench runs, and Workbench's
own runs read back through MLflow.

Logging (``log_metric``, ``log_param``, ``set_tag``, ``log_batch``) is validated at once,
as MLflow validates it, and written in batches: within a second, before any read through
this store, when a run ends, and at exit. Everything else is written before it returns.
Methods MLflow's store defines and this one does not support raise
:class:`WorkbenchNotSupported`, an ``MlflowException`` with MLflow's ``NOT_IMPLEMENTED``
code that is also a ``NotImplementedError``.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

from mlflow.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    NOT_IMPLEMENTED,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.mlflow_tags import (
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_LOGGED_MODELS,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_RUN_NAME,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
    MLFLOW_USER,
)
from mlflow.utils.name_utils import _generate_random_name
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchLoggedModelsUtils, SearchUtils
from mlflow.utils.validation import (
    _validate_batch_log_data,
    _validate_batch_log_limits,
    _validate_experiment_name,
    _validate_experiment_tag,
    _validate_param_keys_unique,
    _validate_run_id,
    _validate_tag,
)

from ..errors import InvalidInputError, WorkbenchError
from ..store import imports
from ..store.records import now_ms
from ..store.store import Store
from . import _common
from ._common import (
    DEFAULT_EXPERIMENT,
    TO_MLFLOW_STATUS,
    TO_WORKBENCH_STATUS,
    experiment_id,
    session,
    store_for_uri,
)

__all__ = ["WorkbenchNotSupported", "WorkbenchStore"]

log = logging.getLogger(__name__)

#: Points buffered before a write is started without waiting for the timer.
FLUSH_POINTS = 20_000
#: How often buffered logging is written (seconds).
FLUSH_INTERVAL_S = 1.0
#: Tags kept in run columns as well, so Workbench's views and MLflow's agree.
_COLUMN_TAGS = {MLFLOW_RUN_NAME: "run_name", MLFLOW_PARENT_RUN_ID: "parent_run_id"}


class WorkbenchNotSupported(MlflowException, NotImplementedError):
    """An MLflow store method the Workbench store does not support."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The Workbench store (workbench:) does not support {what}. It supports experiments, runs, "
            "metrics, params, tags, datasets, artifacts, logged models and the model registry; use "
            "another MLflow tracking URI for the rest.",
            error_code=NOT_IMPLEMENTED,
        )


def _not_found(what: str) -> MlflowException:
    return MlflowException(what, RESOURCE_DOES_NOT_EXIST)


def _mlflow_error(e: WorkbenchError) -> MlflowException:
    code = INVALID_PARAMETER_VALUE if isinstance(e, InvalidInputError) else INVALID_STATE
    return MlflowException(str(e), code)


# -- the write-behind buffer ----------------------------------------------------------------
class _Buffer:
    """Metric points, params and tags logged and not yet written, for one store.

    One per store per process, shared by every ``WorkbenchStore`` on it, so that any read
    through any of them first writes what this process logged.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.points: list[tuple[str, str, int, float, int]] = []
        self.params: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, str, str]] = []
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.warned = False

    def add(self, points: list[Any], params: list[Any], tags: list[Any]) -> None:
        with self.lock:
            self.points.extend(points)
            self.params.extend(params)
            self.tags.extend(tags)
            n = len(self.points)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="workbench-mlflow-writer", daemon=True)
                self.thread.start()
        if n >= FLUSH_POINTS:
            self.wake.set()

    def _loop(self) -> None:
        while True:
            self.wake.wait(FLUSH_INTERVAL_S)
            self.wake.clear()
            try:
                self.flush()
            except Exception as e:  # noqa: BLE001 - kept buffered and retried; reads raise it
                if not self.warned:
                    log.warning(
                        "workbench: could not write MLflow logging to %s (%s); retrying",
                        self.store.directory,
                        e,
                    )
                    self.warned = True

    def flush(self) -> None:
        """Write everything buffered, in one transaction (kept buffered if it fails)."""
        with self.write_lock:
            with self.lock:
                points, params, tags = self.points, self.params, self.tags
                self.points, self.params, self.tags = [], [], []
            if not (points or params or tags):
                return
            try:
                _write(self.store, points, params, tags)
            except BaseException:
                with self.lock:
                    self.points[:0], self.params[:0], self.tags[:0] = points, params, tags
                raise
            self.warned = False


def _points_table(points: list[tuple[str, str, int, float, int]]) -> Any:
    import pyarrow as pa

    run_ids, keys, steps, values, times = zip(*points)
    return pa.table(
        {
            "run_id": pa.array(run_ids, pa.string()),
            "key": pa.array(keys, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
            "timestamp": pa.array(times, pa.int64()),
        }
    )


def _write(store: Store, points: list[Any], params: list[Any], tags: list[Any]) -> None:
    touched = sorted({p[0] for p in points} | {p[0] for p in params} | {t[0] for t in tags})
    with session(store) as con, imports.transaction(con):
        imports.upsert_key_values(con, "params", params, replace=False)
        imports.upsert_key_values(con, "tags", tags)
        if points:
            imports.insert_points(con, _points_table(points))
        con.execute(
            "UPDATE runs SET heartbeat = ? WHERE status = 'running' AND run_id IN (SELECT unnest(?::VARCHAR[]))",
            [now_ms(), touched],
        )


_buffers: dict[Any, _Buffer] = {}
_buffers_lock = threading.Lock()


def _buffer_for(store: Store) -> _Buffer:
    with _buffers_lock:
        buf = _buffers.get(store.directory)
        if buf is None or buf.store is not store:
            buf = _buffers[store.directory] = _Buffer(store)
        return buf


def flush_all() -> None:
    """Write what every store's buffer holds (at exit, and for tests)."""
    for buf in list(_buffers.values()):
        try:
            buf.flush()
        except Exception as e:  # noqa: BLE001 - at exit: say what was lost, never raise
            log.warning("workbench: MLflow logging to %s could not be written: %s", buf.store.directory, e)


def _after_fork() -> None:
    # A child must not write (or re-write) what its parent had buffered.
    global _buffers_lock
    _buffers.clear()
    _buffers_lock = threading.Lock()


atexit.register(flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


# -- the store -------------------------------------------------------------------------------
class WorkbenchStore(AbstractStore):
    """MLflow's ``AbstractStore`` over a Workbench store.

    Parameters
    ----------
    store_uri
        ``workbench:`` (the store Workbench would use here) or
        ``workbench:///abs/path/.workbench``.
    artifact_uri
        Ignored: artifacts always go to the Workbench store's content-addressed folder.
    """

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None) -> None:
        super().__init__()
        try:
            self.store = store_for_uri(store_uri)
        except InvalidInputError as e:
            raise MlflowException(str(e), INVALID_PARAMETER_VALUE) from None
        self.store_uri = _common.store_uri(self.store)
        self._buffer = _buffer_for(self.store)
        # run_id -> (experiment name, deleted, params): what logging checks against.
        self._runs: dict[str, dict[str, Any]] = {}
        self._runs_lock = threading.Lock()
        _live.add(self)

    def __repr__(self) -> str:
        return f"WorkbenchStore({self.store_uri!r})"

    # -- helpers ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Write this process's buffered logging now."""
        try:
            self._buffer.flush()
        except WorkbenchError as e:
            raise _mlflow_error(e) from None

    def _read(self) -> Any:
        """A session after this process's logging is written (reads see their own writes)."""
        self.flush()
        return session(self.store)

    def _experiments(self, con: Any) -> list[dict[str, Any]]:
        rows = imports.experiment_rows(con)
        for r in rows:
            r["experiment_id"] = experiment_id(r["name"], r["experiment_id"])
        return rows

    def _experiment_row(self, con: Any, exp_id: str) -> dict[str, Any]:
        for r in self._experiments(con):
            if r["experiment_id"] == str(exp_id):
                return r
        raise _not_found(f"No Experiment with id={exp_id} exists")

    def _to_experiment(self, r: dict[str, Any]) -> Experiment:
        return Experiment(
            experiment_id=r["experiment_id"],
            name=r["name"],
            artifact_location=r["artifact_location"] or f"{self.store_uri}/experiments/{r['experiment_id']}",
            lifecycle_stage=LifecycleStage.DELETED if r["deleted_at"] else LifecycleStage.ACTIVE,
            tags=[ExperimentTag(k, v) for k, v in sorted(r["tags"].items())],
            creation_time=r["created_at"],
            last_update_time=r["last_update_time"],
        )

    def _run_state(self, run_id: str) -> dict[str, Any]:
        """What logging to a run checks: it exists, is not deleted, and its params."""
        state = self._runs.get(run_id)
        if state is None:
            with session(self.store) as con:
                rows = imports.run_rows(con, [run_id])
            if run_id not in rows:
                raise _not_found(f"Run with id={run_id} not found")
            r = rows[run_id]
            state = {"deleted": r["deleted_at"] is not None, "params": dict(r["params"])}
            with self._runs_lock:
                self._runs[run_id] = state
        return state

    def _check_active(self, run_id: str, deleted: bool) -> None:
        if deleted:
            raise MlflowException(
                f"The run {run_id} must be in the 'active' state. Current state is deleted.",
                INVALID_PARAMETER_VALUE,
            )

    def _load_run(self, con: Any, run_id: str) -> dict[str, Any]:
        rows = imports.run_rows(con, [run_id])
        if run_id not in rows:
            raise _not_found(f"Run with id={run_id} not found")
        return rows[run_id]

    def _to_runs(self, con: Any, run_ids: Sequence[str]) -> list[Run]:
        rows = imports.run_rows(con, run_ids)
        exp_ids = {r["name"]: r["experiment_id"] for r in self._experiments(con)}
        outputs: dict[str, list[LoggedModelOutput]] = {}
        for m in imports.logged_models(con, run_ids=list(rows)):
            if m["output_step"] is not None and m["deleted_at"] is None:
                outputs.setdefault(m["source_run_id"], []).append(
                    LoggedModelOutput(m["model_id"], m["output_step"])
                )
        return [self._to_run(rows[i], exp_ids, outputs.get(i, [])) for i in run_ids if i in rows]

    def _to_run(self, r: dict[str, Any], exp_ids: dict[str, str], outputs: list[LoggedModelOutput]) -> Run:
        tags = _mlflow_tags(r)
        info = RunInfo(
            run_id=r["run_id"],
            experiment_id=exp_ids.get(r["experiment"]) or experiment_id(r["experiment"]),
            user_id=tags.get(MLFLOW_USER, ""),
            status=TO_MLFLOW_STATUS.get(r["status"], str(r["status"]).upper()),
            start_time=r["start_time"],
            end_time=r["end_time"],
            lifecycle_stage=LifecycleStage.DELETED if r["deleted_at"] is not None else LifecycleStage.ACTIVE,
            artifact_uri=_common.run_artifact_uri(self.store, r["run_id"]),
            run_name=r["run_name"],
        )
        data = RunData(
            metrics=[Metric(k, v, ts, step) for k, (v, ts, step) in sorted(r["metrics"].items())],
            params=[Param(k, v) for k, v in sorted(r["params"].items())],
            tags=[RunTag(k, v) for k, v in sorted(tags.items())],
        )
        inputs = RunInputs(dataset_inputs=[_dataset_input(d) for d in r["datasets"]], model_inputs=[])
        return Run(info, data, inputs, RunOutputs(outputs))

    # -- experiments -----------------------------------------------------------------------
    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Experiments matching MLflow's experiment filter, ordered and paged as MLflow does."""
        if not isinstance(max_results, int) or not 1 <= max_results <= SEARCH_MAX_RESULTS_THRESHOLD:
            raise MlflowException(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive "
                f"integer of at most {SEARCH_MAX_RESULTS_THRESHOLD}",
                INVALID_PARAMETER_VALUE,
            )
        with self._read() as con:
            rows = self._experiments(con)
        stages = set(LifecycleStage.view_type_to_stages(view_type))
        exps = [e for e in map(self._to_experiment, rows) if e.lifecycle_stage in stages]
        exps = SearchExperimentsUtils.filter(exps, filter_string)
        exps = SearchExperimentsUtils.sort(exps, order_by or ["creation_time DESC", "experiment_id ASC"])
        page, token = SearchUtils.paginate(exps, page_token, max_results)
        return PagedList(page, token)

    def create_experiment(self, name: str, artifact_location: str | None = None, tags: Any = None) -> str:
        """Create an experiment; its id is returned (``RESOURCE_ALREADY_EXISTS`` if the name is taken)."""
        _validate_experiment_name(name)
        for t in tags or []:
            _validate_experiment_tag(t.key, t.value)
        with self._read() as con:
            if any(r["name"] == name for r in imports.experiment_rows(con)):
                raise MlflowException(f"Experiment(name={name}) already exists.", RESOURCE_ALREADY_EXISTS)
            exp_id = experiment_id(name)
            with imports.transaction(con):
                imports.set_experiment(
                    con,
                    name,
                    now_ms(),
                    experiment_id=exp_id,
                    artifact_location=artifact_location,
                    tags={t.key: t.value for t in tags or []},
                )
        return exp_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id."""
        with self._read() as con:
            return self._to_experiment(self._experiment_row(con, experiment_id))

    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        """The experiment with this name, or None."""
        with self._read() as con:
            rows = self._experiments(con)
        row = next((r for r in rows if r["name"] == experiment_name), None)
        return None if row is None else self._to_experiment(row)

    def delete_experiment(self, experiment_id: str) -> None:
        """Delete an experiment and its runs (soft: :meth:`restore_experiment` undoes it)."""
        with self._read() as con:
            row = self._experiment_row(con, experiment_id)
            if row["deleted_at"]:
                raise MlflowException(
                    f"No Experiment with id={experiment_id} exists", RESOURCE_DOES_NOT_EXIST
                )
            with imports.transaction(con):
                imports.set_experiment_deleted(con, row["name"], True)
        self._runs.clear()

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and its runs."""
        with self._read() as con:
            row = self._experiment_row(con, experiment_id)
            if not row["deleted_at"]:
                raise MlflowException(
                    f"Cannot restore an active experiment {experiment_id}", INVALID_PARAMETER_VALUE
                )
            with imports.transaction(con):
                imports.set_experiment_deleted(con, row["name"], False)
        self._runs.clear()

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Not supported: Workbench names experiments by name everywhere."""
        raise WorkbenchNotSupported("renaming experiments")

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set a tag on an experiment."""
        _validate_experiment_tag(tag.key, tag.value)
        with self._read() as con:
            row = self._experiment_row(con, experiment_id)
            imports.set_experiment(con, row["name"], row["created_at"], tags={tag.key: tag.value})

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment."""
        with self._read() as con:
            row = self._experiment_row(con, experiment_id)
            if key not in row["tags"]:
                raise _not_found(f"No tag with name: {key} in experiment with id {experiment_id}")
            imports.delete_experiment_tag(con, row["name"], key)

    # -- runs ------------------------------------------------------------------------------
    def create_run(
        self, experiment_id: str, user_id: str, start_time: int | None, tags: Any, run_name: str | None
    ) -> Run:
        """Start a run in an experiment; MLflow's reserved tags fill Workbench's own fields."""
        tags = list(tags or [])
        for i, t in enumerate(tags):
            _validate_tag(t.key, t.value, path=f"tags[{i}]")
        tag_map = {t.key: t.value for t in tags}
        name_tag = tag_map.get(MLFLOW_RUN_NAME)
        if run_name and name_tag and run_name != name_tag:
            raise MlflowException(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values "
                f"(run_name='{run_name}', mlflow.runName='{name_tag}').",
                INVALID_PARAMETER_VALUE,
            )
        run_name = run_name or name_tag or _generate_random_name()
        tag_map[MLFLOW_RUN_NAME] = run_name
        if user_id and MLFLOW_USER not in tag_map:
            tag_map[MLFLOW_USER] = user_id
        run_id = uuid.uuid4().hex
        start = int(start_time) if start_time is not None else now_ms()
        with self._read() as con:
            exp = self._experiment_row(con, experiment_id)
            if exp["deleted_at"]:
                raise MlflowException(
                    f"The experiment {experiment_id} must be in the 'active' state. Current state is deleted.",
                    INVALID_PARAMETER_VALUE,
                )
            row = {
                "run_id": run_id,
                "experiment": exp["name"],
                "run_name": run_name,
                "status": "running",
                "start_time": start,
                "source": "mlflow",
                "parent_run_id": tag_map.get(MLFLOW_PARENT_RUN_ID),
                "git_commit": tag_map.get(MLFLOW_GIT_COMMIT),
                "git_branch": tag_map.get(MLFLOW_GIT_BRANCH),
                **_common.process_columns(),
            }
            if tag_map.get(MLFLOW_SOURCE_TYPE) == "NOTEBOOK" and tag_map.get(MLFLOW_SOURCE_NAME):
                row["notebook_path"] = tag_map[MLFLOW_SOURCE_NAME]
            with imports.transaction(con):
                imports.insert_run(con, row)
                imports.upsert_key_values(con, "tags", [(run_id, k, v) for k, v in tag_map.items()])
            run = self._to_runs(con, [run_id])[0]
        with self._runs_lock:
            self._runs[run_id] = {"deleted": False, "params": {}}
        return run

    def get_run(self, run_id: str) -> Run:
        """Everything recorded about a run: info, latest metrics, params, tags, inputs, outputs."""
        _validate_run_id(run_id)
        with self._read() as con:
            runs = self._to_runs(con, [run_id])
        if not runs:
            raise _not_found(f"Run with id={run_id} not found")
        return runs[0]

    def update_run_info(
        self, run_id: str, run_status: Any, end_time: int | None, run_name: str | None
    ) -> RunInfo:
        """Set a run's status, end time or name (``terminate`` and ``end_run`` come here)."""
        with self._read() as con:
            r = self._load_run(con, run_id)
            self._check_active(run_id, r["deleted_at"] is not None)
            values: dict[str, Any] = {}
            if run_status is not None:
                status = run_status if isinstance(run_status, str) else RunStatus.to_string(run_status)
                values["status"] = TO_WORKBENCH_STATUS.get(status, status.lower())
                if values["status"] == "running":
                    # Resumed, maybe by another process: that process now keeps it alive.
                    values.update(_common.process_columns())
            if end_time is not None:
                values["end_time"] = int(end_time)
            with imports.transaction(con):
                if values:
                    imports.update_run(con, run_id, values)
                if run_name:
                    imports.update_run(con, run_id, {"run_name": run_name})
                    imports.upsert_key_values(con, "tags", [(run_id, MLFLOW_RUN_NAME, run_name)])
            return self._to_runs(con, [run_id])[0].info

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (Workbench hides it too; :meth:`restore_run` undoes it)."""
        self._set_deleted(run_id, True)

    def restore_run(self, run_id: str) -> None:
        """Undo :meth:`delete_run`."""
        self._set_deleted(run_id, False)

    def _set_deleted(self, run_id: str, deleted: bool) -> None:
        with self._read() as con:
            self._load_run(con, run_id)
            imports.set_deleted(con, run_id, deleted)
        with self._runs_lock:
            self._runs.pop(run_id, None)

    def _search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str | None,
        run_view_type: int,
        max_results: int,
        order_by: list[str] | None,
        page_token: str | None,
    ) -> tuple[list[Run], str | None]:
        if max_results is not None and max_results > SEARCH_MAX_RESULTS_THRESHOLD:
            raise MlflowException(
                "Invalid value for request parameter max_results. It must be at most "
                f"{SEARCH_MAX_RESULTS_THRESHOLD}, but got value {max_results}",
                INVALID_PARAMETER_VALUE,
            )
        offset = SearchUtils.parse_start_offset_from_page_token(page_token)
        self.flush()
        with session(self.store) as con:
            by_id = {r["experiment_id"]: r["name"] for r in self._experiments(con)}
        names = [by_id[str(e)] for e in experiment_ids if str(e) in by_id]
        if not names:
            return [], None
        stages = set(LifecycleStage.view_type_to_stages(run_view_type))
        only_deleted = stages == {LifecycleStage.DELETED}
        include_deleted = LifecycleStage.DELETED in stages
        try:
            if only_deleted or max_results is None:
                ids = self._search_ids(filter_string, order_by, names, include_deleted, None, 0)
            else:
                ids = self._search_ids(
                    filter_string, order_by, names, include_deleted, max_results + 1, offset
                )
        except WorkbenchError as e:
            raise MlflowException(str(e), INVALID_PARAMETER_VALUE) from None
        with session(self.store) as con:
            runs = self._to_runs(con, ids)
        if only_deleted or max_results is None:
            if only_deleted:
                runs = [r for r in runs if r.info.lifecycle_stage == LifecycleStage.DELETED]
            if max_results is None:
                return runs, None
            page, token = SearchUtils.paginate(runs, page_token, max_results)
            return page, token
        token = None
        if len(runs) > max_results:
            runs = runs[:max_results]
            token = SearchUtils.create_page_token(offset + max_results)
        return runs, token

    def _search_ids(
        self,
        filter_string: Any,
        order_by: Any,
        names: list[str],
        include_deleted: bool,
        limit: Any,
        offset: int,
    ) -> list[str]:
        frame = self.store.search_runs(
            filter_string or None, list(order_by or []) or None, names, include_deleted, limit, offset
        )
        return list(frame["run_id"])

    # -- logging -----------------------------------------------------------------------------
    def log_batch(self, run_id: str, metrics: Any, params: Any, tags: Any) -> None:
        """Log metrics, params and tags as MLflow validates them; written within a second
        (and before any read). Changing a param's value is refused, as in MLflow."""
        _validate_run_id(run_id)
        metrics, params, tags = _validate_batch_log_data(list(metrics), list(params), list(tags))
        _validate_batch_log_limits(metrics, params, tags)
        _validate_param_keys_unique(params)
        state = self._run_state(run_id)
        self._check_active(run_id, state["deleted"])
        logged = state["params"]
        new_params = []
        for p in params:
            old = logged.get(p.key)
            if old is not None and old != p.value:
                raise MlflowException(
                    f"Changing param values is not allowed. Param with key='{p.key}' was already logged with "
                    f"value='{old}' for run ID='{run_id}'. Attempted logging new value '{p.value}'.",
                    INVALID_PARAMETER_VALUE,
                )
            if old is None:
                new_params.append((run_id, p.key, str(p.value)))
        column_tags = [t for t in tags if t.key in _COLUMN_TAGS]
        points = [(run_id, m.key, int(m.step or 0), float(m.value), int(m.timestamp)) for m in metrics]
        self._buffer.add(
            points, new_params, [(run_id, t.key, t.value) for t in tags if t.key not in _COLUMN_TAGS]
        )
        for _, k, v in new_params:
            logged[k] = v
        if column_tags:
            # Renaming a run or giving it a parent changes its row: written now, in order.
            self.flush()
            with session(self.store) as con, imports.transaction(con):
                for t in column_tags:
                    imports.update_run(con, run_id, {_COLUMN_TAGS[t.key]: t.value})
                imports.upsert_key_values(con, "tags", [(run_id, t.key, t.value) for t in column_tags])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Set one tag (``mlflow.runName`` renames the run, ``mlflow.parentRunId`` sets its parent)."""
        self.log_batch(run_id, [], [], [tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run."""
        with self._read() as con:
            r = self._load_run(con, run_id)
            self._check_active(run_id, r["deleted_at"] is not None)
            if key not in r["tags"]:
                raise _not_found(f"No tag with name: {key} in run with id {run_id}")
            imports.delete_tag(con, run_id, key)
            if key == MLFLOW_PARENT_RUN_ID:
                imports.update_run(con, run_id, {"parent_run_id": None})

    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList:
        """Every point of a metric, in MLflow's order (time, step, value), paged as MLflow pages it."""
        with self._read() as con:
            self._load_run(con, run_id)
            points = imports.metric_points(con, run_id, metric_key)
        history = [Metric(k, v, ts, step, run_id=run_id) for k, step, v, ts in points]
        offset = SearchUtils.parse_start_offset_from_page_token(page_token)
        history = history[offset:]
        token = None
        if max_results is not None and len(history) > max_results:
            history = history[:max_results]
            token = SearchUtils.create_page_token(offset + max_results)
        return PagedList(history, token)

    def log_inputs(self, run_id: str, datasets: Any = None, models: Any = None) -> None:
        """Record datasets as the run's input datasets (what Workbench's cards, lineage and
        ``datasets.*`` filters read). Logged-model inputs are not recorded."""
        _validate_run_id(run_id)
        if datasets is not None and not isinstance(datasets, list):
            raise TypeError(f"Argument 'datasets' should be a list, got '{type(datasets)}'")
        with self._read() as con:
            r = self._load_run(con, run_id)
            self._check_active(run_id, r["deleted_at"] is not None)
            have = {(d["name"], d["sha256"], d["meta"].get("context")) for d in r["datasets"]}
            rows = []
            for di in datasets or []:
                row = _dataset_row(run_id, di)
                key = (row["name"], row["sha256"], row["meta"].get("context"))
                if key not in have:
                    have.add(key)
                    rows.append(row)
            imports.add_artifacts(con, rows)

    def log_outputs(self, run_id: str, models: list[LoggedModelOutput]) -> None:
        """Record logged models as outputs of a run, at a step."""
        with self._read() as con:
            self._load_run(con, run_id)
            for out in models:
                found = imports.logged_models(con, model_ids=[out.model_id])
                if not found:
                    raise _not_found(f"Logged model with ID '{out.model_id}' not found.")
                m = found[0]
                m["output_step"] = int(out.step or 0)
                m["source_run_id"] = m["source_run_id"] or run_id
                imports.set_logged_model(con, m)

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """MLflow 2's ``mlflow.log-model.history`` tag."""
        state = self._run_state(run_id)
        self._check_active(run_id, state["deleted"])
        with self._read() as con:
            r = self._load_run(con, run_id)
            history = json.loads(r["tags"].get(MLFLOW_LOGGED_MODELS, "[]")) + [mlflow_model.get_tags_dict()]
            imports.upsert_key_values(con, "tags", [(run_id, MLFLOW_LOGGED_MODELS, json.dumps(history))])

    # -- MLflow 3 logged models ---------------------------------------------------------------
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: list[LoggedModelTag] | None = None,
        params: list[LoggedModelParameter] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """A new logged model (``PENDING`` until finalized); its files go to the Workbench store."""
        now = now_ms()
        model = {
            "model_id": f"m-{uuid.uuid4().hex}",
            "name": name or _generate_random_name(),
            "source_run_id": source_run_id,
            "output_step": None,
            "model_type": model_type,
            "status": "PENDING",
            "status_message": None,
            "creation_time": now,
            "last_updated_time": now,
            "tags": {t.key: t.value for t in tags or []},
            "params": {p.key: p.value for p in params or []},
            "files": {},
            "deleted_at": None,
        }
        with self._read() as con:
            model["experiment"] = self._experiment_row(con, experiment_id)["name"]
            if source_run_id is not None:
                self._load_run(con, source_run_id)
            imports.set_logged_model(con, model)
            return self._to_logged_model(con, model)

    def _model(self, con: Any, model_id: str, allow_deleted: bool = False) -> dict[str, Any]:
        found = imports.logged_models(con, model_ids=[model_id])
        if not found or (found[0]["deleted_at"] is not None and not allow_deleted):
            raise _not_found(f"Logged model with ID '{model_id}' not found.")
        return found[0]

    def _to_logged_model(self, con: Any, m: dict[str, Any]) -> LoggedModel:
        exp_ids = {r["name"]: r["experiment_id"] for r in self._experiments(con)}
        return LoggedModel(
            experiment_id=exp_ids.get(m["experiment"]) or experiment_id(m["experiment"]),
            model_id=m["model_id"],
            name=m["name"],
            artifact_location=_common.model_artifact_uri(self.store, m["model_id"]),
            creation_timestamp=m["creation_time"],
            last_updated_timestamp=m["last_updated_time"],
            model_type=m["model_type"],
            source_run_id=m["source_run_id"],
            status=LoggedModelStatus(m["status"]),
            status_message=m["status_message"],
            tags=dict(m["tags"]),
            params=dict(m["params"]),
        )

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """The logged model with this id."""
        with self._read() as con:
            return self._to_logged_model(con, self._model(con, model_id, allow_deleted))

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's status. ``READY`` with files records it as a Workbench model
        artifact of its run (what ``wb.register_model``, ``wb.load_model`` and cards use)."""
        with self._read() as con:
            m = self._model(con, model_id)
            m["status"] = str(LoggedModelStatus(status))
            m["last_updated_time"] = now_ms()
            with imports.transaction(con):
                imports.set_logged_model(con, m)
                if m["status"] == "READY" and m["files"] and m["source_run_id"]:
                    record_model_artifact(self.store, con, m)
            return self._to_logged_model(con, m)

    def set_logged_model_tags(self, model_id: str, tags: list[LoggedModelTag]) -> None:
        """Set tags on a logged model."""
        with self._read() as con:
            m = self._model(con, model_id)
            m["tags"].update({t.key: t.value for t in tags})
            m["last_updated_time"] = now_ms()
            imports.set_logged_model(con, m)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model."""
        with self._read() as con:
            m = self._model(con, model_id)
            if key not in m["tags"]:
                raise _not_found(f"No tag with key {key!r} found for model with ID {model_id!r}.")
            del m["tags"][key]
            imports.set_logged_model(con, m)

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model."""
        with self._read() as con:
            m = self._model(con, model_id)
            m["deleted_at"] = now_ms()
            imports.set_logged_model(con, m)

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Logged models of these experiments matching MLflow's logged-model filter."""
        with self._read() as con:
            names = {
                r["name"]
                for r in self._experiments(con)
                if r["experiment_id"] in set(map(str, experiment_ids))
            }
            models = [
                self._to_logged_model(con, m)
                for m in imports.logged_models(con)
                if m["experiment"] in names and m["deleted_at"] is None
            ]
        models = SearchLoggedModelsUtils.filter_logged_models(models, filter_string, datasets)
        models = SearchLoggedModelsUtils.sort(models, order_by)
        page, token = SearchLoggedModelsUtils.paginate(models, page_token, max_results or 100)
        return PagedList(page, token)


#: Every live store, so tests and exit can flush them all.
_live: weakref.WeakSet[WorkbenchStore] = weakref.WeakSet()

# Base-class methods that work through the methods above.
_INHERITED = {
    "log_metric",
    "log_param",
    "log_metric_async",
    "log_param_async",
    "set_tag_async",
    "log_batch_async",
    "end_async_logging",
    "flush_async_logging",
    "shut_down_async_logging",
    "search_runs",
    "get_metric_history_bulk_interval_from_steps",
    "get_metric_history_bulk_interval",
    "set_model_versions_tags",
    "supports_workspaces",
    "supports_trace_archival",
}


def _unsupported(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise WorkbenchNotSupported(name)

    method.__name__ = name
    method.__doc__ = f"Not supported by the Workbench store (raises WorkbenchNotSupported): {name}."
    return method


def install_unsupported(cls: type, base: type, keep: set[str]) -> None:
    """Make every public method of ``base`` that ``cls`` does not define raise
    :class:`WorkbenchNotSupported`, naming it."""
    for name in dir(base):
        if name.startswith("_") or name in keep or name in cls.__dict__:
            continue
        if isinstance(getattr(base, name, None), property) or not callable(getattr(base, name, None)):
            continue
        setattr(cls, name, _unsupported(name))


install_unsupported(WorkbenchStore, AbstractStore, _INHERITED)
WorkbenchStore.__abstractmethods__ = frozenset()


# -- conversions --------------------------------------------------------------------------------
def _mlflow_tags(r: dict[str, Any]) -> dict[str, str]:
    """A run's tags as MLflow shows them: stored tags, with Workbench's own fields filling
    MLflow's reserved tags where they were not logged as tags."""
    tags = dict(r["tags"])
    tags[MLFLOW_RUN_NAME] = r["run_name"]
    if r.get("parent_run_id"):
        tags[MLFLOW_PARENT_RUN_ID] = r["parent_run_id"]
    if r.get("git_commit"):
        tags.setdefault(MLFLOW_GIT_COMMIT, r["git_commit"])
    if r.get("git_branch"):
        tags.setdefault(MLFLOW_GIT_BRANCH, r["git_branch"])
    if r.get("notebook_path"):
        tags.setdefault(MLFLOW_SOURCE_NAME, r["notebook_path"])
        tags.setdefault(MLFLOW_SOURCE_TYPE, "NOTEBOOK")
    return tags


def _dataset_row(run_id: str, di: DatasetInput) -> dict[str, Any]:
    """A Workbench input-dataset artifact row for an MLflow dataset input."""
    ds = di.dataset
    context = next((t.value for t in di.tags or [] if t.key == "mlflow.data.context"), None)
    try:
        source = json.loads(ds.source) if ds.source else {}
    except ValueError:
        source = {}
    path = (
        (source.get("uri") or source.get("path") or source.get("url")) if isinstance(source, dict) else None
    )
    meta: dict[str, Any] = {
        "format": "mlflow-dataset",
        "hash_method": "mlflow digest",
        "role": _common.dataset_role(context, ds.name),
        "context": context,
        "mlflow": {
            "source_type": ds.source_type,
            "source": ds.source,
            "schema": ds.schema,
            "profile": ds.profile,
            "tags": {t.key: t.value for t in di.tags or []},
        },
    }
    try:
        profile = json.loads(ds.profile) if ds.profile else {}
        rows = profile.get("num_rows") if isinstance(profile, dict) else None
        if isinstance(rows, int):
            meta["rows"] = rows
    except ValueError:
        pass
    return {
        "run_id": run_id,
        "path": str(path or f"<{ds.source_type} dataset {ds.name}>"),
        "kind": "dataset",
        "sha256": ds.digest,
        "size": 0,
        "direction": "input",
        "stored_path": None,
        "name": ds.name,
        "meta": meta,
    }


def _dataset_input(d: dict[str, Any]) -> DatasetInput:
    """An MLflow dataset input for a Workbench input-dataset row."""
    meta = d["meta"] or {}
    m = meta.get("mlflow")
    if m:
        tags = [InputTag(k, v) for k, v in sorted((m.get("tags") or {}).items())]
        return DatasetInput(
            Dataset(
                d["name"] or d["path"],
                d["sha256"],
                m["source_type"],
                m["source"],
                m.get("schema"),
                m.get("profile"),
            ),
            tags,
        )
    schema = json.dumps(
        {"mlflow_colspec": [{"name": k, "type": str(v)} for k, v in (meta.get("schema") or {}).items()]}
    )
    profile = json.dumps({"num_rows": meta["rows"]}) if meta.get("rows") is not None else None
    return DatasetInput(
        Dataset(
            d["name"] or d["path"],
            d["sha256"][:8] if meta.get("hash_method") else d["sha256"],
            "local",
            json.dumps({"uri": d["path"]}),
            schema if meta.get("schema") else None,
            profile,
        ),
        [InputTag("mlflow.data.context", meta.get("role") or "training")],
    )


def record_model_artifact(store: Store, con: Any, m: dict[str, Any]) -> None:
    """Record a logged model's files as one Workbench model artifact (a folder manifest)
    of its source run."""
    data = _common.manifest_bytes(m["files"])
    digest = store.put_bytes(data)
    run = imports.run_rows(con, [m["source_run_id"]]).get(m["source_run_id"])
    meta = _common.model_meta_from_files(store, m["files"], run["tags"] if run else None)
    meta["mlflow_model_id"] = m["model_id"]
    imports.add_artifacts(
        con,
        [
            {
                "run_id": m["source_run_id"],
                "path": _common.model_artifact_uri(store, m["model_id"]),
                "kind": "model",
                "sha256": digest,
                "size": len(data),
                "direction": "output",
                "stored_path": str(store.blob_path(digest)),
                "name": m["name"],
                "meta": meta,
            }
        ],
    )


def get_store(store_uri: str | None = None, artifact_uri: str | None = None) -> WorkbenchStore:
    """Entry point for ``mlflow.tracking_store``: the store for a ``workbench:`` URI."""
    return WorkbenchStore(store_uri, artifact_uri)


_ = DEFAULT_EXPERIMENT  # re-exported name kept for readers of this module
