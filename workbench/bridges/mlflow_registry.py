"""MLflow's model registry over Workbench's (the ``workbench`` scheme of the
``mlflow.model_registry_store`` entry point).

``mlflow.register_model(...)`` adds a version to Workbench's registry, pointing at the
run's model artifact (an MLflow 3 logged model becomes one when it is finalized), so
``wb.models()``, ``wb.load_model``, ``workbench models`` and cards see it; aliases are
Workbench's aliases. What MLflow records beyond that (descriptions, tags, the source URI)
is kept beside it. Stages (deprecated in MLflow), prompts and webhooks are not supported.
"""

from __future__ import annotations

import posixpath
from typing import Any

from mlflow.entities.model_registry import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from mlflow.entities.model_registry.registered_model_alias import RegisteredModelAlias
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.search_utils import SearchModelUtils, SearchModelVersionUtils, SearchUtils

from ..errors import InvalidInputError, NotFoundError, WorkbenchError
from ..store import imports
from ..store import registry as registry_sql
from ..store.records import now_ms
from . import _common
from .mlflow_artifacts import artifact_files
from .mlflow_store import WorkbenchNotSupported, install_unsupported, record_model_artifact

__all__ = ["WorkbenchRegistryStore", "get_registry_store"]


def _mlflow_error(e: WorkbenchError) -> MlflowException:
    code = RESOURCE_DOES_NOT_EXIST if isinstance(e, NotFoundError) else INVALID_PARAMETER_VALUE
    return MlflowException(str(e), code)


