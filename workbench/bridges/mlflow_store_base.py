"""What the parts of the MLflow tracking store (:mod:`.mlflow_store`) share: the
:class:`WorkbenchNotSupported` error, MLflow's error codes for Workbench's errors, and
:class:`StoreBase`, the helpers every part uses (reads after a flush, experiment and run
rows, conversions to MLflow's ``Experiment`` and ``Run``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlflow.entities import (
    Experiment,
    ExperimentTag,
    LifecycleStage,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    NOT_IMPLEMENTED,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.utils.mlflow_tags import MLFLOW_USER

from ..errors import InvalidInputError, WorkbenchError
from ..store import imports
from ..store.store import Store
from . import _common
from ._common import (
    TO_MLFLOW_STATUS,
    experiment_id,
    session,
)
from .mlflow_convert import dataset_input, mlflow_tags

__all__ = ["StoreBase", "WorkbenchNotSupported", "mlflow_error", "not_found"]


class WorkbenchNotSupported(MlflowException, NotImplementedError):
    """An MLflow store method the Workbench store does not support."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The Workbench store (workbench:) does not support {what}. It supports experiments, runs, "
            "metrics, params, tags, datasets, artifacts, logged models and the model registry; use "
            "another MLflow tracking URI for the rest.",
            error_code=NOT_IMPLEMENTED,
        )


def not_found(what: str) -> MlflowException:
    return MlflowException(what, RESOURCE_DOES_NOT_EXIST)


def mlflow_error(e: WorkbenchError) -> MlflowException:
    code = INVALID_PARAMETER_VALUE if isinstance(e, InvalidInputError) else INVALID_STATE
    return MlflowException(str(e), code)


class StoreBase:
    """The helpers of :class:`~.mlflow_store.WorkbenchStore` that its parts share.

    ``WorkbenchStore.__init__`` sets the attributes annotated here.
    """

    store: Store
    store_uri: str
    _buffer: Any
    _runs: dict[str, dict[str, Any]]
    _runs_lock: Any

    def flush(self) -> None:
        """Write this process's buffered logging now."""
        try:
            self._buffer.flush()
        except WorkbenchError as e:
            raise mlflow_error(e) from None

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
        raise not_found(f"No Experiment with id={exp_id} exists")

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
                raise not_found(f"Run with id={run_id} not found")
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
            raise not_found(f"Run with id={run_id} not found")
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
        tags = mlflow_tags(r)
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
        inputs = RunInputs(dataset_inputs=[dataset_input(d) for d in r["datasets"]], model_inputs=[])
        return Run(info, data, inputs, RunOutputs(outputs))
