"""``WorkbenchApp``: the jupyter_server extension that serves the panel's REST API."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode, default

from ..env import WORKBENCH_STORE
from .routes import route_handlers


class WorkbenchApp(ExtensionApp):
    """Serves ``/workbench/api/...`` and makes kernels the server starts use its store."""

    name = "workbench"

    db_path = Unicode(
        config=True,
        help=(
            "Store directory (holding workbench.duckdb). Default: $WORKBENCH_STORE, else the "
            "nearest .workbench/ walking up from the server's root directory."
        ),
    )

    @default("db_path")
    def _default_db_path(self) -> str:
        return os.environ.get(WORKBENCH_STORE, "")

    def initialize_settings(self) -> None:
        """Record the root directory and the store in the tornado settings."""
        root = Path(self.serverapp.root_dir).expanduser().absolute()
        self.settings.update({"workbench_root": root, "workbench_store": self.db_path or None})
        if self.db_path:
            # Kernels and papermill runs started by this server inherit it: one store.
            os.environ[WORKBENCH_STORE] = self.db_path
        self.log.info("Workbench: store %s", self.db_path or f"resolved from {root}")

    def initialize_handlers(self) -> None:
        """Register the API routes."""
        self.handlers.extend(route_handlers())
