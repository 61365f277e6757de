"""Content hashes and profiles of datasets (files and DataFrames).

A dataset's identity is its content: two runs that read the same bytes (or an equal
DataFrame) share a hash, which is what links runs in the lineage graph and what the
comparison uses to say "these runs trained on different data".
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Any

from .errors import InvalidInputError
from .store.blobs import sha256_file
from .store.profile import READERS as _READERS
from .store.profile import profile_relation

# File types DuckDB reads natively, so they get a column profile.
TABULAR_SUFFIXES = frozenset(_READERS) | {".feather", ".arrow", ".npy", ".npz", ".xlsx", ".h5", ".hdf5"}
#: Files a run reads that count as datasets when found by the file watch; .json and .txt
#: read by a run are usually configuration or vocabularies, so they are plain files.
AUTO_DATASET_SUFFIXES = TABULAR_SUFFIXES - {".json", ".txt"}
MODEL_SUFFIXES = frozenset(
    {".joblib", ".pkl", ".pickle", ".pt", ".pth", ".onnx", ".h5", ".keras", ".safetensors", ".ckpt", ".bin"}
)
# Profiling reads the whole file; past this size a dataset is hashed but not profiled.
PROFILE_MAX_BYTES = 512 * 1024 * 1024


def hash_dataframe(df: Any) -> tuple[str, str]:
    """A content hash of a pandas DataFrame that is stable across processes.

    Returns ``(sha256 hex, method)``. Method ``"pandas"`` hashes every value with
    ``pandas.util.hash_pandas_object`` (index included) plus the column names and
    dtypes. Columns holding unhashable objects (lists, dicts, arrays) make pandas
    refuse; then the values' ``repr()`` is hashed instead (method ``"repr"``) and a
    warning says so.
    """
    import pandas as pd

    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    try:
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
        return h.hexdigest(), "pandas"
    except TypeError as exc:
        bad = _unhashable_columns(df)
        warnings.warn(
            f"DataFrame column(s) {', '.join(map(repr, bad)) or '?'} hold unhashable values ({exc}); "
            "hashed their repr() instead, so equal frames whose objects print differently would not match",
            stacklevel=3,
        )
        text = df.astype(object).map(repr) if hasattr(df, "map") else df.applymap(repr)
        h.update(pd.util.hash_pandas_object(text, index=True).to_numpy().tobytes())
        return h.hexdigest(), "repr"


def _unhashable_columns(df: Any) -> list[str]:
    import pandas as pd

    bad = []
    for name in df.columns:
        try:
            pd.util.hash_pandas_object(df[name], index=False)
        except TypeError:
            bad.append(str(name))
    return bad


def describe(data: Any, name: str | None, role: str | None, profile: bool = True) -> dict[str, Any]:
    """The artifact row fields for a dataset: path, name, sha256, size and ``meta``
    (format, rows, schema, profile, hash method, role).

    Raises
    ------
    InvalidInputError
        For a path that does not exist, a directory, or an object that is neither a
        path nor a DataFrame.
    """
    if role is not None and role not in ("training", "evaluation"):
        raise InvalidInputError(f"dataset role must be 'training' or 'evaluation', got {role!r}")
    if isinstance(data, (str, os.PathLike)):
        p = Path(data)
        if not p.exists():
            raise InvalidInputError(
                f"dataset {str(p)!r} does not exist (give an existing file or a DataFrame)"
            )
        if not p.is_file():
            raise InvalidInputError(f"dataset {str(p)!r} is not a file (give a file or a DataFrame)")
        digest, size = sha256_file(p)
        meta: dict[str, Any] = {"format": p.suffix.lstrip(".").lower() or "file", "hash_method": "sha256"}
        if profile:
            meta |= profile_meta(p)
        name = name or p.stem
        path = os.path.abspath(p)  # normalized as the file watch records paths
    elif _is_dataframe(data):
        digest, method = hash_dataframe(data)
        size = int(data.memory_usage(deep=False).sum())
        meta = {"format": "dataframe", "hash_method": method}
        if profile:
            meta["profile"] = profile_relation(data)
        name = name or "dataframe"
        path = f"<DataFrame {name}>"
    else:
        raise InvalidInputError(
            f"use_dataset takes a file path or a pandas DataFrame, got {type(data).__name__}"
        )
    meta |= _profile_fields(meta.pop("profile", None))
    meta["role"] = role or guess_role(name)
    return {"path": path, "name": str(name), "sha256": digest, "size": size, "meta": meta}


def profile_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``profile``, ``rows`` and ``schema`` of a file DuckDB reads (and that is not too
    big to read whole), else {}."""
    p = Path(path)
    if p.suffix.lower() not in _READERS or p.stat().st_size > PROFILE_MAX_BYTES:
        return {}
    return _profile_fields(profile_relation(p.absolute()))


def _profile_fields(profile: dict[str, Any] | None) -> dict[str, Any]:
    if not profile:
        return {}
    out: dict[str, Any] = {"profile": profile}
    if "rows" in profile:
        out["rows"] = profile["rows"]
        out["schema"] = {c["name"]: c["type"] for c in profile["columns"]}
    return out


def guess_role(name: str) -> str:
    """``evaluation`` for names that say test/eval/valid/holdout, else ``training``."""
    low = name.lower()
    return "evaluation" if any(w in low for w in ("test", "eval", "valid", "holdout", "val_")) else "training"


def _is_dataframe(obj: Any) -> bool:
    mod = type(obj).__module__
    return mod.startswith("pandas") and type(obj).__name__ == "DataFrame"
