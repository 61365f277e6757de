"""Where the store lives: ``resolve_store`` applies the one rule everyone shares."""

from __future__ import annotations

import os
from pathlib import Path

from .env import WORKBENCH_STORE

STORE_DIRNAME = ".workbench"
DB_FILENAME = "workbench.duckdb"


def resolve_store(path: str | os.PathLike[str] | None = None, start: str | None = None) -> Path:
    """Return the store directory to use.

    The order is: the explicit ``path`` argument, then ``$WORKBENCH_STORE``, then the
    nearest ``.workbench/`` found walking up from ``start`` (default: the working
    directory), like git finds ``.git``; failing all, ``<start>/.workbench``.

    Parameters
    ----------
    path
        A store directory, or a ``*.duckdb`` file inside one.
    start
        Directory the walk-up search begins in.

    Returns
    -------
    Path
        An absolute directory path (it may not exist yet).
    """
    chosen = path if path is not None else os.environ.get(WORKBENCH_STORE) or None
    if chosen is not None:
        p = Path(chosen).expanduser()
        if p.suffix == ".duckdb":
            p = p.parent
        return p.absolute()
    here = Path(start or os.getcwd()).absolute()
    for d in (here, *here.parents):
        if (d / STORE_DIRNAME).is_dir():
            return d / STORE_DIRNAME
    return here / STORE_DIRNAME
