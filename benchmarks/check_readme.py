"""Compare the figures the README quotes with the rows of benchmarks/RESULTS.md.

A quoted figure carries its source right after it, as an HTML comment (invisible on
GitHub): ``1,159,728<!--core/wb_points_per_s-->`` quotes the median of that row;
``3.1<!--track_overhead/cell_overhead_ms:min-->`` its min (``:max`` its max). A ratio
or a percentage may end in ``x`` or ``%`` before the comment. The README's figure
matches when RESULTS.md's value rounds to it at the precision the README shows.

Run after ``make bench``: ``python benchmarks/check_readme.py`` prints every mismatch and
every row the README names that RESULTS.md lacks, and exits 1 if there is any;
``--fix`` rewrites the README's figures to RESULTS.md's values (same precision).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from _results import RESULTS_MD, parse_results

README = Path(__file__).resolve().parent.parent / "README.md"
QUOTE = re.compile(
    r"([+-]?\d[\d,]*(?:\.\d+)?)([x%]?)<!--\s*([a-z0-9_]+/[a-z0-9_]+)(?::(median|min|max))?\s*-->"
)


def _render(value: float, shown: str) -> str:
    """``value`` written the way ``shown`` is: same decimals, separators, sign."""
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    text = (
        f"{value:,.{decimals}f}"
        if "," in shown or (decimals == 0 and abs(value) >= 10_000)
        else f"{value:.{decimals}f}"
    )
    if shown.startswith("+") and value >= 0:
        text = "+" + text
    return text


def check(readme: str, rows: dict[str, dict[str, float]]) -> tuple[list[str], str, int]:
    """The problems found, the README with every figure set from ``rows``, and the count
    of quoted figures."""
    problems: list[str] = []
    count = 0

    def fix(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        shown, suffix, key, stat = m.group(1), m.group(2), m.group(3), m.group(4) or "median"
        line = readme.count("\n", 0, m.start()) + 1
        if key not in rows:
            problems.append(f"README.md:{line}: {shown}{suffix} quotes {key}, which RESULTS.md does not have")
            return m.group(0)
        want = _render(rows[key][stat], shown)
        if want.replace(",", "") != shown.replace(",", ""):
            problems.append(
                f"README.md:{line}: {shown}{suffix} but RESULTS.md's {key} {stat} is {want}{suffix}"
            )
        return m.group(0).replace(shown + suffix, want + suffix, 1)

    fixed = QUOTE.sub(fix, readme)
    return problems, fixed, count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fix", action="store_true", help="Rewrite the README's figures to RESULTS.md's.")
    args = ap.parse_args()
    if not RESULTS_MD.exists():
        print(f"{RESULTS_MD} does not exist: run `make bench` first", file=sys.stderr)
        return 1
    rows = parse_results(RESULTS_MD)
    text = README.read_text()
    problems, fixed, count = check(text, rows)
    quick = re.findall(r"^## (\w+):.*\n\n.*Quick mode", RESULTS_MD.read_text(), re.MULTILINE)
    if quick:
        problems.append(f"RESULTS.md: sections from a quick (smoke) run, not for quoting: {', '.join(quick)}")
    for p in problems:
        print(p)
    quoted = set(m.group(3) for m in QUOTE.finditer(text))
    print(
        f"{count} quoted figures from {len(quoted)} rows; RESULTS.md has {len(rows)}; {len(problems)} problems"
    )
    if args.fix and fixed != text:
        README.write_text(fixed)
        print("README.md rewritten from RESULTS.md")
        return 0 if all("does not have" not in p for p in problems) else 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
