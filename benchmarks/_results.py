"""What every benchmark script shares: the machine, interleaved repetitions, RESULTS.md.

A script makes one ``Results("core", "what it measures")``, which from then on also
copies everything the script prints. It times the compared variants with
``interleave`` (each repetition runs every variant once, the order rotating, so drift on
a shared machine hits them alike), files each figure with ``add(row, samples, unit)``
(the median is the figure; min and max are the spread), and finally ``write()``
replaces the script's own section of ``benchmarks/RESULTS.md``: the date, the machine,
a table of rows and the raw output. The README quotes rows of that file
(``check_readme.py`` compares them).

``WB_BENCH_QUICK=1`` asks every script for small sizes and few repetitions (a smoke
run: its figures are not for quoting, and its section says so).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import io
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

RESULTS_MD = Path(__file__).with_name("RESULTS.md")
HEADER = """# Benchmark results

Written by the scripts in `benchmarks/` (`make bench` runs them all); each script replaces
only its own section. Every figure is the median of interleaved repetitions unless the
row says otherwise, min and max give the spread, n is the number of samples. The README
quotes rows of this file as `script/row`; `python benchmarks/check_readme.py` lists any
README figure that differs from its row here (`--fix` rewrites them).
"""


def quick() -> bool:
    """True when ``WB_BENCH_QUICK`` asks for a smoke run (small sizes, few repetitions)."""
    return os.environ.get("WB_BENCH_QUICK", "") not in ("", "0")


def reps(full: int, quick_reps: int = 2) -> int:
    """The repetition count for this run: ``full``, or ``quick_reps`` in quick mode."""
    return quick_reps if quick() else full


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """One line describing this machine and the versions that matter to the figures."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kb / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average at the start {os.getloadavg()[0]:.2f}"
    return (
        f"{cpu}, {usable} cores usable ({os.cpu_count()} online), {ram} RAM, {platform.platform()}, "
        f"Python {platform.python_version()}, duckdb {_version('duckdb')}, mlflow {_version('mlflow')}, "
        f"workbench {_version('workbench')}{load}"
    )


def interleave(
    variants: dict[str, Callable[[], object]], repetitions: int, warmup: int = 1, returns: bool = False
) -> dict[str, list[float]]:
    """Run every variant ``repetitions`` times, interleaved, and return the samples.

    Each repetition runs each variant once; the order rotates by one each repetition so
    no variant always runs first (caches, a neighbour's load). A sample is the call's
    time in seconds or, with ``returns=True``, the number the call returns (a rate, a
    count, a time it measured inside). ``warmup`` rounds run first and are dropped.
    """
    names = list(variants)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + repetitions):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            t = time.perf_counter()
            value = variants[name]()
            elapsed = time.perf_counter() - t
            if r >= warmup:
                samples[name].append(float(value) if returns else elapsed)  # type: ignore[arg-type]
    return samples


def fmt(value: float) -> str:
    """A figure as written in RESULTS.md: thousands separated at 1,000 and above, else
    four significant digits (enough for every precision the README quotes)."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == int(value):
        return str(int(value))
    digits = max(0, 3 - int(f"{abs(value):e}".split("e")[1]))
    return f"{value:.{digits}f}"


class _Tee(io.TextIOBase):
    def __init__(self, stream: io.TextIOBase) -> None:
        self.stream, self.buffer_text = stream, io.StringIO()

    def write(self, s: str) -> int:
        self.buffer_text.write(s)
        return self.stream.write(s)

    def flush(self) -> None:
        self.stream.flush()


class Results:
    """The rows one script measures, and the section of RESULTS.md it owns."""

    def __init__(self, name: str, title: str) -> None:
        self.name, self.title = name, title
        self.rows: list[tuple[str, list[float], str, str]] = []
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.machine = machine()
        self._tee = _Tee(sys.stdout)
        sys.stdout = self._tee
        print(
            f"{name}: {title}\n{self.machine}"
            + ("\nQUICK MODE (WB_BENCH_QUICK): not for quoting" if quick() else "")
        )

    def add(self, row: str, samples: float | Sequence[float], unit: str, what: str = "") -> float:
        """File one figure: ``samples`` (or one value); returns the median."""
        if not re.fullmatch(r"[a-z0-9_]+", row):
            raise ValueError(f"row names are lowercase words joined by _, got {row!r}")
        values = [float(samples)] if isinstance(samples, (int, float)) else [float(s) for s in samples]
        if not values:
            raise ValueError(f"row {row!r} has no samples")
        self.rows = [r for r in self.rows if r[0] != row] + [(row, values, unit, what)]
        med = statistics.median(values)
        spread = (
            f" (min {fmt(min(values))}, max {fmt(max(values))}, n={len(values)})" if len(values) > 1 else ""
        )
        print(f"  {self.name}/{row}: {fmt(med)} {unit}{spread}{'  ' + what if what else ''}")
        return med

    def table(self) -> str:
        lines = ["| row | median | min | max | n | unit | what |", "|---|---|---|---|---|---|---|"]
        for row, values, unit, what in self.rows:
            lines.append(
                f"| `{self.name}/{row}` | {fmt(statistics.median(values))} | {fmt(min(values))} | "
                f"{fmt(max(values))} | {len(values)} | {unit} | {what} |"
            )
        return "\n".join(lines)

    def write(self) -> Path:
        """Replace this script's section of RESULTS.md (the others stay as they are)."""
        sys.stdout = self._tee.stream
        took = (datetime.datetime.now(datetime.timezone.utc) - self.started).total_seconds()
        raw = self._tee.buffer_text.getvalue().replace("```", "'''").rstrip()
        mode = " **Quick mode (WB_BENCH_QUICK): smoke figures, not for quoting.**" if quick() else ""
        section = (
            f"{_start(self.name)}\n## {self.name}: {self.title}\n\n"
            f"`benchmarks/bench_{self.name}.py`, run {self.started:%Y-%m-%d %H:%M} UTC, took {took:.0f} s.{mode}\n\n"
            f"Machine: {self.machine}.\n\n{self.table()}\n\n"
            f"<details><summary>raw output</summary>\n\n```\n{raw}\n```\n\n</details>\n{_end(self.name)}\n"
        )
        replace_section(RESULTS_MD, self.name, section)
        print(f"wrote section {self.name!r} of {RESULTS_MD}")
        return RESULTS_MD


def _start(name: str) -> str:
    return f"<!-- section {name} -->"


def _end(name: str) -> str:
    return f"<!-- /section {name} -->"


def replace_section(path: Path, name: str, section: str) -> None:
    """Put ``section`` in place of ``name``'s section of ``path`` (appended when new),
    written to a temporary file and renamed, so a reader never sees half of it."""
    text = path.read_text() if path.exists() else HEADER
    text = re.sub(r"^No sections yet:.*\n", "", text, flags=re.MULTILINE)  # the committed placeholder
    start, end = _start(name), _end(name)
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def parse_results(path: Path = RESULTS_MD) -> dict[str, dict[str, float]]:
    """Every row of RESULTS.md: ``{"core/row": {"median": …, "min": …, "max": …}}``."""
    rows: dict[str, dict[str, float]] = {}
    pattern = re.compile(r"^\| `([a-z0-9_]+/[a-z0-9_]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|")
    for line in path.read_text().splitlines():
        m = pattern.match(line)
        if m:
            med, lo, hi = (float(x.strip().replace(",", "")) for x in m.groups()[1:])
            rows[m.group(1)] = {"median": med, "min": lo, "max": hi}
    return rows
