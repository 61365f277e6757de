"""Notebook parameters: reading a notebook's parameters cell, checking and typing the
values a rerun or sweep is given, and expanding a sweep's grid."""

from __future__ import annotations

import ast
import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store import Store
from ..tracking import context
from .jobs import as_store, source_from_run

__all__ = [
    "check_params",
    "expand_grid",
    "load_yaml_params",
    "notebook_defaults",
    "notebook_parameters",
    "parse_sweep_args",
    "parse_value",
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


def notebook_defaults(nb: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters cell's names with their literal default values (None when the
    default is not a literal)."""
    out: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        if "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        try:
            tree = ast.parse(src)
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
                except ValueError:
                    out[node.targets[0].id] = None
    for name in context.parameter_names(dict(nb)):
        out.setdefault(name, None)
    return out


def check_params(nb: Mapping[str, Any], params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate ``params`` against the notebook's parameters cell; returns them as a dict.

    Raises
    ------
    InvalidInputError
        A name the parameters cell does not define (listing the accepted names), a value
        of an unsupported type, or a non-numeric value for a numeric parameter.
    """
    if not isinstance(params, Mapping):
        raise InvalidInputError(f"parameters must be a mapping of name -> value, got {type(params).__name__}")
    defaults = notebook_defaults(nb)
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
    """A recorded (string) parameter value, typed back for injection."""
    if isinstance(default, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def parse_sweep_args(tokens: Sequence[str]) -> dict[str, Any]:
    """Parse ``-p NAME V1 V2 ... [-p ...] [--jobs N] [--order-by M] [--combos YAML]
    [--kernel K]`` (the shape ``workbench sweep`` and ``%wb sweep`` take).

    Values are typed as papermill's ``-p`` types them; a value may be negative
    (``-p lr -0.5``), since only the known option names end a value list.

    Returns
    -------
    dict
        ``grid``, ``jobs``, ``order_by``, ``combos`` (path or None), ``kernel``.
    """
    options = {
        "-j": "jobs",
        "--jobs": "jobs",
        "-o": "order_by",
        "--order-by": "order_by",
        "--combos": "combos",
        "-y": "combos",
        "--kernel": "kernel",
    }
    starts = {"-p", "--param", *options}
    out: dict[str, Any] = {"grid": {}, "jobs": 1, "order_by": None, "combos": None, "kernel": None}
    i = 0
    toks = list(tokens)
    while i < len(toks):
        tok = toks[i]
        if tok in ("-p", "--param"):
            if i + 1 >= len(toks) or toks[i + 1] in starts:
                raise InvalidInputError(
                    f"{tok} needs a parameter name and at least one value: -p alpha 0.1 1.0"
                )
            name = toks[i + 1]
            j = i + 2
            values = []
            while j < len(toks) and toks[j] not in starts:
                values.append(parse_value(toks[j]))
                j += 1
            if not values:
                raise InvalidInputError(f"-p {name} needs at least one value: -p {name} V1 V2 ...")
            out["grid"].setdefault(name, []).extend(values)
            i = j
        elif tok in options:
            if i + 1 >= len(toks):
                raise InvalidInputError(f"{tok} needs a value")
            key, raw = options[tok], toks[i + 1]
            if key == "jobs":
                if not raw.isdigit() or int(raw) < 1:
                    raise InvalidInputError(f"--jobs takes a positive whole number, got {raw!r}")
                out["jobs"] = int(raw)
            else:
                out[key] = raw
            i += 2
        else:
            raise InvalidInputError(
                f"unexpected {tok!r}; accepted: -p NAME V1 V2 ..., --jobs N, --order-by 'metrics.x ASC', "
                "--combos FILE.yaml, --kernel NAME"
            )
    return out


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
    cell of its snapshot), e.g. to prefill a rerun form.

    Raises
    ------
    InvalidInputError
        The run has no notebook snapshot.
    """
    src = source_from_run(as_store(store), run_id)
    return notebook_defaults(src.nb)
