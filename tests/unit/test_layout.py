"""The layout rules the README states under "How it is built"."""

from __future__ import annotations

from pathlib import Path

import workbench

#: "No Python module over about 600 lines": past this, a module is due a split.
MAX_LINES = 650


def test_no_module_is_much_over_600_lines():
    root = Path(workbench.__file__).parent
    sizes = {
        str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("*.py")
    }
    assert len(sizes) > 50
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
