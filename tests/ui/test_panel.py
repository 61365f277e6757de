"""The JupyterLab panel in a real browser: JupyterLab started here, headless Chromium
driven by Playwright. Screenshots land in the test's tmp directory (look at them)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import workbench as wb

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
TOKEN = "uitoken"
PANEL = ".jp-workbench-RunsPanel"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _labextension_installed() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True
    )
    return "jupyterlab-workbench" in out.stdout + out.stderr


@pytest.fixture
def lab(tmp_path, store_dir, monkeypatch):
    """A notebook run recorded as in JupyterLab, a small sweep of it, and `jupyter lab`."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    if not _labextension_installed():
        pytest.fail("the jupyterlab-workbench extension is not installed: run `make setup`")
    from tests.notebooks.conftest import execute, make_notebook

    nb = tmp_path / "train.ipynb"
    make_notebook(
        nb,
        [
            ("alpha = 1.0", ["parameters"]),
            "%load_ext workbench\nimport workbench as wb",
            "%%track --name base --metrics rmse\nfor s in range(50):\n    wb.log_metric('loss', alpha / (s + 1))\n"
            "rmse = 40 + alpha",
        ],
    )
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb))
    execute(nb)
    monkeypatch.delenv("JPY_SESSION_NAME")
    wb.sweep(nb, {"alpha": [2.0, 3.0]}, jobs=2, progress=False, wait=True)
    assert len(wb.runs()) == 3
    port = _free_port()
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable))
    proc = subprocess.Popen(
        [
            jupyter,
            "lab",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={tmp_path}",
            "--allow-root",
        ],
        env={**os.environ, "WORKBENCH_STORE": str(store_dir)},
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "lab.log", "w"),
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_panel_lists_filters_compares_and_reruns(lab, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # ?workbench opens JupyterLab on the panel (what `workbench demo --lab` does).
        page.goto(f"{lab}/lab?reset&workbench&token={TOKEN}")
        tab = page.locator('.jp-SideBar [data-id="workbench-panel"]').first
        expect(tab).to_be_visible(timeout=90_000)
        rows = page.locator(f"{PANEL} .jp-workbench-RunsTable-row")
        expect(rows).to_have_count(3, timeout=30_000)
        page.screenshot(path=str(shots / "1-panel.png"))

        # Filter, with a parse error shown inline first.
        box = page.locator(f"{PANEL} .jp-workbench-RunsPanel-filter input").first
        box.fill("metrics.rmse <")
        box.press("Enter")
        expect(page.locator(f"{PANEL} .jp-workbench-RunsPanel-filterError")).to_contain_text(
            "position 14", timeout=45_000
        )
        box.fill("metrics.rmse > 41.5")
        box.press("Enter")
        expect(rows).to_have_count(2, timeout=45_000)
        page.screenshot(path=str(shots / "2-filtered.png"))
        box.fill("")
        box.press("Enter")
        expect(rows).to_have_count(3, timeout=45_000)

        # Select two (click, then Ctrl-click) and compare.
        rows.nth(0).click()
        rows.nth(1).click(modifiers=["Control"])
        page.locator(f"{PANEL} .jp-workbench-RunsPanel-compare").click()
        compare = page.locator(".jp-workbench-Compare").first
        expect(compare).to_be_visible(timeout=30_000)
        expect(compare.locator(".jp-workbench-Chart canvas, .jp-workbench-Chart svg").first).to_be_visible(
            timeout=30_000
        )
        expect(compare).to_contain_text("alpha")
        page.screenshot(path=str(shots / "3-compare.png"))

        # Rerun one run with a changed parameter; the new run appears.
        rows.nth(0).click()
        page.locator(f"{PANEL} .jp-workbench-RunsPanel-rerun").click()
        field = page.locator('.jp-workbench-RerunDialog [data-param="alpha"]')
        expect(field).to_be_visible(timeout=45_000)
        field.fill("7")
        page.screenshot(path=str(shots / "4-rerun-dialog.png"))
        page.locator(".jp-workbench-RerunDialog-submit").click()
        expect(page.locator('.jp-workbench-RerunProgress[data-status="finished"]')).to_be_visible(
            timeout=120_000
        )
        page.screenshot(path=str(shots / "5-rerun-done.png"))
        page.keyboard.press("Escape")
        expect(rows).to_have_count(4, timeout=30_000)
        page.screenshot(path=str(shots / "6-after-rerun.png"))
        browser.close()
    assert errors == [], errors
    new = wb.runs("params.alpha = '7'")
    assert len(new) == 1 and new["source"][0] == "rerun"
    print(f"screenshots: {shots}")
