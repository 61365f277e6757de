"""Reproducibility: rerun, sweep and reproduce notebooks with papermill."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ..formatting import runs_table
from .base import cli, in_notebook, store_of


def _rerun_params(params: Sequence[tuple[str, str]], yaml_file: str | None) -> dict[str, Any]:
    from ..rerun import load_yaml_params, parse_value

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
    help="A new parameter value (typed like papermill: numbers, True/False, None, else text); "
    "the others keep the run's values.",
)
@click.option(
    "-y", "--yaml", "yaml_file", type=click.Path(dir_okay=False), help="Parameters from a YAML file."
)
@click.option("--kernel", help="Kernel to run with (default: the one the notebook recorded).")
@click.pass_context
def rerun_cmd(
    ctx: click.Context, run: str, params: Sequence[tuple[str, str]], yaml_file: str | None, kernel: str | None
) -> object:
    """Re-execute RUN's recorded notebook snapshot with new parameters (papermill).

    The rerun starts from RUN's own parameters; -p and -y change some of them, the
    others keep RUN's values. The new run records RUN as its parent; the executed
    notebook is stored with it.
    Exit status 1 if the notebook fails (the failing cell is named).
    """
    from ..rerun import rerun

    store = store_of(ctx)
    values = _rerun_params(params, yaml_file)
    changes = ", ".join(f"{k}={v!r}" for k, v in values.items())
    click.echo(
        f"rerunning {run} with its own parameters{', changing ' + changes if changes else ''} ...", err=True
    )
    result = rerun(run, values, kernel=kernel, store=store)
    if in_notebook(ctx):
        click.echo(
            f"workbench: rerun {result.status}: new run {', '.join(r[:8] for r in result.run_ids)}"
            + (f" ({result.error})" if result.error else "")
        )
        return result
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
def sweep_cmd(ctx: click.Context, notebook: str, args: Sequence[str]) -> object:
    """Run NOTEBOOK (a path, or a run id whose snapshot to use) for every combination.

    From a run id, the parameters not swept keep that run's values; from a path, the
    notebook's defaults.

    \b
    workbench sweep train.ipynb -p alpha 0.1 1.0 -p depth 2 3 --jobs 2 --order-by "metrics.rmse ASC"
    Options after NOTEBOOK:
      -p, --param NAME V1 V2 ...   values of one parameter (repeat for a grid)
      -j, --jobs N                 notebooks run in parallel (default 1)
      -o, --order-by CLAUSE        order of the results table
      -y, --combos FILE.yaml       explicit combinations (a list of mappings), run after the grid
      --kernel NAME                kernel to use
      --scheduler ADDRESS          run on a Dask cluster (tcp://host:8786): one task per notebook
      --upload                     with --scheduler: ship the notebook's folder to the workers
      --upload-limit MB            largest folder --upload ships (default 100)

    On a Dask cluster each worker runs its notebook against a temporary store and sends
    the runs back, imported here as each task completes. Files the notebook reads must be
    reachable from the workers (shared storage), or shipped with --upload.
    Ctrl-C stops the workers cleanly (their runs become killed). Exit status 1 if any
    combination failed.
    """
    from ..rerun import load_yaml_params, parse_sweep_args, sweep

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
        # In a notebook the sweep runs behind its progress bar (with a Stop button).
        wait=None if in_notebook(ctx) else True,
        executor=opts["scheduler"],
        upload=opts["upload"],
        upload_limit=opts["upload_limit"],
        store=store_of(ctx),
    )
    if in_notebook(ctx):
        return result
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
def reproduce_cmd(ctx: click.Context, run: str, rtol: float, atol: float, kernel: str | None) -> object:
    """Rerun RUN with its own parameters and check its metrics come out the same.

    Prints metric by metric whether they match, and what differs in the environment
    (packages, Python, git commit). Exit status 0 when reproduced, 1 when not: usable
    as a CI gate.
    """
    from ..rerun import reproduce

    report = reproduce(run, rtol=rtol, atol=atol, kernel=kernel, store=store_of(ctx))
    click.echo(report.to_text())
    if in_notebook(ctx):
        return report
    if not report.reproduced:
        ctx.exit(1)


@cli.command("tune")
@click.argument("notebook")
@click.option(
    "-p",
    "--param",
    "space",
    nargs=2,
    multiple=True,
    required=True,
    metavar="NAME SPACE",
    help="A parameter to search: float:LOW:HIGH[:log|:step=S], int:LOW:HIGH[:log|:step=S] or "
    "cat:A,B,C (repeatable).",
)
@click.option("--objective", default="metrics.rmse", show_default=True, help="The metric to optimize.")
@click.option("--minimize/--maximize", default=True, show_default=True, help="Which way is better.")
@click.option(
    "-n", "--trials", type=click.IntRange(min=1), default=20, show_default=True, help="Trials to run now."
)
@click.option(
    "-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Trials at once."
)
@click.option("--study", help="Study name (default: NOTEBOOK-METRIC); the same name resumes it.")
@click.option(
    "--sampler",
    type=click.Choice(["tpe", "random"], case_sensitive=False),
    default="tpe",
    show_default=True,
    help="Optuna sampler.",
)
@click.option("--seed", type=int, help="Seed of the sampler (reproducible suggestions).")
@click.option(
    "--pruner",
    type=click.Choice(["median", "none"], case_sensitive=False),
    default="median",
    show_default=True,
    help="Stop hopeless trials from the objective's per-step values.",
)
@click.option("--scheduler", metavar="ADDRESS", help="Run the trials on a Dask cluster (tcp://host:8786).")
@click.option("--upload", is_flag=True, help="With --scheduler: ship the notebook's folder to the workers.")
@click.option("--kernel", help="Kernel to run with (default: the one the notebook recorded).")
@click.pass_context
def tune_cmd(
    ctx: click.Context,
    notebook: str,
    space: Sequence[tuple[str, str]],
    objective: str,
    minimize: bool,
    trials: int,
    jobs: int,
    study: str | None,
    sampler: str,
    seed: int | None,
    pruner: str,
    scheduler: str | None,
    upload: bool,
    kernel: str | None,
) -> object:
    """Search NOTEBOOK's parameters with Optuna: each trial executes it once (papermill).

    NOTEBOOK is a path, or a run id whose snapshot to tune.

    \b
    workbench tune train.ipynb -p alpha float:0.001:1:log -p depth int:2:8 \\
        -p model cat:ridge,lasso --objective metrics.rmse --minimize --trials 20 --jobs 2

    The study is kept beside the store (.workbench/optuna/journal.log): the same --study
    resumes it. Runs carry the tags tune_id and trial. When the notebook logs the
    objective with steps, hopeless trials are pruned (their runs end killed, tagged
    pruned). Prints every trial and the best; exit status 1 if no trial completed.
    """
    from ..rerun import parse_distribution, tune

    dists = {name: parse_distribution(text) for name, text in space}
    import optuna

    samplers = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
    chosen = samplers[sampler.lower()](seed=seed)
    pruners = {"median": optuna.pruners.MedianPruner, "none": optuna.pruners.NopPruner}
    st = tune(
        notebook,
        dists,
        objective=objective,
        direction="minimize" if minimize else "maximize",
        n_trials=trials,
        jobs=jobs,
        sampler=chosen,
        pruner=pruners[pruner.lower()](),
        executor=scheduler,
        upload=upload,
        study=study,
        kernel=kernel,
        store=store_of(ctx),
    )
    complete = [t for t in st.trials if t.state.name == "COMPLETE"]
    if in_notebook(ctx):
        return st
    for t in st.trials:
        value = "-" if t.value is None else f"{t.value:.6g}"
        params = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in t.params.items()
        )
        runs = ",".join(r[:8] for r in t.user_attrs.get("run_ids", []))
        click.echo(f"trial {t.number:>3}  {t.state.name.lower():<8} {value:>12}  {runs:<8}  {params}")
    if not complete:
        raise click.ClickException(f"study {st.study_name}: no trial completed")
    best = st.best_trial
    click.echo(
        f"study {st.study_name}: best trial {best.number}, {objective} = {best.value:.6g} with "
        + ", ".join(f"{k}={v}" for k, v in best.params.items()),
        err=True,
    )
