"""``import workbench`` loads the rerun service, lineage, the registry and bundles on first
use (issue 16: they were a third of the modules a ``workbench runs`` process imported),
and the public names behave as when they were imported with the package."""

from __future__ import annotations

import subprocess
import sys

LAZY = ["workbench.rerun", "workbench.lineage", "workbench.registry", "workbench.bridges.bundle"]


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.splitlines()


def test_import_and_a_runs_listing_load_none_of_them():
    code = (
        "import sys, io, contextlib\n"
        "import workbench\n"
        f"print(sorted(m for m in {LAZY!r} if m in sys.modules))\n"
        "from workbench.cli import main\n"
        "sys.argv = ['workbench', 'runs', '-n', '20']\n"
        "try:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {LAZY!r} if m in sys.modules))\n"
    )
    assert _run(code) == ["[]", "[]"]


def test_every_public_name_resolves_and_is_listed():
    code = (
        "import types, workbench as wb\n"
        "missing = [n for n in wb.__all__ if n not in dir(wb)]\n"
        "modules = [n for n in wb.__all__ if isinstance(getattr(wb, n), types.ModuleType)]\n"
        "print(missing, modules)\n"
        "from workbench import sweep, Lineage, models, export_runs\n"
        "print(sweep.__module__, Lineage.__module__, models.__module__, export_runs.__module__)\n"
    )
    assert _run(code) == [
        "[] []",
        "workbench.rerun.core workbench.lineage workbench.registry workbench.bridges.bundle",
    ]


def test_a_submodule_imported_first_does_not_shadow_its_function():
    # ``workbench.rerun`` and ``workbench.lineage`` are modules and public functions; code
    # importing the module first (the CLI's sweep, the server...) must leave the function,
    # and the rerun service must get the notebook progress display all the same.
    code = (
        "import workbench.rerun.core, workbench.lineage\n"
        "import workbench as wb\n"
        "from workbench.rerun import core\n"
        "print(wb.rerun.__module__, wb.lineage.__module__, core._progress_factory.__name__)\n"
    )
    assert _run(code) == ["workbench.rerun.core workbench.lineage _sweep_progress"]


def test_an_unknown_name_is_an_attribute_error():
    code = (
        "import workbench\n"
        "try:\n    workbench.nope\nexcept AttributeError as e:\n    print(e)\n"
        "print(hasattr(workbench, 'nope'))\n"
    )
    assert _run(code) == ["module 'workbench' has no attribute 'nope'", "False"]
