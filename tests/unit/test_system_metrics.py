"""System metrics: sampled while a run is active, under MLflow's names, and off when
asked. Real psutil readings of this machine (it has no GPU, so none are recorded)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from IPython.testing import globalipapp

import workbench as wb
from workbench.tracking import system_metrics


def _shell():
    # globalipapp's get_ipython() starts the shared test shell once and answers None to
    # every later caller that imported the function by name: ask the module each time.
    globalipapp.start_ipython()
    return globalipapp.get_ipython()


CPU = "system/cpu_utilization_percentage"


@pytest.fixture
def sampling(monkeypatch):
    """System metrics on by default (the suite turns them off), every 0.5 s."""
    monkeypatch.delenv("WORKBENCH_SYSTEM_METRICS", raising=False)
    monkeypatch.setenv("WORKBENCH_SYSTEM_METRICS_INTERVAL", "0.5")


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _system(run_id: str) -> dict[str, float]:
    return {k: v for k, v in wb.get_run(run_id).metrics.items() if k.startswith("system/")}


def test_a_busy_loop_records_cpu_samples_showing_the_load(sampling):
    import psutil

    with wb.start_run(name="busy") as run:
        _busy(4.0)
    cpu = wb.metric_history(run.run_id, CPU)
    assert len(cpu) >= 4, cpu
    assert cpu["step"].tolist() == list(range(len(cpu)))
    # One core kept busy is 100/ncpu percent of the machine at least (other load only adds).
    assert cpu["value"].mean() >= 100 / psutil.cpu_count() * 0.5, cpu["value"].tolist()
    proc = wb.metric_history(run.run_id, "system/process_cpu_utilization_percentage")
    assert proc["value"].max() > 10.0, proc["value"].tolist()
    rss = _system(run.run_id)["system/process_memory_rss_megabytes"]
    assert rss == pytest.approx(psutil.Process().memory_info().rss / 1e6, rel=0.5)


def test_every_sample_has_mlflows_names_and_no_gpu_here(sampling):
    with wb.start_run() as run:
        time.sleep(1.3)
    names = set(_system(run.run_id))
    # MLflow's CPU, disk and network monitors, read from its installed source.
    src = Path(importlib.util.find_spec("mlflow").origin)  # not imported: it takes seconds
    mlflow_names = set()
    for monitor in ("cpu_monitor", "disk_monitor", "network_monitor"):
        text = (src.parent / "system_metrics" / "metrics" / f"{monitor}.py").read_text()
        mlflow_names |= {f"system/{n}" for n in re.findall(r'_metrics\["([a-z_]+)"\]', text)}
    assert len(mlflow_names) == 8 and mlflow_names <= names, mlflow_names - names
    assert names - mlflow_names == {
        "system/process_cpu_utilization_percentage",
        "system/process_memory_rss_megabytes",
        "system/disk_read_megabytes",
        "system/disk_write_megabytes",
    }
    assert not [n for n in names if "gpu" in n]
    assert system_metrics.is_system(CPU) and not system_metrics.is_system("loss")


def test_no_gpu_driver_means_no_nvml_import_no_gpu_metrics_and_no_message(tmp_path):
    # A fresh interpreter: nothing else has imported pynvml (mlflow would).
    script = textwrap.dedent(
        """
        import sys, time, logging, warnings
        logging.basicConfig(level=logging.DEBUG)
        warnings.simplefilter("error")
        import workbench as wb
        from workbench.tracking.system_metrics import Sampler
        with wb.start_run() as run:
            time.sleep(1.2)
        names = sorted(wb.get_run(run.run_id).metrics)
        print("gpus", Sampler().gpu_count, "pynvml" in sys.modules, len(names), any("gpu" in n for n in names))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WORKBENCH_SYSTEM_METRICS": "1", "WORKBENCH_SYSTEM_METRICS_INTERVAL": "0.4"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "gpus 0 False 12 False"
    assert "nvml" not in out.stderr.lower() and "gpu" not in out.stderr.lower(), out.stderr


def test_the_off_switches_record_none(sampling, monkeypatch):
    with wb.start_run(name="off-by-argument", system_metrics=False) as off:
        wb.log_metric("loss", 1.0)
        time.sleep(1.3)
    monkeypatch.setenv("WORKBENCH_SYSTEM_METRICS", "0")
    with wb.start_run(name="off-by-env") as env_off:
        time.sleep(1.3)
    with wb.start_run(name="argument-wins", system_metrics=True) as on:
        time.sleep(1.3)
    assert wb.get_run(off.run_id).metrics == {"loss": 1.0}
    assert wb.get_run(env_off.run_id).metrics == {}
    assert CPU in _system(on.run_id)


def test_track_no_system_metrics_option(sampling):
    ip = _shell()
    ip.run_line_magic("load_ext", "workbench")
    ip.run_cell_magic("track", "--name quiet --no-system-metrics --no-live", "import time; time.sleep(1.2)")
    ip.run_cell_magic("track", "--name sampled --no-live", "import time; time.sleep(1.2)")
    df = wb.runs()
    by_name = dict(zip(df["run_name"], df["run_id"]))
    assert _system(by_name["quiet"]) == {}
    assert CPU in _system(by_name["sampled"])


def test_a_short_run_gets_one_last_sample_and_a_quick_one_none(monkeypatch):
    monkeypatch.delenv("WORKBENCH_SYSTEM_METRICS")
    monkeypatch.delenv("WORKBENCH_SYSTEM_METRICS_INTERVAL", raising=False)  # the default, 10 s
    with wb.start_run() as short:
        time.sleep(1.2)
    with wb.start_run() as quick:
        pass
    cpu = wb.metric_history(short.run_id, CPU)
    assert cpu["step"].tolist() == [0]
    assert _system(quick.run_id) == {}
    # The network and disk counters count from the run's start.
    assert 0 <= _system(short.run_id)["system/network_receive_megabytes"] < 1000


def test_a_bad_interval_is_one_warning_and_the_default(monkeypatch):
    monkeypatch.setenv("WORKBENCH_SYSTEM_METRICS_INTERVAL", "soon")
    with pytest.warns(RuntimeWarning, match=r"WORKBENCH_SYSTEM_METRICS_INTERVAL='soon' is not a positive"):
        assert system_metrics.interval_s() == 10.0
    monkeypatch.setenv("WORKBENCH_SYSTEM_METRICS_INTERVAL", "2.5")
    assert system_metrics.interval_s() == 2.5


def test_nested_runs_each_get_their_samples(sampling):
    with wb.start_run(name="outer") as outer:
        with wb.start_run(name="inner", nested=True) as inner:
            _busy(1.2)
        time.sleep(0.6)
    outer_n = len(wb.metric_history(outer.run_id, CPU))
    inner_n = len(wb.metric_history(inner.run_id, CPU))
    assert inner_n >= 2 and outer_n > inner_n
