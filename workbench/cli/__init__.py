"""The ``workbench`` command line: runs, comparisons, reruns, lineage, the model registry,
model cards and the demo. ``%wb SUB ...`` in a notebook runs these same commands."""

from __future__ import annotations

from . import bridges, bundles, demo, models, reruns, runs  # noqa: F401  (each registers its commands)
from .base import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Entry point of the ``workbench`` console script."""
    cli(obj={})


if __name__ == "__main__":
    main()
