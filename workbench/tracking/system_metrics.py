"""System metrics: CPU, memory, disk, network and GPU, recorded while a run is active.

One background thread per process samples every ``$WORKBENCH_SYSTEM_METRICS_INTERVAL``
seconds (10 by default) for all the active runs that want them, and a run that ends
more than a second after its last sample takes one more, so short runs get one too.
The names are MLflow's (``system/cpu_utilization_percentage``, ``system/gpu_0_...``),
so runs bridged from MLflow read the same; a few MLflow does not record (the process's
RSS and CPU, disk reads and writes, GPU temperature) follow its pattern.

Each run's samples go to a buffer of their own that the run's writer drains like the
run's own points: the user's thread appends to the run's buffer, this thread to the
samples' buffer, and neither waits for the other.

psutil is imported by the sampler thread, not by ``start_run``; NVML (``nvidia-ml-py``)
only where an NVIDIA driver is installed, so a machine without a GPU pays nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any

from ..env import WORKBENCH_SYSTEM_METRICS, WORKBENCH_SYSTEM_METRICS_INTERVAL
from .points import PointBuffer
from .writer import HEARTBEAT_S

if TYPE_CHECKING:
    from .run import Run
    from .writer import Writer

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_INTERVAL_S", "PREFIX", "Sampler", "attach", "enabled", "interval_s", "is_system"]

PREFIX = "system/"
DEFAULT_INTERVAL_S = 10.0
#: A run ending this long after its last sample takes a last one.
FINAL_SAMPLE_AFTER_S = 1.0
#: Samples wait at most this long for a commit (the writer's heartbeat interval).
PUBLISH_S = HEARTBEAT_S
_MB = 1e6  # MLflow's megabytes are decimal

# Counters recorded as the amount since the run started (MLflow does so for network).
_SINCE_START = {
    "network_receive_megabytes": "_net_recv",
    "network_transmit_megabytes": "_net_sent",
    "disk_read_megabytes": "_disk_read",
    "disk_write_megabytes": "_disk_write",
}


def is_system(metric: str) -> bool:
    """Whether ``metric`` is a system metric (``system/...``), shown apart from the model's."""
    return metric.startswith(PREFIX)


def enabled(flag: bool | None) -> bool:
    """Whether a run records system metrics: ``flag`` when given, else on unless
    ``$WORKBENCH_SYSTEM_METRICS`` is ``0`` (or ``false``/``off``/``no``)."""
    if flag is not None:
        return bool(flag)
    return os.environ.get(WORKBENCH_SYSTEM_METRICS, "1").strip().lower() not in ("0", "false", "off", "no")


def interval_s() -> float:
    """Seconds between samples: ``$WORKBENCH_SYSTEM_METRICS_INTERVAL``, else 10. A value
    that is not a positive number is reported once and the default used (a run never
    fails over its monitoring)."""
    raw = os.environ.get(WORKBENCH_SYSTEM_METRICS_INTERVAL)
    if not raw:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (0 < value < float("inf")):
        warnings.warn(
            f"{WORKBENCH_SYSTEM_METRICS_INTERVAL}={raw!r} is not a positive number of seconds; "
            f"sampling every {DEFAULT_INTERVAL_S:g} s",
            RuntimeWarning,
            stacklevel=3,
        )
        return DEFAULT_INTERVAL_S
    return value


def _nvidia_driver() -> bool:
    # A loaded driver shows in /proc on Linux; elsewhere nvidia-smi comes with it.
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version")
    return shutil.which("nvidia-smi") is not None


