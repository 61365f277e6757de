"""The experiments part of the MLflow tracking store (:mod:`.mlflow_store`): search,
create, get, delete, restore and tag experiments."""

from __future__ import annotations

from typing import Any

from mlflow.entities import (
    Experiment,
    ExperimentTag,
    LifecycleStage,
    ViewType,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchUtils
from mlflow.utils.validation import (
    _validate_experiment_name,
    _validate_experiment_tag,
)

from ..store import imports
from ..store.records import now_ms
from ._common import experiment_id
from .mlflow_store_base import StoreBase, WorkbenchNotSupported, not_found

__all__ = ["ExperimentsMixin"]


class ExperimentsMixin(StoreBase):
    """MLflow's experiment methods of :class:`~.mlflow_store.WorkbenchStore`."""

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
                raise not_found(f"No tag with name: {key} in experiment with id {experiment_id}")
            imports.delete_experiment_tag(con, row["name"], key)
