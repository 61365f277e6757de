"""The DuckDB store: schema, lock-safe sessions, writes and queries."""

from .schema import SCHEMA_VERSION
from .store import Batch, RunRecord, Store, get_store

__all__ = ["SCHEMA_VERSION", "Batch", "RunRecord", "Store", "get_store"]
