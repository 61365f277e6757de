"""``workbench export -o FILE.wbz`` and ``workbench import bundle FILE``: runs moved between
stores as one file (see :mod:`workbench.bridges.bundle`).

Both join the ``export`` and ``import`` groups of :mod:`.bridges`. ``export`` runs without
a subcommand, so the bundle's options are added to the group itself; its own subcommands
(``export mlflow URI``) are unchanged.
"""

from __future__ import annotations

from typing import Any

import click

from .base import in_notebook
from .bridges import export_group, import_group


@import_group.command("bundle")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def import_bundle_cmd(ctx: click.Context, file: str) -> object:
    """Merge the runs of a bundle FILE (written by `workbench export -o`) into this store.

    Every member is checked against the bundle's manifest (sha256) before anything is
    written: a truncated, damaged or edited bundle is refused whole, and so is one from a
    newer Workbench. Runs are merged by id: new runs are added, known ones gain the points
    and files they lack. Importing the same bundle again changes nothing. Values that
    differ from this store's are kept as they are here and listed as conflicts.
    """
    from ..bridges.bundle import import_runs

    report = import_runs(file, store=ctx.find_root().obj.get("store"))
    click.echo(str(report))
    return report if in_notebook(ctx) else None


_OPTIONS = [
    click.Option(
        ["-o", "--output"],
        type=click.Path(dir_okay=False),
        help="Write a bundle: one .wbz file with the runs' rows, metric histories, notebook snapshots, "
        "artifacts and models, for `workbench import bundle`.",
    ),
    click.Option(["-f", "--filter", "filter_"], help="With -o: only the runs this search filter finds."),
    click.Option(
        ["-e", "--experiment", "experiments"],
        multiple=True,
        help="With -o: only runs of this experiment (repeatable).",
    ),
]


def _export_bundle(ctx: click.Context, output: str, filter_: str | None, experiments: tuple[str, ...]) -> Any:
    from ..bridges.bundle import export_runs

    report = export_runs(
        output,
        filter_,
        list(experiments) or None,
        store=ctx.find_root().obj.get("store"),
    )
    click.echo(str(report))
    return report


def _install() -> None:
    """Add ``-o/-f/-e`` to the ``export`` group: with ``-o`` and no subcommand it writes
    a bundle; otherwise the group does what it did."""
    previous = export_group.callback
    export_group.params.extend(_OPTIONS)

    @click.pass_context
    def callback(
        ctx: click.Context,
        output: str | None = None,
        filter_: str | None = None,
        experiments: tuple[str, ...] = (),
    ) -> Any:
        if ctx.invoked_subcommand is not None:
            if output or filter_ or experiments:
                raise click.UsageError(
                    f"-o/-f/-e write a bundle and go without a subcommand; for `export {ctx.invoked_subcommand}` "
                    "give its own options after it"
                )
            return None
        if output is None:
            if filter_ or experiments:
                raise click.UsageError("give -o FILE.wbz: the bundle to write")
            return ctx.invoke(previous) if previous is not None else click.echo(ctx.get_help())
        return _export_bundle(ctx, output, filter_, experiments)

    export_group.callback = callback
    export_group.help = (
        "Send runs elsewhere: `export -o FILE.wbz [-f FILTER] [-e EXPERIMENT]...` writes a bundle that "
        "`workbench import bundle` reads into another store; `export mlflow URI` copies runs into "
        "an MLflow store or server."
    )


_install()
