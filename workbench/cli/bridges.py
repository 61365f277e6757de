"""``workbench import mlflow|tensorboard SOURCE`` and ``workbench export mlflow URI``.

``import`` and ``export`` are groups other commands join (``import bundle``,
``export -o FILE.wbz``): ``export`` runs without a subcommand, so an option on the group
itself can export a bundle.
"""

from __future__ import annotations

import click

from .base import cli


@cli.group("import")
def import_group() -> None:
    """Bring runs in from elsewhere: an MLflow store or server, TensorBoard logs.

    Importing the same source again adds nothing; runs that grew since are updated.
    """


@import_group.command("mlflow")
@click.argument("source")
@click.option(
    "-e",
    "--experiment",
    "experiments",
    multiple=True,
    help="Import only this MLflow experiment (repeatable; default: all).",
)
@click.pass_context
def import_mlflow_cmd(ctx: click.Context, source: str, experiments: tuple[str, ...]) -> None:
    """Copy runs from an MLflow store: SOURCE is sqlite:///path/to/mlflow.db, an mlruns
    folder, or an http(s):// MLflow server URL.

    Experiments, runs (keeping their ids), params, tags, status and times, full metric
    histories, datasets, artifacts, logged models, registered models and aliases.
    """
    from ..bridges import import_mlflow

    report = import_mlflow(source, list(experiments) or None, store=ctx.find_root().obj.get("store"))
    click.echo(str(report))


@import_group.command("tensorboard")
@click.argument("logdir", type=click.Path())
@click.option("-e", "--experiment", help="Workbench experiment of the runs (default: the folder's name).")
@click.pass_context
def import_tensorboard_cmd(ctx: click.Context, logdir: str, experiment: str | None) -> None:
    """Copy TensorBoard event files under LOGDIR: each folder of event files becomes a
    run, scalars become metric histories (steps, wall times), hparams become params.

    A corrupt or truncated event file is skipped with a warning naming it.
    """
    import warnings

    from ..bridges import import_tensorboard

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = import_tensorboard(logdir, experiment, store=ctx.find_root().obj.get("store"))
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    click.echo(str(report))


@cli.group("export", invoke_without_command=True)
@click.pass_context
def export_group(ctx: click.Context) -> None:
    """Send runs elsewhere: ``export mlflow URI`` copies them into an MLflow store or server."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@export_group.command("mlflow")
@click.argument("uri")
@click.option(
    "-e",
    "--experiment",
    "experiments",
    multiple=True,
    help="Export only this experiment (repeatable; default: all).",
)
@click.option("-f", "--filter", "filter_", help="Export only the runs this search filter finds.")
@click.pass_context
def export_mlflow_cmd(
    ctx: click.Context, uri: str, experiments: tuple[str, ...], filter_: str | None
) -> None:
    """Copy runs into an MLflow store: URI is sqlite:///path/to/mlflow.db, an mlruns
    folder, or an http(s):// MLflow server URL. Exporting again adds nothing."""
    from ..bridges import export_mlflow

    report = export_mlflow(
        uri, experiments=list(experiments) or None, filter=filter_, store=ctx.find_root().obj.get("store")
    )
    click.echo(str(report))
