"""The notebook magics: ``%%track`` records a cell as a run, ``%wb`` mirrors the CLI.

Loaded by ``%load_ext workbench``. The magics only parse arguments, call the tracking
API and display results; errors become ``UsageError`` with the library's message.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import shlex
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from . import autolog, context, tracking
from .env import WORKBENCH_SOURCE
from .errors import WorkbenchError

_TRACK_OPTIONS = "--name, --experiment, --params, --metrics, --tags, --no-autolog, --no-live"


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def _key_values(text: str, what: str) -> dict[str, str]:
    """Parse ``k=v,k2=v2`` (or space-separated) pairs."""
    out: dict[str, str] = {}
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{what}: expected key=value pairs, got {item!r}")
        out[key] = value
    return out


class _Notes:
    """Messages for the user about a tracked cell, printed once as a short block."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str) -> None:
        self.lines.append(text)

    def show(self) -> None:
        for line in self.lines:
            print(f"workbench: {line}")


@magics_class
class WorkbenchMagics(Magics):
    """``%%track`` and ``%wb``; see their docstrings (``%%track?``, ``%wb?``)."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._cell_id: str | None = None
        self._raw_cell: str | None = None
        shell.events.register("pre_run_cell", self._pre_run_cell)

    def _pre_run_cell(self, info: Any) -> None:
        # JupyterLab sends the cell id with each execution; IPython passes it here.
        self._cell_id = getattr(info, "cell_id", None)
        self._raw_cell = getattr(info, "raw_cell", None)

    def unregister(self) -> None:
        """Detach the event hook (on ``%reload_ext``/unload)."""
        try:
            self.shell.events.unregister("pre_run_cell", self._pre_run_cell)
        except ValueError:
            pass

    # -- %%track -----------------------------------------------------------------
    @magic_arguments()
    @argument("-n", "--name", help="Run name (default: a readable random name).")
    @argument("-e", "--experiment", help="Experiment (default: the notebook's name).")
    @argument(
        "-p",
        "--params",
        help="Comma-separated variable names recorded as parameters (besides the variables "
        "of the cell tagged 'parameters', which are recorded by default).",
    )
    @argument("-m", "--metrics", help="Comma-separated variable names read after the cell as final metrics.")
    @argument("-t", "--tags", help="Tags as key=value,key2=value2.")
    @argument(
        "--no-autolog", action="store_true", help="Do not record fitted scikit-learn estimators' params."
    )
    @argument("--no-live", action="store_true", help="Do not show the live metric chart.")
    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Run the cell as one tracked run.

        Records the cell source, cell id, execution count, wall time and status
        (``finished``; ``failed`` with the traceback; ``killed`` on interrupt), the
        parameters (by default the variables of the notebook's ``parameters`` cell, with
        the values they have when this cell starts, papermill's injected values
        included), the metrics named by ``--metrics`` (read after the cell), and the run
        context: notebook path and a snapshot of the notebook file, git commit, branch,
        dirty flag and diff, Python and packages, host, GPU. ``wb.log_metric`` calls in
        the cell go to this run, and a live chart shows them while the cell runs. A
        scikit-learn estimator fitted in the cell records its ``get_params()``.

        Example::

            %%track --name ridge --metrics rmse,r2 --tags team=vision
            model = Ridge(alpha=alpha).fit(X_train, y_train)
            rmse = mean_squared_error(y_val, model.predict(X_val)) ** 0.5
        """
        __tracebackhide__ = True  # the user's traceback, not the magic's frames
        try:
            args = parse_argstring(self.track, line)
        except UsageError as e:
            raise UsageError(f"%%track: {e}. Accepted options: {_TRACK_OPTIONS} (see %%track?)") from None
        tags = _key_values(args.tags or "", "--tags")
        notes = _Notes()
        ns = self.shell.user_ns

        nb_path, nb_file, params = self._notebook()
        if nb_path is None:
            notes.add("the notebook's path is unknown here, so no notebook snapshot was recorded")
        elif nb_file is None:
            notes.add(
                f"{nb_path.name} is not saved to disk yet: no notebook snapshot was recorded (save it to get one)"
            )

        later = []
        for name in _names(args.params):
            if name in ns:
                params[name] = context.param_value(ns[name])
            else:
                later.append(name)  # assigned by the cell itself, read after it

        active = tracking.active_run()
        if active is not None:
            notes.add(
                f"run {active.run_name} ({active.run_id[:8]}) is active: this cell is recorded as its child run"
            )
        # The cell as written (magic line included), for the record and to find its id.
        raw = (
            self._raw_cell if self._raw_cell and cell.strip() in self._raw_cell else f"%%track {line}\n{cell}"
        )
        cell_id = self._cell_id or (context.cell_id_for(nb_file.nb, raw) if nb_file else None)
        try:
            run = tracking.start_run(
                name=args.name,
                experiment=args.experiment or (nb_path.stem if nb_path else None),
                params=params,
                tags=tags,
                nested=active is not None,
                source=os.environ.get(WORKBENCH_SOURCE) or "magic",
                context={
                    "notebook_path": context.recorded_path(nb_path),
                    "cell_id": cell_id,
                    "cell_source": raw,
                    "execution_count": self._execution_count(),
                },
            )
        except WorkbenchError as e:
            raise UsageError(str(e)) from None
        context.capture_in_background(run, nb_file, nb_path.parent if nb_path else Path.cwd())
        if not args.no_autolog:
            autolog.enable(run, cell)
        live = None if args.no_live else _attach_live_chart(run, cell)

        t0 = time.perf_counter()
        status, error = "finished", None
        try:
            return self._execute(cell)
        except KeyboardInterrupt:
            status, error = "killed", "KeyboardInterrupt"
            raise
        except BaseException as e:
            status, error = "failed", "".join(traceback.format_exception(type(e), e, e.__traceback__))
            raise
        finally:
            autolog.disable()
            try:
                self._record_after(run, later, _names(args.metrics), notes)
            finally:
                run.end(status, error)
                if live is not None:
                    live.finish()
                wall = time.perf_counter() - t0
                notes.add(f"{status} run {run.run_name} ({run.run_id[:8]}) in {run.experiment}, {wall:.2f} s")
                notes.show()

    def _notebook(self) -> tuple[Path | None, context.NotebookFile | None, dict[str, str]]:
        """This kernel's notebook path, the file as saved (None if unsaved or unknown), and
        the current values of its ``parameters`` cell's variables, as run parameters."""
        ns = self.shell.user_ns
        nb_path = context.notebook_path(ns)
        nb_file = context.read_notebook(nb_path) if nb_path else None
        params: dict[str, str] = {}
        if nb_file is not None:
            params = {n: context.param_value(ns[n]) for n in context.parameter_names(nb_file.nb) if n in ns}
        return nb_path, nb_file, params

    def _execution_count(self) -> int | None:
        # The number shown as In[n]: IPython keeps it on the running cell's result (the
        # shell's own counter may already point at the next cell, depending on version).
        result = getattr(self.shell.displayhook, "exec_result", None)
        return getattr(result, "execution_count", None) or self.shell.execution_count

    def _execute(self, cell: str) -> Any:
        """Run the cell's code in the user namespace like IPython would (``%%time``'s way):
        the value of a final expression is returned, so it is displayed as the cell's
        result, and exceptions propagate, so the cell fails as it would untracked."""
        __tracebackhide__ = True
        shell = self.shell
        transformed = shell.transform_cell(cell)
        filename = shell.compile.cache(transformed, shell.execution_count, raw_code=cell)
        tree = shell.transform_ast(shell.compile.ast_parse(transformed, filename=filename))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(shell.compile(tree, filename, "exec"), shell.user_ns)  # noqa: S102
        if last is not None:
            return eval(shell.compile(last, filename, "eval"), shell.user_ns)  # noqa: S307
        return None

    def _record_after(
        self, run: tracking.Run, later_params: list[str], metric_names: list[str], notes: _Notes
    ) -> None:
        ns = self.shell.user_ns
        for name in later_params:
            if name in ns:
                run.log_param(name, context.param_value(ns[name]))
            else:
                notes.add(f"--params: no variable {name!r} in the namespace; recorded the other params")
        for name in metric_names:
            if name not in ns:
                notes.add(f"--metrics: no variable {name!r} in the namespace; recorded the other metrics")
                continue
            try:
                run.log_metric(name, ns[name])
            except WorkbenchError as e:
                notes.add(f"--metrics: {name!r} not recorded: {e}")

    # -- %%card ---------------------------------------------------------------------
    @magic_arguments()
    @argument("-r", "--run", help="The run whose card this is (default: the last run of this kernel).")
    @cell_magic
    def card(self, line: str, cell: str) -> Any:
        """The author's words for the model card, in YAML or Markdown.

        YAML: ``intended_use: ...``, ``factors: ...``, one key per section, plus
        ``license``, ``tags``, ``overview``. Markdown: one heading per section
        (``## Intended Use``). Sections: Model Details, Intended Use, Factors, Metrics,
        Evaluation Data, Training Data, Quantitative Analyses, Ethical Considerations,
        Caveats and Recommendations. The text is checked (an error names the line),
        stored with the run (``--run``, else the last run of this kernel) and shown.
        Cards built later from the notebook snapshot also read this cell.

        Example::

            %%card
            intended_use: Teaching regression on the diabetes data set.
            caveats: 442 patients only; not for clinical use.
        """
        from IPython.display import Markdown

        from .card.sections import HEADINGS, parse_card_text

        try:
            args = parse_argstring(self.card, line)
        except UsageError as e:
            raise UsageError(f"%%card: {e}. Accepted options: --run RUN") from None
        try:
            sections = parse_card_text(cell, first_line=2)  # line 1 is %%card itself
            run = tracking.last_run()
            run_id = args.run or (run.run_id if run is not None else None)
            note = "no run yet in this kernel: cards of later runs read this cell from the notebook snapshot"
            if run_id is not None:
                from .api import open_store as _store

                store = _store(None)
                tracking.flush(store)
                run_id = store.resolve_run_id(run_id)
                store.set_card_sections(run_id, sections)
                note = f"stored with run {run_id[:8]}; export it with %wb card {run_id[:8]}"
        except WorkbenchError as e:
            raise UsageError(str(e)) from None
        print(
            f"workbench: card sections {', '.join(HEADINGS.get(k, k) for k in sections) or '(none)'}; {note}"
        )
        return (
            Markdown("\n\n".join(f"**{HEADINGS.get(k, k)}**: {v}" for k, v in sections.items()))
            if sections
            else None
        )

    # -- %wb ------------------------------------------------------------------------
    @line_magic
    def wb(self, line: str) -> Any:
        """Workbench commands inside the notebook, mirroring the ``workbench`` CLI.

        Subcommands (``%wb SUBCOMMAND --help`` explains each):

        - ``%wb runs [FILTER] [-e EXPERIMENT] [-o ORDER_BY] [-n LIMIT]``: the runs table
        - ``%wb compare RUN RUN ...``: parameter diff, metrics, curves
        - ``%wb show RUN``: everything recorded about one run
        - ``%wb start [--name N] [--experiment E] [--tags k=v,...]``: start a run spanning cells
        - ``%wb log key=value ...``: log metrics to the active run
        - ``%wb param key=value ...``: log parameters to the active run
        - ``%wb tag key=value ...``: set tags on the active run
        - ``%wb end [finished|failed|killed]``: end the run started by ``%wb start``
        - ``%wb rerun RUN [-p NAME VALUE]...``: rerun a run's notebook snapshot with new parameters
        - ``%wb sweep NOTEBOOK_OR_RUN -p NAME V1 V2 ... [--jobs N] [--order-by CLAUSE]``: a grid of reruns
        - ``%wb reproduce RUN [--rtol R]``: rerun with the same parameters, compare the metrics
        - ``%wb lineage RUN [--depth N] [--format text|json|dot]``: draw what a run read, wrote and fed
        - ``%wb card REF [--format md|html|json] [-o PATH]``: a model card for a run or model version
        - ``%wb models [register RUN NAME | alias NAME ALIAS VERSION | compare NAME]``: the model registry
        - ``%wb help [SUBCOMMAND]``

        ``%%card`` cells hold the author's model card sections (YAML or Markdown).

        Run ids may be given by any unique prefix.
        """
        sub, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if not sub:
            print(self.wb.__doc__)
            return None
        handler = self._subcommands().get(sub)
        if handler is None:
            raise UsageError(f"%wb: unknown subcommand {sub!r}; accepted: {', '.join(self._subcommands())}")
        if rest in ("-h", "--help"):
            print(f"%wb {sub}: {handler.__doc__}")
            return None
        try:
            return handler(rest)
        except WorkbenchError as e:
            raise UsageError(str(e)) from None
        except ValueError as e:
            if "quotation" in str(e) or "escape" in str(e):  # shlex on an unbalanced quote
                raise UsageError(f"%wb {sub}: {e} in {rest!r}") from None
            raise

    def _subcommands(self) -> dict[str, Callable[[str], Any]]:
        return {
            "runs": self._wb_runs,
            "compare": self._wb_compare,
            "show": self._wb_show,
            "start": self._wb_start,
            "log": self._wb_log,
            "param": self._wb_param,
            "tag": self._wb_tag,
            "end": self._wb_end,
            "rerun": self._wb_rerun,
            "sweep": self._wb_sweep,
            "reproduce": self._wb_reproduce,
            "lineage": self._wb_lineage,
            "card": self._wb_card,
            "models": self._wb_models,
            "help": self._wb_help,
        }

    def _wb_lineage(self, rest: str) -> Any:
        """Draw a run's lineage: what it read and wrote, the runs that wrote its inputs,
        the runs that read its outputs, reruns.

        ``%wb lineage RUN [--depth N] [--format text|json|dot]``. Without ``--format``
        the graph is drawn; returns the :class:`~workbench.Lineage`.
        """
        from .lineage import lineage

        opts, run = _split_options(rest, {"-d": "depth", "--depth": "depth", "--format": "format"})
        if not run or len(shlex.split(run)) != 1:
            raise UsageError("%wb lineage: give one run id, e.g. %wb lineage 3f2a --depth 2")
        depth = opts.get("depth", "3")
        if not depth.isdigit():
            raise UsageError(f"%wb lineage: --depth takes a whole number from 1 to 10, got {depth!r}")
        fmt = opts.get("format")
        if fmt not in (None, "text", "json", "dot"):
            raise UsageError(f"%wb lineage: --format must be text, json or dot, got {fmt!r}")
        graph = lineage(run, int(depth))
        if fmt:
            print({"text": graph.to_text, "json": graph.to_json, "dot": graph.to_dot}[fmt]())
            return None
        return graph

    def _wb_card(self, rest: str) -> Any:
        """Export a model card for a run or model version and show it.

        ``%wb card REF [--format md|html|json] [-o PATH]``. REF is a run id (or unique
        prefix) or ``NAME``, ``NAME/3``, ``NAME@champion``. The author's sections come
        from a ``%%card`` cell. Without ``-o`` the card is displayed; with it, written.
        """
        from IPython.display import HTML, JSON, Markdown

        from .card import model_card

        opts, ref = _split_options(rest, {"--format": "format", "-o": "output", "--output": "output"})
        if not ref or len(shlex.split(ref)) != 1:
            raise UsageError(
                "%wb card: give one run id or model reference, e.g. %wb card ridge@champion -o card.md"
            )
        fmt = opts.get("format", "md")
        text = model_card(ref, fmt, path=opts.get("output"))
        if opts.get("output"):
            print(f"workbench: wrote {opts['output']} ({len(text.encode())} bytes)")
            return None
        if fmt == "html":
            return HTML(text)
        if fmt == "json":
            import json

            return JSON(json.loads(text))
        return Markdown(text)

    def _wb_models(self, rest: str) -> Any:
        """The model registry, as ``workbench models`` on the command line.

        ``%wb models`` lists models, versions and aliases; ``%wb models register RUN NAME
        [--alias A] [--artifact X]``; ``%wb models alias NAME ALIAS VERSION``;
        ``%wb models compare NAME [--challenger A] [--champion B]``.
        """
        import click

        from .cli import cli

        args = ["--store", str(tracking.current_store().directory), "models", *shlex.split(rest)]
        try:
            cli.main(args, prog_name="%wb", standalone_mode=False)
        except click.ClickException as e:
            raise UsageError(f"%wb models: {e.format_message()}") from None
        except click.exceptions.Exit:
            pass
        return None

    def _wb_help(self, rest: str) -> None:
        """Show the overview, or one subcommand's help: ``%wb help runs``."""
        if not rest:
            print(self.wb.__doc__)
            return
        handler = self._subcommands().get(rest)
        if handler is None:
            raise UsageError(
                f"%wb help: unknown subcommand {rest!r}; accepted: {', '.join(self._subcommands())}"
            )
        print(f"%wb {rest}: {handler.__doc__}")

    def _wb_runs(self, rest: str) -> Any:
        """List runs as an interactive table (filter box, sortable columns, Compare).

        ``%wb runs [FILTER] [-e EXPERIMENT] [-o ORDER_BY] [-n LIMIT]``. FILTER uses
        MLflow's search syntax plus OR and parentheses, e.g.
        ``%wb runs metrics.rmse < 55 and params.model = 'ridge' -o "metrics.rmse ASC"``.
        """
        opts, filter_text = _split_options(
            rest,
            {
                "-e": "experiment",
                "--experiment": "experiment",
                "-o": "order_by",
                "--order-by": "order_by",
                "-n": "limit",
                "--limit": "limit",
            },
        )
        from .api import runs

        limit = None
        if "limit" in opts:
            if not opts["limit"].isdigit():
                raise UsageError(f"%wb runs: --limit takes a whole number, got {opts['limit']!r}")
            limit = int(opts["limit"])
        df = runs(filter_text or None, opts.get("order_by"), opts.get("experiment"), limit=limit)
        try:
            from .widgets import runs_widget
        except ImportError:
            return df
        return runs_widget(filter_text or None, opts.get("order_by"), opts.get("experiment"))

    def _wb_compare(self, rest: str) -> Any:
        """Compare runs side by side: ``%wb compare RUN RUN ...`` (ids or unique prefixes)."""
        ids = shlex.split(rest)
        if not ids:
            raise UsageError("%wb compare: give at least one run id, e.g. %wb compare 3f2a 9c1b")
        from .widgets import compare

        return compare(ids)

    def _wb_show(self, rest: str) -> None:
        """Show everything recorded about a run: ``%wb show RUN``."""
        ids = shlex.split(rest)
        if len(ids) != 1:
            raise UsageError("%wb show: give exactly one run id (or unique prefix)")
        from .api import get_run
        from .formatting import format_run

        print(format_run(get_run(ids[0])))

    def _wb_start(self, rest: str) -> None:
        """Start a run that spans several cells; end it with ``%wb end``.

        ``%wb start [--name N] [--experiment E] [--tags k=v,...]``. Parameters of the
        notebook's ``parameters`` cell are recorded as with ``%%track``.
        """
        opts, extra = _split_options(
            rest,
            {
                "-n": "name",
                "--name": "name",
                "-e": "experiment",
                "--experiment": "experiment",
                "-t": "tags",
                "--tags": "tags",
            },
        )
        if extra:
            raise UsageError(f"%wb start: unexpected {extra!r}; accepted: --name, --experiment, --tags")
        nb_path, nb_file, params = self._notebook()
        run = tracking.start_run(
            name=opts.get("name"),
            experiment=opts.get("experiment") or (nb_path.stem if nb_path else None),
            params=params,
            tags=_key_values(opts.get("tags", ""), "--tags"),
            source=os.environ.get(WORKBENCH_SOURCE) or "magic",
            context={
                "notebook_path": context.recorded_path(nb_path),
                "execution_count": self._execution_count(),
            },
        )
        context.capture_in_background(run, nb_file, nb_path.parent if nb_path else Path.cwd())
        print(
            f"workbench: started run {run.run_name} ({run.run_id[:8]}) in {run.experiment}; end it with %wb end"
        )

    def _wb_log(self, rest: str) -> None:
        """Log metrics to the active run: ``%wb log rmse=54.2 r2=0.41``."""
        pairs = _key_values(rest, "%wb log")
        if not pairs:
            raise UsageError("%wb log: give metrics as key=value, e.g. %wb log rmse=54.2")
        values = {}
        for k, v in pairs.items():
            try:
                values[k] = float(v)
            except ValueError:
                raise UsageError(f"%wb log: {k}={v!r} is not a number; metrics must be numbers") from None
        tracking.log_metrics(values)

    def _wb_param(self, rest: str) -> None:
        """Log parameters to the active run: ``%wb param alpha=0.1 model=ridge``."""
        pairs = _key_values(rest, "%wb param")
        if not pairs:
            raise UsageError("%wb param: give parameters as key=value, e.g. %wb param alpha=0.1")
        tracking.log_params(pairs)

    def _wb_tag(self, rest: str) -> None:
        """Set tags on the active run: ``%wb tag team=vision``."""
        pairs = _key_values(rest, "%wb tag")
        if not pairs:
            raise UsageError("%wb tag: give tags as key=value, e.g. %wb tag team=vision")
        tracking.set_tags(pairs)

    def _wb_rerun(self, rest: str) -> Any:
        """Rerun a run's recorded notebook snapshot with new parameters (papermill).

        ``%wb rerun RUN [-p NAME VALUE]... [--kernel NAME]``; values are typed as
        papermill's ``-p`` types them. Returns the result (status, new run ids).
        """
        from .rerun import rerun

        run, params, kernel = _rerun_args(shlex.split(rest), "rerun")
        result = rerun(run, params, kernel=kernel)
        print(
            f"workbench: rerun {result.status}: new run {', '.join(r[:8] for r in result.run_ids)}"
            + (f" ({result.error})" if result.error else "")
        )
        return result

    def _wb_sweep(self, rest: str) -> Any:
        """Run a notebook (or a run's snapshot) for every combination of values.

        ``%wb sweep NOTEBOOK_OR_RUN -p NAME V1 V2 ... [-p ...] [--jobs N]
        [--order-by "metrics.x ASC"] [--combos FILE.yaml]``. Shows a progress bar with a
        Stop button and returns the sweep (``.results`` is its runs table, ``.wait()``
        blocks until it ends).
        """
        from .rerun import load_yaml_params, parse_sweep_args, sweep

        tokens = shlex.split(rest)
        if not tokens or tokens[0].startswith("-"):
            raise UsageError(
                "%wb sweep: give a notebook path or run id first, e.g. %wb sweep train.ipynb -p alpha 0.1 1"
            )
        opts = parse_sweep_args(tokens[1:])
        combos = load_yaml_params(opts["combos"]) if opts["combos"] else None
        return sweep(
            tokens[0],
            opts["grid"],
            combos=combos,
            jobs=opts["jobs"],
            order_by=opts["order_by"],
            kernel=opts["kernel"],
        )

    def _wb_reproduce(self, rest: str) -> Any:
        """Rerun a run with its own parameters and say whether its metrics match.

        ``%wb reproduce RUN [--rtol R]``: prints the metric-by-metric comparison and the
        environment differences; returns the report (``.reproduced``).
        """
        from .rerun import reproduce

        opts, run = _split_options(rest, {"--rtol": "rtol", "--atol": "atol"})
        if not run:
            raise UsageError("%wb reproduce: give a run id, e.g. %wb reproduce 3f2a")
        try:
            tol = {k: float(v) for k, v in opts.items()}
        except ValueError:
            raise UsageError(f"%wb reproduce: --rtol/--atol take numbers, got {opts}") from None
        report = reproduce(run, **tol)
        print(report.to_text())
        return report

    def _wb_end(self, rest: str) -> None:
        """End the active run: ``%wb end`` (finished), ``%wb end failed`` or ``%wb end killed``."""
        run = tracking.active_run()
        tracking.end_run(rest or "finished")
        if run is not None:
            print(f"workbench: ended run {run.run_name} ({run.run_id[:8]}): {run.status}")


