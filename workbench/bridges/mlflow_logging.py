"""The logging part of the MLflow tracking store (:mod:`.mlflow_store`): metrics, params
and tags (validated at once, written through the write-behind buffer), metric history,
input datasets, output models and MLflow 2's logged-model history tag."""

from __future__ import annotations

import json
from typing import Any

from mlflow.entities import (
    LoggedModelOutput,
    Metric,
    RunTag,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.entities.paged_list import PagedList
from mlflow.utils.mlflow_tags import (
    MLFLOW_LOGGED_MODELS,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_RUN_NAME,
)
from mlflow.utils.search_utils import SearchUtils
from mlflow.utils.validation import (
    _validate_batch_log_data,
    _validate_batch_log_limits,
    _validate_param_keys_unique,
    _validate_run_id,
)

from ..store import imports
from ._common import session
from .mlflow_convert import dataset_row
from .mlflow_store_base import StoreBase, not_found

__all__ = ["LoggingMixin"]

#: Tags kept in run columns as well, so Workbench's views and MLflow's agree.
_COLUMN_TAGS = {MLFLOW_RUN_NAME: "run_name", MLFLOW_PARENT_RUN_ID: "parent_run_id"}


class LoggingMixin(StoreBase):
    """MLflow's logging methods of :class:`~.mlflow_store.WorkbenchStore`."""

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
                raise not_found(f"No tag with name: {key} in run with id {run_id}")
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
                row = dataset_row(run_id, di)
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
                    raise not_found(f"Logged model with ID '{out.model_id}' not found.")
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
