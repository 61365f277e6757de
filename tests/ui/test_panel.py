"""The JupyterLab panel in a real browser: JupyterLab started here, headless Chromium
driven by Playwright. Screenshots land in the test's tmp directory (look at them)."""

from __future__ import annotations

import re

import pytest

import workbench as wb
from tests.ui.conftest import CHROMIUM, LAUNCH_ARGS, PANEL, TOKEN, check_browser_setup, running_lab

pytestmark = pytest.mark.slow


@pytest.fixture
def lab(tmp_path, store_dir, monkeypatch):
    """A notebook run recorded as in JupyterLab, a small sweep of it, and `jupyter lab`."""
    check_browser_setup()
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
    with running_lab(tmp_path, store_dir) as url:
        yield url


def test_panel_lists_filters_compares_and_reruns(lab, tmp_path, store_dir):
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # Offline: every request that does not go to this JupyterLab is aborted, and the
        # charts must still draw (their libraries come with the extension).
        blocked: list[str] = []

        def local_only(route):
            if route.request.url.startswith("http://127.0.0.1:"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        page.route("**/*", local_only)
        # ?workbench opens JupyterLab on the panel (what `workbench demo --lab` does).
        page.goto(f"{lab}/lab?reset&workbench&token={TOKEN}")
        tab = page.locator('.jp-SideBar [data-id="workbench-panel"]').first
        expect(tab).to_be_visible(timeout=90_000)
        expect(tab).to_have_class(re.compile(r"\blm-mod-current\b"))
        rows = page.locator(f"{PANEL} .jp-workbench-RunsTable-row")
        expect(rows).to_have_count(3, timeout=30_000)
        expect(page.locator(f"{PANEL} .jp-workbench-RunsPanel-storePath")).to_have_text(str(store_dir))
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

        # Select two (click, then Ctrl-click) and compare: every section, every chart.
        rows.nth(0).click()
        rows.nth(1).click(modifiers=["Control"])
        alphas = [wb.get_run(rows.nth(i).get_attribute("data-run-id")).params["alpha"] for i in (0, 1)]
        page.locator(f"{PANEL} .jp-workbench-RunsPanel-compare").click()
        compare = page.locator(".jp-workbench-Compare").first
        expect(compare).to_be_visible(timeout=30_000)
        differs = compare.locator(".jp-workbench-Compare-params tr.jp-mod-differs")
        expect(differs).to_have_count(1, timeout=30_000)
        expect(differs.locator("th, td")).to_have_text(["alpha", *alphas])
        rmse = compare.locator(".jp-workbench-Compare-metrics tr").filter(has_text="rmse")
        best = rmse.locator("td.jp-mod-best")
        expect(best).to_have_count(1)  # lower is better: the smaller alpha's 40 + alpha
        expect(best).to_contain_text(f"{40 + min(float(a) for a in alphas):g}")
        for section, mark in (
            ("curvesSection", "path[aria-roledescription='line mark']"),
            ("parallelSection", "path[aria-roledescription='line mark']"),
            ("scatterSection", "path[aria-roledescription='point']"),
        ):
            part = compare.locator(f".jp-workbench-Compare-{section}")
            part.scroll_into_view_if_needed()
            expect(part.locator(f".jp-workbench-Chart svg {mark}")).to_have_count(2, timeout=60_000)
        expect(compare.locator(".jp-workbench-Compare-sourceSection")).to_contain_text(
            "The two runs executed the same cell source."
        )
        page.screenshot(path=str(shots / "3-compare.png"))

        # Rerun one run with a changed parameter; the new run appears.
        rows.nth(0).click()
        page.locator(f"{PANEL} .jp-workbench-RunsPanel-rerun").click()
        field = page.locator('.jp-workbench-RerunDialog [data-param="alpha"]')
        expect(field).to_be_visible(timeout=45_000)
        expect(field).to_have_value(f"{float(alphas[0]):g}")  # the run's own value, prefilled
        field.fill("7")
        page.screenshot(path=str(shots / "4-rerun-dialog.png"))
        page.locator(".jp-workbench-RerunDialog-submit").click()
        expect(page.locator('.jp-workbench-RerunProgress[data-status="finished"]')).to_be_visible(
            timeout=120_000
        )
        page.screenshot(path=str(shots / "5-rerun-done.png"))
        page.keyboard.press("Escape")
        expect(rows).to_have_count(4, timeout=30_000)
        # The new run is selected once it lands.
        new_id = wb.runs("params.alpha = '7'")["run_id"][0]
        expect(page.locator(f"{PANEL} .jp-workbench-RunsTable-row.jp-mod-selected")).to_have_attribute(
            "data-run-id", new_id, timeout=30_000
        )
        page.screenshot(path=str(shots / "6-after-rerun.png"))
        # A POST with the browser's login cookie but without the XSRF header is refused;
        # with the header (what the panel sends) it goes through.
        restore = f"{lab}/workbench/api/runs/{new_id}/restore"
        assert page.request.post(restore).status == 403
        xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
        assert page.request.post(restore, headers={"X-XSRFToken": xsrf}).status == 200
        browser.close()
    assert errors == [], errors
    assert blocked == [], blocked  # nothing even tried to leave the machine
    new = wb.runs("params.alpha = '7'")
    assert len(new) == 1 and new["source"][0] == "rerun"
    print(f"screenshots: {shots}")
