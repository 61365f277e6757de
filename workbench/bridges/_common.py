"""What the MLflow plugins, importers and exporters share; imports neither mlflow nor
tensorboard."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..store import imports
from ..store.records import now_ms
from ..store.store import Store, get_store

if TYPE_CHECKING:
    import duckdb

SCHEME = "workbench"
DEFAULT_EXPERIMENT = "Default"

#: MLflow status names and Workbench's.
TO_WORKBENCH_STATUS = {
    "RUNNING": "running",
    "SCHEDULED": "running",
    "FINISHED": "finished",
    "FAILED": "failed",
    "KILLED": "killed",
}
TO_MLFLOW_STATUS = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED", "killed": "KILLED"}

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")


def store_for_uri(uri: str | None) -> Store:
    """The store a ``workbench:`` URI names.

    ``workbench:`` (or ``workbench://``) is the store Workbench itself would use here
    (``wb.set_store``, ``$WORKBENCH_STORE``, else the nearest ``.workbench/`` walking up);
    ``workbench:///abs/path/.workbench`` names one.

    Raises
    ------
    InvalidInputError
        The URI is not a ``workbench:`` URI, or names a host.
    """
    path = store_path(uri)
    if path is None:
        from ..tracking import current_store

        return current_store()
    return get_store(path)


def store_path(uri: str | None) -> str | None:
    """The store directory in a ``workbench:`` URI, None for the default store."""
    if uri is None:
        return None
    if not isinstance(uri, str) or not uri.startswith(f"{SCHEME}:"):
        raise InvalidInputError(
            f"{uri!r} is not a Workbench URI: use 'workbench:' (the store found from the working "
            "directory) or 'workbench:///absolute/path/.workbench'"
        )
    rest = uri[len(SCHEME) + 1 :]
    if rest.startswith("//"):
        host, _, path = rest[2:].partition("/")
        if host:
            raise InvalidInputError(
                f"{uri!r} names a host ({host!r}); Workbench stores are local folders: "
                "use 'workbench:///absolute/path/.workbench'"
            )
        rest = "/" + path if path else ""
    rest = rest.split("?", 1)[0]
    return rest or None


def store_uri(store: Store) -> str:
    """The ``workbench:`` URI naming ``store`` (absolute)."""
    return f"{SCHEME}://{store.directory.absolute().as_posix()}"


def parse_artifact_uri(uri: str) -> tuple[str | None, str, str, str]:
    """``(store_dir, kind, id, subpath)`` of a Workbench artifact URI:
    ``workbench://<store>/<run_id>/artifacts/<subpath>`` (kind ``run``) or
    ``workbench://<store>/models/<model_id>/artifacts/<subpath>`` (kind ``model``).
    ``store_dir`` is None in the short form ``workbench:/<run_id>/artifacts``.

    Raises
    ------
    InvalidInputError
        Not an artifact URI of either form.
    """
    if not isinstance(uri, str) or not uri.startswith(f"{SCHEME}:"):
        raise InvalidInputError(f"{uri!r} is not a Workbench artifact URI")
    rest = uri[len(SCHEME) + 1 :].lstrip("/")
    parts = [p for p in rest.split("?", 1)[0].split("/") if p]
    for i, part in enumerate(parts):
        kind = ident = None
        if _RUN_ID.match(part) and parts[i + 1 : i + 2] == ["artifacts"]:
            kind, ident, after = "run", part, i + 2
        elif part == "models" and i + 2 < len(parts) + 1 and len(parts) > i + 2:
            if _MODEL_ID.match(parts[i + 1]) and parts[i + 2] == "artifacts":
                kind, ident, after = "model", parts[i + 1], i + 3
        if kind is not None and ident is not None:
            store_dir = "/" + "/".join(parts[:i]) if i else None
            return store_dir, kind, ident, "/".join(parts[after:])
    raise InvalidInputError(
        f"{uri!r} is not a Workbench artifact URI: expected workbench://<store>/<run_id>/artifacts/... "
        "or workbench://<store>/models/<model_id>/artifacts/..."
    )


def run_artifact_uri(store: Store, run_id: str) -> str:
    """Where MLflow sees a run's artifacts."""
    return f"{store_uri(store)}/{run_id}/artifacts"


def model_artifact_uri(store: Store, model_id: str) -> str:
    """Where MLflow sees a logged model's files."""
    return f"{store_uri(store)}/models/{model_id}/artifacts"


def experiment_id(name: str, stored: str | None = None) -> str:
    """An experiment's MLflow id: the one recorded, else ``0`` for ``Default`` (as in
    MLflow), else a number derived from the name (stable across processes and stores)."""
    if stored:
        return stored
    if name == DEFAULT_EXPERIMENT:
        return "0"
    return str(int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:6], "big"))


_ready: set[Path] = set()
_ready_lock = threading.Lock()


@contextlib.contextmanager
def session(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    """A store session with the bridge tables (and the ``Default`` experiment) in place."""
    with store.session() as con:
        if store.directory not in _ready:
            imports.ensure_tables(con)
            con.execute(
                "INSERT INTO experiments VALUES (?, ?) ON CONFLICT DO NOTHING", [DEFAULT_EXPERIMENT, now_ms()]
            )
            with _ready_lock:
                _ready.add(store.directory)
        yield con


def dataset_role(context: str | None, name: str) -> str:
    """Workbench's dataset role (``training``/``evaluation``) for an MLflow dataset context."""
    c = (context or "").lower()
    if c.startswith("train"):
        return "training"
    if any(w in c for w in ("eval", "test", "valid", "val", "holdout")):
        return "evaluation"
    from ..datasets import guess_role

    return guess_role(name)


def model_meta_from_files(
    store: Store, files: Mapping[str, Any], tags: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """What a model card shows of an MLflow model folder: its flavors, library and class,
    read from its ``MLmodel`` file."""
    meta: dict[str, Any] = {"format": "directory", "files": len(files), "loader": "mlflow"}
    entry = files.get("MLmodel")
    if entry is None:
        return meta
    try:
        import yaml

        with open(store.blob_path(entry[0]), encoding="utf-8") as f:
            mlmodel = yaml.safe_load(f) or {}
    except (OSError, ValueError, ImportError):
        return meta
    flavors = mlmodel.get("flavors") or {}
    meta["flavors"] = sorted(flavors)
    library = next((f for f in flavors if f != "python_function"), None)
    if library:
        meta["library"] = library
        fl = flavors.get(library) or {}
        cls = fl.get("model_class") or fl.get("class") or (tags or {}).get("estimator_class")
        if cls:
            meta["class"] = cls
    if mlmodel.get("model_id"):
        meta["mlflow_model_id"] = mlmodel["model_id"]
    return meta


def manifest_bytes(files: Mapping[str, Any]) -> bytes:
    """A Workbench model-folder manifest (relative path -> sha256) for ``files``
    (relative path -> ``[sha256, size]``), as ``Run.log_model`` writes for a folder."""
    from ..tracking.model_io import MANIFEST_KEY

    return json.dumps({MANIFEST_KEY: 1, "files": {k: v[0] for k, v in sorted(files.items())}}).encode()


def process_columns() -> dict[str, Any]:
    """The run columns that let readers mark the run ``killed`` if this process dies."""
    from .. import procs

    return {
        "host": procs.hostname(),
        "pid": os.getpid(),
        "pid_started": procs.start_time(os.getpid()),
        "heartbeat": now_ms(),
    }
