"""REST latency at scale, through a real ``jupyter server`` over HTTP.

- ``runs`` at 10,000 runs: a page of 200 (newest first), and a filtered, ordered page
  (target under 100 ms);
- ``metrics`` for 10 runs x 100,000 steps, downsampled to 1,000 points per curve
  (target under 100 ms).

Each figure is the median of 20 requests after a warm-up (the three kinds interleaved),
measured as a client sees it. Writes the ``server`` section of RESULTS.md.
Run: ``python benchmarks/bench_server.py``.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from _results import Results, interleave, reps


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(store: Path) -> list[str]:
    import workbench as wb

    wb.set_store(store)
    models = ["ridge", "lasso", "tree", "forest"]
    for i in range(10_000):
        rng = random.Random(i)
        with wb.start_run(params={"model": models[i % 4], "alpha": rng.choice([0.1, 1, 10])}):
            wb.log_metrics({"rmse": 40 + 30 * rng.random(), "r2": rng.random()})
    curves = []
    for r in range(10):
        with wb.start_run(name=f"long-{r}") as run:
            for s in range(100_000):
                wb.log_metric("loss", math.exp(-s / 20_000) + 0.01 * math.sin(s / 50 + r), step=s)
            curves.append(run.run_id)
    wb.flush()
    return curves


def main() -> None:
    res = Results("server", "REST latency through a real jupyter server, 10,010 runs")
    work = Path(tempfile.mkdtemp(prefix="wb-server-bench-"))
    store = work / "store"
    t = time.perf_counter()
    curves = _seed(store)
    print(f"seeded 10,000 runs and 10 x 100,000-step curves in {time.perf_counter() - t:.1f} s")
    port, token = _free_port(), "benchtoken"
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable)) or "jupyter"
    server = subprocess.Popen(
        [
            jupyter,
            "server",
            f"--port={port}",
            "--no-browser",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--allow-root",
        ],
        env={**os.environ, "WORKBENCH_STORE": str(store)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/workbench/api/"

    def get(path: str) -> dict:
        req = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    try:
        for _ in range(100):
            try:
                get("info")
                break
            except OSError:
                time.sleep(0.2)

        flt = urllib.parse.quote("metrics.rmse < 50 and params.model = 'ridge'")
        order = urllib.parse.quote("metrics.rmse ASC")
        ids = ",".join(curves)
        paths = {
            "runs_page_ms": "runs?limit=200",
            "runs_filtered_ms": f"runs?limit=200&filter={flt}&order_by={order}",
            "metrics_ms": f"metrics?ids={ids}&keys=loss&max_points=1000",
        }
        # Warm-up, and the answers are right.
        d = get(paths["runs_page_ms"])
        (len(d["runs"]) == 200 and d["total"] == 10_010) or _fail(d)
        d = get(paths["runs_filtered_ms"])
        len(d["runs"]) == 200 or _fail(d)
        d = get(paths["metrics_ms"])
        (len(d["series"]) == 10 and all(len(s["steps"]) <= 1000 for s in d["series"])) or _fail(d)
        t = interleave({k: (lambda p=p: get(p)) for k, p in paths.items()}, reps(20, 3), warmup=0)
        what = {
            "runs_page_ms": "GET runs, page of 200 of 10,010 runs (target < 100)",
            "runs_filtered_ms": "GET runs, filtered + ordered page of 200 (target < 100)",
            "metrics_ms": "GET metrics, 10 runs x 100,000 steps -> <= 1,000 points each (target < 100)",
        }
        for k, v in t.items():
            res.add(k, [x * 1000 for x in v], "ms", what[k])
        res.write()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _fail(data: dict) -> bool:
    raise AssertionError(f"unexpected answer: {str(data)[:300]}")


if __name__ == "__main__":
    main()
