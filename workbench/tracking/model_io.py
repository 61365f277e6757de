"""Saving model objects and describing them (library, class, task) for the registry and cards."""

from __future__ import annotations

import io
import pickle
from typing import Any

from ..errors import InvalidInputError

#: Marks the JSON blob that stands for a model saved as a folder (relative path -> sha256).
MANIFEST_KEY = "workbench_model_manifest"


def serialize_model(model: Any) -> tuple[bytes, str]:
    """``(bytes, format)``: joblib when installed (efficient for numpy-heavy models such
    as scikit-learn's), else pickle.

    Raises
    ------
    InvalidInputError
        The object cannot be pickled; the message names what failed and what is accepted.
    """
    try:
        import joblib
    except ImportError:
        joblib = None
    buf = io.BytesIO()
    try:
        if joblib is not None:
            joblib.dump(model, buf)
            return buf.getvalue(), "joblib"
        pickle.dump(model, buf, protocol=pickle.HIGHEST_PROTOCOL)
        return buf.getvalue(), "pickle"
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidInputError(
            f"cannot save model of type {type(model).__module__}.{type(model).__qualname__}: {exc}. "
            "log_model accepts an object pickle can serialize, or the path of a model your library saved "
            "(e.g. torch.save / model.save_pretrained output)"
        ) from None


def load_model_bytes(data: bytes, fmt: str) -> Any:
    """The object :func:`serialize_model` saved (only load models you trust: unpickling
    runs code)."""
    if fmt == "joblib":
        import joblib

        return joblib.load(io.BytesIO(data))
    return pickle.loads(data)


def describe_model(model: Any) -> dict[str, Any]:
    """Library, class, task and hyper-parameters of a model object, as far as known."""
    cls = type(model)
    module = cls.__module__
    library = module.split(".")[0]
    meta: dict[str, Any] = {"class": f"{module}.{cls.__qualname__}", "library": library}
    estimator_type = getattr(model, "_estimator_type", None)
    if estimator_type is None and library == "sklearn":
        try:
            from sklearn.base import is_classifier, is_regressor

            estimator_type = (
                "classifier" if is_classifier(model) else "regressor" if is_regressor(model) else None
            )
        except ImportError:
            pass
    if estimator_type in ("classifier", "regressor"):
        meta["task"] = f"tabular-{'classification' if estimator_type == 'classifier' else 'regression'}"
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        try:
            meta["hyperparameters"] = {k: repr(v) for k, v in get_params(deep=False).items()}
        except Exception:  # noqa: BLE001 - third-party get_params may fail; the class is enough
            pass
    return meta


def materialize_manifest(manifest_path: str, blob_path: Any, target: Any) -> str:
    """Rebuild the folder a manifest describes under ``target`` (once) and return its
    path; ``blob_path(sha256)`` says where each file's content is stored."""
    import json
    import shutil
    from pathlib import Path

    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    target = Path(target)
    if not target.exists():
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for rel, digest in manifest["files"].items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(blob_path(digest), dest)
        tmp.rename(target)
    return str(target)


def is_manifest(path: str) -> bool:
    """Whether a stored blob is a model-folder manifest."""
    import json

    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if MANIFEST_KEY.encode() not in head:
                return False
            f.seek(0)
            return MANIFEST_KEY in json.load(f)
    except (OSError, ValueError):
        return False
