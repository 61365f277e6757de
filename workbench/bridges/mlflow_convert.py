"""Conversions between Workbench's rows and MLflow's entities for the MLflow bridges: a
run's tags as MLflow shows them, dataset inputs both ways, and a logged model's files
recorded as a Workbench model artifact."""

from __future__ import annotations

import json
from typing import Any

from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
)
from mlflow.utils.mlflow_tags import (
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_RUN_NAME,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
)

from ..store import imports
from ..store.store import Store
from . import _common

__all__ = ["dataset_input", "dataset_row", "mlflow_tags", "record_model_artifact"]


def mlflow_tags(r: dict[str, Any]) -> dict[str, str]:
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


def dataset_row(run_id: str, di: DatasetInput) -> dict[str, Any]:
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


def dataset_input(d: dict[str, Any]) -> DatasetInput:
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