class Sampler:
    """Reads the machine's counters; :meth:`sample` returns one reading by metric name.

    Created once per process, in the sampler thread (it imports psutil, and NVML where
    a driver exists).
    """

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._process = psutil.Process()
        # cpu_percent compares with the previous call: this first one sets the origin.
        psutil.cpu_percent(None)
        self._process.cpu_percent(None)
        self._nvml: Any = None
        self._gpus: list[Any] = []
        if _nvidia_driver():
            self._init_nvml()

    def _init_nvml(self) -> None:
        try:
            import pynvml

            pynvml.nvmlInit()
            self._gpus = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
            self._nvml = pynvml
        except ImportError:
            log.warning("workbench: an NVIDIA driver is installed but nvidia-ml-py is not; no GPU metrics")
        except Exception as e:  # noqa: BLE001 - pynvml.NVMLError and friends: no GPU metrics, no failure
            log.warning("workbench: NVML did not start (%s); no GPU metrics", e)

    @property
    def gpu_count(self) -> int:
        """How many GPUs are sampled (0 without a driver)."""
        return len(self._gpus)

    def sample(self) -> dict[str, float]:
        """One reading of every metric (names without the ``system/`` prefix). The
        counters in ``_SINCE_START`` are absolute here; each run subtracts its start."""
        ps = self._psutil
        vm = ps.virtual_memory()
        out: dict[str, float] = {
            "cpu_utilization_percentage": ps.cpu_percent(None),
            "system_memory_usage_megabytes": vm.used / _MB,
            "system_memory_usage_percentage": vm.used / vm.total * 100,
        }
        try:
            with self._process.oneshot():
                out["process_cpu_utilization_percentage"] = self._process.cpu_percent(None)
                out["process_memory_rss_megabytes"] = self._process.memory_info().rss / _MB
        except ps.Error:
            pass
        try:
            du = ps.disk_usage(os.sep)
            out.update(
                disk_usage_percentage=du.percent,
                disk_usage_megabytes=du.used / _MB,
                disk_available_megabytes=du.free / _MB,
            )
        except OSError:
            pass
        io = ps.disk_io_counters()  # None where the kernel exposes none (some containers)
        if io is not None:
            out.update(_disk_read=io.read_bytes / _MB, _disk_write=io.write_bytes / _MB)
        net = ps.net_io_counters()
        if net is not None:
            out.update(_net_recv=net.bytes_recv / _MB, _net_sent=net.bytes_sent / _MB)
        for i, handle in enumerate(self._gpus):
            out.update(self._gpu(i, handle))
        return out

    def _gpu(self, i: int, handle: Any) -> dict[str, float]:
        nv, out = self._nvml, {}
        # Each reading on its own: a GPU may support some and not others (power on MIG).
        readings = {
            "memory": lambda: nv.nvmlDeviceGetMemoryInfo(handle),
            "utilization": lambda: nv.nvmlDeviceGetUtilizationRates(handle).gpu,
            "power": lambda: nv.nvmlDeviceGetPowerUsage(handle) / 1000,
            "power_limit": lambda: nv.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000,
            "temperature": lambda: nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU),
        }
        got: dict[str, Any] = {}
        for name, read in readings.items():
            try:
                got[name] = read()
            except Exception:  # noqa: BLE001, S112 - pynvml.NVMLError_NotSupported and the like
                continue
        p = f"gpu_{i}_"
        if "memory" in got:
            mem = got["memory"]
            out[p + "memory_usage_megabytes"] = mem.used / _MB
            out[p + "memory_usage_percentage"] = mem.used / mem.total * 100 if mem.total else 0.0
        if "utilization" in got:
            out[p + "utilization_percentage"] = float(got["utilization"])
        if "power" in got:
            out[p + "power_usage_watts"] = got["power"]
            if got.get("power_limit"):
                out[p + "power_usage_percentage"] = got["power"] / got["power_limit"] * 100
        if "temperature" in got:
            out[p + "temperature_celsius"] = float(got["temperature"])
        return out


