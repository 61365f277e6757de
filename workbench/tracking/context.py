"""What a notebook run records about where it ran: notebook, cell, git, environment, GPU.

Everything that does not change between cells (packages, GPU, Python) is computed once
per process; the notebook file is re-read only when its mtime or size changes; git runs
in a background thread, so a tracked cell pays none of it.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..env import WORKBENCH_NOTEBOOK_ORIGIN, WORKBENCH_NOTEBOOK_PATH

log = logging.getLogger(__name__)

UNKNOWN_NOTEBOOK = "unknown"
#: Diffs larger than this are cut (the commit and dirty flag still say what matters).
MAX_DIFF_BYTES = 1_000_000


@dataclass(frozen=True)
class NotebookFile:
    """A notebook file as read from disk: its parsed JSON, bytes hash and path; ``data``
    holds the bytes when they come from elsewhere (Colab's front end), not the path."""

    path: Path
    sha256: str
    nb: dict[str, Any]
    data: bytes | None = None


def frontend_names(user_ns: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """What a frontend showing this kernel says of it, in order: ``__session__`` (set by
    ipykernel from the Jupyter server's session), ``$JPY_SESSION_NAME`` and VS Code's
    ``__vsc_ipynb_file__``; all empty under papermill, nbclient and nbconvert."""
    ns = user_ns or {}
    return (ns.get("__session__"), os.environ.get("JPY_SESSION_NAME"), ns.get("__vsc_ipynb_file__"))


def notebook_path(user_ns: dict[str, Any] | None = None) -> Path | None:
    """The path of the notebook this kernel runs, or None when it cannot be known.

    Sources, in order: ``$WORKBENCH_NOTEBOOK_PATH`` (set by reruns), ``__session__``
    (set by ipykernel from the Jupyter server's session), ``$JPY_SESSION_NAME``, and VS
    Code's ``__vsc_ipynb_file__``.
    """
    for raw in (os.environ.get(WORKBENCH_NOTEBOOK_PATH), *frontend_names(user_ns)):
        if raw and isinstance(raw, str) and raw.endswith(".ipynb"):
            p = Path(raw)
            if not p.is_absolute():
                p = Path.cwd() / p
            return p
    return None


def recorded_path(path: Path | None) -> str:
    """The notebook path a run records: a rerun's original notebook rather than the
    snapshot copy its kernel executes."""
    origin = os.environ.get(WORKBENCH_NOTEBOOK_ORIGIN)
    if origin:
        return origin
    return str(path) if path is not None else UNKNOWN_NOTEBOOK


_nb_cache: dict[Path, tuple[tuple[int, int], NotebookFile]] = {}


def read_notebook(path: Path) -> NotebookFile | None:
    """Read and hash a notebook file, cached until its mtime or size changes.

    Returns None when the file does not exist (a notebook never saved) or is not JSON.
    """
    try:
        st = path.stat()
    except OSError:
        return None
    key = (st.st_mtime_ns, st.st_size)
    hit = _nb_cache.get(path)
    if hit is not None and hit[0] == key:
        return hit[1]
    try:
        data = path.read_bytes()
        nb = json.loads(data)
    except (OSError, ValueError):
        return None
    info = NotebookFile(path, hashlib.sha256(data).hexdigest(), nb)
    _nb_cache[path] = (key, info)
    return info


def cell_text(cell: dict[str, Any]) -> str:
    """A notebook cell's source as one string (nbformat allows a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def parse_cell(text: str) -> ast.Module:
    """Parse a cell as IPython runs it: magics (``%load_ext workbench``) and shell lines
    are IPython syntax, which papermill accepts in a parameters cell too. Raises the
    plain parse's ``SyntaxError`` when IPython's transform does not help."""
    try:
        return ast.parse(text)
    except SyntaxError as first:
        try:
            from IPython.core.inputtransformer2 import TransformerManager
        except ImportError:
            raise first from None
        try:
            return ast.parse(TransformerManager().transform_cell(text))
        except SyntaxError:
            raise first from None


def parameter_names(nb: dict[str, Any]) -> list[str]:
    """Names assigned in the cells tagged ``parameters`` or ``injected-parameters``.

    papermill's convention: the ``parameters`` cell holds the defaults, the
    ``injected-parameters`` cell papermill adds after it holds the overrides. Magics
    and shell lines in them are read as IPython reads them; a cell that does not parse
    contributes nothing.
    """
    names: list[str] = []
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") != "code" or not ({"parameters", "injected-parameters"} & set(tags)):
            continue
        try:
            tree = parse_cell(cell_text(cell))
        except SyntaxError:
            continue
        for node in tree.body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets = [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name) and n.id not in names:
                        names.append(n.id)
    return names


def cell_id_for(nb: dict[str, Any], source: str) -> str | None:
    """The id of the notebook cell whose source is ``source`` (the last match), if any.

    Front ends such as JupyterLab send the cell id with each execution; nbclient and
    papermill do not, so the id is found by matching the source.
    """
    found = None
    wanted = source.strip()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and cell_text(cell).strip() == wanted:
            found = cell.get("id")
    return found


def param_value(value: Any) -> str:
    """How a parameter value is recorded: ``str()`` for plain values, as MLflow does, and
    ``repr()`` (cut to 500 characters) for anything else, so it stays recognisable."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return str(value)
    text = repr(value)
    return text if len(text) <= 500 else text[:497] + "..."


def _run(args: list[str], cwd: Path, timeout: float = 10.0) -> str | None:
    # In a session of its own: a kernel manager shutting the kernel down signals the
    # kernel's whole process group (SIGTERM at 2.5 s), which must not reach a git diff
    # still running for the last cell (a run with git_dirty but no diff was seen once, on a
    # loaded machine; this cause is likely, not proven).
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_state(directory: Path) -> dict[str, Any]:
    """Commit, branch, dirty flag and diff (against HEAD) of the repository holding
    ``directory``; empty when git is missing or this is not a repository."""
    if shutil.which("git") is None:
        return {}
    with _git_lock:
        return _git_state(directory)


# Captures of consecutive cells may overlap; git commands that refresh the index would
# then fail on each other's index.lock, so they run one at a time and lock-free.
_git_lock = threading.Lock()


def _git_state(directory: Path) -> dict[str, Any]:
    commit = _run(["git", "rev-parse", "HEAD"], directory)
    if commit is None:
        return {}
    branch = _run(["git", "rev-parse", "--abbrev-ref", "HEAD"], directory)
    status_cmd = ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"]
    status = _run(status_cmd, directory)
    if status is None:  # transient failures happen (a user's git holding index.lock): once more
        time.sleep(0.2)
        status = _run(status_cmd, directory)
    state: dict[str, Any] = {
        "git_commit": commit.strip(),
        "git_branch": (branch or "").strip() or None,
        "git_dirty": bool(status and status.strip()),
    }
    if state["git_dirty"]:
        diff = _run(["git", "--no-optional-locks", "diff", "HEAD"], directory, timeout=30.0) or ""
        if len(diff) > MAX_DIFF_BYTES:
            diff = diff[:MAX_DIFF_BYTES] + "\n[diff cut at 1 MB]\n"
        state["git_diff"] = diff
    return state


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """This interpreter's installed packages, hashed: one environment row per distinct set."""
    from importlib import metadata

    packages = sorted(
        {f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]},
        key=str.lower,
    )
    python = platform.python_version()
    plat = platform.platform()
    digest = hashlib.sha256(json.dumps([python, plat, packages]).encode()).hexdigest()
    return {"env_hash": digest, "python": python, "platform": plat, "packages": json.dumps(packages)}


@functools.lru_cache(maxsize=1)
def gpu() -> str | None:
    """GPU names and memory from ``nvidia-smi``, or None where there is none."""
    if shutil.which("nvidia-smi") is None:
        return None
    out = _run(
        ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
        Path.cwd(),
        timeout=10.0,
    )
    if not out:
        return None
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        gpus.append(f"{parts[0]} ({parts[1]} MiB)" if len(parts) > 1 else parts[0])
    return "; ".join(gpus) or None


def capture_in_background(run: Any, notebook: NotebookFile | None, directory: Path) -> threading.Thread:
    """Record the slow parts of a run's context from a daemon thread: the notebook
    snapshot (copied into the store once per content), git state, the environment and
    the GPU. Failures are recorded as missing values, never raised into the cell."""

    def work() -> None:
        ctx: dict[str, Any] = {"python_version": sys.version.split()[0]}
        try:
            if notebook is not None and notebook.data is not None:
                ctx["notebook_sha"] = run.store.put_bytes(notebook.data)
            elif notebook is not None:
                digest, _, _ = run.store.put_file(notebook.path)
                ctx["notebook_sha"] = digest
            # What a rerun needs goes first: papermill's kernel manager kills a kernel
            # that takes over 5 s to shut down, before the slower parts below are done.
            run.set_context(**ctx)
            ctx = {"kernel": _kernel(notebook)}
            ctx.update(git_state(directory))
            env = environment()
            run.record_environment(env)
            ctx["env_hash"] = env["env_hash"]
            ctx["gpu"] = gpu()
        except Exception as e:  # noqa: BLE001 - context is best effort, the run is not
            log.warning("workbench: could not capture all run context: %s: %s", type(e).__name__, e)
        run.set_context(**ctx)

    t = threading.Thread(target=work, name="workbench-context", daemon=True)
    _pending[:] = [p for p in _pending if p.is_alive()]
    _pending.append(t)
    t.start()
    return t


def _kernel(notebook: NotebookFile | None) -> str | None:
    """The kernel a rerun should start: the notebook's kernelspec name; for a notebook
    saved without one, the installed spec this kernel was started from (looked up)."""
    meta = (notebook.nb.get("metadata") or {}) if notebook is not None else {}
    spec = meta.get("kernelspec") if isinstance(meta, dict) else None
    if isinstance(spec, dict) and isinstance(spec.get("name"), str) and spec["name"]:
        return spec["name"]
    from .kernels import kernel_name

    return kernel_name()


_pending: list[threading.Thread] = []


def wait_for_capture(timeout_s: float = 15.0) -> None:
    """Wait (bounded) for context captures still running, so a kernel shutting down
    right after a tracked cell still records its notebook snapshot, git and packages."""
    deadline = time.monotonic() + timeout_s
    while _pending:
        t = _pending.pop()
        t.join(max(0.0, deadline - time.monotonic()))


def _register() -> None:
    from .lifecycle import before_final_flush

    before_final_flush(wait_for_capture)


_register()
