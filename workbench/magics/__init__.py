"""The notebook magics: ``%%track`` records a cell as a run, ``%%card`` holds a model
card's sections, ``%wb`` runs the CLI's commands in the notebook.

Loaded by ``%load_ext workbench``. The magics only parse arguments, call the tracking
API and display results; errors become ``UsageError`` with the library's message.
"""

from __future__ import annotations

import ast
import os
import time
import traceback
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .. import autolog, context, tracking
from ..env import WORKBENCH_SOURCE
from ..errors import WorkbenchError
from . import wb as wb_commands
from .live import attach_live_chart, frontend_attached

__all__ = ["WorkbenchMagics", "load_ipython_extension", "unload_ipython_extension"]

_TRACK_OPTIONS = (
    "--name, --experiment, --params, --metrics, --tags, --no-autolog, --no-live, --no-system-metrics"
)


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def _key_values(text: str, what: str) -> dict[str, str]:
    try:
        return wb_commands.key_values(text, what)
    except Exception as e:  # noqa: BLE001 - click.UsageError, re-raised as the magic's error
        raise UsageError(f"{what}: {e}") from None


class _Notes:
    """Messages for the user about a tracked cell, printed once as a short block."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str) -> None:
        self.lines.append(text)

    def show(self) -> None:
        for line in self.lines:
            print(f"workbench: {line}")


_PACKAGE = str(Path(__file__).resolve().parents[1]) + os.sep


def _workbench_frame(filename: str) -> bool:
    try:
        return os.path.realpath(filename).startswith(_PACKAGE)
    except (OSError, ValueError):
        return False


def _user_traceback(e: BaseException) -> str:
    """The traceback recorded for a failed ``%%track`` cell: the user's frames only.

    Workbench's own frames (this magic running the cell, and any Workbench function
    the cell called) are left out, in chained exceptions too; the exception and its
    message are kept as they are.
    """
    te = traceback.TracebackException(type(e), e, e.__traceback__)
    todo: list[traceback.TracebackException] = [te]
    seen: set[int] = set()
    while todo:
        t = todo.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        t.stack = traceback.StackSummary.from_list([f for f in t.stack if not _workbench_frame(f.filename)])
        todo.extend(x for x in (t.__cause__, t.__context__) if x is not None)
        todo.extend(getattr(t, "exceptions", None) or [])
    return "".join(te.format())


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
    @argument(
        "--no-system-metrics",
        action="store_true",
        help="Do not record CPU, memory, disk, network and GPU metrics (system/...) for this run.",
    )
    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Run the cell as one tracked run.

        Records the cell source, cell id, execution count, wall time and status
        (``finished``; ``failed`` with the traceback; ``killed`` on interrupt), the
        parameters (by default the variables of the notebook's ``parameters`` cell, with
        the values they have when this cell starts, papermill's injected values
        included), the metrics named by ``--metrics`` (read after the cell), and the run
        context: notebook path and a snapshot of the notebook file, git commit, branch,
        dirty flag and diff, Python and packages, host, GPU; system metrics (CPU, memory,
        disk, network, GPU as ``system/...``) while it runs. ``wb.log_metric`` calls in
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
        except (UsageError, ValueError) as e:  # ValueError: shlex on an unbalanced quote
            raise UsageError(f"%%track: {e}. Accepted options: {_TRACK_OPTIONS} (see %%track?)") from None
        notes = _Notes()
        run, later = self._start_tracked_run(args, line, cell, notes)
        if not args.no_autolog:
            autolog.enable(run, cell)
        live = None if args.no_live else attach_live_chart(run, cell)
        t0 = time.perf_counter()
        status, error = "finished", None
        try:
            return self._execute(cell)
        except KeyboardInterrupt:
            status, error = "killed", "KeyboardInterrupt"
            raise
        except BaseException as e:
            status, error = "failed", _user_traceback(e)
            raise
        finally:
            autolog.disable()
            try:
                self._record_after(run, later, _names(args.metrics), notes)
            finally:
                run.end(status, error)
                if live is not None:
                    live.finish(in_background=frontend_attached(self.shell.user_ns))
                wall = time.perf_counter() - t0
                notes.add(f"{status} run {run.run_name} ({run.run_id[:8]}) in {run.experiment}, {wall:.2f} s")
                notes.show()

    def _start_tracked_run(self, args: Any, line: str, cell: str, notes: _Notes) -> tuple[Any, list[str]]:
        """Start the cell's run: its parameters, notebook, cell and nesting. Returns the
        run and the ``--params`` names the cell itself assigns (read after it)."""
        tags = _key_values(args.tags or "", "--tags")
        ns = self.shell.user_ns
        nb_path, nb_file, params = self.notebook()
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
                system_metrics=False if args.no_system_metrics else None,
                context={
                    "notebook_path": context.recorded_path(nb_path),
                    "cell_id": cell_id,
                    "cell_source": raw,
                    "execution_count": self.execution_count(),
                },
            )
        except WorkbenchError as e:
            raise UsageError(str(e)) from None
        context.capture_in_background(run, nb_file, nb_path.parent if nb_path else Path.cwd())
        return run, later

    def notebook(self) -> tuple[Path | None, context.NotebookFile | None, dict[str, str]]:
        """This kernel's notebook path, the file as saved (None if unsaved or unknown), and
        the current values of its ``parameters`` cell's variables, as run parameters."""
        from ..tracking import discovery

        ns = self.shell.user_ns
        history = list(getattr(self.shell.history_manager, "input_hist_raw", []) or [])
        nb_path = context.notebook_path(ns)
        nb_file = context.read_notebook(nb_path) if nb_path else None
        if nb_path is None:
            # No front end named it (papermill, nbconvert, nbclient, Colab): find it.
            nb_file = discovery.colab_notebook() or discovery.find_notebook(self._raw_cell, history[:-1])
            nb_path = nb_file.path if nb_file is not None else None
        params: dict[str, str] = {}
        if nb_file is not None:
            # papermill's injected names too: its input notebook on disk lacks that cell.
            names = context.parameter_names(nb_file.nb) + discovery.injected_names(history)
            params = {n: context.param_value(ns[n]) for n in dict.fromkeys(names) if n in ns}
        return nb_path, nb_file, params

    def execution_count(self) -> int | None:
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

        from ..card.sections import HEADINGS, parse_card_text

        try:
            args = parse_argstring(self.card, line)
        except (UsageError, ValueError) as e:
            raise UsageError(f"%%card: {e}. Accepted options: --run RUN") from None
        try:
            sections = parse_card_text(cell, first_line=2)  # line 1 is %%card itself
            run = tracking.last_run()
            run_id = args.run or (run.run_id if run is not None else None)
            note = "no run yet in this kernel: cards of later runs read this cell from the notebook snapshot"
            if run_id is not None:
                from ..api import open_store as _store

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
        """Workbench commands inside the notebook: ``%wb SUB ...`` is ``workbench SUB ...``.

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
        - ``%wb sweep NOTEBOOK_OR_RUN -p NAME V1 V2 ... [--jobs N] [--order-by CLAUSE] [--scheduler ADDRESS]``:
          a grid of reruns, locally or on a Dask cluster
        - ``%wb tune NOTEBOOK_OR_RUN -p NAME float:LOW:HIGH ... --objective metrics.M [--trials N]``: an
          Optuna search over the notebook's parameters; returns the study
        - ``%wb reproduce RUN [--rtol R]``: rerun with the same parameters, compare the metrics
        - ``%wb lineage RUN [--depth N] [--format text|json|dot]``: draw what a run read, wrote and fed
        - ``%wb card REF [--format md|html|json] [-o PATH]``: a model card for a run or model version
        - ``%wb models [register RUN NAME | alias NAME ALIAS VERSION | compare NAME]``: the model registry
        - ``%wb delete RUN`` / ``%wb restore RUN``: soft-delete a run, or undo it
        - ``%wb experiments``: experiments with their run counts
        - ``%wb help [SUBCOMMAND]``

        The options are the CLI's own (``workbench SUB --help``), parsed by the same code.
        ``%%card`` cells hold the author's model card sections (YAML or Markdown).

        Run ids may be given by any unique prefix.
        """
        sub, _, rest = line.strip().partition(" ")
        if not sub:
            print(self.wb.__doc__)
            return None
        if sub == "help":
            return self._wb_help(rest.strip())
        return wb_commands.run(self, sub, rest.strip())

    def _wb_help(self, rest: str) -> None:
        """Show the overview, or one subcommand's help: ``%wb help runs``."""
        if not rest:
            print(self.wb.__doc__)
        elif rest in wb_commands.NOTEBOOK.commands:
            print(wb_commands.help_text(rest))
        elif rest in ("-h", "--help", "help"):
            print(f"%wb help: {self._wb_help.__doc__}")
        else:
            raise UsageError(
                f"%wb help: unknown subcommand {rest!r}; accepted: {', '.join(wb_commands.ORDER)}"
            )

    def _subcommands(self) -> dict[str, Any]:
        """Subcommand -> the function that implements it (its docstring is its summary)."""
        cmds = {name: cmd.callback for name, cmd in wb_commands.commands().items()}
        return {**cmds, "help": self._wb_help}


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