class _Series:
    """One run's system metrics: the buffer its writer drains (registered in the writer
    beside the run, with the same ``run_id``), its step and its start counters.

    Samples are held back and handed to the buffer with the run's own points, or every
    ``PUBLISH_S`` seconds: the writer commits a run's heartbeat that often anyway, so a
    run that logs nothing else pays no commit of its own per sample (about 60 ms of CPU
    each, see benchmarks/bench_system_metrics.py).
    """

    __slots__ = ("base", "buffer", "ended", "held", "last", "published", "run", "run_id", "step")

    def __init__(self, run: Run) -> None:
        self.run = run
        self.run_id = run.run_id
        self.buffer = PointBuffer()
        self.ended = False
        self.step = 0
        self.last = self.published = time.monotonic()
        self.base: dict[str, float] | None = None
        self.held: list[tuple[int, str, float, float]] = []

    def add(self, reading: dict[str, float]) -> None:
        """Take one sample (the caller holds the module lock: one producer at a time)."""
        if self.base is None:
            self.base = {k: reading[k] for k in _SINCE_START.values() if k in reading}
        now, step, held = time.time(), self.step, self.held
        values = [(PREFIX + k, v) for k, v in reading.items() if not k.startswith("_")]
        values += [
            (PREFIX + name, max(0.0, reading[raw] - self.base[raw]))
            for name, raw in _SINCE_START.items()
            if raw in reading and raw in self.base
        ]
        for key, value in values:
            v = float(value)
            if v - v == 0.0:  # NaN or inf is a reading gone wrong, not a value to store
                held.append((step, key, v, now))
        self.step += 1
        self.last = time.monotonic()
        if self.run.pending_points or self.last - self.published >= PUBLISH_S:
            self.publish()

    def publish(self) -> None:
        """Hand the held samples to the buffer the writer drains."""
        buf, held = self.buffer, self.held
        self.held = []
        self.published = time.monotonic()
        for step, key, value, t in held:
            # The order the writer relies on (see PointBuffer): step, key, value, then time.
            buf.steps.append(step)
            buf.keys.append(key)
            buf.values.append(value)
            buf.times.append(t)


_lock = threading.Lock()
_series: dict[str, _Series] = {}
_wake = threading.Event()
_thread: threading.Thread | None = None
_sampler: Sampler | None = None


def attach(run: Run, writer: Writer) -> None:
    """Record system metrics for ``run`` until it ends: its samples' buffer joins the
    writer's, the sampler thread starts if it is not running, and the run takes a last
    sample when it ends."""
    global _thread
    series = _Series(run)
    # The writer drains every entry of .runs; this one shares the run's id, so its points
    # are the run's, and it leaves the writer once ended and written.
    writer.runs[f"{run.run_id}/{PREFIX}"] = series
    with _lock:
        _series[run.run_id] = series
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(
                target=_loop, args=(interval_s(),), name="workbench-system-metrics", daemon=True
            )
            _thread.start()
        else:
            _wake.set()  # the counters a run's I/O is measured from: read now, not at the next tick
    run.on_end(lambda: _detach(run.run_id))


def _detach(run_id: str) -> None:
    with _lock:
        series = _series.pop(run_id, None)
        if series is None:
            return
        if _sampler is not None and time.monotonic() - series.last >= FINAL_SAMPLE_AFTER_S:
            try:
                series.add(_sampler.sample())
            except Exception as e:  # noqa: BLE001 - monitoring never fails a run
                log.debug("last system sample failed: %s", e)
        series.publish()
        series.ended = True
        if not _series:
            _wake.set()  # let the thread see it has nothing left to do


def _loop(interval: float) -> None:
    global _sampler, _thread
    try:
        if _sampler is None:
            _sampler = Sampler()
    except Exception as e:  # noqa: BLE001 - psutil missing or unreadable /proc: no metrics, no failure
        log.warning("workbench: system metrics are off (%s: %s)", type(e).__name__, e)
        with _lock:
            _series.clear()
            _thread = None
        return
    next_tick = time.monotonic() + interval
    while True:
        with _lock:
            if not _series:
                _thread = None
                return
            reading = _sampler.sample() if any(s.base is None for s in _series.values()) else None
            for s in _series.values():
                if s.base is None and reading is not None:
                    s.base = {k: reading[k] for k in _SINCE_START.values() if k in reading}
                    s.last = time.monotonic()
        _wake.wait(max(0.0, next_tick - time.monotonic()))
        _wake.clear()
        if time.monotonic() < next_tick:
            continue  # woken early: a new run (its start counters) or the last one ended
        next_tick += interval
        if next_tick < time.monotonic():  # a stall (a suspended machine): no burst of catch-up samples
            next_tick = time.monotonic() + interval
        with _lock:
            if not _series:
                continue
            try:
                reading = _sampler.sample()
            except Exception as e:  # noqa: BLE001 - one bad reading skips a tick, the run goes on
                log.debug("system sample failed: %s", e)
                continue
            for s in _series.values():
                s.add(reading)


def _after_fork() -> None:
    # The child has no sampler thread; its runs start their own.
    global _thread, _lock
    _lock = threading.Lock()
    _series.clear()
    _thread = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
