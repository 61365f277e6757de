"""What `reproduce` reports about the environment: packages added, removed or changed,
Python and the git commit, between the original run and its rerun."""

from __future__ import annotations

import workbench as wb


def test_reproduce_lists_what_differs_in_the_environment():
    # What `reproduce` prints under "environment differences": packages added, removed or
    # changed, Python and the git commit, between the original run and its rerun.
    import json

    from workbench.api import open_store
    from workbench.rerun.core import ReproduceReport, _env_diff

    def run(name, packages, python, commit):
        with wb.start_run(name=name) as r:
            env = {
                "env_hash": name * 8,
                "python": python,
                "platform": "linux",
                "packages": json.dumps(packages),
            }
            r.record_environment(env)
            r.set_context(env_hash=env["env_hash"], python_version=python, git_commit=commit)
        return r.run_id

    a = run("a", ["numpy==2.0", "pandas==2.2", "scipy==1.13"], "3.11.7", "abc")
    b = run("b", ["numpy==2.1", "pandas==2.2", "torch==2.4"], "3.12.1", "def")
    wb.flush()
    store = open_store()
    diff = _env_diff(store, store.get_run(a), store.get_run(b))
    assert diff == {
        "added": ["torch==2.4"],
        "removed": ["scipy==1.13"],
        "changed": [("numpy", "2.0", "2.1")],
        "python": ("3.11.7", "3.12.1"),
        "git_commit": ("abc", "def"),
    }
    text = ReproduceReport(a, b, True, [], diff).to_text()
    assert text.split("environment differences:\n")[1].split("\n\n")[0].splitlines() == [
        "  python: 3.11.7 -> 3.12.1",
        "  git_commit: abc -> def",
        "  + torch==2.4",
        "  - scipy==1.13",
        "  ~ numpy: 2.0 -> 2.1",
    ]
