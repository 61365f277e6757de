"""JupyterLab stays responsive while the store is busy.

A real ``jupyter server`` with the Workbench extension; 4 processes each log 1,000,000
points (``log_metric(key, value, step=i)``) into its store while the panel polls
``runs`` once a second. Meanwhile a client asks ``/api/contents`` (the file browser,
saving a notebook) every 50 ms. Printed: the p50/p99/max latency of ``/api/contents``,
idle and under that load, and how the panel's polls ended (200 or 503 "store busy").

One load run (its latencies are the samples: median = p50, plus p99 and max); writes
the ``server_load`` section of RESULTS.md.
Run: ``python benchmarks/bench_server_load.py [--points N] [--writers N]``
(``WB_BENCH_QUICK=1``: 100,000 points per writer).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from _results import Results, quick

_WRITER = """
import sys, workbench as wb
n = int(sys.argv[1])
with wb.start_run(name="load"):
    for i in range(n):
        wb.log_metric("loss", 1.0 / (i + 1), step=i)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """GETs against the server, recording (status, seconds)."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def get(self, path: str) -> tuple[int, float]:
        req = urllib.request.Request(self.base + path, headers={"Authorization": f"token {self.token}"})
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            status = e.code
        return status, time.perf_counter() - t0


def _poll(client: Client, path: str, every: float, stop: threading.Event, out: list) -> None:
    while not stop.is_set():
        out.append(client.get(path))
        stop.wait(every)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def _report(res: Results, row: str, label: str, samples: list[tuple[int, float]]) -> None:
    times = [t for _, t in samples]
    print(
        f"{label:<34} n={len(times):5d}  p50 {statistics.median(times) * 1000:6.1f} ms  "
        f"p99 {_pct(times, 0.99):7.1f} ms  max {max(times) * 1000:7.1f} ms"
    )
    res.add(f"{row}_ms", [t * 1000 for t in times], "ms", f"{label}: median is p50, max the slowest")
    res.add(f"{row}_p99_ms", _pct(times, 0.99), "ms", f"{label}: p99")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--points",
        type=int,
        default=100_000 if quick() else 1_000_000,
        help="points per writer (default 1,000,000)",
    )
    ap.add_argument("--writers", type=int, default=4, help="writer processes (default 4)")
    args = ap.parse_args()
    res = Results("server_load", "/api/contents latency while writers log and the panel polls")
    work = Path(tempfile.mkdtemp(prefix="wb-load-bench-"))
    store = work / "store"
    env = {**os.environ, "WORKBENCH_STORE": str(store)}
    subprocess.run([sys.executable, "-c", "import workbench as wb; wb.start_run(name='seed').end()"], env=env)
    port, token = _free_port(), "benchtoken"
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable)) or "jupyter"
    server = subprocess.Popen(
        [jupyter, "server", f"--port={port}", "--no-browser", f"--IdentityProvider.token={token}"]
        + [f"--ServerApp.root_dir={work}", "--allow-root"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = Client(f"http://127.0.0.1:{port}/", token)
    try:
        for _ in range(200):
            try:
                if client.get("workbench/api/info")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        stop = threading.Event()
        idle: list = []
        t = threading.Thread(target=_poll, args=(client, "api/contents", 0.05, stop, idle))
        t.start()
        time.sleep(5)
        stop.set()
        t.join()

        stop = threading.Event()
        contents: list = []
        panel: list = []
        pollers = [
            threading.Thread(target=_poll, args=(client, "api/contents", 0.05, stop, contents)),
            threading.Thread(target=_poll, args=(client, "workbench/api/runs?limit=200", 1.0, stop, panel)),
        ]
        t0 = time.perf_counter()
        writers = [
            subprocess.Popen([sys.executable, "-c", _WRITER, str(args.points)], env=env)
            for _ in range(args.writers)
        ]
        for p in pollers:
            p.start()
        codes = [w.wait() for w in writers]
        took = time.perf_counter() - t0
        stop.set()
        for p in pollers:
            p.join()
        total = args.points * args.writers
        print(
            f"{args.writers} writers x {args.points:,} points: {took:.1f} s ({total / took:,.0f} points/s), exit {codes}"
        )
        res.add(
            "writers_pps",
            total / took,
            "points/s",
            f"{args.writers} writers x {args.points:,} points, together",
        )
        _report(res, "contents_idle", "GET /api/contents, idle", idle)
        _report(res, "contents_load", "GET /api/contents, under load", contents)
        ok = sum(1 for s, _ in panel if s == 200)
        busy = sum(1 for s, _ in panel if s == 503)
        other = len(panel) - ok - busy
        _report(res, "panel_poll", "GET workbench/api/runs (panel poll)", panel)
        print(f"panel polls: {ok} answered 200, {busy} answered 503 store busy, {other} other")
        res.add("panel_poll_200", ok, "answers", "panel polls answered 200 during the load")
        res.add("panel_poll_503", busy, "answers", "panel polls answered 503 store busy during the load")
        res.add("panel_poll_other", other, "answers", "panel polls answered otherwise (should be 0)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    res.write()


if __name__ == "__main__":
    main()
