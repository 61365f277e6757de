"""The ``workbench`` command line: list, show, compare, delete and restore runs, run the demo."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from .errors import WorkbenchError

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
        click.echo(_runs_table(df))


def _runs_table(df: Any) -> str:
    out = df.copy()
    out.insert(0, "id", out["run_id"].str[:8])
    out["start"] = out["start_time"].dt.tz_convert(None).dt.strftime("%Y-%m-%d %H:%M:%S")
    dur = (out["end_time"] - out["start_time"]).dt.total_seconds()
    out["duration"] = dur.map(lambda s: "" if s != s else f"{s:.1f}s")
    cols = ["id", "run_name", "experiment", "status", "start", "duration"]
    cols += [c for c in out.columns if c.startswith("metrics.")]
    cols += [c for c in out.columns if c.startswith("params.")]
    table = out[cols].rename(columns=lambda c: c.split(".", 1)[1] if "." in c else c)
    return table.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")


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
    from datetime import datetime, timezone

    def ts(ms: int | None) -> str:
        return (
            "-"
            if ms is None
            else datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        )

    lines = [
        f"run        {rec.run_id}",
        f"name       {rec.run_name}",
        f"experiment {rec.experiment}",
        f"status     {rec.status}" + (" (deleted)" if rec.deleted else ""),
        f"started    {ts(rec.start_time)}",
        f"ended      {ts(rec.end_time)}" + ("" if rec.duration_s is None else f"  ({rec.duration_s:.1f} s)"),
        f"source     {rec.source}",
    ]
    if rec.parent_run_id:
        lines.append(f"parent     {rec.parent_run_id}")
    if rec.children:
        lines.append(f"reruns     {', '.join(rec.children)}")
    for title, mapping in (("params", rec.params), ("metrics", rec.metrics), ("tags", rec.tags)):
        lines.append(f"\n{title}:" + ("" if mapping else " none"))
        width = max((len(k) for k in mapping), default=0)
        lines += [f"  {k:<{width}}  {_fmt(v)}" for k, v in mapping.items()]
    if rec.artifacts:
        lines.append("\nartifacts:")
        lines += [
            f"  {a['kind']:<8} {a['path']}  sha256:{a['sha256'][:12]}  {a['size']} B" for a in rec.artifacts
        ]
    context = {k: v for k, v in rec.context.items() if v not in (None, "")}
    if context:
        lines.append("\ncontext:")
        lines += [
            f"  {k:<13} {str(v).splitlines()[0] if v else v}"
            for k, v in context.items()
            if k != "cell_source"
        ]
    if rec.error:
        lines.append("\nerror:\n  " + "\n  ".join(rec.error.strip().splitlines()[-6:]))
    click.echo("\n".join(lines))


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


@cli.command("compare")
@click.argument("runs", nargs=-1, required=True)
@click.option("--all", "show_all", is_flag=True, help="Show every parameter, not only those that differ.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def compare_cmd(ctx: click.Context, runs: Sequence[str], show_all: bool, fmt: str) -> None:
    """Compare RUNS side by side: parameters that differ (marked *) and final metrics."""
    from .compare import compare_records

    store = _store(ctx)
    records = [store.get_run(r) for r in runs]
    result = compare_records(records)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
        return
    click.echo(_compare_table(result, show_all))


def _compare_table(result: dict[str, Any], show_all: bool) -> str:
    heads = [f"{r['run_name']} ({r['run_id'][:8]})" for r in result["runs"]]
    rows: list[list[str]] = []
    for name, values in result["params"].items():
        differs = name in result["differing_params"]
        if differs or show_all:
            rows.append([("* " if differs else "  ") + f"params.{name}", *[_cell(v) for v in values]])
    if not rows:
        rows.append(["  (parameters identical)", *["" for _ in heads]])
    for name, values in result["metrics"].items():
        best = result["best"].get(name)
        rows.append(
            [f"  metrics.{name}", *[_cell(v) + (" <" if i == best else "") for i, v in enumerate(values)]]
        )
    widths = [max(len(x) for x in col) for col in zip(["", *heads], *rows)]
    fmt_row = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    out = [fmt_row(["", *heads]), fmt_row(["-" * w for w in widths])]
    out += [fmt_row(r) for r in rows]
    out.append("\n* differs between runs; < best value (lowest, or highest for r2/accuracy/auc-like names)")
    return "\n".join(out)


def _cell(v: Any) -> str:
    return "-" if v is None else _fmt(v)


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
    click.echo(_runs_table(df))
    from .compare import compare_records

    best, worst = df["run_id"].iloc[0], df["run_id"].iloc[-1]
    click.echo(
        "\nbest vs worst:\n"
        + _compare_table(compare_records([store.get_run(best), store.get_run(worst)]), False)
    )
    click.echo(f"\nnext: workbench runs -e {experiment} --order-by 'metrics.rmse ASC'")


def main() -> None:
    """Entry point of the ``workbench`` console script."""
    cli(obj={})


if __name__ == "__main__":
    main()
