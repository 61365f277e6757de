"""The runs part of the MLflow tracking store (:mod:`.mlflow_store`): create, get, update,
delete and restore runs, and search them (filter, order and pages) through Workbench's
run search."""

from __future__ import annotations

import uuid
from typing import Any

from mlflow.entities import (
    LifecycleStage,
    Run,
    RunInfo,
    RunStatus,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.tracking import SEARCH_MAX_RESULTS_THRESHOLD
from mlflow.utils.mlflow_tags import (
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_RUN_NAME,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
    MLFLOW_USER,
)
from mlflow.utils.name_utils import _generate_random_name
from mlflow.utils.search_utils import SearchUtils
from mlflow.utils.validation import (
    _validate_run_id,
    _validate_tag,
)

from ..errors import WorkbenchError
from ..store import imports
from ..store.records import now_ms
from . import _common
from ._common import (
    TO_WORKBENCH_STATUS,
    session,
)
from .mlflow_store_base import StoreBase, not_found

__all__ = ["RunsMixin"]


class RunsMixin(StoreBase):
    """MLflow's run and run-search methods of :class:`~.mlflow_store.WorkbenchStore`."""

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
            raise not_found(f"Run with id={run_id} not found")
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
