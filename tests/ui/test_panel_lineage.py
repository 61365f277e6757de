"""The panel's lineage tab, model-card export and the comparison's Data section in a real
browser: runs recorded through the Python API, `jupyter lab` started here, headless
Chromium driven by Playwright. Screenshots land in the test's tmp directory (look at them)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

import workbench as wb
from tests.ui.conftest import CHROMIUM, LAUNCH_ARGS, PANEL, TOKEN, check_browser_setup, running_lab

pytestmark = pytest.mark.slow


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
    with wb.start_run(name="lone") as lone:
        wb.log_metric("rmse", 3.0)
    wb.flush()
    wb.register_model(train.run_id, "diabetes")
    wb.register_model(retrain.run_id, "diabetes")
    wb.set_model_alias("diabetes", "champion", 1)
    return {"prep": prep.run_id, "train": train.run_id, "retrain": retrain.run_id, "lone": lone.run_id}


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
        expect(rows).to_have_count(4, timeout=30_000)

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
        browser.close()
    assert errors == [], errors
    print(f"screenshots: {shots}")
