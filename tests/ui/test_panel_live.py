"""A run that is still logging, watched in a real JupyterLab (headless Chromium): it
appears in the runs table without a refresh, its curve in the compare view grows from
the points after the last step drawn, and its badges turn to `finished` without a
reload. The screenshot goes to docs/panel-live-run.png with WORKBENCH_DOCS_SHOTS=1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.ui.conftest import CHROMIUM, LAUNCH_ARGS, PANEL, TOKEN, check_browser_setup, running_lab

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs"
VIEWPORT = {"width": 1400, "height": 900}
ROWS = f"{PANEL} .jp-workbench-RunsTable-row"

#: Logs `loss` every 0.5 s until the stop file appears (at most 150 s: a loaded CI machine), then
#: ends the run.
LIVE_RUN = textwrap.dedent(
    """
    import pathlib, sys, time
    import workbench as wb

    stop = pathlib.Path(sys.argv[1])
    run = wb.start_run(name="live-run", experiment="live")
    step, deadline = 0, time.monotonic() + 150
    while not stop.exists() and time.monotonic() < deadline:
        wb.log_metric("loss", 1.0 / (step + 1), step=step)
        step += 1
        time.sleep(0.5)
    wb.end_run()
    print(run.run_id, step - 1)
    """
)

BASELINE = textwrap.dedent(
    """
    import workbench as wb

    with wb.start_run(name="baseline", experiment="live", system_metrics=False):
        for s in range(5):
            wb.log_metric("loss", 2.0 / (s + 1), step=s)
    """
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One finished run on a fresh store, and a `jupyter lab` on it."""
    check_browser_setup()
    root = tmp_path_factory.mktemp("live")
    store = root / ".workbench"
    env = {**os.environ, "WORKBENCH_STORE": str(store)}
    # Recorded while the server starts (the panel opens after both).
    seed = subprocess.Popen([sys.executable, "-c", BASELINE], env=env, cwd=root)
    with running_lab(root, store) as url:
        assert seed.wait(timeout=120) == 0
        yield {"url": url, "root": root, "env": env}


def _chart_state(curve) -> tuple[int, int]:
    """Points drawn and the last step drawn of a live curve (attributes the panel keeps
    from the Vega view's data)."""
    return int(curve.get_attribute("data-points") or 0), int(curve.get_attribute("data-last-step") or -1)


def test_a_running_run_grows_in_the_compare_view_and_finishes_without_a_reload(lab):
    from playwright.sync_api import expect, sync_playwright

    stop = lab["root"] / "stop"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{lab['url']}/lab?reset&workbench&token={TOKEN}")
        rows = page.locator(ROWS)
        expect(rows).to_have_count(1, timeout=90_000)

        # The run starts after the panel opened: its row arrives by the panel's own poll.
        proc = subprocess.Popen(
            [sys.executable, "-c", LIVE_RUN, str(stop)],
            # System metrics on (the suite turns them off), sampled every second.
            env={**lab["env"], "WORKBENCH_SYSTEM_METRICS": "1", "WORKBENCH_SYSTEM_METRICS_INTERVAL": "1"},
            cwd=lab["root"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            expect(rows).to_have_count(2, timeout=60_000)
            live_row = rows.filter(has_text="live-run")
            expect(live_row.locator(".jp-workbench-StatusBadge")).to_have_text("running", timeout=30_000)
            live_row.click(position={"x": 30, "y": 10})
            rows.filter(has_text="baseline").click(position={"x": 30, "y": 10}, modifiers=["Control"])
            page.locator(f"{PANEL} .jp-workbench-RunsPanel-compare").click()
            compare = page.locator(".jp-workbench-Compare").first
            badge = compare.locator(".jp-workbench-Compare-metrics thead .jp-workbench-StatusBadge").first
            expect(badge).to_have_text("running", timeout=60_000)
            expect(compare.locator(".jp-workbench-note", has_text="live")).to_be_visible()

            # Two moments of the same chart: more points, a later last step, no refetch.
            curve = compare.locator('.jp-workbench-Compare-liveCurve[data-metric="loss"]')
            expect(curve.locator("svg path[aria-roledescription='line mark']").first).to_be_visible(
                timeout=60_000
            )
            page.wait_for_function(
                "el => Number(el.dataset.points) > 0", arg=curve.element_handle(), timeout=60_000
            )
            first = _chart_state(curve)
            page.wait_for_function(
                "([el, n]) => Number(el.dataset.lastStep) > n",
                arg=[curve.element_handle(), first[1]],
                timeout=60_000,
            )
            second = _chart_state(curve)
            assert second[0] > first[0] and second[1] > first[1], (first, second)
            # The curve at the bottom of the view, the final metrics (System group) above.
            curve.evaluate("el => el.scrollIntoView({block: 'end'})")
            shot = lab["root"] / "panel-live-run.png"
            page.screenshot(path=str(shot))
            if os.environ.get("WORKBENCH_DOCS_SHOTS"):
                shutil.copy(shot, DOCS / "panel-live-run.png")
        finally:
            stop.touch()
            out, _ = proc.communicate(timeout=120)
        run_id, last_step = out.split()

        # Finished: the badges turn without a reload, and the chart holds the last step.
        expect(badge).to_have_text("finished", timeout=60_000)
        expect(live_row.locator(".jp-workbench-StatusBadge")).to_have_text("finished", timeout=30_000)
        expect(compare.locator(".jp-workbench-note", has_text="live")).to_have_count(0)
        expect(curve).to_have_attribute("data-last-step", last_step, timeout=30_000)
        # Its system metrics sit in the System group, apart, never starred as best.
        system = compare.locator('.jp-workbench-Compare-metrics tbody[data-group="system"]')
        expect(system.locator('tr[data-metric="system/cpu_utilization_percentage"] th')).to_have_text(
            "cpu_utilization_percentage"
        )
        assert system.locator(".jp-mod-best").count() == 0
        expect(
            compare.locator('.jp-workbench-Compare-metrics tr[data-metric="loss"] .jp-mod-best')
        ).to_have_count(1)
        assert (
            compare.locator('.jp-workbench-Compare-liveCurve[data-metric^="system/"]').count() == 0
        )  # folded
        assert compare.locator(f'th[title="{run_id}"]').count() > 0
        browser.close()
    assert errors == [], errors
