"""The ``workbench`` command line: runs, comparisons, reruns, lineage, the model registry,
model cards and the demo."""

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


def _store(ctx: click.Context) -> Any:
    from .api import open_store

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
@click.option("--wide", is_flag=True, help="Table: also show autologged estimator params (Ridge.alpha...).")
@click.pass_context
def runs_cmd(
    ctx: click.Context,
    filter_: str | None,
    order_by: Sequence[str],
    experiment: str | None,
    fmt: str,
    limit: int | None,
    deleted: bool,
    wide: bool,
) -> None:
    """List runs, newest first (or as --order-by says)."""
    from .api import runs

    df = runs(
        filter_, list(order_by) or None, experiment, include_deleted=deleted, limit=limit, store=_store(ctx)
    )
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(df.to_json(orient="records", date_format="iso", indent=2))
    elif df.empty:
        click.echo("no runs" + (" match" if filter_ or experiment else " yet"))
    else:
        click.echo(runs_table(df, wide))


@cli.command("show")
@click.argument("run")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def show_cmd(ctx: click.Context, run: str, fmt: str) -> None:
    """Show everything recorded about RUN (an id or unique prefix)."""
    from .api import get_run

    rec = get_run(run, store=_store(ctx))
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
    """Compare RUNS side by side: parameters that differ (marked *), final metrics, and
    the datasets they read (content hashes, and profile drift when they differ)."""
    from .comparison import compare_records, dataset_diff

    store = _store(ctx)
    records = [store.get_run(r) for r in runs]
    result = compare_records(records)
    result["datasets"] = dataset_diff(store, [r.run_id for r in records])
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
        return
    click.echo(compare_table(result, show_all))


def _rerun_params(params: Sequence[tuple[str, str]], yaml_file: str | None) -> dict[str, Any]:
    from .rerun import load_yaml_params, parse_value

    values: dict[str, Any] = {}
    if yaml_file:
        loaded = load_yaml_params(yaml_file)
        if not isinstance(loaded, dict):
            raise click.ClickException(f"{yaml_file} must hold a mapping of parameter names to values")
        values.update(loaded)
    values.update({name: parse_value(value) for name, value in params})
    return values


@cli.command("rerun")
@click.argument("run")
@click.option(
    "-p",
    "--param",
    "params",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="A new parameter value (typed like papermill: numbers, True/False, None, else text).",
)
@click.option(
    "-y", "--yaml", "yaml_file", type=click.Path(dir_okay=False), help="Parameters from a YAML file."
)
@click.option("--kernel", help="Kernel to run with (default: the one the notebook recorded).")
@click.pass_context
def rerun_cmd(
    ctx: click.Context, run: str, params: Sequence[tuple[str, str]], yaml_file: str | None, kernel: str | None
) -> None:
    """Re-execute RUN's recorded notebook snapshot with new parameters (papermill).

    The new run records RUN as its parent; the executed notebook is stored with it.
    Exit status 1 if the notebook fails (the failing cell is named).
    """
    from .rerun import rerun

    store = _store(ctx)
    values = _rerun_params(params, yaml_file)
    click.echo(f"rerunning {run} with {values or 'the same parameters'} ...", err=True)
    result = rerun(run, values, kernel=kernel, store=store)
    for rid in result.run_ids:
        rec = store.get_run(rid)
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in rec.metrics.items())
        click.echo(f"{rec.status:<9} {rec.run_id[:8]} {rec.run_name}  {metrics}")
    if result.status != "finished":
        raise click.ClickException(f"the rerun {result.status}: {result.error}")


