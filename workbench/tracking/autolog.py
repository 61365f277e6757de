"""scikit-learn autologging inside ``%%track``: a fitted estimator records its parameters.

Each estimator class's own ``fit`` is wrapped once; the wrapper does nothing unless a
tracked cell has switched autologging on, and records only the outermost ``fit`` (a
pipeline's, not those of its steps, whose parameters it already reports).
"""

from __future__ import annotations

import ast
import functools
import importlib
import sys
import threading
from typing import Any

from ..errors import InvalidInputError
from .context import param_value

_run: Any = None
_local = threading.local()
_patched: set[type] = set()


def enable(run: Any, cell_source: str) -> None:
    """Record estimator parameters into ``run`` until :func:`disable`.

    The sklearn modules the cell imports are imported first, so estimators the cell
    itself imports are covered too.
    """
    global _run
    _preimport_sklearn(cell_source)
    if "sklearn" not in sys.modules:
        return
    _patch_loaded_estimators()
    _run = run


def disable() -> None:
    """Stop recording (the wrappers stay, costing one attribute check per fit)."""
    global _run
    _run = None


def _preimport_sklearn(source: str) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
        for m in modules:
            if m == "sklearn" or m.startswith("sklearn."):
                try:
                    importlib.import_module(m)
                except Exception:  # noqa: BLE001 - the cell will report its own import error
                    pass


def _patch_loaded_estimators() -> None:
    from sklearn.base import BaseEstimator

    todo = [BaseEstimator]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls not in _patched and "fit" in cls.__dict__:
            _wrap(cls)
        _patched.add(cls)


def _wrap(cls: type) -> None:
    fit = cls.__dict__["fit"]

    @functools.wraps(fit)
    def fit_and_record(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = _run
        if run is None or getattr(_local, "depth", 0):
            return fit(self, *args, **kwargs)
        _record(run, self)
        _local.depth = 1
        try:
            return fit(self, *args, **kwargs)
        finally:
            _local.depth = 0

    cls.fit = fit_and_record  # type: ignore[attr-defined]


def _record(run: Any, estimator: Any) -> None:
    name = type(estimator).__name__
    try:
        params = estimator.get_params(deep=True)
    except Exception:  # noqa: BLE001 - a broken get_params must not break the fit
        return
    for key, value in params.items():
        if hasattr(value, "get_params"):
            value = type(value).__name__  # a nested estimator: its params follow as key__param
        try:
            run.log_param(f"{name}.{key}", param_value(value))
        except InvalidInputError:
            # The same estimator class fitted again with other values in one cell:
            # the first fit's values stay (params cannot change within a run).
            pass
