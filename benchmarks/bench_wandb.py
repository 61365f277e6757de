"""``log_metrics`` of a 10-key dict in a loop beside W&B offline's ``run.log`` (issue 13).

The same call on both sides, timed with the flush included, in one process and
interleaved (``_results``):

- **Workbench**: 100,000 calls of ``wb.log_metrics({k0..k9: v}, step=i)`` in a run of a
  temporary store, then ``wb.flush()`` (as ``bench_scale``'s ``log_metrics_10_keys``).
- **W&B offline**: ``wandb.init(mode="offline")`` into a temporary directory, then
  100,000 calls of ``run.log({k0..k9: v}, step=i)``, then ``run.finish()``: that is
  W&B's flush; it returns once the exit record, behind every history record, is in the
  run's ``.wandb`` file. The timer starts after ``wandb.init`` as Workbench's starts
  after ``start_run`` (init is a row of its own); W&B's writing happens in its
  ``wandb-core`` process, on another core.

Each figure is points per second (calls x 10). Turned off in W&B, so that it does
only what is measured (record the points) and starts without waiting on anything:
system stats sampling (``x_disable_stats``; Workbench's run keeps its default 10 s
sampler, as in ``bench_scale``, so this can only favour W&B), the machine and metadata probes (``x_disable_machine_info``, ``x_disable_meta``: they
read the hardware and the git state, and may ask a cloud's metadata endpoint), the console
capture (``console="off"``: it wraps stdout), code and git saving (``disable_code``,
``disable_git``, ``save_code=False``), job creation, and its messages (``silent``).
``WANDB_MODE=offline`` (nothing is sent) and W&B's config, cache and data directories
point into the temporary directory. ``wandb.teardown()`` stops ``wandb-core`` at the
end, and the script checks that no child process is left.

Needs ``pip install -e '.[wandb-bench]'`` (``make bench`` installs it; ``make test``
does not). Writes the ``wandb`` section of RESULTS.md.
Run: ``python benchmarks/bench_wandb.py [--calls 100000] [--wandb-calls N]``
(``WB_BENCH_QUICK=1``: 10,000 calls, 2 repetitions).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _results import Results, interleave, quick, reps

KEYS = [f"k{j}" for j in range(10)]


def wandb_version() -> str:
    try:
        return importlib.metadata.version("wandb")
    except importlib.metadata.PackageNotFoundError:
        sys.exit("bench_wandb: wandb is not installed: pip install -e '.[wandb-bench]'")


def offline_env(root: Path) -> None:
    """W&B's environment: offline, quiet, everything it writes under ``root``."""
    for var, value in {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_CONSOLE": "off",
        "WANDB_DISABLE_CODE": "true",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_JOB_CREATION": "true",
        "WANDB_DIR": str(root),
        "WANDB_CONFIG_DIR": str(root / "config"),
        "WANDB_CACHE_DIR": str(root / "cache"),
        "WANDB_DATA_DIR": str(root / "data"),
        "WANDB_ARTIFACT_DIR": str(root / "artifacts"),
    }.items():
        os.environ[var] = value


def wandb_variant(root: Path, calls: int, inits: list[float]):
    """A variant for ``interleave``: one offline W&B run of ``calls`` logs; returns
    points/s from the first log to the end of ``finish()``, and appends init's seconds."""
    import wandb

    settings = wandb.Settings(
        mode="offline",
        console="off",
        silent=True,
        x_disable_stats=True,
        x_disable_meta=True,
        x_disable_machine_info=True,
        disable_code=True,
        disable_git=True,
        save_code=False,
        disable_job_creation=True,
    )

    def run() -> float:
        t = time.perf_counter()
        r = wandb.init(dir=root, project="bench-wandb", settings=settings)
        inits.append(time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(calls):
            r.log({k: i * 0.5 for k in KEYS}, step=i)
        r.finish()
        return calls * 10 / (time.perf_counter() - t)

    return run


def workbench_variant(root: Path, calls: int):
    """A variant for ``interleave``: ``bench_scale``'s ``log_metrics``, ``calls`` calls."""
    import workbench as wb

    wb.set_store(root / "store")
    with wb.start_run():  # warm-up: imports, store creation
        for i in range(10_000):
            wb.log_metric("loss", 0.5, step=i)
    wb.flush()

    def run() -> float:
        with wb.start_run():
            t = time.perf_counter()
            for i in range(calls):
                wb.log_metrics({k: i * 0.5 for k in KEYS}, step=i)
            wb.flush()
            rate = calls * 10 / (time.perf_counter() - t)
        wb.flush()  # the run's end, not in the figure (nor left to the writer during W&B's turn)
        return rate

    return run


def wandb_children() -> list[str]:
    """W&B's child processes of this one still alive (``wandb-core`` after teardown)."""
    import psutil

    left = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.is_running() and "wandb" in " ".join([p.name(), *p.cmdline()]):
                left.append(f"{p.pid} {p.name()}")
        except psutil.Error:  # it exited meanwhile
            pass
    return left


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--calls", type=int, default=100_000, help="log_metrics calls of Workbench per repetition"
    )
    ap.add_argument("--wandb-calls", type=int, default=0, help="run.log calls of W&B (default: --calls)")
    args = ap.parse_args()
    version = wandb_version()  # exits with the install hint if wandb is missing
    calls = 10_000 if quick() else args.calls
    wandb_calls = args.wandb_calls or calls
    res = Results("wandb", "log_metrics of a 10-key dict beside W&B offline's run.log, flush included")
    res.machine += f", wandb {version}"
    print(f"wandb {version}, offline")
    root = Path(tempfile.mkdtemp(prefix="wb-wandb-"))
    offline_env(root / "wandb")
    inits: list[float] = []
    try:
        variants = {
            "workbench": workbench_variant(root, calls),
            "wandb": wandb_variant(root / "wandb", wandb_calls, inits),
        }
        s = interleave(variants, reps(3), returns=True)
    finally:
        if "wandb" in sys.modules:
            sys.modules["wandb"].teardown()
        import workbench as wb

        wb.flush()  # before the store's directory is removed
        wb.set_store(None)
        left = []
        for _ in range(50):  # wandb-core exits shortly after teardown
            left = wandb_children()
            if not left:
                break
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
    if left:
        sys.exit(f"bench_wandb: child processes left running after wandb.teardown(): {', '.join(left)}")
    print("no wandb-core process left after wandb.teardown()")
    w = res.add(
        "wb_log_metrics_10_keys_pts_s",
        s["workbench"],
        "points/s",
        f"wb.log_metrics(10-key dict, step=i) x {calls:,} = {calls * 10:,} points, flush incl.",
    )
    b = res.add(
        "wandb_offline_log_10_keys_pts_s",
        s["wandb"],
        "points/s",
        f"W&B {version} offline run.log(10-key dict, step=i) x {wandb_calls:,} = {wandb_calls * 10:,} points, "
        "finish() incl.",
    )
    res.add("wb_vs_wandb", w / b, "x", "Workbench / W&B offline, points/s")
    res.add(
        "wandb_offline_init_s",
        inits[1:],  # the warm-up round's init starts wandb-core
        "s",
        "wandb.init(mode='offline'), not in the figure above (wandb-core already started)",
    )
    res.write()


if __name__ == "__main__":
    main()