class WorkbenchRegistryStore(AbstractStore):
    """MLflow's registry ``AbstractStore`` over a Workbench store's registry."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)
        try:
            self.store = _common.store_for_uri(store_uri)
        except InvalidInputError as e:
            raise MlflowException(str(e), INVALID_PARAMETER_VALUE) from None

    def _session(self) -> Any:
        from .mlflow_store import flush_all

        flush_all()
        return _common.session(self.store)

    # -- reading ------------------------------------------------------------------------------
    def _state(self, con: Any) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any], dict[Any, Any]]:
        versions: dict[str, list[dict[str, Any]]] = {}
        for v in registry_sql.model_versions(con, None):
            versions.setdefault(v["name"], []).append(v)
        return versions, imports.registered_model_meta(con), imports.model_version_meta(con)

    def _to_version(self, v: dict[str, Any], meta: dict[str, Any] | None) -> ModelVersion:
        meta = meta or {}
        return ModelVersion(
            name=v["name"],
            version=str(v["version"]),
            creation_timestamp=v["created_at"],
            last_updated_timestamp=meta.get("last_updated_time") or v["created_at"],
            description=meta.get("description") or "",
            current_stage="None",
            source=meta.get("source") or self._download_uri(v, meta),
            run_id=v["run_id"],
            status="READY",
            tags=[ModelVersionTag(k, val) for k, val in sorted((meta.get("tags") or {}).items())],
            aliases=list(v["aliases"]),
            model_id=meta.get("model_id"),
        )

    def _download_uri(self, v: dict[str, Any], meta: dict[str, Any]) -> str:
        if meta.get("model_id"):
            return _common.model_artifact_uri(self.store, meta["model_id"])
        source = meta.get("source") or ""
        if source.startswith(f"{_common.SCHEME}:"):
            return source
        if str(v["path"]).startswith(f"{_common.SCHEME}:"):
            return str(v["path"])
        return f"{_common.run_artifact_uri(self.store, v['run_id'])}/{posixpath.basename(v['path'])}"

    def _to_model(
        self, name: str, versions: list[dict[str, Any]], meta: dict[str, Any] | None, vmeta: dict[Any, Any]
    ) -> RegisteredModel:
        meta = meta or {}
        latest = (
            [self._to_version(versions[-1], vmeta.get((name, versions[-1]["version"])))] if versions else []
        )
        created = meta.get("creation_time") or (versions[0]["created_at"] if versions else now_ms())
        updated = max([meta.get("last_updated_time") or created] + [v["created_at"] for v in versions])
        return RegisteredModel(
            name=name,
            creation_timestamp=created,
            last_updated_timestamp=updated,
            description=meta.get("description") or "",
            latest_versions=latest,
            tags=[RegisteredModelTag(k, val) for k, val in sorted((meta.get("tags") or {}).items())],
            aliases=[RegisteredModelAlias(a, str(v["version"])) for v in versions for a in v["aliases"]],
        )

    def _model_exists(self, con: Any, name: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        versions, metas, _ = self._state(con)
        if name not in versions and name not in metas:
            raise MlflowException(f"Registered Model with name={name} not found", RESOURCE_DOES_NOT_EXIST)
        return versions.get(name, []), metas.get(name)

    def _version_row(self, con: Any, name: str, version: Any) -> dict[str, Any]:
        versions, _ = self._model_exists(con, name)
        for v in versions:
            if str(v["version"]) == str(version):
                return v
        raise MlflowException(
            f"Model Version (name={name}, version={version}) not found", RESOURCE_DOES_NOT_EXIST
        )

    # -- registered models ---------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: Any = None, description: str | None = None, deployment_job_id: Any = None
    ) -> RegisteredModel:
        """Create a registered model (Workbench names: letters, digits, ``_ . -``)."""
        try:
            registry_sql.check_registry_name("model name", name)
        except InvalidInputError as e:
            raise _mlflow_error(e) from None
        with self._session() as con:
            versions, metas, _ = self._state(con)
            if name in versions or name in metas:
                raise MlflowException(
                    f"Registered Model (name={name}) already exists.", RESOURCE_ALREADY_EXISTS
                )
            imports.set_registered_model_meta(con, name, description, {t.key: t.value for t in tags or []})
            return self._to_model(name, [], imports.registered_model_meta(con)[name], {})

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its latest version and aliases."""
        with self._session() as con:
            versions, meta = self._model_exists(con, name)
            return self._to_model(name, versions, meta, imports.model_version_meta(con))

    def update_registered_model(
        self, name: str, description: str, deployment_job_id: Any = None
    ) -> RegisteredModel:
        """Set a registered model's description."""
        with self._session() as con:
            self._model_exists(con, name)
            imports.set_registered_model_meta(con, name, description or "")
        return self.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Not supported: model versions are referenced by name everywhere in Workbench."""
        raise WorkbenchNotSupported("renaming registered models")

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions and aliases (the runs' files stay)."""
        with self._session() as con:
            self._model_exists(con, name)
            imports.delete_registered_model(con, name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Registered models matching MLflow's registered-model filter."""
        with self._session() as con:
            versions, metas, vmeta = self._state(con)
        models = [
            self._to_model(n, versions.get(n, []), metas.get(n), vmeta)
            for n in sorted(set(versions) | set(metas))
        ]
        models = SearchModelUtils.filter(models, filter_string)
        models = SearchModelUtils.sort(models, order_by or ["name ASC"])
        page, token = SearchUtils.paginate(models, page_token, max_results)
        return PagedList(page, token)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        """The latest version (every version's stage is ``None``: stages are not kept)."""
        with self._session() as con:
            versions, _ = self._model_exists(con, name)
            vmeta = imports.model_version_meta(con)
        if not versions or (stages and not any(s.lower() == "none" for s in stages)):
            return []
        last = versions[-1]
        return [self._to_version(last, vmeta.get((name, last["version"])))]

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        """Set a tag on a registered model."""
        with self._session() as con:
            self._model_exists(con, name)
            imports.set_registered_model_meta(con, name, None, {tag.key: tag.value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        with self._session() as con:
            self._model_exists(con, name)
            imports.set_registered_model_meta(con, name, None, {key: None})

    # -- model versions ---------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Any = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Register the model at ``source`` as the next version of ``name``: a logged model
        (``models:/<model_id>``) or a model folder among a run's artifacts (``runs:/<run_id>/<path>``)."""
        with self._session() as con:
            # register_model_version takes the version number in its own transaction.
            run_id, artifact = self._artifact_for(con, source, run_id, model_id)
            try:
                version = registry_sql.register_model_version(con, name, run_id, artifact)
            except WorkbenchError as e:
                raise _mlflow_error(e) from None
            imports.set_model_version_meta(
                con,
                name,
                version,
                source=source,
                model_id=model_id,
                description=description,
                tags={t.key: t.value for t in tags or []},
            )
            if name not in imports.registered_model_meta(con):
                imports.set_registered_model_meta(con, name)
        return self.get_model_version(name, str(version))

    def _artifact_for(
        self, con: Any, source: str, run_id: str | None, model_id: str | None
    ) -> tuple[str, dict[str, Any]]:
        if model_id is None and source.startswith("models:/m-"):
            model_id = source[len("models:/") :].split("/")[0]
        if model_id is not None:
            found = imports.logged_models(con, model_ids=[model_id])
            if not found:
                raise MlflowException(
                    f"Logged model with ID '{model_id}' not found.", RESOURCE_DOES_NOT_EXIST
                )
            m = found[0]
            if not m["source_run_id"]:
                raise MlflowException(
                    f"logged model {model_id} has no source run; the Workbench registry registers models "
                    "logged in a run",
                    INVALID_PARAMETER_VALUE,
                )
            arts = [
                a
                for a in imports.run_artifacts(con, m["source_run_id"])
                if a["kind"] == "model" and a["meta"].get("mlflow_model_id") == model_id
            ]
            if not arts:
                if not m["files"]:
                    raise MlflowException(
                        f"logged model {model_id} has no files yet", INVALID_PARAMETER_VALUE
                    )
                record_model_artifact(self.store, con, m)
                arts = [
                    a
                    for a in imports.run_artifacts(con, m["source_run_id"])
                    if a["kind"] == "model" and a["meta"].get("mlflow_model_id") == model_id
                ]
            return m["source_run_id"], arts[-1]
        path = None
        if source.startswith("runs:/"):
            run_id, _, path = source[len("runs:/") :].partition("/")
        elif source.startswith(f"{_common.SCHEME}:"):
            try:
                _, kind, ident, path = _common.parse_artifact_uri(source)
            except InvalidInputError as e:
                raise MlflowException(str(e), INVALID_PARAMETER_VALUE) from None
            if kind == "model":
                return self._artifact_for(con, source, None, ident)
            run_id = ident
        if not run_id or path is None:
            raise MlflowException(
                f"cannot register {source!r}: the Workbench registry takes a logged model (models:/<model_id>) "
                "or a run's model folder (runs:/<run_id>/<path>) of this store",
                INVALID_PARAMETER_VALUE,
            )
        path = path.strip("/")
        files = {
            rel: a
            for rel, a in artifact_files(con, run_id).items()
            if rel == path or rel.startswith(path + "/")
        }
        if not files:
            raise MlflowException(f"run {run_id} has no artifacts under {path!r}", RESOURCE_DOES_NOT_EXIST)
        if path in files:
            return run_id, files[path]
        # A model folder among the run's artifacts: one manifest artifact stands for it.
        rel_files = {rel[len(path) + 1 :]: [a["sha256"], a["size"]] for rel, a in files.items()}
        data = _common.manifest_bytes(rel_files)
        digest = self.store.put_bytes(data)
        art = {
            "run_id": run_id,
            "path": f"{_common.run_artifact_uri(self.store, run_id)}/{path}",
            "kind": "model",
            "sha256": digest,
            "size": len(data),
            "direction": "output",
            "stored_path": str(self.store.blob_path(digest)),
            "name": path,
            "meta": _common.model_meta_from_files(self.store, rel_files),
        }
        if not any(
            a["kind"] == "model" and a["sha256"] == digest for a in imports.run_artifacts(con, run_id)
        ):
            imports.add_artifacts(con, [art])
        return run_id, art

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """One model version."""
        with self._session() as con:
            v = self._version_row(con, name, version)
            return self._to_version(v, imports.model_version_meta(con).get((name, v["version"])))

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        """Where the version's files are: a ``workbench:`` artifact URI."""
        with self._session() as con:
            v = self._version_row(con, name, version)
            return self._download_uri(v, imports.model_version_meta(con).get((name, v["version"])) or {})

    def update_model_version(self, name: str, version: str, description: str) -> ModelVersion:
        """Set a version's description."""
        with self._session() as con:
            v = self._version_row(con, name, version)
            imports.set_model_version_meta(con, name, v["version"], description=description or "")
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: str) -> None:
        """Delete a version and the aliases pointing at it."""
        with self._session() as con:
            v = self._version_row(con, name, version)
            imports.delete_model_version(con, name, v["version"])

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Model versions matching MLflow's model-version filter."""
        with self._session() as con:
            versions, _, vmeta = self._state(con)
        mvs = [
            self._to_version(v, vmeta.get((v["name"], v["version"]))) for vs in versions.values() for v in vs
        ]
        mvs = SearchModelVersionUtils.filter(mvs, filter_string)
        mvs = SearchModelVersionUtils.sort(
            mvs, order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]
        )
        page, token = SearchUtils.paginate(mvs, page_token, max_results)
        return PagedList(page, token)

    def set_model_version_tag(self, name: str, version: str, tag: ModelVersionTag) -> None:
        """Set a tag on a version."""
        with self._session() as con:
            v = self._version_row(con, name, version)
            imports.set_model_version_meta(con, name, v["version"], tags={tag.key: tag.value})

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        """Remove a tag from a version."""
        with self._session() as con:
            v = self._version_row(con, name, version)
            imports.set_model_version_meta(con, name, v["version"], tags={key: None})

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        """Point an alias at a version (Workbench's alias: ``NAME@alias`` everywhere)."""
        try:
            registry_sql.check_registry_name("alias", alias)
            if alias.isdigit() or alias.lower() == "latest":
                raise InvalidInputError(f"alias {alias!r} is reserved: aliases cannot be numbers or 'latest'")
            with self._session() as con:
                self._version_row(con, name, version)
                registry_sql.set_model_alias(con, name, alias, int(version))
        except WorkbenchError as e:
            raise _mlflow_error(e) from None

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        with self._session() as con:
            self._model_exists(con, name)
            registry_sql.delete_model_alias(con, name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        with self._session() as con:
            versions, _ = self._model_exists(con, name)
            vmeta = imports.model_version_meta(con)
        for v in versions:
            if alias in v["aliases"]:
                return self._to_version(v, vmeta.get((name, v["version"])))
        raise MlflowException(f"Registered model alias {alias} not found.", INVALID_PARAMETER_VALUE)


install_unsupported(WorkbenchRegistryStore, AbstractStore, {"supports_workspaces"})
WorkbenchRegistryStore.__abstractmethods__ = frozenset()


def get_registry_store(
    store_uri: str | None = None, tracking_uri: str | None = None
) -> WorkbenchRegistryStore:
    """Entry point for ``mlflow.model_registry_store``."""
    return WorkbenchRegistryStore(store_uri, tracking_uri)