def _rerun_args(tokens: list[str], what: str) -> tuple[str, dict[str, Any], str | None]:
    from .rerun import parse_value

    if not tokens or tokens[0].startswith("-"):
        raise UsageError(f"%wb {what}: give the run id first, e.g. %wb {what} 3f2a -p alpha 0.5")
    run, params, kernel = tokens[0], {}, None
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("-p", "--param"):
            if i + 3 > len(tokens):
                raise UsageError(f"%wb {what}: -p takes NAME VALUE")
            params[tokens[i + 1]] = parse_value(tokens[i + 2])
            i += 3
        elif tok == "--kernel" and i + 1 < len(tokens):
            kernel = tokens[i + 1]
            i += 2
        else:
            raise UsageError(
                f"%wb {what}: unexpected {tok!r}; accepted: -p NAME VALUE (repeatable), --kernel NAME"
            )
    return run, params, kernel


def _split_options(text: str, known: dict[str, str]) -> tuple[dict[str, str], str]:
    """Pull ``--opt value`` pairs out of a line, leaving the rest (a filter) untouched.

    A filter keeps its own quotes, so the line is not shell-split as a whole.
    """
    opts: dict[str, str] = {}
    pattern = re.compile(
        r"(?:^|\s)(" + "|".join(re.escape(k) for k in sorted(known, key=len, reverse=True)) + r")"
        r"(?:\s+|=)(\"[^\"]*\"|'[^']*'|\S+)"
    )
    while True:
        m = pattern.search(text)
        if m is None:
            break
        value = m.group(2)
        if value[:1] in "\"'" and value[-1:] == value[:1]:
            value = value[1:-1]
        opts[known[m.group(1)]] = value
        text = (text[: m.start()] + " " + text[m.end() :]).strip()
    return opts, text.strip()


