"""What a job executes: the notebook (a run's recorded snapshot, or a file), the kernel,
and the job spec a worker process receives."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..env import (
    WORKBENCH_NOTEBOOK_ORIGIN,
    WORKBENCH_NOTEBOOK_PATH,
    WORKBENCH_PARENT_RUN_ID,
    WORKBENCH_SOURCE,
    WORKBENCH_STORE,
    WORKBENCH_TAGS,
)
from ..errors import InvalidInputError, NotFoundError
from ..store import RunRecord, Store, get_store
from ..tracking import context, current_store

__all__ = [
    "JOB_TAG",
    "KernelNotFoundError",
    "Source",
    "as_store",
    "check_kernel",
    "make_spec",
    "notebook_kernel",
    "resolve_source",
    "source_from_path",
    "source_from_run",
    "store_snapshot",
]

#: The tag that links a job's runs to it.
JOB_TAG = "workbench.job"


class KernelNotFoundError(InvalidInputError):
    """The kernel a notebook needs is not installed here."""


@dataclass
class Source:
    """A notebook to execute: its snapshot bytes and where it came from."""

    data: bytes
    nb: dict[str, Any]
    origin_path: Path | None
    label: str
    run: RunRecord | None = None


def source_from_run(store: Store, run_ref: str) -> Source:
    rec = store.get_run(run_ref)
    sha = rec.context.get("notebook_sha")
    if not sha:
        how = "from a script or the Python API" if rec.source == "api" else f"with source {rec.source!r}"
        raise InvalidInputError(
            f"run {rec.run_name} ({rec.run_id[:8]}) was recorded {how} and has no notebook snapshot, so it "
            "cannot be rerun; runs recorded by %%track (or %wb start) in a saved notebook can"
        )
    blob = store.blob_path(sha)
    if not blob.exists():
        raise NotFoundError(f"the notebook snapshot of run {rec.run_id[:8]} is missing from {blob.parent}")
    data = blob.read_bytes()
    path = rec.context.get("notebook_path")
    origin = Path(path) if path and path != context.UNKNOWN_NOTEBOOK else None
    return Source(data, json.loads(data), origin, f"the notebook of run {rec.run_id[:8]}", rec)


def source_from_path(path: str | os.PathLike[str]) -> Source:
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"notebook {str(p)!r} does not exist")
    if p.is_dir():
        raise InvalidInputError(f"{str(p)!r} is a folder, not a notebook; give a .ipynb file or a run id")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InvalidInputError(f"cannot read notebook {str(p)!r}: {e.strerror}") from None
    try:
        nb = json.loads(data)
    except ValueError:
        raise InvalidInputError(f"{p.name} is not a notebook (not JSON)") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidInputError(f"{p.name} is not a notebook (JSON without a list of cells)")
    return Source(data, nb, p.absolute(), p.name)


def resolve_source(store: Store, notebook_or_run: str | os.PathLike[str]) -> Source:
    text = os.fspath(notebook_or_run)
    if text.endswith(".ipynb") or Path(text).exists():
        return source_from_path(text)
    return source_from_run(store, text)


def check_kernel(name: str | None) -> str:
    """The kernel to use, verified installed: ``name``, else ``python3``.

    Accepts what papermill (jupyter_client) accepts: the name of an installed kernel
    spec in any case, and ``python``, which jupyter_client's kernel manager maps to
    ``python3``.

    Raises
    ------
    KernelNotFoundError
        Naming the kernels that are installed.
    """
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    wanted = name or NATIVE_KERNEL_NAME
    # jupyter_client's KernelManager renames "python" to its native kernel, and finds
    # kernel specs case-insensitively; papermill starts kernels through it.
    canonical = NATIVE_KERNEL_NAME if wanted == "python" else wanted
    try:
        ksm.get_kernel_spec(canonical)
    except NoSuchKernel:
        specs = ksm.find_kernel_specs()
        raise KernelNotFoundError(
            f"kernel {wanted!r} is not installed here; installed kernels: {', '.join(sorted(specs)) or 'none'} "
            "(pass kernel= / --kernel to use one of them)"
        ) from None
    return canonical


def notebook_kernel(nb: dict[str, Any], kernel: str | None, recorded: str | None = None) -> tuple[str, str]:
    """The kernel a job runs with, verified installed, and the notebook's language for
    papermill.

    The kernel: ``kernel`` when given; else ``recorded``, the kernel the run ran in
    (what it recorded), when it is installed here; else the notebook's kernelspec; else
    ``python3``. The language is the notebook's (``language_info``, else its
    kernelspec's); a notebook saved without that metadata, which papermill refuses to
    parameterize ("No language found in notebook"), gets the language of the kernel it
    runs with.
    """

    def mapping(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    meta = mapping(nb.get("metadata"))
    kernelspec, info = mapping(meta.get("kernelspec")), mapping(meta.get("language_info"))
    if kernel is None and recorded:
        try:
            kernel = check_kernel(recorded)
        except KernelNotFoundError:
            kernel = None  # run elsewhere: the notebook's own kernelspec, as before
    name = check_kernel(kernel or kernelspec.get("name") or None)
    language = info.get("name") or kernelspec.get("language")
    if not language:
        from jupyter_client.kernelspec import KernelSpecManager

        language = KernelSpecManager().get_kernel_spec(name).language or "python"
    return name, language


def make_spec(
    store: Store,
    src: Source,
    snapshot_sha: str,
    params: dict[str, Any],
    kernel: tuple[str, str],
    source: str,
    parent: str | None,
    tags: dict[str, str],
    name: str,
) -> dict[str, Any]:
    job_id = uuid.uuid4().hex[:12]
    job_dir = store.directory / "jobs" / job_id
    job_dir.mkdir(parents=True)
    # Named like the original, so the runs it records carry the same experiment name.
    stem = src.origin_path.stem if src.origin_path else "notebook"
    inp = job_dir / f"{stem}.ipynb"
    inp.write_bytes(src.data)
    cwd = src.origin_path.parent if src.origin_path and src.origin_path.parent.is_dir() else Path.cwd()
    env = {
        WORKBENCH_STORE: str(store.directory),
        WORKBENCH_SOURCE: source,
        WORKBENCH_NOTEBOOK_PATH: str(inp),
        WORKBENCH_NOTEBOOK_ORIGIN: str(src.origin_path) if src.origin_path else "",
        WORKBENCH_TAGS: json.dumps({**tags, JOB_TAG: job_id}),
        "JPY_SESSION_NAME": "",
    }
    if parent:
        env[WORKBENCH_PARENT_RUN_ID] = parent
    return {
        "job_id": job_id,
        "name": name,
        "input": str(inp),
        "output": str(job_dir / f"{stem}.output.ipynb"),
        "parameters": params,
        "kernel": kernel[0],
        "language": kernel[1],
        "cwd": str(cwd),
        "env": env,
        "snapshot_sha": snapshot_sha,
        "started_ms": int(time.time() * 1000),
    }


def store_snapshot(store: Store, src: Source) -> str:
    if src.run is not None and src.run.context.get("notebook_sha"):
        return src.run.context["notebook_sha"]
    return store.put_bytes(src.data)


def as_store(store: str | os.PathLike[str] | Store | None) -> Store:
    if isinstance(store, Store):
        return store
    return current_store() if store is None else get_store(store)
