"""Notebook parameters: reading a notebook's parameters cell, checking and typing the
values a rerun or sweep is given, and expanding a sweep's grid."""

from __future__ import annotations

import ast
import itertools
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store import RunRecord, Store
from ..tracking import context
from .jobs import as_store, source_from_run

__all__ = [
    "Parameter",
    "ParametersCellError",
    "check_params",
    "expand_grid",
    "load_yaml_params",
    "notebook_defaults",
    "notebook_parameters",
    "parse_sweep_args",
    "parse_value",
    "read_parameters",
    "recorded_values",
    "run_parameters",
    "typed_value",
]


def parse_value(text: str) -> Any:
    """Type a command-line parameter value as papermill's ``-p`` does: ``True``/``False``,
    ``None``, integers and floats become those; anything else stays a string."""
    if text == "True":
        return True
    if text == "False":
        return False
    if text == "None":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def load_yaml_params(source: str | os.PathLike[str]) -> Any:
    """Parameters from a YAML file (a mapping, or for sweeps a list of mappings).

    Raises
    ------
    InvalidInputError
        The file is missing or is not valid YAML (the message names the line).
    """
    import yaml

    path = Path(source)
    try:
        text = path.read_text()
    except OSError as e:
        raise InvalidInputError(f"cannot read parameters file {str(path)!r}: {e.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        start = getattr(e, "context_mark", None)
        if start is not None and mark is not None and start.line != mark.line:
            where += f" (in what starts at line {start.line + 1})"
        problem = getattr(e, "problem", None) or str(e)
        raise InvalidInputError(f"{path.name} is not valid YAML{where}: {problem}") from None


_PLAIN = (str, int, float, bool, type(None))


def _check_value(name: str, value: Any) -> None:
    if isinstance(value, _PLAIN):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInputError(f"parameter {name!r} is {value}; give a finite number")
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_value(name, v)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidInputError(f"parameter {name!r}: dict keys must be strings, got {k!r}")
            _check_value(name, v)
        return
    raise InvalidInputError(
        f"parameter {name!r} is a {type(value).__name__}; parameters must be numbers, strings, "
        "booleans, None, or lists/dicts of those"
    )


@dataclass
class Parameter:
    """One name of a notebook's ``parameters`` cell."""

    name: str
    #: The default value when it is a literal, else None.
    default: Any
    #: Whether the default is a Python literal (``0.5``, ``'ridge'``, ``None``, ``[1, 2]``).
    literal: bool
    #: The default as written in the cell (``1e-3``, ``int(time.time())``); None when
    #: the name is assigned otherwise (``a, b = ...``, ``n += 1``).
    source: str | None

    @property
    def type(self) -> str:
        """The default's type name (``int``, ``float``, ``bool``, ``str``, ``None``,
        ``list``, ``dict``...), ``expression`` when the default is not a literal."""
        if not self.literal:
            return "expression"
        return "None" if self.default is None else type(self.default).__name__


class ParametersCellError(InvalidInputError):
    """The cell tagged ``parameters`` is not valid Python."""


def _cell_text(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _parse(text: str) -> ast.Module:
    """Parse a cell as IPython runs it (see :func:`workbench.tracking.context.parse_cell`)."""
    return context.parse_cell(text)


def read_parameters(nb: Mapping[str, Any]) -> tuple[dict[str, Parameter], ParametersCellError | None]:
    """The names of the notebook's ``parameters`` cell(s), in order, and the error of a
    parameters cell that does not parse (naming its line), if any."""
    out: dict[str, Parameter] = {}
    error: ParametersCellError | None = None
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type", "code") != "code" or "parameters" not in cell.get("metadata", {}).get(
            "tags", []
        ):
            continue
        text = _cell_text(cell)
        try:
            tree = _parse(text)
        except SyntaxError as e:
            if error is None:
                line = (e.text or "").strip()
                error = ParametersCellError(
                    f"the cell tagged 'parameters' (cell {index + 1}) does not parse: line {e.lineno}: "
                    f"{e.msg}" + (f": {line}" if line else "")
                )
            continue
        for node in tree.body:
            target, value = None, None
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                target, value = node.targets[0].id, node.value
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.value is not None
            ):
                target, value = node.target.id, node.value
            if target is None or value is None:
                # Assigned otherwise (a, b = ...; n += 1): a parameter without a default.
                targets = node.targets if isinstance(node, ast.Assign) else []
                if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                    targets = [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and n.id not in out:
                            out[n.id] = Parameter(n.id, None, False, None)
                continue
            source = ast.get_source_segment(text, value)
            try:
                out[target] = Parameter(target, ast.literal_eval(value), True, source)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                out[target] = Parameter(target, None, False, source)
    for name in context.parameter_names(dict(nb)):
        out.setdefault(name, Parameter(name, None, False, None))
    return out, error


def notebook_defaults(nb: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters cell's names with their literal default values (None when the
    default is not a literal)."""
    return {name: p.default for name, p in read_parameters(nb)[0].items()}


def check_params(nb: Mapping[str, Any], params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate ``params`` against the notebook's parameters cell; returns them as a dict.

    Raises
    ------
    InvalidInputError
        A parameters cell that does not parse (naming the line), a name the parameters
        cell does not define (listing the accepted names), a value of an unsupported
        type, or a non-numeric value for a numeric parameter.
    """
    if not isinstance(params, Mapping):
        raise InvalidInputError(f"parameters must be a mapping of name -> value, got {type(params).__name__}")
    declared, error = read_parameters(nb)
    if error is not None and params:
        raise ParametersCellError(f"{error} (in {where}); fix it to pass parameters")
    defaults = {name: p.default for name, p in declared.items()}
    unknown = [k for k in params if k not in defaults]
    if unknown:
        if not defaults:
            raise InvalidInputError(
                f"{where} has no cell tagged 'parameters', so it takes no parameters (got {', '.join(unknown)})"
            )
        raise InvalidInputError(
            f"{where} has no parameter {', '.join(repr(u) for u in unknown)}; "
            f"its parameters cell defines: {', '.join(defaults)}"
        )
    for name, value in params.items():
        _check_value(name, value)
        default = defaults.get(name)
        is_num = isinstance(default, (int, float)) and not isinstance(default, bool)
        if is_num and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            raise InvalidInputError(
                f"parameter {name!r} is a number in {where} (default {default!r}); got {value!r}"
            )
    return dict(params)


def typed_value(value: str, default: Any) -> Any:
    """A recorded parameter value (runs record ``str(value)``) typed back for injection,
    by the type of the notebook's default.

    A ``str`` default keeps the text as it is (``"42"`` stays a string); the text of the
    default itself gives the default (its exact type); anything else is read as a
    Python literal (numbers, ``True``/``False``, ``None``, lists, dicts), as papermill
    types values, and stays text when it is not one.
    """
    if isinstance(default, str):
        return value
    if default is not None and context.param_value(default) == value:
        return default
    try:
        typed = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return value
    if isinstance(typed, float) and not math.isfinite(typed):
        return value
    return typed


def _injected_values(rec: RunRecord) -> dict[str, Any]:
    """The values papermill injected into the job that recorded ``rec`` (its stored
    output notebook's ``injected-parameters`` cell), exactly typed; {} if none."""
    for art in rec.artifacts:
        if art.get("kind") != "notebook" or art.get("direction") != "output" or not art.get("stored_path"):
            continue
        try:
            nb = json.loads(Path(art["stored_path"]).read_bytes())
        except (OSError, ValueError):
            continue
        out: dict[str, Any] = {}
        for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
            if "injected-parameters" not in cell.get("metadata", {}).get("tags", []):
                continue
            try:
                tree = ast.parse(_cell_text(cell))
            except SyntaxError:
                continue
            for node in tree.body:
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                ):
                    try:
                        out[node.targets[0].id] = ast.literal_eval(node.value)
                    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                        pass
        return out
    return {}


