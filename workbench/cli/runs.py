"""Browsing runs: list, show, compare, delete, restore, experiments."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from ..formatting import compare_table, format_run, runs_rows_table
from .base import FORMATS, cli, in_notebook, store_of


@cli.command("runs")
@click.argument("filter_words", nargs=-1, metavar="[FILTER]")
@click.option(
    "-f",
    "--filter",
    "filter_",
    help="MLflow search syntax, plus OR and parentheses, "
    "e.g. \"metrics.rmse < 55 and params.model = 'ridge'\".",
)
@click.option("-o", "--order-by", multiple=True, help="E.g. 'metrics.rmse ASC' (repeatable).")
@click.option("-e", "--experiment", help="Only runs of this experiment.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("-n", "--limit", type=click.IntRange(min=0), help="At most this many runs.")
@click.option("--deleted", is_flag=True, help="Include soft-deleted runs.")
@click.option(
    "--wide",
    is_flag=True,
    help="Table: also show autologged estimator params (Ridge.alpha...) and system metrics.",
)
@click.pass_context
def runs_cmd(
    ctx: click.Context,
    filter_words: Sequence[str],
    filter_: str | None,
    order_by: Sequence[str],
    experiment: str | None,
    fmt: str,
    limit: int | None,
    deleted: bool,
    wide: bool,
) -> object:
    """List runs, newest first (or as --order-by says).

    FILTER (or -f) uses MLflow's search syntax plus OR and parentheses, e.g.
    ``workbench runs "metrics.rmse < 55 and params.model = 'ridge'" -o "metrics.rmse ASC"``.
    In a notebook, ``%wb runs FILTER`` shows an interactive table (filter box, sortable
    columns, Compare).
    """
    from ..api import runs

    if filter_words and filter_:
        raise click.UsageError("give the filter once: as FILTER or as -f/--filter, not both")
    filter_ = filter_ or " ".join(filter_words) or None
    if fmt == "csv" and not in_notebook(ctx):
        _echo_csv(filter_, list(order_by) or None, experiment, deleted, limit, store_of(ctx))
        return None
    if fmt == "table" and not in_notebook(ctx):
        _echo_table(filter_, list(order_by) or None, experiment, deleted, limit, wide, store_of(ctx))
        return None
    df = runs(
        filter_, list(order_by) or None, experiment, include_deleted=deleted, limit=limit, store=store_of(ctx)
    )
    if in_notebook(ctx) and fmt == "table":
        # The search above has checked the filter: a bad one is an error, not an empty table.
        try:
            from ..widgets import runs_widget
        except ImportError:  # no ipywidgets: the DataFrame shows as a table
            return df
        return runs_widget(filter_, list(order_by) or None, experiment, store=store_of(ctx))
    # The text table was printed above: what is left is CSV in a notebook, or JSON.
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    else:
        click.echo(df.to_json(orient="records", date_format="iso", indent=2))


def _echo_table(
    filter_: str | None,
    order_by: list[str] | None,
    experiment: str | None,
    deleted: bool,
    limit: int | None,
    wide: bool,
    store: object,
) -> None:
    """The runs as a text table, read as plain rows and formatted without pandas: the
    same text as ``runs_table`` of the DataFrame, in a fraction of the time for a few
    runs (``workbench runs -n 20`` no longer imports pandas)."""
    from ..api import runs_rows

    names, rows = runs_rows(filter_, order_by, experiment, include_deleted=deleted, limit=limit, store=store)
    if not rows:
        click.echo("no runs" + (" match" if filter_ or experiment else " yet"))
    else:
        click.echo(runs_rows_table(names, rows, wide))


def _echo_csv(
    filter_: str | None,
    order_by: list[str] | None,
    experiment: str | None,
    deleted: bool,
    limit: int | None,
    store: object,
) -> None:
    """The runs as CSV, written batch by batch as the store gives them: the memory
    stays flat however many runs there are (a whole DataFrame of 100k runs took
    hundreds of MB)."""
    import contextlib

    from ..api import iter_runs

    batches = iter_runs(filter_, order_by, experiment, include_deleted=deleted, limit=limit, store=store)
    with contextlib.closing(batches):
        for i, df in enumerate(batches):
            click.echo(df.to_csv(index=False, header=i == 0), nl=False)


@cli.command("show")
@click.argument("run", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def show_cmd(ctx: click.Context, run: str | None, fmt: str) -> None:
    """Show everything recorded about RUN (an id or unique prefix)."""
    from ..api import get_run

    if not run:
        raise click.UsageError("give exactly one run id (or unique prefix), e.g. show 3f2a")

    rec = get_run(run, store=store_of(ctx))
    if fmt == "json":
        click.echo(json.dumps(rec.to_dict(), indent=2, default=str))
        return
    click.echo(format_run(rec))


@cli.command("compare")
@click.argument("runs", nargs=-1, required=True)
@click.option("--all", "show_all", is_flag=True, help="Show every parameter, not only those that differ.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def compare_cmd(ctx: click.Context, runs: Sequence[str], show_all: bool, fmt: str) -> object:
    """Compare RUNS side by side: parameters that differ (marked *), final metrics, and
    the datasets they read (content hashes, and profile drift when they differ).
    In a notebook, ``%wb compare RUN RUN ...`` shows the comparison with its charts."""
    from ..comparison import compare_records, dataset_diff

    if in_notebook(ctx) and fmt == "table":
        from ..widgets import compare

        return compare(list(runs), store=store_of(ctx))

    store = store_of(ctx)
    records = [store.get_run(r) for r in runs]
    result = compare_records(records)
    result["datasets"] = dataset_diff(store, [r.run_id for r in records])
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
        return
    click.echo(compare_table(result, show_all))


@cli.command("delete")
@click.argument("run")
@click.pass_context
def delete_cmd(ctx: click.Context, run: str) -> None:
    """Soft-delete RUN: hidden from listings, kept whole (undo with `restore`)."""
    from ..api import delete_run

    full = delete_run(run, store=store_of(ctx))
    click.echo(f"deleted {full} (restore with: workbench restore {full[:8]})")


@cli.command("restore")
@click.argument("run")
@click.pass_context
def restore_cmd(ctx: click.Context, run: str) -> None:
    """Restore a soft-deleted RUN."""
    from ..api import restore_run

    full = restore_run(run, store=store_of(ctx))
    click.echo(f"restored {full}")


@cli.command("experiments")
@click.pass_context
def experiments_cmd(ctx: click.Context) -> None:
    """List experiments with their run counts."""
    from ..api import experiments

    exps = experiments(store=store_of(ctx))
    if not exps:
        click.echo("no experiments yet")
    for e in exps:
        click.echo(f"{e['name']:<30} {e['runs']:>6} runs")
