"""Every magic and %wb subcommand explains itself (in-process IPython shell)."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.testing import globalipapp

from workbench.magics import WorkbenchMagics


def _shell():
    # globalipapp's get_ipython() starts the shared test shell once and answers None to
    # every later caller that imported the function by name: ask the module each time.
    globalipapp.start_ipython()
    return globalipapp.get_ipython()


@pytest.fixture(scope="module")
def ip():
    shell = _shell()
    shell.run_line_magic("load_ext", "workbench")
    return shell


def _subcommands(ip):
    return ip.magics_manager.registry["WorkbenchMagics"]._subcommands()


def test_track_and_wb_have_help(ip):
    track_doc = ip.magics_manager.magics["cell"]["track"].__doc__
    for option in ("--name", "--experiment", "--params", "--metrics", "--tags", "--no-autolog"):
        assert option in track_doc
    wb_doc = ip.magics_manager.magics["line"]["wb"].__doc__
    for sub in _subcommands(ip):
        assert f"%wb {sub}" in wb_doc or sub == "help", sub


def test_every_wb_subcommand_has_its_own_help(ip, capsys):
    subs = _subcommands(ip)
    assert set(subs) >= {"runs", "compare", "show", "start", "log", "param", "end", "help"}
    for sub, handler in subs.items():
        assert handler.__doc__ and len(handler.__doc__.strip()) > 20, sub
        ip.run_line_magic("wb", f"{sub} --help")
        out = capsys.readouterr().out
        assert out.startswith(f"%wb {sub}:"), sub
        ip.run_line_magic("wb", f"help {sub}")
        assert capsys.readouterr().out.startswith(f"%wb {sub}:")


def test_wb_without_arguments_prints_the_overview(ip, capsys):
    ip.run_line_magic("wb", "")
    assert "Subcommands" in capsys.readouterr().out


def test_unknown_subcommand_lists_the_accepted_ones(ip):
    with pytest.raises(UsageError, match="accepted: runs, compare"):
        ip.magics_manager.registry["WorkbenchMagics"].wb("frobnicate")


def test_magics_class_docstring():
    assert "%%track" in WorkbenchMagics.__doc__


def test_card_and_registry_magics_bad_input_is_one_usage_line(ip):
    with pytest.raises(UsageError, match="No closing quotation"):
        ip.run_line_magic("wb", 'models register "unclosed')
    with pytest.raises(UsageError, match="%wb lineage: --depth takes a whole number"):
        ip.run_line_magic("wb", "lineage abc --depth x")
    with pytest.raises(UsageError, match="give one run id or model reference"):
        ip.run_line_magic("wb", "card")
    with pytest.raises(UsageError, match=r"line 3: invalid YAML"):
        ip.run_cell_magic("card", "", "intended_use: ok\nfactors: [open\n")
    with pytest.raises(UsageError, match="Accepted options: --run RUN"):
        ip.run_cell_magic("card", "--bogus", "intended_use: ok\n")


def test_wb_runs_the_clis_own_click_commands(ip, capsys):
    """One parser per command: `%wb SUB` is `workbench SUB` (same options, checks, help)."""
    from workbench.cli import cli
    from workbench.magics import wb as wb_commands

    for sub in ("runs", "compare", "show", "lineage", "card", "models", "rerun", "sweep", "reproduce"):
        assert wb_commands.NOTEBOOK.commands[sub] is cli.commands[sub], sub
    # An option the CLI checks is checked the same way, with the CLI's message.
    with pytest.raises(UsageError, match=r"%wb runs: --limit .*is not a valid integer"):
        ip.run_line_magic("wb", "runs --limit x")
    with pytest.raises(UsageError, match=r"%wb show: Got unexpected extra argument"):
        ip.run_line_magic("wb", "show a b")
    # The CLI's own help text, options included.
    ip.run_line_magic("wb", "runs --help")
    out = capsys.readouterr().out
    assert out.startswith("%wb runs: Usage: %wb runs [OPTIONS] [FILTER]") and "--order-by" in out


def test_wb_runs_keeps_the_filters_quotes_and_unquotes_option_values():
    from workbench.magics.wb import split_line

    args = split_line("runs", "params.model = 'ridge' and metrics.x > -1 -o \"metrics.x ASC\" --deleted")
    assert args == ["-o", "metrics.x ASC", "--deleted", "--", "params.model", "=", "'ridge'", "and"] + [
        "metrics.x",
        ">",
        "-1",
    ]
    assert split_line("sweep", "'my nb.ipynb' -p alpha 0.1 1") == ["my nb.ipynb", "-p", "alpha", "0.1", "1"]


def test_reliability_13_an_unbalanced_quote_in_track_is_one_usage_line(ip):
    with pytest.raises(UsageError, match=r"%%track: No closing quotation\. Accepted options: --name"):
        ip.run_cell_magic("track", "--name 'abc", "x = 1\n")
    with pytest.raises(UsageError, match=r"Accepted options: --run RUN"):
        ip.run_cell_magic("card", "--run 'abc", "intended_use: ok\n")


def test_wb_models_register_alias_and_compare(ip, capsys):
    import workbench as wb

    ids = []
    for rmse in (2.0, 1.0):
        with wb.start_run(name=f"m{rmse}") as run:
            wb.log_model({"rmse": rmse}, name="model")
            wb.log_metric("rmse", rmse)
        ids.append(run.run_id)
    wb.flush()
    ip.run_line_magic("wb", f"models register {ids[0][:8]} toy --alias champion")
    ip.run_line_magic("wb", f"models register {ids[1][:8]} toy")
    ip.run_line_magic("wb", "models alias toy challenger 2")
    assert wb.get_model_version("toy@challenger").run_id == ids[1]
    capsys.readouterr()
    ip.run_line_magic("wb", "models compare toy")
    out = capsys.readouterr().out
    assert "challenger is better" in out and "rmse" in out, out
