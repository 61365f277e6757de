"""Shared pieces of the browser tests: a `jupyter lab` on the test's store, Chromium flags."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
TOKEN = "uitoken"
PANEL = ".jp-workbench-RunsPanel"
#: Debian's chromium as Playwright drives it here (its own browser downloads do not work).
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_browser_setup() -> None:
    """Fail (not skip) when `make setup` has not provided Chromium or the extension."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True
    )
    if "jupyterlab-workbench" not in out.stdout + out.stderr:
        pytest.fail("the jupyterlab-workbench extension is not installed: run `make setup`")


@contextlib.contextmanager
def running_lab(root: Path, store_dir: Path) -> Iterator[str]:
    """`jupyter lab` serving ``root`` on the store in ``store_dir``; yields its URL and
    stops it afterwards. Its log goes to ``root/lab.log``."""
    port = _free_port()
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable))
    # No "Would you like to get notified about Jupyter news?" toast over the screenshots.
    settings = root / ".lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    proc = subprocess.Popen(
        [
            jupyter,
            "lab",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            # Saved workspaces (and the panel's saved view in them) stay with this test.
            f"--LabApp.workspaces_dir={root / '.lab-workspaces'}",
            f"--LabApp.user_settings_dir={root / '.lab-settings'}",
            # window.jupyterapp: tests run notebook commands (run all cells) through it.
            "--LabApp.expose_app_in_browser=True",
            "--allow-root",
        ],
        env={**os.environ, "WORKBENCH_STORE": str(store_dir)},
        stdout=subprocess.DEVNULL,
        stderr=open(root / "lab.log", "w"),
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
