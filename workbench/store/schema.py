"""The store's schema versions; kept for imports of ``workbench.store.schema``.

The migrations themselves, and the code applying them, are in :mod:`.migrations`.
"""

from __future__ import annotations

from .migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]
