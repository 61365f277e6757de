"""The DuckDB store: schema, lock-safe sessions, writes and queries (the only SQL)."""

from .migrations import SCHEMA_VERSION
from .store import Batch, RunRecord, Store, get_store

__all__ = ["SCHEMA_VERSION", "Batch", "RunRecord", "Store", "get_store"]
