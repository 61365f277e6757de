"""Check, on a machine with an NVIDIA GPU, that runs record GPU system metrics.

Starts a run sampled every second (``--interval``), keeps the GPU busy for a few
seconds with torch or cupy when one is installed (else just waits: utilisation may
then read 0, memory and temperature still show), ends the run and prints every
``system/gpu_*`` metric it recorded with its samples. Exits 1 when there are none.

Run: ``python benchmarks/check_gpu_metrics.py [--seconds 6] [--interval 1]``
(needs ``nvidia-ml-py``, a core dependency, and the NVIDIA driver).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def gpu_work(seconds: float) -> str:
    """Multiply matrices on GPU 0 for ``seconds``; says what did the work."""
    end = time.monotonic() + seconds
    try:
        import torch

        if torch.cuda.is_available():
            a = torch.randn(4096, 4096, device="cuda")
            while time.monotonic() < end:
                a = (a @ a).clamp_(-1, 1)
            torch.cuda.synchronize()
            return "torch matmuls"
    except ImportError:
        pass
    try:
        import cupy

        a = cupy.random.rand(4096, 4096, dtype=cupy.float32)
        while time.monotonic() < end:
            a = cupy.clip(a @ a, -1, 1)
        cupy.cuda.Device(0).synchronize()
        return "cupy matmuls"
    except ImportError:
        pass
    time.sleep(seconds)
    return "nothing (neither torch nor cupy is installed): waited"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()
    os.environ["WORKBENCH_SYSTEM_METRICS_INTERVAL"] = str(args.interval)
    os.environ.pop("WORKBENCH_SYSTEM_METRICS", None)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        os.environ["WORKBENCH_STORE"] = os.path.join(tmp, "store")
        import workbench as wb
        from workbench.tracking.system_metrics import Sampler

        print(f"GPUs NVML sees: {Sampler().gpu_count}")
        with wb.start_run(name="gpu-check") as run:
            did = gpu_work(args.seconds)
        wb.flush()
        print(f"GPU work: {did}")
        metrics = wb.get_run(run.run_id).metrics
        gpu = sorted(k for k in metrics if k.startswith("system/gpu_"))
        for key in gpu:
            values = wb.metric_history(run.run_id, key)["value"].tolist()
            print(f"  {key}: {len(values)} samples, last {values[-1]:.1f}, max {max(values):.1f}")
        if not gpu:
            print("no system/gpu_* metric was recorded", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
