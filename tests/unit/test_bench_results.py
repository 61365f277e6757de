"""The benchmark harness: interleaved repetitions, RESULTS.md sections, and the README
check that compares quoted figures with RESULTS.md rows."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _results  # noqa: E402
import check_readme  # noqa: E402


def test_interleave_rotates_the_order_and_drops_the_warmup():
    order: list[str] = []
    variants = {k: (lambda k=k: order.append(k) or len(order)) for k in ("a", "b", "c")}
    samples = _results.interleave(variants, repetitions=3, warmup=1, returns=True)
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]
    # A variant's return value is its sample; the warm-up round (calls 1-3) is dropped.
    assert samples == {"a": [6.0, 8.0, 10.0], "b": [4.0, 9.0, 11.0], "c": [5.0, 7.0, 12.0]}
    # By default a sample is the call's time, whatever the call returns.
    timed = _results.interleave({"dict": lambda: {"x": 1}}, repetitions=2, warmup=0)
    assert len(timed["dict"]) == 2 and all(0 <= t < 1 for t in timed["dict"])


def test_fmt_keeps_enough_digits():
    assert [_results.fmt(v) for v in (1159728.4, 29.14, 0.2553, 91.0, 0.0004321)] == [
        "1,159,728",
        "29.14",
        "0.2553",
        "91",
        "0.0004321",
    ]


def _section(res: _results.Results) -> str:
    return f"{_results._start(res.name)}\n{res.table()}\n{_results._end(res.name)}\n"


def test_sections_replace_only_their_own(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # Results tees stdout: restored after the test
    path = tmp_path / "RESULTS.md"
    path.write_text(_results.HEADER + "\nNo sections yet: `make bench` writes them.\n")
    a = _results.Results("alpha", "first")
    a.add("x_ms", [3.0, 1.0, 2.0], "ms")
    b = _results.Results("beta", "second")
    b.add("y_s", 7.5, "s")
    _results.replace_section(path, "alpha", _section(a))
    _results.replace_section(path, "beta", _section(b))
    a.add("x_ms", [10.0, 30.0, 20.0], "ms")
    _results.replace_section(path, "alpha", _section(a))
    text = path.read_text()
    assert text.startswith(_results.HEADER) and "No sections yet" not in text
    assert text.count("<!-- section alpha -->") == 1 and text.count("<!-- section beta -->") == 1
    assert _results.parse_results(path) == {
        "alpha/x_ms": {"median": 20.0, "min": 10.0, "max": 30.0},
        "beta/y_s": {"median": 7.5, "min": 7.5, "max": 7.5},
    }


def test_check_readme_finds_and_fixes_mismatches():
    rows = {
        "core/rate": {"median": 1159728.4, "min": 1.0, "max": 2.0},
        "core/ms": {"median": 29.14, "min": 3.04, "max": 12.96},
        "core/ratio": {"median": 42.4, "min": 42.4, "max": 42.4},
    }
    readme = (
        "| 1,159,728<!--core/rate--> | 29.1<!--core/ms--> | 42x<!--core/ratio--> |\n"
        "from 3.0<!--core/ms:min--> to 13.0<!--core/ms:max--> ms, +4%<!--core/ratio--> "
        "and 5<!--core/missing-->\n"
    )
    problems, fixed, count = check_readme.check(readme, rows)
    assert count == 7
    assert problems == [
        "README.md:2: +4% but RESULTS.md's core/ratio median is +42%",
        "README.md:2: 5 quotes core/missing, which RESULTS.md does not have",
    ]
    assert fixed.splitlines()[1] == (
        "from 3.0<!--core/ms:min--> to 13.0<!--core/ms:max--> ms, +42%<!--core/ratio--> and 5<!--core/missing-->"
    )
    assert check_readme.check(fixed, rows)[0] == [problems[1]]
