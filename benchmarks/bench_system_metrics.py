"""The CPU time system metrics cost per hour of a run, at the default 10 s interval.

An hour at 10 s is 360 samples. Two costs, each measured over many samples and
multiplied by 360:

1. **The sampler thread** (reading psutil, and NVML where there is a GPU, and appending
   the points): a real run sampled every 0.02 s for a few seconds; the thread's own CPU
   time (user + system, from /proc through psutil's per-thread times) divided by the
   samples it recorded. That includes its wake-ups.
2. **Writing the samples**: they are held back and ride the commit the writer makes
   for a running run every 30 s anyway (its heartbeat), or the run's own points. So the
   cost is the difference between a heartbeat commit carrying 30 s of samples (3 at
   10 s) and one carrying none: process CPU time (all threads, DuckDB's included) of N
   commits of each kind, interleaved, times the 120 heartbeats of an hour. (Committed
   one by one, 360 an hour, they would cost what one commit costs, 360 times: printed
   too.)

Writes the ``system_metrics`` section of RESULTS.md.
Run: ``python benchmarks/bench_system_metrics.py [--seconds 8] [--writes 60]``
(``WB_BENCH_QUICK=1``: 2 s and 5 commits).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time

from _results import Results, quick

SAMPLES_PER_HOUR = 3600 / 10
HEARTBEATS_PER_HOUR = 3600 / 30


def _thread_cpu(name: str) -> float:
    import psutil

    ids = {t.native_id for t in threading.enumerate() if t.name == name}
    return sum(t.user_time + t.system_time for t in psutil.Process().threads() if t.id in ids)


def sampler_cost(seconds: float) -> tuple[float, int]:
    """CPU seconds per sample of the sampler thread, and the samples taken."""
    import workbench as wb
    from workbench.tracking import system_metrics

    os.environ["WORKBENCH_SYSTEM_METRICS_INTERVAL"] = "0.02"
    with wb.start_run(name="sampler-cost", system_metrics=True) as run:
        time.sleep(0.5)  # the thread has started and imported psutil
        # The samples a run has taken (held back up to 30 s before the writer sees them).
        series = system_metrics._series[run.run_id]
        cpu0, n0 = _thread_cpu("workbench-system-metrics"), series.step
        time.sleep(seconds)
        cpu1, n1 = _thread_cpu("workbench-system-metrics"), series.step
    return (cpu1 - cpu0) / max(1, n1 - n0), n1 - n0


def write_cost(n: int) -> tuple[float, float]:
    """Process CPU seconds of one heartbeat commit without samples and of one carrying
    three samples (36 points), each the mean of ``n`` commits, interleaved."""
    import workbench as wb
    from workbench.tracking.system_metrics import Sampler

    sampler = Sampler()
    run = wb.start_run(name="write-cost", system_metrics=False)
    wb.flush()
    step, empty, carrying = 0, 0.0, 0.0
    for _ in range(n):
        t0 = time.process_time()
        wb.flush()  # the run is active and nothing is buffered: a heartbeat commit
        empty += time.process_time() - t0
        readings = [sampler.sample() for _ in range(3)]
        t0 = time.process_time()
        for reading in readings:
            run.log_metrics(
                {f"system/{k}": v for k, v in reading.items() if not k.startswith("_")}, step=step
            )
            step += 1
        wb.flush()
        carrying += time.process_time() - t0
    run.end()
    wb.flush()
    return empty / n, carrying / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="how long the sampler runs at 0.02 s")
    ap.add_argument("--writes", type=int, default=60, help="commits of each kind")
    args = ap.parse_args()
    if quick():
        args.seconds, args.writes = 2.0, 5
    res = Results("system_metrics", "the CPU time system metrics cost per hour at the default 10 s interval")
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        os.environ["WORKBENCH_STORE"] = os.path.join(tmp, "store")
        per_sample, n = sampler_cost(args.seconds)
        heartbeat, carrying = write_cost(args.writes)
    from workbench.tracking.system_metrics import Sampler

    gpus = Sampler().gpu_count
    hour_sampler = per_sample * SAMPLES_PER_HOUR
    hour_write = max(0.0, carrying - heartbeat) * HEARTBEATS_PER_HOUR
    total = hour_sampler + hour_write
    print(
        f"system metrics at the default 10 s interval ({SAMPLES_PER_HOUR:.0f} samples per hour, {gpus} GPUs)"
    )
    print(
        f"  sampler thread: {per_sample * 1e3:.3f} ms CPU per sample ({n} samples) "
        f"-> {hour_sampler:.2f} s CPU per hour"
    )
    print(
        f"  writing them: a heartbeat commit takes {heartbeat * 1e3:.1f} ms CPU alone, {carrying * 1e3:.1f} ms "
        f"with 3 samples ({args.writes} of each) -> {hour_write:.2f} s CPU per hour"
    )
    print(f"  total: {total:.2f} s CPU per hour = {total / 3600 * 100:.3f}% of one core")
    print(f"  (each sample committed on its own would add {carrying * SAMPLES_PER_HOUR:.1f} s CPU per hour)")
    res.add("sampler_ms_per_sample", per_sample * 1e3, "ms", f"sampler thread CPU per sample ({n} samples)")
    res.add("heartbeat_commit_ms", heartbeat * 1e3, "ms", "CPU of a heartbeat commit, no samples")
    res.add("commit_with_samples_ms", carrying * 1e3, "ms", "CPU of a heartbeat commit carrying 3 samples")
    res.add("cpu_s_per_hour", total, "s", "sampler + writes, CPU per hour at 10 s")
    res.add("percent_of_one_core", total / 3600 * 100, "%", "the same, as a share of one core")
    res.write()


if __name__ == "__main__":
    main()