def _attach_live_chart(run: tracking.Run, cell: str) -> Any:
    """Show a live chart of the run's metrics while the cell runs.

    Only for cells that log metrics themselves (the source mentions ``log_metric``): the
    chart's output place is made now, from the cell's own thread, since an output first
    displayed by the writer thread would land in whatever cell runs then.
    """
    if "log_metric" not in cell:
        return None
    try:
        from IPython.display import display

        from .widgets.live import LiveChart
    except ImportError:
        return None
    handle = display({"text/plain": ""}, raw=True, display_id=True)
    if handle is None:  # not in a kernel with a display publisher
        return None
    return _LiveHook(run, functools.partial(LiveChart, handle=handle))


class _LiveHook:
    """Feeds a run's flushed points to a LiveChart, made once some metric has a curve
    (two points or more): a cell that logs only final values gets no chart."""

    def __init__(self, run: tracking.Run, chart_cls: Any) -> None:
        self._chart_cls = chart_cls
        self._chart: Any = None
        self._title = f"{run.run_name} ({run.run_id[:8]})"
        self._run = run
        self._pending: list[tuple[Any, Any, Any]] = []
        run._on_flush = self._feed

    def _feed(self, keys: Any, steps: Any, values: Any) -> None:
        if self._chart is None:
            self._pending.append((keys, steps, values))
            if sum(len(k) for k, _, _ in self._pending) < 2:
                return
            self._chart = self._chart_cls(self._title)
            for k, st, v in self._pending:
                self._chart.feed(k, st, v)
            self._pending = []
        else:
            self._chart.feed(keys, steps, values)
        if not self._run._ended:  # once ended, the final (forced) render draws
            self._chart.render()

    def finish(self) -> None:
        """Draw the final state, off the cell's path: the run's last points go through
        the chart, which then updates its output in place after the cell has ended."""
        if self._chart is None and len(self._run._times) < 2:
            self._run._on_flush = None
            return
        threading.Thread(target=self._final, name="workbench-live-final", daemon=True).start()

    def _final(self) -> None:
        # Let the cell's reply go out first; the update lands in place a moment later.
        time.sleep(0.1)
        try:
            tracking.flush(self._run.store)
        except WorkbenchError:
            pass  # the data stays buffered and is retried; the chart shows what it has
        self._run._on_flush = None
        if self._chart is not None:
            self._chart.close()


_loaded: WorkbenchMagics | None = None


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics; loading again (``%reload_ext``) replaces the previous ones."""
    global _loaded
    if _loaded is not None:
        _loaded.unregister()
    _loaded = WorkbenchMagics(ipython)
    ipython.register_magics(_loaded)


def unload_ipython_extension(ipython: Any) -> None:
    """Detach the magics' event hook."""
    global _loaded
    if _loaded is not None:
        _loaded.unregister()
        _loaded = None