def recorded_values(nb: Mapping[str, Any], rec: RunRecord) -> dict[str, Any]:
    """The parameters ``rec`` ran with, typed back, for names of the notebook's
    parameters cell: what a rerun of it injects unless told otherwise.

    A value papermill injected (a rerun's or sweep's run) is taken exactly from the
    stored output notebook when it is the value the run recorded; otherwise the
    recorded text is typed by the default's type (:func:`typed_value`). A parameter
    whose default is an expression (``seed = int(time.time())``, ``model = Ridge()``)
    keeps its expression unless the run recorded a number, boolean, None, list or
    dict for it, since text recorded for it may be an object's ``repr``.
    """
    declared, _ = read_parameters(nb)
    injected = _injected_values(rec)
    out: dict[str, Any] = {}
    for name, p in declared.items():
        if name not in rec.params:
            continue
        text = rec.params[name]
        if name in injected and context.param_value(injected[name]) == text:
            value = injected[name]
        elif p.literal:
            value = typed_value(text, p.default)
        else:
            value = typed_value(text, None)
            if isinstance(value, str):
                continue
        # papermill injects only JSON-like values as themselves (a tuple would arrive
        # as its text): others stay with the notebook's own line.
        if _papermill_typed(value):
            out[name] = value
    return out


def _papermill_typed(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool, type(None))):
        return True
    if isinstance(value, list):
        return all(_papermill_typed(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _papermill_typed(v) for k, v in value.items())
    return False


def parse_sweep_args(tokens: Sequence[str]) -> dict[str, Any]:
    """Parse ``-p NAME V1 V2 ... [-p ...] [--jobs N] [--order-by M] [--combos YAML]
    [--kernel K] [--scheduler ADDRESS] [--upload] [--upload-limit MB]`` (the shape
    ``workbench sweep`` and ``%wb sweep`` take).

    Values are typed as papermill's ``-p`` types them; a value may be negative
    (``-p lr -0.5``), since only the known option names end a value list.

    Returns
    -------
    dict
        ``grid``, ``jobs``, ``order_by``, ``combos`` (path or None), ``kernel``,
        ``scheduler`` (a Dask scheduler address or None), ``upload`` (bool) and
        ``upload_limit`` (bytes or None).
    """
    out: dict[str, Any] = {
        "grid": {},
        "jobs": 1,
        "order_by": None,
        "combos": None,
        "kernel": None,
        "scheduler": None,
        "upload": False,
        "upload_limit": None,
    }
    i = 0
    toks = list(tokens)
    while i < len(toks):
        tok = toks[i]
        if tok in ("-p", "--param"):
            i = _parse_param(toks, i, out["grid"])
        elif tok in _SWEEP_OPTIONS:
            if i + 1 >= len(toks):
                raise InvalidInputError(f"{tok} needs a value")
            key = _SWEEP_OPTIONS[tok]
            out[key] = _option_value(key, toks[i + 1])
            i += 2
        elif tok in _SWEEP_FLAGS:
            out[_SWEEP_FLAGS[tok]] = True
            i += 1
        else:
            raise InvalidInputError(
                f"unexpected {tok!r}; accepted: -p NAME V1 V2 ..., --jobs N, --order-by 'metrics.x ASC', "
                "--combos FILE.yaml, --kernel NAME, --scheduler ADDRESS, --upload, --upload-limit MB"
            )
    if (out["upload"] or out["upload_limit"]) and not out["scheduler"]:
        raise InvalidInputError(
            "--upload ships the notebook's folder to a Dask cluster: give --scheduler ADDRESS too"
        )
    return out


_SWEEP_OPTIONS = {
    "-j": "jobs",
    "--jobs": "jobs",
    "-o": "order_by",
    "--order-by": "order_by",
    "--combos": "combos",
    "-y": "combos",
    "--kernel": "kernel",
    "--scheduler": "scheduler",
    "--upload-limit": "upload_limit",
}
_SWEEP_FLAGS = {"--upload": "upload"}
# Only these end a -p value list, so a negative value (-p lr -0.5) is a value.
_SWEEP_STARTS = {"-p", "--param", *_SWEEP_OPTIONS, *_SWEEP_FLAGS}


def _parse_param(toks: list[str], i: int, grid: dict[str, list[Any]]) -> int:
    """Read ``-p NAME V1 V2 ...`` at ``toks[i]`` into ``grid``; the index after it."""
    tok = toks[i]
    if i + 1 >= len(toks) or toks[i + 1] in _SWEEP_STARTS:
        raise InvalidInputError(f"{tok} needs a parameter name and at least one value: -p alpha 0.1 1.0")
    name = toks[i + 1]
    j = i + 2
    values = []
    while j < len(toks) and toks[j] not in _SWEEP_STARTS:
        values.append(parse_value(toks[j]))
        j += 1
    if not values:
        raise InvalidInputError(f"-p {name} needs at least one value: -p {name} V1 V2 ...")
    grid.setdefault(name, []).extend(values)
    return j


def _option_value(key: str, raw: str) -> Any:
    """An option's value, checked: --jobs a positive integer, --upload-limit MB to bytes."""
    if key == "jobs":
        if not raw.isdigit() or int(raw) < 1:
            raise InvalidInputError(f"--jobs takes a positive whole number, got {raw!r}")
        return int(raw)
    if key == "upload_limit":
        try:
            mb = float(raw)
        except ValueError:
            mb = -1.0
        if not math.isfinite(mb) or mb <= 0:
            raise InvalidInputError(f"--upload-limit takes a size in MB, got {raw!r}")
        return int(mb * 1024 * 1024)
    return raw


def expand_grid(
    grid: Mapping[str, Sequence[Any]] | None, combos: Iterable[Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The cartesian product of ``grid`` followed by the explicit ``combos``."""
    out: list[dict[str, Any]] = []
    if grid:
        if not isinstance(grid, Mapping):
            raise InvalidInputError(
                f"grid must map parameter names to lists of values, got {type(grid).__name__}"
            )
        values = []
        for name, vals in grid.items():
            if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or not vals:
                raise InvalidInputError(f"grid[{name!r}] must be a non-empty list of values, got {vals!r}")
            values.append(list(vals))
        out.extend(dict(zip(grid, combo)) for combo in itertools.product(*values))
    for c in combos or []:
        if not isinstance(c, Mapping):
            raise InvalidInputError(f"each explicit combination must be a mapping, got {c!r}")
        out.append(dict(c))
    if not out:
        raise InvalidInputError("a sweep needs a grid (name -> list of values) or a list of combinations")
    return out


def notebook_parameters(
    run_id: str, *, store: str | os.PathLike[str] | Store | None = None
) -> dict[str, Any]:
    """The parameters a run's notebook takes, with their default values (the parameters
    cell of its snapshot).

    Raises
    ------
    InvalidInputError
        The run has no notebook snapshot.
    """
    src = source_from_run(as_store(store), run_id)
    return notebook_defaults(src.nb)


def run_parameters(
    run_id: str, *, store: str | os.PathLike[str] | Store | None = None
) -> list[dict[str, Any]]:
    """A run's parameters for a rerun form: one dict per name of its notebook's
    parameters cell, in order, with

    - ``value``: the run's own value (what a rerun injects unless changed), typed back;
      the default when the run did not record one,
    - ``default``: the notebook's default (None when it is not a literal),
    - ``default_source``: the default as written in the cell,
    - ``type``: the default's type name (``expression`` when not a literal),
    - ``recorded``: whether ``value`` is the run's (else the notebook's default applies).

    Raises
    ------
    InvalidInputError
        The run has no notebook snapshot, or its parameters cell does not parse (the
        error names the line).
    """
    src = source_from_run(as_store(store), run_id)
    assert src.run is not None
    declared, error = read_parameters(src.nb)
    if error is not None:
        raise ParametersCellError(f"{error} (in {src.label})")
    values = recorded_values(src.nb, src.run)
    return [
        {
            "name": name,
            "value": values.get(name, p.default),
            "default": p.default,
            "default_source": p.source,
            "type": p.type,
            "recorded": name in values,
        }
        for name, p in declared.items()
    ]
