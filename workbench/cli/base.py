"""The root ``workbench`` group, its one-line error handling and what commands share."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import WorkbenchError

FORMATS = click.Choice(["table", "csv", "json"], case_sensitive=False)


class _Group(click.Group):
    """Turns every error (bad usage, a WorkbenchError, an unusable store path) into one
    line on stderr and exit status 1, as the README promises; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbenchError as e:
            raise click.ClickException(str(e)) from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Run the command line; ``standalone_mode=False`` (``%wb``) lets errors through."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.UsageError as e:
            where = f" (see `{e.ctx.command_path} --help`)" if e.ctx else ""
            click.echo(f"Error: {_one_line(e.format_message())}{where}", err=True)
            sys.exit(1)
        except click.ClickException as e:
            click.echo(f"Error: {_one_line(e.format_message())}", err=True)
            sys.exit(e.exit_code)
        except OSError as e:
            # A store path that cannot be used: /dev/null, /proc/1, a symlink loop...
            click.echo(
                f"Error: the store cannot be used: {_one_line(str(e))}; --store (or $WORKBENCH_STORE) "
                "takes a writable directory",
                err=True,
            )
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def store_of(ctx: click.Context) -> Any:
    """The store the command line names (``--store``), else the current one."""
    from ..api import open_store

    return open_store(ctx.obj.get("store"))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    type=click.Path(file_okay=False),
    envvar="WORKBENCH_STORE",
    help="Store directory (default: the nearest .workbench/ walking up from here).",
)
@click.version_option(package_name="workbench", prog_name="workbench")
@click.pass_context
def cli(ctx: click.Context, store: str | None) -> None:
    """Workbench: experiment tracking for Jupyter, stored in a local DuckDB file.

    Run ids can be given by any unique prefix, as with git.
    """
    ctx.ensure_object(dict)
    ctx.obj["store"] = store


def in_notebook(ctx: click.Context) -> bool:
    """True when ``%wb`` runs the command: it then returns rich objects (widgets, the
    lineage graph, a card to display) instead of printing text."""
    return bool(ctx.find_root().obj.get("notebook"))
