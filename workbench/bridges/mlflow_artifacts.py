"""MLflow's artifact repository over a Workbench store (the ``workbench`` scheme of the
``mlflow.artifact_repository`` entry point).

A run's artifacts live at ``workbench://<store>/<run_id>/artifacts``: each file is copied
once per content into the store's ``artifacts/`` folder and recorded as an output of the
run (its MLflow path is the artifact's name), so Workbench's run view, lineage and cards
list it. A logged model's files (``workbench://<store>/models/<model_id>/artifacts``) are
recorded with the model, and become one Workbench model artifact when it is finalized.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from typing import Any

from mlflow.entities import FileInfo
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mlflow.store.artifact.artifact_repo import ArtifactRepository

from ..errors import InvalidInputError
from ..store import imports
from ..store.records import now_ms
from ..store.store import Store, get_store
from . import _common
from .mlflow_store import WorkbenchNotSupported

__all__ = ["WorkbenchArtifactRepository", "artifact_files"]


def _store_for(store_dir: str | None, tracking_uri: str | None) -> Store:
    if store_dir is not None:
        return get_store(store_dir)
    for uri in (tracking_uri, _current_tracking_uri()):
        if uri and uri.startswith(f"{_common.SCHEME}:"):
            return _common.store_for_uri(uri)
    return _common.store_for_uri(None)


def _current_tracking_uri() -> str | None:
    try:
        import mlflow

        return mlflow.get_tracking_uri()
    except Exception:  # noqa: BLE001 - no tracking URI: the default store
        return None


def artifact_files(con: Any, run_id: str) -> dict[str, dict[str, Any]]:
    """A run's files as MLflow lists them: artifact path -> artifact row. Files logged
    through MLflow keep their path; Workbench's own outputs show under their file name."""
    files: dict[str, dict[str, Any]] = {}
    for a in imports.run_artifacts(con, run_id):
        if a["kind"] not in ("file", "model", "notebook") or not a.get("stored_path"):
            continue
        if a["meta"].get("mlflow_artifact"):
            files[a["name"]] = a
        elif a["kind"] == "file" or (
            a["kind"] == "model" and a["meta"].get("format") in ("joblib", "pickle")
        ):
            files.setdefault(posixpath.basename(a["path"]), a)
    return files


class WorkbenchArtifactRepository(ArtifactRepository):
    """Artifacts of a Workbench run or logged model, stored content-addressed.

    Parameters
    ----------
    artifact_uri
        ``workbench://<store>/<run_id>/artifacts[/sub/path]`` or
        ``workbench://<store>/models/<model_id>/artifacts[/sub/path]``; the short form
        ``workbench:/<run_id>/artifacts`` means the store of the tracking URI.
    """

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
    ) -> None:
        super().__init__(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
        try:
            store_dir, self.kind, self.ident, self.base = _common.parse_artifact_uri(artifact_uri)
        except InvalidInputError as e:
            raise MlflowException(str(e), INVALID_PARAMETER_VALUE) from None
        self.store = _store_for(store_dir, tracking_uri)

    def _rel(self, *parts: str | None) -> str:
        """A path relative to the artifact root (the repository's own subpath included)."""
        pieces = [x for x in (self.base, *parts) if x]
        joined = posixpath.normpath(posixpath.join(*pieces)) if pieces else ""
        return "" if joined == "." else joined.strip("/")

    def _files(self, con: Any) -> dict[str, dict[str, Any]]:
        if self.kind == "run":
            return artifact_files(con, self.ident)
        found = imports.logged_models(con, model_ids=[self.ident])
        if not found:
            raise MlflowException(f"Logged model with ID '{self.ident}' not found.", RESOURCE_DOES_NOT_EXIST)
        return {
            p: {"sha256": v[0], "size": v[1], "stored_path": str(self.store.blob_path(v[0]))}
            for p, v in found[0]["files"].items()
        }

    def _flush_logging(self) -> None:
        from .mlflow_store import flush_all

        flush_all()

    # -- writing -----------------------------------------------------------------------------
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one file into the store under ``artifact_path``."""
        self._log([(local_file, self._rel(artifact_path, os.path.basename(local_file)))])

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy every file of a folder into the store under ``artifact_path``."""
        pairs = []
        for root, _dirs, names in os.walk(local_dir):
            for n in sorted(names):
                full = os.path.join(root, n)
                rel = os.path.relpath(full, local_dir).replace(os.sep, "/")
                pairs.append((full, self._rel(artifact_path, rel)))
        self._log(pairs)

    def _log(self, pairs: list[tuple[str, str]]) -> None:
        stored = []
        for local, rel in pairs:
            digest, size, dest = self.store.put_file(local)
            stored.append((rel, digest, size, str(dest)))
        with _common.session(self.store) as con, imports.transaction(con):
            if self.kind == "run":
                if not imports.run_rows(con, [self.ident]):
                    raise MlflowException(f"Run with id={self.ident} not found", RESOURCE_DOES_NOT_EXIST)
                imports.add_artifacts(
                    con,
                    [
                        {
                            "run_id": self.ident,
                            "path": rel,
                            "kind": "file",
                            "sha256": digest,
                            "size": size,
                            "direction": "output",
                            "stored_path": dest,
                            "created_at": now_ms(),
                            "name": rel,
                            "meta": {"mlflow_artifact": True},
                        }
                        for rel, digest, size, dest in stored
                    ],
                    replace=True,
                )
            else:
                found = imports.logged_models(con, model_ids=[self.ident])
                if not found:
                    raise MlflowException(
                        f"Logged model with ID '{self.ident}' not found.", RESOURCE_DOES_NOT_EXIST
                    )
                m = found[0]
                m["files"].update({rel: [digest, size] for rel, digest, size, _ in stored})
                m["last_updated_time"] = now_ms()
                imports.set_logged_model(con, m)

    # -- reading ------------------------------------------------------------------------------
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Files and folders directly under ``path``, paths relative to this repository."""
        with _common.session(self.store) as con:
            files = self._files(con)
        prefix = self._rel(path)
        root = self.base.strip("/")
        out: dict[str, FileInfo] = {}
        for rel, row in files.items():
            if prefix and not rel.startswith(prefix + "/"):
                continue
            rest = rel[len(prefix) + 1 :] if prefix else rel
            head, _, tail = rest.partition("/")
            shown = posixpath.join(prefix, head) if prefix else head
            if root:
                shown = shown[len(root) + 1 :] if shown.startswith(root + "/") else shown
            if tail:
                out.setdefault(shown, FileInfo(shown, True, None))
            else:
                out[shown] = FileInfo(shown, False, int(row["size"]))
        return [out[k] for k in sorted(out)]

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        rel = self._rel(remote_file_path)
        with _common.session(self.store) as con:
            row = self._files(con).get(rel)
        if row is None or not row.get("stored_path") or not os.path.exists(row["stored_path"]):
            raise MlflowException(f"No artifact {rel!r} in {self.artifact_uri}", RESOURCE_DOES_NOT_EXIST)
        os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
        shutil.copyfile(row["stored_path"], local_path)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Not supported: blobs are shared by content and runs keep what they logged."""
        raise WorkbenchNotSupported("deleting artifacts")


def get_repository(
    artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
) -> Any:
    """Entry point for ``mlflow.artifact_repository``."""
    return WorkbenchArtifactRepository(artifact_uri, tracking_uri, registry_uri)
