"""The ``workbench`` command line: list, show, compare, delete and restore runs, run the demo."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from .errors import WorkbenchError
from .formatting import compare_table, format_run, runs_table

_FORMATS = click.Choice(["table", "csv", "json"], case_sensitive=False)


class _Group(click.Group):
    """Turns every WorkbenchError into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbenchError as e:
            raise click.ClickException(str(e)) from None


def _store(ctx: click.Context) -> Any:
    from .store import get_store

    return get_store(ctx.obj.get("store"))


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


@cli.command("runs")
@click.option(
    "-f",
    "--filter",
    "filter_",
    help="MLflow search syntax, plus OR and parentheses, "
    "e.g. \"metrics.rmse < 55 and params.model = 'ridge'\".",
)
@click.option("-o", "--order-by", multiple=True, help="E.g. 'metrics.rmse ASC' (repeatable).")
@click.option("-e", "--experiment", help="Only runs of this experiment.")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.option("-n", "--limit", type=click.IntRange(min=0), help="At most this many runs.")
@click.option("--deleted", is_flag=True, help="Include soft-deleted runs.")
@click.pass_context
def runs_cmd(
    ctx: click.Context,
    filter_: str | None,
    order_by: Sequence[str],
    experiment: str | None,
    fmt: str,
    limit: int | None,
    deleted: bool,
) -> None:
    """List runs, newest first (or as --order-by says)."""
    store = _store(ctx)
    df = store.search_runs(filter_, list(order_by) or None, experiment, deleted, limit)
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(df.to_json(orient="records", date_format="iso", indent=2))
    elif df.empty:
        click.echo("no runs" + (" match" if filter_ or experiment else " yet"))
    else:
        click.echo(runs_table(df))


@cli.command("show")
@click.argument("run")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def show_cmd(ctx: click.Context, run: str, fmt: str) -> None:
    """Show everything recorded about RUN (an id or unique prefix)."""
    rec = _store(ctx).get_run(run)
    if fmt == "json":
        click.echo(json.dumps(rec.to_dict(), indent=2, default=str))
        return
    click.echo(format_run(rec))


@cli.command("compare")
@click.argument("runs", nargs=-1, required=True)
@click.option("--all", "show_all", is_flag=True, help="Show every parameter, not only those that differ.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def compare_cmd(ctx: click.Context, runs: Sequence[str], show_all: bool, fmt: str) -> None:
    """Compare RUNS side by side: parameters that differ (marked *) and final metrics."""
    from .comparison import compare_records

    store = _store(ctx)
    records = [store.get_run(r) for r in runs]
    result = compare_records(records)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
        return
    click.echo(compare_table(result, show_all))


@cli.command("delete")
@click.argument("run")
@click.pass_context
def delete_cmd(ctx: click.Context, run: str) -> None:
    """Soft-delete RUN: hidden from listings, kept whole (undo with `restore`)."""
    store = _store(ctx)
    full = store.resolve_run_id(run)
    store.set_deleted(full, True)
    click.echo(f"deleted {full} (restore with: workbench restore {full[:8]})")


@cli.command("restore")
@click.argument("run")
@click.pass_context
def restore_cmd(ctx: click.Context, run: str) -> None:
    """Restore a soft-deleted RUN."""
    store = _store(ctx)
    full = store.resolve_run_id(run)
    store.set_deleted(full, False)
    click.echo(f"restored {full}")


@cli.command("experiments")
@click.pass_context
def experiments_cmd(ctx: click.Context) -> None:
    """List experiments with their run counts."""
    exps = _store(ctx).experiments()
    if not exps:
        click.echo("no experiments yet")
    for e in exps:
        click.echo(f"{e['name']:<30} {e['runs']:>6} runs")


@cli.command("demo")
@click.option("--experiment", default="diabetes-demo", show_default=True, help="Experiment to record into.")
@click.option(
    "--n-estimators",
    type=click.IntRange(min=1),
    default=150,
    show_default=True,
    help="Boosting stages per run (length of each metric curve).",
)
@click.pass_context
def demo_cmd(ctx: click.Context, experiment: str, n_estimators: int) -> None:
    """Record a real scikit-learn sweep on the diabetes data, then compare its runs."""
    from . import tracking
    from .demo import run_demo_sweep

    if ctx.obj.get("store"):
        tracking.set_store(ctx.obj["store"])
    store = tracking.current_store()
    click.echo(f"recording a gradient-boosting sweep on the diabetes data into {store.directory}")
    with click.progressbar(length=8, label="sweep", file=sys.stderr) as bar:
        ids = run_demo_sweep(experiment, n_estimators, progress=lambda done, total, name: bar.update(1))
    df = store.search_runs(f"attributes.run_id IN ({', '.join(repr(i) for i in ids)})", ["metrics.rmse ASC"])
    click.echo(runs_table(df))
    from .comparison import compare_records

    best, worst = df["run_id"].iloc[0], df["run_id"].iloc[-1]
    click.echo(
        "\nbest vs worst:\n"
        + compare_table(compare_records([store.get_run(best), store.get_run(worst)]), False)
    )
    click.echo(f"\nnext: workbench runs -e {experiment} --order-by 'metrics.rmse ASC'")


def main() -> None:
    """Entry point of the ``workbench`` console script."""
    cli(obj={})


if __name__ == "__main__":
    main()
