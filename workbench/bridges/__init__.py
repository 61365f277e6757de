"""Bridges to other tools: MLflow plugins (``mlflow.set_tracking_uri("workbench:")``),
importers from MLflow stores and TensorBoard logs, and the export to MLflow.

Importing this package loads neither mlflow nor tensorboard; each function loads what it
needs when called.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

__all__ = ["export_mlflow", "import_mlflow", "import_tensorboard"]


def import_mlflow(
    uri: str,
    experiments: str | Sequence[str] | None = None,
    *,
    store: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> Any:
    """Copy runs from an MLflow store into Workbench (see :mod:`.mlflow_import`)."""
    from .mlflow_import import import_mlflow as _run

    return _run(uri, experiments, store=store, progress=progress)


def import_tensorboard(
    logdir: str | os.PathLike[str],
    experiment: str | None = None,
    *,
    store: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> Any:
    """Copy TensorBoard event files into Workbench runs (see :mod:`.tensorboard_import`)."""
    from .tensorboard_import import import_tensorboard as _run

    return _run(logdir, experiment, store=store, progress=progress)


def export_mlflow(
    uri: str,
    *,
    experiments: str | Sequence[str] | None = None,
    filter: str | None = None,
    store: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> Any:
    """Copy Workbench runs into an MLflow store or server (see :mod:`.mlflow_export`)."""
    from .mlflow_export import export_mlflow as _run

    return _run(uri, experiments=experiments, filter=filter, store=store, progress=progress)
