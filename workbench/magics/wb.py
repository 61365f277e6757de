"""``%wb SUB ...``: the ``workbench SUB ...`` click commands, run inside the notebook.

One parser per command: ``%wb runs``, ``compare``, ``lineage``, ``card``, ``models``,
``rerun``, ``sweep``... are the CLI's own commands (their options, checks and help),
called with ``notebook=True`` so that they return widgets, graphs and cards to display
instead of printing text. The commands that only make sense in a kernel (``start``,
``log``, ``param``, ``tag``, ``end``) are click commands defined here.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import click
from IPython.core.error import UsageError

from .. import context, tracking
from ..cli import cli
from ..env import WORKBENCH_SOURCE
from ..errors import WorkbenchError

# The order `%wb help` and error messages list them in; the CLI's `demo` is not here.
ORDER = (
    "runs",
    "compare",
    "show",
    "start",
    "log",
    "param",
    "tag",
    "end",
    "rerun",
    "sweep",
    "tune",
    "reproduce",
    "lineage",
    "card",
    "models",
    "delete",
    "restore",
    "experiments",
)
# Commands whose arguments are a search filter: their quotes are the filter's own.
_KEEP_QUOTES = {"runs"}


def key_values(text: str, what: str) -> dict[str, str]:
    """Parse ``k=v,k2=v2`` (or space-separated) pairs."""
    out: dict[str, str] = {}
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.UsageError(f"expected key=value pairs, got {item!r}")
        out[key] = value
    return out


def _pairs(words: tuple[str, ...], what: str, example: str) -> dict[str, str]:
    pairs = key_values(" ".join(words), what)
    if not pairs:
        raise click.UsageError(f"give {what} as key=value, e.g. {example}")
    return pairs


@click.command("start")
@click.option("-n", "--name", help="Run name (default: a readable random name).")
@click.option("-e", "--experiment", help="Experiment (default: the notebook's name).")
@click.option("-t", "--tags", default="", help="Tags as key=value,key2=value2.")
@click.pass_context
def start_cmd(ctx: click.Context, name: str | None, experiment: str | None, tags: str) -> None:
    """Start a run that spans several cells; end it with ``%wb end``.

    Parameters of the notebook's ``parameters`` cell are recorded as with ``%%track``.
    """
    magics = ctx.find_root().obj["magics"]
    nb_path, nb_file, params = magics.notebook()
    run = tracking.start_run(
        name=name,
        experiment=experiment or (nb_path.stem if nb_path else None),
        params=params,
        tags=key_values(tags, "--tags"),
        source=os.environ.get(WORKBENCH_SOURCE) or "magic",
        context={
            "notebook_path": context.recorded_path(nb_path),
            "execution_count": magics.execution_count(),
        },
    )
    context.capture_in_background(run, nb_file, nb_path.parent if nb_path else Path.cwd())
    click.echo(
        f"workbench: started run {run.run_name} ({run.run_id[:8]}) in {run.experiment}; end it with %wb end"
    )


@click.command("log")
@click.argument("pairs", nargs=-1)
def log_cmd(pairs: tuple[str, ...]) -> None:
    """Log metrics to the active run: ``%wb log rmse=54.2 r2=0.41``."""
    values = {}
    for k, v in _pairs(pairs, "metrics", "%wb log rmse=54.2").items():
        try:
            values[k] = float(v)
        except ValueError:
            raise click.UsageError(f"{k}={v!r} is not a number; metrics must be numbers") from None
    tracking.log_metrics(values)


@click.command("param")
@click.argument("pairs", nargs=-1)
def param_cmd(pairs: tuple[str, ...]) -> None:
    """Log parameters to the active run: ``%wb param alpha=0.1 model=ridge``."""
    tracking.log_params(_pairs(pairs, "parameters", "%wb param alpha=0.1"))


@click.command("tag")
@click.argument("pairs", nargs=-1)
def tag_cmd(pairs: tuple[str, ...]) -> None:
    """Set tags on the active run: ``%wb tag team=vision``."""
    tracking.set_tags(_pairs(pairs, "tags", "%wb tag team=vision"))


@click.command("end")
@click.argument("status", type=click.Choice(["finished", "failed", "killed"]), default="finished")
def end_cmd(status: str) -> None:
    """End the active run: ``%wb end`` (finished), ``%wb end failed`` or ``%wb end killed``."""
    run = tracking.active_run()
    tracking.end_run(status)
    if run is not None:
        click.echo(f"workbench: ended run {run.run_name} ({run.run_id[:8]}): {run.status}")


def commands() -> dict[str, click.Command]:
    """Every ``%wb`` subcommand, in :data:`ORDER`."""
    own = {c.name: c for c in (start_cmd, log_cmd, param_cmd, tag_cmd, end_cmd)}
    return {name: own.get(name) or cli.commands[name] for name in ORDER}


NOTEBOOK = click.Group("%wb", commands=commands(), params=cli.params, callback=cli.callback)


def help_text(sub: str) -> str:
    """``%wb SUB``'s help, as click prints it for ``workbench SUB --help``."""
    cmd = commands()[sub]
    with click.Context(NOTEBOOK, info_name="%wb") as parent:
        ctx = click.Context(cmd, info_name=sub, parent=parent)
        return f"%wb {sub}: {cmd.get_help(ctx)}"


def split_line(sub: str, rest: str) -> list[str]:
    """Split a ``%wb`` line like a shell; a filter's own quotes are kept for ``runs``."""
    if sub not in _KEEP_QUOTES:
        return shlex.split(rest)
    lexer = shlex.shlex(rest, posix=False, punctuation_chars=False)
    lexer.whitespace_split = True
    tokens = list(lexer)
    options = {o for p in commands()[sub].params if isinstance(p, click.Option) for o in p.opts}
    flags = {o for p in commands()[sub].params if isinstance(p, click.Option) and p.is_flag for o in p.opts}
    argv, words, i = [], [], 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in options:
            argv.append(tok)
            if tok not in flags and i + 1 < len(tokens):
                argv.append(_unquote(tokens[i + 1]))
                i += 1
        elif tok in ("-h", "--help"):
            argv.append(tok)
        else:
            words.append(tok)
        i += 1
    # After "--" a word such as "-1" (in "metrics.x > -1") is filter text, not an option.
    return argv + (["--", *words] if words else [])


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1]
    return token


def run(magics: Any, sub: str, rest: str) -> Any:
    """Run ``%wb SUB REST`` through the click command; errors become one ``UsageError``."""
    if sub not in NOTEBOOK.commands:
        raise UsageError(f"%wb: unknown subcommand {sub!r}; accepted: {', '.join(ORDER)}, help")
    if rest.strip() in ("-h", "--help"):
        print(help_text(sub))
        return None
    try:
        args = split_line(sub, rest)
    except ValueError as e:  # shlex on an unbalanced quote
        raise UsageError(f"%wb {sub}: {e} in {rest!r}") from None
    store = str(tracking.current_store().directory)
    obj = {"notebook": True, "magics": magics}
    try:
        return NOTEBOOK.main(["--store", store, sub, *args], prog_name="%wb", standalone_mode=False, obj=obj)
    except click.BadParameter as e:
        hint = f"{e.param.opts[-1]} " if e.param is not None and getattr(e.param, "opts", None) else ""
        raise UsageError(f"%wb {sub}: {hint}{e.message}") from None
    except click.ClickException as e:
        raise UsageError(f"%wb {sub}: {' '.join(e.format_message().split())}") from None
    except click.exceptions.Exit:
        return None
    except WorkbenchError as e:
        raise UsageError(f"%wb {sub}: {e}") from None
