"""The panel's lineage tab, model-card export and the comparison's Data section in a real
browser: runs recorded through the Python API, `jupyter lab` started here, headless
Chromium driven by Playwright. Screenshots land in the test's tmp directory (look at them);
with WORKBENCH_DOCS_SHOTS=1 the Tune tab's also goes to docs/panel-tune.png."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

import workbench as wb
from tests.ui.conftest import CHROMIUM, LAUNCH_ARGS, PANEL, TOKEN, check_browser_setup, running_lab

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs"


#: Longer than the Run column's widest default: it keeps its start and its end.
LONG_NAME = "ridge-baseline-without-shared-data-seed-42"


def _record_runs(tmp_path: Path) -> dict[str, str]:
    """A "prep" run that writes and logs a CSV, two "train" runs that use it (the second
    after the CSV changed), each logging a metric and a model, and a run linked to none."""
    data = tmp_path / "data.csv"
    with wb.start_run(name="prep") as prep:
        data.write_text("bmi,age,target\n" + "".join(f"{i / 10},{20 + i},{i * 3}\n" for i in range(40)))
        wb.log_artifact(data)
    with wb.start_run(name="train") as train:
        wb.use_dataset(str(data), name="train")
        wb.log_metric("rmse", 1.0)
        wb.log_model({"coef": [0.5, 1.5]}, name="model")
    # Different content under the same dataset name: the comparison must flag it.
    data.write_text("bmi,age,target\n" + "".join(f"{i / 3},{30 + i},{i * 5}\n" for i in range(25)))
    with wb.start_run(name="train") as retrain:
        wb.use_dataset(str(data), name="train")
        wb.log_metric("rmse", 2.0)
        wb.log_model({"coef": [0.7, 1.1]}, name="model")
    # A name too long for the Run column: shortened in the middle (see the test below).
    with wb.start_run(name=LONG_NAME) as lone:
        wb.log_metric("rmse", 3.0)
    # Four trials of a tune, as `wb.tune` tags them (no kernel needed): the Tune tab.
    tags = {"tune_id": "5eed7a11c0de", "study": "ridge-rmse", "objective": "rmse", "direction": "minimize"}
    trials = {}
    for n, (alpha, rmse, status) in enumerate(
        [(0.1, 5.0, "finished"), (0.5, 3.0, "finished"), (0.9, None, "killed"), (0.3, 4.0, "finished")]
    ):
        extra = {"pruned": "2"} if status == "killed" else {}
        with wb.start_run(
            name=f"trial-{n}", params={"alpha": alpha}, tags={**tags, "trial": str(n), **extra}
        ) as t:
            if rmse is not None:
                wb.log_metric("rmse", rmse)
            if status != "finished":
                wb.end_run(status)
        trials[f"trial-{n}"] = t.run_id
    wb.flush()
    wb.register_model(train.run_id, "diabetes")
    wb.register_model(retrain.run_id, "diabetes")
    wb.set_model_alias("diabetes", "champion", 1)
    return {
        "prep": prep.run_id,
        "train": train.run_id,
        "retrain": retrain.run_id,
        "lone": lone.run_id,
        **trials,
    }


@pytest.fixture
def lab(tmp_path, store_dir):
    """The recorded runs and a `jupyter lab` on the same store."""
    check_browser_setup()
    runs = _record_runs(tmp_path)
    with running_lab(tmp_path, store_dir) as url:
        yield url, runs


def test_lineage_card_and_data_comparison(lab, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, runs = lab
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950}, accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/lab?reset&workbench&token={TOKEN}")
        expect(page.locator('.jp-SideBar [data-id="workbench-panel"]').first).to_be_visible(timeout=90_000)
        rows = page.locator(f"{PANEL} .jp-workbench-RunsTable-row")
        expect(rows).to_have_count(8, timeout=30_000)
        # A long run name is cut in the middle, so the end that tells runs apart stays;
        # hovering shows it whole. Short names are shown whole.
        long_row = page.locator(f'{PANEL} .jp-workbench-RunsTable-row[data-run-id="{runs["lone"]}"]')
        shown = long_row.locator(".jp-workbench-RunsTable-name").text_content()
        assert "…" in shown and shown.endswith("seed-42") and shown.startswith("ridge-"), shown
        name_cell = long_row.locator('[role="gridcell"]').nth(1)
        assert name_cell.get_attribute("title").startswith(LONG_NAME + "\n"), name_cell.get_attribute("title")
        clipped = name_cell.evaluate("c => c.scrollWidth > c.clientWidth + 1")
        assert not clipped, shown
        prep_name = page.locator(f'{PANEL} .jp-workbench-RunsTable-row[data-run-id="{runs["prep"]}"]')
        assert prep_name.locator(".jp-workbench-RunsTable-name").text_content() == "prep"

        # The first train run's detail, then its Lineage tab.
        train = page.locator(f'{PANEL} .jp-workbench-RunsTable-row[data-run-id="{runs["train"]}"]')
        train.click()
        detail = page.locator(f'{PANEL} .jp-workbench-RunDetail[data-run-id="{runs["train"]}"]')
        expect(detail).to_be_visible(timeout=30_000)
        detail.locator('.jp-workbench-RunDetail-tab[data-tab="lineage"]').click()
        graph = detail.locator(".jp-workbench-Lineage-graph svg")
        expect(graph).to_be_visible(timeout=30_000)
        expect(graph.locator(f'[data-run-id="{runs["prep"]}"]')).to_have_count(1)
        expect(graph.locator(f'[data-run-id="{runs["train"]}"]')).to_have_count(1)
        dataset_nodes = graph.locator(".wb-lineage-node[data-node-id^='artifact:']")
        assert dataset_nodes.count() >= 1
        # One of those nodes is the CSV as a dataset, per the endpoint the panel drew.
        with urllib.request.urlopen(f"{url}/workbench/api/runs/{runs['train']}/lineage?token={TOKEN}") as r:
            reply = json.load(r)
        datasets = [n["id"] for n in reply["nodes"] if n["type"] == "dataset"]
        assert datasets, reply["nodes"]
        expect(graph.locator(f'[data-node-id="{datasets[0]}"]')).to_have_count(1)
        upstream = detail.locator(".jp-workbench-Lineage-upstream")
        expect(upstream).to_contain_text("prep")
        page.screenshot(path=str(shots / "1-lineage.png"))

        # The side panel is narrow: the same graph in a main-area tab.
        detail.locator(".jp-workbench-Lineage-openTab").click()
        tab_graph = page.locator(".jp-workbench-LineageView .jp-workbench-Lineage-graph svg")
        expect(tab_graph.locator(f'[data-run-id="{runs["prep"]}"]')).to_have_count(1, timeout=30_000)
        page.screenshot(path=str(shots / "1b-lineage-tab.png"))

        # Export the model card as HTML: a real download with the server's file name.
        detail.locator(".jp-workbench-RunDetail-exportCard-button").click()
        item = detail.locator(
            '.jp-workbench-RunDetail-exportCard [data-format="html"][data-action="download"]'
        )
        expect(item).to_be_visible()
        page.screenshot(path=str(shots / "2-export-menu.png"))
        with page.expect_download(timeout=30_000) as info:
            item.click()
        download = info.value
        assert download.suggested_filename.endswith(".html"), download.suggested_filename
        card = Path(download.path()).read_text(encoding="utf-8")
        assert card.lstrip().startswith("<!DOCTYPE html>") or "<html" in card, card[:200]
        expect(detail.locator(".jp-workbench-RunDetail-exportCard-error")).to_have_count(0)

        # Or read it in a JupyterLab tab, sandboxed.
        detail.locator(".jp-workbench-RunDetail-exportCard-button").click()
        detail.locator('.jp-workbench-RunDetail-exportCard [data-action="open"]').click()
        frame = page.locator(".jp-workbench-CardView iframe")
        expect(frame).to_be_visible(timeout=30_000)
        assert frame.get_attribute("sandbox") == ""
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / "3-card-tab.png"))

        # The registered models, with the alias.
        page.locator(f"{PANEL} .jp-workbench-Models > summary").click()
        model = page.locator(f'{PANEL} .jp-workbench-Models-model[data-model="diabetes"]')
        expect(model).to_contain_text("@champion", timeout=30_000)
        expect(model.locator("[data-version]")).to_have_count(2)

        # The prep run has no metrics: the server's refusal is shown inline.
        graph.locator(f'[data-run-id="{runs["prep"]}"]').first.click()
        prep = page.locator(f'{PANEL} .jp-workbench-RunDetail[data-run-id="{runs["prep"]}"]')
        expect(prep).to_be_visible(timeout=30_000)
        # Following the graph stays on the Lineage tab.
        expect(prep.locator(".jp-workbench-Lineage-downstream")).to_contain_text("train", timeout=30_000)
        prep.locator(".jp-workbench-RunDetail-exportCard-button").click()
        prep.locator('.jp-workbench-RunDetail-exportCard [data-format="md"]').click()
        expect(prep.locator(".jp-workbench-RunDetail-exportCard-error")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(shots / "4-prep-lineage-card-error.png"))

        # A run that shares no data with others says so instead of drawing a lone box.
        page.locator(f'{PANEL} .jp-workbench-RunsTable-row[data-run-id="{runs["lone"]}"]').click()
        lone = page.locator(f'{PANEL} .jp-workbench-RunDetail[data-run-id="{runs["lone"]}"]')
        expect(lone.locator(".jp-workbench-Lineage-empty")).to_contain_text(
            "No recorded datasets or artifacts link this run to others", timeout=30_000
        )

        # Compare the two train runs: they used different content under one name.
        page.locator(f'{PANEL} .jp-workbench-RunsTable-row[data-run-id="{runs["train"]}"]').click()
        page.locator(f'{PANEL} .jp-workbench-RunsTable-row[data-run-id="{runs["retrain"]}"]').click(
            modifiers=["Control"]
        )
        page.locator(f"{PANEL} .jp-workbench-RunsPanel-compare").click()
        data = page.locator(".jp-workbench-Compare .jp-workbench-Compare-datasets").first
        expect(data).to_be_visible(timeout=30_000)
        expect(data).to_contain_text("These runs trained on different data")
        expect(data.locator(".jp-mod-oddHash")).to_have_count(2)
        data.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "5-compare-data.png"))

        # A tune's trial: its Tune tab shows every trial, the best marked, and the history.
        page.locator(f'{PANEL} .jp-workbench-RunsTable-row[data-run-id="{runs["trial-2"]}"]').click()
        pruned = page.locator(f'{PANEL} .jp-workbench-RunDetail[data-run-id="{runs["trial-2"]}"]')
        pruned.locator('.jp-workbench-RunDetail-tab[data-tab="tune"]').click()
        tune = pruned.locator(".jp-workbench-TuneHistory")
        trial_rows = tune.locator("tbody tr")
        expect(trial_rows).to_have_count(4, timeout=30_000)
        expect(tune.locator(".jp-workbench-TuneHistory-summary")).to_have_text(
            "ridge-rmse: 4 trials, minimizing rmse; best: trial 1 = 3 (alpha=0.5)"
        )
        assert [r.get_attribute("data-trial") for r in trial_rows.all()] == ["0", "1", "2", "3"]
        expect(trial_rows.nth(1)).to_have_class("jp-mod-best")
        expect(trial_rows.nth(2)).to_have_class("jp-mod-current")
        expect(trial_rows.nth(2).locator("td").nth(1)).to_have_text("pruned")
        expect(tune.locator("canvas, svg.marks").first).to_be_visible(timeout=30_000)
        # The row clicks above scrolled the runs table sideways; the tab from its top.
        page.evaluate(
            "() => document.querySelectorAll('.jp-workbench-RunsPanel *').forEach(e => { e.scrollLeft = 0; })"
        )
        tune.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.locator(PANEL).first.screenshot(path=str(shots / "6-tune.png"))
        if os.environ.get("WORKBENCH_DOCS_SHOTS"):
            shutil.copy(shots / "6-tune.png", DOCS / "panel-tune.png")
        # A trial's row opens that trial's run, on the same tab.
        trial_rows.nth(1).click()
        best = page.locator(f'{PANEL} .jp-workbench-RunDetail[data-run-id="{runs["trial-1"]}"]')
        expect(best.locator(".jp-workbench-TuneHistory tbody tr.jp-mod-current")).to_have_attribute(
            "data-trial", "1", timeout=30_000
        )
        browser.close()
    assert errors == [], errors
    print(f"screenshots: {shots}")