@cli.command("sweep", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("notebook")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def sweep_cmd(ctx: click.Context, notebook: str, args: Sequence[str]) -> None:
    """Run NOTEBOOK (a path, or a run id whose snapshot to use) for every combination.

    \b
    workbench sweep train.ipynb -p alpha 0.1 1.0 -p depth 2 3 --jobs 2 --order-by "metrics.rmse ASC"
    Options after NOTEBOOK:
      -p, --param NAME V1 V2 ...   values of one parameter (repeat for a grid)
      -j, --jobs N                 notebooks run in parallel (default 1)
      -o, --order-by CLAUSE        order of the results table
      -y, --combos FILE.yaml       explicit combinations (a list of mappings), run after the grid
      --kernel NAME                kernel to use

    Ctrl-C stops the workers cleanly (their runs become killed). Exit status 1 if any
    combination failed.
    """
    from .formatting import runs_table
    from .rerun import load_yaml_params, parse_sweep_args, sweep

    opts = parse_sweep_args(args)
    combos = None
    if opts["combos"]:
        combos = load_yaml_params(opts["combos"])
        if not isinstance(combos, list):
            raise click.ClickException(f"{opts['combos']} must hold a list of mappings (one per combination)")
    result = sweep(
        notebook,
        opts["grid"],
        combos=combos,
        jobs=opts["jobs"],
        order_by=opts["order_by"],
        kernel=opts["kernel"],
        wait=True,
        store=_store(ctx),
    )
    df = result.results
    click.echo(runs_table(df) if len(df) else "no runs")
    failed = [j for j in result.jobs.values() if j.status != "finished"]
    for j in failed:
        click.echo(
            f"{j.status}: {', '.join(f'{k}={v}' for k, v in j.parameters.items())}: {j.error}", err=True
        )
    click.echo(
        f"sweep {result.sweep_id}: {len(result.jobs) - len(failed)} finished, {len(failed)} not", err=True
    )
    if failed:
        ctx.exit(1)


@cli.command("reproduce")
@click.argument("run")
@click.option(
    "--rtol",
    type=click.FloatRange(min=0),
    default=1e-6,
    show_default=True,
    help="Relative tolerance for a metric to count as the same.",
)
@click.option(
    "--atol", type=click.FloatRange(min=0), default=0.0, show_default=True, help="Absolute tolerance."
)
@click.option("--kernel", help="Kernel to run with (default: the one the notebook recorded).")
@click.pass_context
def reproduce_cmd(ctx: click.Context, run: str, rtol: float, atol: float, kernel: str | None) -> None:
    """Rerun RUN with its own parameters and check its metrics come out the same.

    Prints metric by metric whether they match, and what differs in the environment
    (packages, Python, git commit). Exit status 0 when reproduced, 1 when not: usable
    as a CI gate.
    """
    from .rerun import reproduce

    report = reproduce(run, rtol=rtol, atol=atol, kernel=kernel, store=_store(ctx))
    click.echo(report.to_text())
    if not report.reproduced:
        ctx.exit(1)


@cli.command("delete")
@click.argument("run")
@click.pass_context
def delete_cmd(ctx: click.Context, run: str) -> None:
    """Soft-delete RUN: hidden from listings, kept whole (undo with `restore`)."""
    from .api import delete_run

    full = delete_run(run, store=_store(ctx))
    click.echo(f"deleted {full} (restore with: workbench restore {full[:8]})")


@cli.command("restore")
@click.argument("run")
@click.pass_context
def restore_cmd(ctx: click.Context, run: str) -> None:
    """Restore a soft-deleted RUN."""
    from .api import restore_run

    full = restore_run(run, store=_store(ctx))
    click.echo(f"restored {full}")


@cli.command("experiments")
@click.pass_context
def experiments_cmd(ctx: click.Context) -> None:
    """List experiments with their run counts."""
    from .api import experiments

    exps = experiments(store=_store(ctx))
    if not exps:
        click.echo("no experiments yet")
    for e in exps:
        click.echo(f"{e['name']:<30} {e['runs']:>6} runs")


@cli.command("lineage")
@click.argument("run")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "dot"]), default="text", show_default=True
)
@click.option(
    "-d", "--depth", type=click.IntRange(1, 10), default=3, show_default=True, help="Run-to-run hops."
)
@click.pass_context
def lineage_cmd(ctx: click.Context, run: str, fmt: str, depth: int) -> None:
    """Show what RUN read and wrote and the runs upstream and downstream of it.

    Runs are linked by content hash: a run that wrote a file and a later run that read
    the same bytes, and reruns/sweeps with the run they came from. ``--format dot``
    prints Graphviz source (``workbench lineage RUN --format dot | dot -Tsvg``).
    """
    from .lineage import lineage

    graph = lineage(run, depth, store=_store(ctx))
    click.echo({"text": graph.to_text, "json": graph.to_json, "dot": graph.to_dot}[fmt]())


