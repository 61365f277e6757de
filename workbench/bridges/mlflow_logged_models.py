"""The MLflow 3 logged-models part of the MLflow tracking store (:mod:`.mlflow_store`):
create, get, finalize, tag, delete and search logged models."""

from __future__ import annotations

import uuid
from typing import Any

from mlflow.entities import (
    LoggedModel,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.utils.name_utils import _generate_random_name
from mlflow.utils.search_utils import SearchLoggedModelsUtils

from ..store import imports
from ..store.records import now_ms
from . import _common
from ._common import experiment_id
from .mlflow_convert import record_model_artifact
from .mlflow_store_base import StoreBase, not_found

__all__ = ["LoggedModelsMixin"]


class LoggedModelsMixin(StoreBase):
    """MLflow 3's logged-model methods of :class:`~.mlflow_store.WorkbenchStore`."""

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
            raise not_found(f"Logged model with ID '{model_id}' not found.")
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
                raise not_found(f"No tag with key {key!r} found for model with ID {model_id!r}.")
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
