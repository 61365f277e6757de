"""Lineage, model cards and the model registry."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .base import cli, in_notebook, store_of


class _Depth(click.ParamType):
    """A lineage depth: a whole number from 1 to 10, with a message that says so."""

    name = "1-10"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10:
            return value
        text = str(value)
        if text.isdigit() and 1 <= int(text) <= 10:
            return int(text)
        self.fail(f"takes a whole number from 1 to 10, got {text!r}", param, ctx)


DEPTH = _Depth()


@cli.command("lineage")
@click.argument("run")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "dot"]),
    default=None,
    help="text (the default on a terminal), json or dot; in a notebook the graph is drawn unless given.",
)
@click.option("-d", "--depth", type=DEPTH, default=3, show_default=True, help="Run-to-run hops (1 to 10).")
@click.pass_context
def lineage_cmd(ctx: click.Context, run: str, fmt: str | None, depth: int) -> object:
    """Show what RUN read and wrote and the runs upstream and downstream of it.

    Runs are linked by content hash: a run that wrote a file and a later run that read
    the same bytes, and reruns/sweeps with the run they came from. ``--format dot``
    prints Graphviz source (``workbench lineage RUN --format dot | dot -Tsvg``).
    """
    from ..lineage import lineage

    graph = lineage(run, depth, store=store_of(ctx))
    if fmt is None and in_notebook(ctx):
        return graph  # drawn as SVG by the notebook
    fmt = fmt or "text"
    click.echo({"text": graph.to_text, "json": graph.to_json, "dot": graph.to_dot}[fmt]())


@cli.command("card")
@click.argument("ref", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["md", "html", "json", "record"]), default="md", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
@click.option(
    "--sections",
    type=click.Path(exists=True, dir_okay=False),
    help="A YAML or Markdown file with the author's sections (as in a %%card cell).",
)
@click.pass_context
def card_cmd(
    ctx: click.Context, ref: str | None, fmt: str, output: str | None, sections: str | None
) -> object:
    """Export a model card for REF: a run (id or unique prefix) or a registered model
    version (NAME, NAME/3, NAME@champion).

    md is a Hugging Face model card (YAML front matter with model-index), html one
    self-contained file with charts, json the Model Card Toolkit fields.
    """

    from ..card import model_card, parse_card_text

    if not ref:
        raise click.UsageError("give one run id or model reference, e.g. card ridge@champion -o card.md")

    extra = None
    if sections:
        try:
            extra = parse_card_text(Path(sections).read_text(encoding="utf-8"), sections)
        except UnicodeDecodeError:
            raise click.ClickException(
                f"{sections} is not UTF-8 text: give a YAML or Markdown file"
            ) from None
    text = model_card(ref, fmt, sections=extra, path=output, store=store_of(ctx))
    if output:
        click.echo(f"wrote {output} ({len(text.encode())} bytes)")
    elif in_notebook(ctx):
        return _displayable(text, fmt)
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
    from ..formatting import models_table
    from ..registry import models

    versions = models(name, store=store_of(ctx))
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
    from ..registry import register_model

    v = register_model(run, name, artifact, alias=alias, store=store_of(ctx))
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
    from ..registry import delete_model_alias, set_model_alias

    if delete:
        delete_model_alias(name, alias, store=store_of(ctx))
        click.echo(f"removed {name}@{alias}")
        return
    if version is None:
        raise click.UsageError("give the VERSION the alias should point at (or --delete)")
    v = set_model_alias(name, alias, version, store=store_of(ctx))
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
    from ..registry import compare_models

    result = compare_models(name, challenger, champion, store=store_of(ctx))
    click.echo(json.dumps(result.to_dict(), indent=2, default=str) if fmt == "json" else result.to_text())
    ctx.exit(0 if result.challenger_wins else 1)


def _displayable(text: str, fmt: str) -> object:
    """The card as the notebook shows it: rendered Markdown, the HTML page, or JSON."""
    from IPython.display import HTML, JSON, Markdown

    if fmt == "html":
        return HTML(text)
    if fmt in ("json", "record"):
        return JSON(json.loads(text))
    return Markdown(text)