@cli.command("card")
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
@click.option(
    "--sections",
    type=click.Path(exists=True, dir_okay=False),
    help="A YAML or Markdown file with the author's sections (as in a %%card cell).",
)
@click.pass_context
def card_cmd(ctx: click.Context, ref: str, fmt: str, output: str | None, sections: str | None) -> None:
    """Export a model card for REF: a run (id or unique prefix) or a registered model
    version (NAME, NAME/3, NAME@champion).

    md is a Hugging Face model card (YAML front matter with model-index), html one
    self-contained file with charts, json the Model Card Toolkit fields.
    """
    from pathlib import Path

    from .card import model_card, parse_card_text

    extra = None
    if sections:
        try:
            extra = parse_card_text(Path(sections).read_text(encoding="utf-8"), sections)
        except UnicodeDecodeError:
            raise click.ClickException(
                f"{sections} is not UTF-8 text: give a YAML or Markdown file"
            ) from None
    text = model_card(ref, fmt, sections=extra, path=output, store=_store(ctx))
    if output:
        click.echo(f"wrote {output} ({len(text.encode())} bytes)")
    else:
        click.echo(text, nl=False)


@cli.group("models", invoke_without_command=True)
@click.pass_context
def models_cmd(ctx: click.Context) -> None:
    """The model registry. Without a subcommand: list every model, its versions and aliases."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(models_list_cmd)


@models_cmd.command("list")
@click.argument("name", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def models_list_cmd(ctx: click.Context, name: str | None = None, fmt: str = "table") -> None:
    """List registered models (or the versions of NAME) with aliases and final metrics."""
    from .formatting import models_table
    from .registry import models

    versions = models(name, store=_store(ctx))
    if fmt == "json":
        click.echo(json.dumps([v.to_dict() for v in versions], indent=2, default=str))
        return
    click.echo(
        models_table(versions) if versions else "no registered models (workbench models register RUN NAME)"
    )


@models_cmd.command("register")
@click.argument("run")
@click.argument("name")
@click.option(
    "--artifact", help="Which model artifact (name, file name or sha256 prefix) if the run has several."
)
@click.option("--alias", help="Also point this alias (e.g. challenger) at the new version.")
@click.pass_context
def models_register_cmd(
    ctx: click.Context, run: str, name: str, artifact: str | None, alias: str | None
) -> None:
    """Register RUN's model as the next version of model NAME."""
    from .registry import register_model

    v = register_model(run, name, artifact, alias=alias, store=_store(ctx))
    click.echo(
        f"registered {v.name} version {v.version} from run {v.run_id[:8]}"
        + (f" as @{alias}" if alias else "")
    )


@models_cmd.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int, required=False)
@click.option("--delete", is_flag=True, help="Remove the alias instead.")
@click.pass_context
def models_alias_cmd(ctx: click.Context, name: str, alias: str, version: int | None, delete: bool) -> None:
    """Point ALIAS (champion, challenger, ...) of model NAME at VERSION, or --delete it."""
    from .registry import delete_model_alias, set_model_alias

    if delete:
        delete_model_alias(name, alias, store=_store(ctx))
        click.echo(f"removed {name}@{alias}")
        return
    if version is None:
        raise click.UsageError("give the VERSION the alias should point at (or --delete)")
    v = set_model_alias(name, alias, version, store=_store(ctx))
    click.echo(f"{name}@{alias} -> version {v.version} (run {v.run_id[:8]})")


