"""MLflow 3 logged models and the model registry, for :mod:`workbench.bridges.mlflow_import`.

Split out of :mod:`workbench.bridges.mlflow_import`, which reads them with the runs and
writes them in the same transaction.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

from ..errors import WorkbenchError
from ..store import imports
from ..store import registry as registry_sql
from ..store.records import now_ms
from ..store.store import Store
from . import _common

__all__ = ["read_logged_models", "read_registry", "write_registry"]

# The importer's logger, as before the split.
log = logging.getLogger("workbench.bridges.mlflow_import")


def read_logged_models(client: Any, exp_ids: list[str], target: Store, tmp: str) -> list[dict[str, Any]]:
    """MLflow 3 logged models of these experiments, their files copied into ``target``."""
    import mlflow

    out = []
    try:
        token = None
        found = []
        while exp_ids:
            page = client.search_logged_models(experiment_ids=exp_ids, max_results=100, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
    except Exception as e:  # noqa: BLE001 - a source without logged models (MLflow 2 server)
        log.info("no logged models read from the source: %s", e)
        return []
    for lm in found:
        files: dict[str, list[Any]] = {}
        if str(lm.status) == "READY":
            dst = Path(tmp) / lm.model_id
            try:
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=lm.artifact_location,
                    dst_path=str(dst),
                    tracking_uri=client._tracking_client.tracking_uri,
                )
            except Exception as e:  # noqa: BLE001 - the model's files may be gone; keep its record
                log.warning("files of logged model %s could not be read: %s", lm.model_id, e)
                local = None
            if local:
                for f in sorted(Path(local).rglob("*")):
                    if f.is_file():
                        sha, size, _ = target.put_file(f)
                        files[f.relative_to(local).as_posix()] = [sha, size]
                shutil.rmtree(dst, ignore_errors=True)
        out.append(
            {
                "model_id": lm.model_id,
                "experiment_id": lm.experiment_id,
                "name": lm.name,
                "source_run_id": lm.source_run_id,
                "output_step": 0 if lm.source_run_id else None,
                "model_type": lm.model_type,
                "status": str(lm.status),
                "status_message": lm.status_message,
                "creation_time": lm.creation_timestamp,
                "last_updated_time": lm.last_updated_timestamp,
                "tags": dict(lm.tags or {}),
                "params": dict(lm.params or {}),
                "files": files,
                "deleted_at": None,
            }
        )
    return out


def read_registry(client: Any) -> list[tuple[Any, list[Any]]]:
    try:
        models = list(client.search_registered_models(max_results=1000))
    except Exception as e:  # noqa: BLE001 - a source without a registry
        log.info("no registry read from the source: %s", e)
        return []
    return [(rm, list(client.search_model_versions(f"name = '{rm.name}'"))) for rm in models]


def write_registry(
    con: Any, target: Store, registered: list[tuple[Any, list[Any]]], models: list[dict[str, Any]]
) -> int:
    """Registered models, versions (their numbers kept) and aliases whose runs are in the store."""
    n = 0
    for rm, versions in registered:
        try:
            registry_sql.check_registry_name("model name", rm.name)
        except WorkbenchError:
            log.warning(
                "registered model %r skipped: Workbench model names take letters, digits, '_ . -'", rm.name
            )
            continue
        imports.set_registered_model_meta(
            con, rm.name, rm.description or "", {t: v for t, v in (rm.tags or {}).items()}
        )
        for mv in sorted(versions, key=lambda v: int(v.version)):
            art = _version_artifact(con, target, mv)
            if art is None:
                log.warning(
                    "model %s version %s skipped: its run or files were not imported", rm.name, mv.version
                )
                continue
            run_id, artifact = art
            imports.set_model_version(
                con, rm.name, int(mv.version), run_id, artifact, mv.creation_timestamp or now_ms()
            )
            imports.set_model_version_meta(
                con,
                rm.name,
                int(mv.version),
                source=mv.source,
                model_id=mv.model_id,
                description=mv.description or "",
                tags=dict(mv.tags or {}),
            )
            n += 1
        have = {int(v.version) for v in versions}
        for alias, version in (rm.aliases or {}).items():
            if int(version) in have:
                with contextlib.suppress(WorkbenchError):
                    registry_sql.set_model_alias(con, rm.name, alias, int(version))
    return n


def _version_artifact(con: Any, target: Store, mv: Any) -> tuple[str, dict[str, Any]] | None:
    model_id = mv.model_id
    if model_id is None and str(mv.source).startswith("models:/m-"):
        model_id = str(mv.source)[len("models:/") :].split("/")[0]
    if model_id:
        found = imports.logged_models(con, model_ids=[model_id])
        if found and found[0]["source_run_id"]:
            for a in imports.run_artifacts(con, found[0]["source_run_id"]):
                if a["kind"] == "model" and a["meta"].get("mlflow_model_id") == model_id:
                    return found[0]["source_run_id"], a
        return None
    run_id = mv.run_id
    if not run_id or not imports.existing_run_ids(con, [run_id]):
        return None
    source = str(mv.source)
    marker = f"{run_id}/artifacts/"
    path = (
        source.split(marker, 1)[1]
        if marker in source
        else source.split("/", 2)[-1]
        if source.startswith("runs:/")
        else ""
    )
    from .mlflow_artifacts import artifact_files

    files = {
        rel: a
        for rel, a in artifact_files(con, run_id).items()
        if not path or rel.startswith(path.strip("/") + "/")
    }
    if not files:
        return None
    prefix = path.strip("/")
    rel_files = {
        rel[len(prefix) + 1 :] if prefix else rel: [a["sha256"], a["size"]] for rel, a in files.items()
    }
    data = _common.manifest_bytes(rel_files)
    digest = target.put_bytes(data)
    art = {
        "run_id": run_id,
        "path": f"{_common.run_artifact_uri(target, run_id)}/{prefix}",
        "kind": "model",
        "sha256": digest,
        "size": len(data),
        "direction": "output",
        "stored_path": str(target.blob_path(digest)),
        "name": prefix or "model",
        "meta": _common.model_meta_from_files(target, rel_files),
    }
    if not any(a["kind"] == "model" and a["sha256"] == digest for a in imports.run_artifacts(con, run_id)):
        imports.add_artifacts(con, [art])
    return run_id, art
