"""Content-addressed files: ``artifacts/<first two hex digits>/<sha256>``, one per content."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["blob_path", "put_bytes", "put_file", "sha256_file"]


def sha256_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """``(sha256 hex, size in bytes)`` of a file, read in 1 MiB chunks (any size)."""
    import hashlib

    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def blob_path(artifact_dir: Path, digest: str) -> Path:
    """Where the blob with this sha256 lives (it may not exist)."""
    return artifact_dir / digest[:2] / digest


def put_file(artifact_dir: Path, path: str | os.PathLike[str]) -> tuple[str, int, Path]:
    """Copy a file in as a blob (once per content); returns ``(sha256, size, stored_path)``.

    Hashing streams the file, so size is no concern.
    """
    import shutil

    digest, size = sha256_file(path)
    dest = _publish(artifact_dir, digest, lambda tmp: shutil.copyfile(path, tmp))
    return digest, size, dest


def put_bytes(artifact_dir: Path, data: bytes) -> str:
    """Store bytes as a blob (once per content); returns their sha256."""
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    _publish(artifact_dir, digest, lambda tmp: tmp.write_bytes(data))
    return digest


def _publish(artifact_dir: Path, digest: str, write: Callable[[Path], object]) -> Path:
    dest = blob_path(artifact_dir, digest)
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{digest}.tmp{os.getpid()}-{threading.get_ident()}")
        write(tmp)
        os.replace(tmp, dest)  # concurrent writers of the same content end up with one file
    return dest
