"""Helpers to write notebooks to disk and execute them in a real kernel (nbclient)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook


def make_notebook(path, cells):
    """Write a notebook whose cells are source strings, or (source, tags) pairs."""
    nb = new_notebook()
    for c in cells:
        src, tags = (c, []) if isinstance(c, str) else c
        cell = new_code_cell(src)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return nb


def execute(path, timeout=120, allow_errors=False, **kwargs):
    """Execute the notebook at ``path`` in a fresh python3 kernel whose working directory
    is the notebook's folder; return the executed notebook (not written back)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
        **kwargs,
    )
    client.execute()
    return nb


def text_of(cell):
    """All text a cell printed (stdout, stderr, errors)."""
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o["text"])
        elif o.get("output_type") == "error":
            out.append("\n".join(o["traceback"]))
            out.append(f"{o['ename']}: {o['evalue']}")
        elif "data" in o and "text/plain" in o["data"]:
            out.append(o["data"]["text/plain"])
    return "".join(out)


def execute_example(name, tmp_path, monkeypatch):
    """Copy ``notebooks/<name>`` into ``tmp_path`` and execute it as JupyterLab would (its
    session pointing at the copy); return the executed notebook and the errors it showed."""
    src = Path(__file__).resolve().parents[2] / "notebooks" / name
    dest = tmp_path / name
    dest.write_bytes(src.read_bytes())
    monkeypatch.setenv("JPY_SESSION_NAME", str(dest))
    nb = execute(dest, timeout=300)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return nb, errors


@pytest.fixture
def session_notebook(monkeypatch, tmp_path):
    """Return a function making a notebook and pointing the kernel's session at it, as
    the Jupyter server does (JPY_SESSION_NAME holds the notebook's absolute path)."""

    def make(name, cells):
        path = tmp_path / name
        make_notebook(path, cells)
        monkeypatch.setenv("JPY_SESSION_NAME", str(path))
        return path

    return make
