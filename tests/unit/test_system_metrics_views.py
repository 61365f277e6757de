"""System metrics stay apart from the model's in the comparison (text, notebook table)
and in model cards: a "System" group, never starred as best, not in the metric table."""

from __future__ import annotations

import json

import pytest

import workbench as wb
from workbench.comparison import compare_records
from workbench.formatting import compare_table
from workbench.store import get_store
from workbench.widgets.compare_view import metrics_table_html

CPU = "system/cpu_utilization_percentage"
GPU_MEM = "system/gpu_0_memory_usage_megabytes"


@pytest.fixture
def two_runs():
    ids = []
    for rmse, cpu, gpu in ((50.0, 20.0, 900.0), (40.0, 80.0, 100.0)):
        with wb.start_run(system_metrics=False) as run:
            # The names the sampler (and MLflow's monitor, for bridged runs) records.
            wb.log_metrics({"rmse": rmse, "r2": 1 - rmse / 100, CPU: cpu, GPU_MEM: gpu})
            wb.log_metric(CPU, cpu + 1)  # a second sample: a curve
            wb.log_metric("loss", rmse / 10)
            wb.log_metric("loss", rmse / 20)
        ids.append(run.run_id)
    wb.flush()
    return ids


def test_the_comparison_lists_system_metrics_last_and_never_best(two_runs):
    store = get_store()
    result = compare_records([store.get_run(r) for r in two_runs])
    assert list(result["metrics"]) == ["loss", "r2", "rmse", CPU, GPU_MEM]
    assert result["system"] == [CPU, GPU_MEM]
    assert result["best"] == {"loss": 1, "r2": 1, "rmse": 1}  # the lowest CPU is not "best"
    text = compare_table(result)
    lines = text.splitlines()
    system_at = next(i for i, ln in enumerate(lines) if ln.strip() == "System")
    assert all("metrics." in ln for ln in lines[system_at - 3 : system_at])
    cpu_line = next(ln for ln in lines if CPU in ln)
    assert lines.index(cpu_line) > system_at and "(best)" not in cpu_line and "metrics." not in cpu_line
    assert "21" in cpu_line and "81" in cpu_line


def test_the_notebook_metric_table_groups_system_rows_without_stars(two_runs):
    store = get_store()
    table = metrics_table_html(compare_records([store.get_run(r) for r in two_runs]))
    model, system = table.split(">System</th>")
    assert model.count("★") == 3 and "rmse" in model and CPU not in model
    assert "★" not in system and CPU in system and GPU_MEM in system
    assert system.count('class="wb-system"') == 2  # one row per system metric


def test_the_model_card_keeps_system_metrics_out_of_its_metric_table(two_runs):
    rid = two_runs[1]
    md = wb.model_card(rid, "md")
    metrics_section = md.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    assert "rmse" in metrics_section and "system/" not in metrics_section
    system = md.split("### System (last sample)", 1)[1].split("\n#", 1)[0]
    assert f"| {CPU} | 81 |" in system and f"| {GPU_MEM} | 100 |" in system
    assert "Metric curves recorded: loss (2 points)." in md  # the CPU curve is not a model curve
    html = wb.model_card(rid, "html")
    assert "<h3>System (last sample)</h3>" in html
    mct = json.loads(wb.model_card(rid, "json"))
    perf = mct["quantitative_analysis"]["performance_metrics"]
    assert sorted(m["type"] for m in perf) == ["loss", "r2", "rmse"]


def test_a_run_with_only_system_metrics_has_no_card():
    with wb.start_run(system_metrics=False) as run:
        wb.log_metric(CPU, 12.0)
    with pytest.raises(wb.WorkbenchError, match="has no metrics: a model card reports a run's results"):
        wb.model_card(run.run_id)
