"""The demo: a real sweep recorded, then JupyterLab opened on it."""

from __future__ import annotations

from pathlib import Path

import click

from ..formatting import compare_table, runs_table
from .base import cli


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

    from .. import tracking
    from ..comparison import compare_records
    from ..demo import register_and_card, run_demo_sweep, summary_columns

    if ctx.obj.get("store"):
        tracking.set_store(ctx.obj["store"])
    store = tracking.current_store()
    # The notebook kernels must write where this command reads.
    os.environ["WORKBENCH_STORE"] = str(store.directory)
    click.echo(f"recording a gradient-boosting sweep on the diabetes data into {store.directory}", err=True)
    result = run_demo_sweep(Path(directory), experiment, n_estimators, jobs)
    df = result.results
    click.echo(runs_table(df, columns=summary_columns(df)))
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
    click.echo(
        "\nnext: the panel: `workbench demo --lab` records the sweep and opens JupyterLab on it;\n"
        "      in your own `jupyter lab`, click the Workbench tab in the left sidebar (or open /lab?workbench)\n"
        f"      workbench runs -e {experiment} --order-by 'metrics.rmse ASC'\n"
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
