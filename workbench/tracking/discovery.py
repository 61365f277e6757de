"""Which notebook a kernel runs, and with which kernel, when no front end says so.

JupyterLab, JupyterHub (its single-user server is a Jupyter server), VS Code and
Workbench's own reruns name the notebook (see :func:`context.notebook_path`).
``papermill``, ``jupyter nbconvert --execute``, ``jupyter execute`` and nbclient do not:
the notebook is then the one that holds the cell being executed, among

1. the ``.ipynb`` files on the command line of the process that started the kernel
   (``papermill in.ipynb out.ipynb -p alpha 0.5``, ``jupyter nbconvert --execute x.ipynb``),
2. the notebooks in the kernel's working directory, then in that process's.

When several hold it, the one holding most of the cells executed so far wins, and a
papermill output notebook (being written while it runs) gives way to its input. Google
Colab keeps notebooks off the disk: its session API names the notebook and its front
end hands over the content.

Everything here is cached per process or per file change, and psutil is imported only
when a notebook must be found.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .context import NotebookFile, cell_text, parse_cell, read_notebook
from .kernels import launcher

log = logging.getLogger(__name__)

__all__ = ["colab_notebook", "find_notebook", "injected_names"]

#: Notebooks looked at per folder, and the largest read (a bigger one is not ours to scan).
MAX_CANDIDATES = 200
MAX_NOTEBOOK_BYTES = 50_000_000
_PAPERMILL_HEADER = "# Parameters"


def _candidates() -> list[Path]:
    args, parent_cwd = launcher()
    seen: dict[Path, None] = {}
    for arg in args[1:]:
        value = arg.split("=", 1)[-1]  # --input=x.ipynb
        if value.endswith(".ipynb"):
            p = Path(value)
            seen.setdefault(p if p.is_absolute() else (parent_cwd or Path.cwd()) / p)
    for folder in (Path.cwd(), parent_cwd):
        if folder is None:
            continue
        try:
            found = sorted(folder.glob("*.ipynb"))[:MAX_CANDIDATES]
        except OSError:
            continue
        for p in found:
            seen.setdefault(p)
    return list(seen)


def _code_cells(nb: dict[str, Any]) -> set[str]:
    return {cell_text(c).strip() for c in nb.get("cells", []) if c.get("cell_type") == "code"}


def _read(path: Path) -> NotebookFile | None:
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None
    except OSError:
        return None
    return read_notebook(path)


_last: Path | None = None


def find_notebook(cell: str | None, history: Sequence[str] = ()) -> NotebookFile | None:
    """The notebook holding ``cell`` (the source being executed), or None.

    ``history`` is the sources executed before it in this kernel: when several
    notebooks hold the cell, the one holding most of them wins (then the command
    line's, then the first by name).
    """
    global _last
    wanted = (cell or "").strip()
    if not wanted:
        return None
    if _last is not None:  # the notebook found for the previous cell, if it still holds this one
        nb = _read(_last)
        if nb is not None and wanted in _code_cells(nb.nb):
            return nb
    executed = {h.strip() for h in history if h and h.strip()}
    best: tuple[int, int] | None = None
    found: NotebookFile | None = None
    for order, path in enumerate(_candidates()):
        nb = _read(path)
        if nb is None:
            continue
        cells = _code_cells(nb.nb)
        if wanted not in cells:
            continue
        score = (len(executed & cells), -order)
        if best is None or score > best:
            best, found = score, nb
    if found is not None:
        found = _papermill_input(found, wanted) or found
        _last = found.path
    return found


def _papermill_input(nb: NotebookFile, wanted: str) -> NotebookFile | None:
    """The input of a papermill output notebook (papermill writes its output as it
    runs, and records the input's path in it), if that input holds the cell too."""
    meta = nb.nb.get("metadata", {}).get("papermill")
    raw = meta.get("input_path") if isinstance(meta, dict) else None
    if not isinstance(raw, str) or not raw.endswith(".ipynb"):
        return None
    p = Path(raw)
    _, parent_cwd = launcher()
    for candidate in [p] if p.is_absolute() else [nb.path.parent / p, (parent_cwd or Path.cwd()) / p]:
        found = _read(candidate)
        if found is not None and wanted in _code_cells(found.nb):
            return found
    return None


def injected_names(history: Sequence[str]) -> list[str]:
    """The names papermill injected, from the last executed cell shaped as its
    ``injected-parameters`` cell (a ``# Parameters`` comment, then assignments only):
    the input notebook on disk does not have that cell."""
    for source in reversed(history):
        if not source or not source.lstrip().startswith(_PAPERMILL_HEADER):
            continue
        try:
            tree = parse_cell(source)
        except SyntaxError:
            continue
        if tree.body and all(
            isinstance(n, ast.Assign) and all(isinstance(t, ast.Name) for t in n.targets) for n in tree.body
        ):
            return [t.id for n in tree.body for t in n.targets]  # type: ignore[attr-defined]
    return []


# -- Google Colab ----------------------------------------------------------------------
def colab_notebook() -> NotebookFile | None:
    """On Google Colab, the notebook as its front end holds it (the file lives in
    Drive, not here): its name from the runtime's session API
    (``http://$COLAB_JUPYTER_IP:$KMP_TARGET_PORT/api/sessions``), its content from
    ``google.colab._message``; a file of that name in the working directory when the
    front end does not answer. None elsewhere."""
    if not os.environ.get("COLAB_JUPYTER_IP") and not os.environ.get("COLAB_RELEASE_TAG"):
        return None
    name = _colab_session_name()
    content = _colab_ipynb()
    if name is None and content is not None:
        name = content.get("metadata", {}).get("colab", {}).get("name")
    if not name:
        return None
    path = Path.cwd() / Path(name).name
    if content is None:
        return read_notebook(path)
    data = json.dumps(content, indent=1, sort_keys=True).encode()
    return NotebookFile(path, hashlib.sha256(data).hexdigest(), content, data)


@functools.lru_cache(maxsize=1)
def _colab_session_name() -> str | None:
    import urllib.parse
    import urllib.request

    ip, port = os.environ.get("COLAB_JUPYTER_IP"), os.environ.get("KMP_TARGET_PORT")
    if not ip or not port:
        return None
    try:
        with urllib.request.urlopen(f"http://{ip}:{port}/api/sessions", timeout=3) as r:  # noqa: S310
            sessions = json.loads(r.read())
        name = sessions[0]["name"] if sessions else None
    except Exception as e:  # noqa: BLE001 - no answer: the notebook stays unknown
        log.debug("Colab's session API did not answer: %s", e)
        return None
    return urllib.parse.unquote(name) if isinstance(name, str) and name else None


def _colab_ipynb() -> dict[str, Any] | None:
    try:
        from google.colab import _message  # type: ignore[import-not-found]

        reply = _message.blocking_request("get_ipynb", request="", timeout_sec=10)
    except Exception as e:  # noqa: BLE001 - not Colab, or its front end did not answer
        log.debug("Colab's front end gave no notebook: %s", e)
        return None
    nb = reply.get("ipynb") if isinstance(reply, dict) else None
    return nb if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else None