@models_cmd.command("compare")
@click.argument("name")
@click.option("--challenger", default="challenger", show_default=True, help="Alias or version number.")
@click.option("--champion", default="champion", show_default=True, help="Alias or version number.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def models_compare_cmd(ctx: click.Context, name: str, challenger: str, champion: str, fmt: str) -> None:
    """Compare the challenger version of NAME against the champion, metric by metric.

    Exit status 0 when the challenger is better (at least as good on every shared
    metric and better on one), 1 otherwise, so scripts can gate a promotion on it.
    """
    from .registry import compare_models

    result = compare_models(name, challenger, champion, store=_store(ctx))
    click.echo(json.dumps(result.to_dict(), indent=2, default=str) if fmt == "json" else result.to_text())
    ctx.exit(0 if result.challenger_wins else 1)


@cli.command("demo")
@click.option("--experiment", default="diabetes-demo", show_default=True, help="Experiment to record into.")
@click.option(
    "--n-estimators",
    type=click.IntRange(min=1),
    default=150,
    show_default=True,
    help="Boosting stages per run (length of each metric curve).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default="workbench-demo",
    show_default=True,
    help="Folder for the demo notebook (the runs go to the store).",
)
@click.option(
    "--jobs", type=click.IntRange(min=1), default=2, show_default=True, help="Notebooks run in parallel."
)
@click.option("--lab", is_flag=True, help="Then start JupyterLab with the Workbench panel open on the runs.")
@click.pass_context
def demo_cmd(
    ctx: click.Context, experiment: str, n_estimators: int, directory: str, jobs: int, lab: bool
) -> None:
    """Record a real scikit-learn sweep on the diabetes data, compare it, optionally open JupyterLab.

    Writes a small notebook and sweeps 8 parameter combinations of a gradient-boosting
    regressor through papermill, so every run can be compared, rerun and reproduced;
    registers the best two as diabetes@champion and @challenger and writes the
    champion's model card next to the notebook.
    """
    import os
    from pathlib import Path

    from . import tracking
    from .comparison import compare_records
    from .demo import register_and_card, run_demo_sweep

    if ctx.obj.get("store"):
        tracking.set_store(ctx.obj["store"])
    store = tracking.current_store()
    # The notebook kernels must write where this command reads.
    os.environ["WORKBENCH_STORE"] = str(store.directory)
    click.echo(f"recording a gradient-boosting sweep on the diabetes data into {store.directory}", err=True)
    result = run_demo_sweep(Path(directory), experiment, n_estimators, jobs)
    df = result.results
    click.echo(runs_table(df))
    if len(df) >= 2:
        best, worst = df["run_id"].iloc[0], df["run_id"].iloc[-1]
        click.echo(
            "\nbest vs worst:\n" + compare_table(compare_records([store.get_run(best), store.get_run(worst)]))
        )
    cards = register_and_card(df, Path(directory))
    if cards:
        click.echo(
            "\nregistered the best run as diabetes@champion, the runner-up as diabetes@challenger; "
            f"model card: {', '.join(map(str, cards))}",
            err=True,
        )
    click.echo(f"\nnext: workbench runs -e {experiment} --order-by 'metrics.rmse ASC'", err=True)
    click.echo(
        "      workbench models compare diabetes; workbench lineage RUN; workbench card diabetes@champion",
        err=True,
    )
    if lab:
        import subprocess
        import sys

        click.echo("starting JupyterLab with the Workbench panel open (Ctrl-C stops it)", err=True)
        jupyter = Path(sys.executable).with_name("jupyter")
        cmd = [
            str(jupyter) if jupyter.exists() else "jupyter",
            "lab",
            "--ServerApp.default_url=/lab?workbench",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        try:
            subprocess.run(cmd, check=False)
        except KeyboardInterrupt:
            pass


def main() -> None:
    """Entry point of the ``workbench`` console script."""
    cli(obj={})


if __name__ == "__main__":
    main()
