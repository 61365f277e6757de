"""The records the store takes and gives back: a write batch and a run as read."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CONTEXT_COLUMNS", "Batch", "RunRecord", "now_ms"]


def now_ms() -> int:
    """The time now in milliseconds since the epoch, as the store records times."""
    return int(time.time() * 1000)


@dataclass
class Batch:
    """Rows gathered by the tracking buffer, written by :meth:`Store.write` in one transaction.

    Column-oriented lists keep the conversion to Arrow cheap.
    """

    experiments: dict[str, int] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    params: list[tuple[str, str, str]] = field(default_factory=list)
    tags: list[tuple[str, str, str]] = field(default_factory=list)
    #: Per run: ``(run_id, keys, steps, values, unix_times)`` as parallel sequences
    #: (steps as int64 and values/times as float64 buffers, e.g. ``array.array``).
    metrics: list[tuple[str, Sequence[str], Sequence[int], Sequence[float], Sequence[float]]] = field(
        default_factory=list
    )
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    ends: list[tuple[str, str, int, str | None]] = field(default_factory=list)
    heartbeats: list[str] = field(default_factory=list)
    #: ``(run_id, {column: value})`` updates of a run's context columns.
    contexts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Rows for the environments table (env_hash, python, platform, packages, created_at).
    environments: list[dict[str, Any]] = field(default_factory=list)
    #: When the batch was made (the heartbeat time it carries).
    created_ms: int = field(default_factory=lambda: now_ms())
    #: The metrics as one Arrow table, when read back from a spool file.
    metrics_table: Any = None

    def is_empty(self) -> bool:
        """True when there is nothing to write."""
        return not (
            self.experiments
            or self.runs
            or self.params
            or self.tags
            or self.metrics
            or self.metrics_table is not None
            or self.artifacts
            or self.ends
            or self.heartbeats
            or self.contexts
            or self.environments
        )

    @property
    def n_points(self) -> int:
        """Number of metric points in the batch."""
        return sum(len(m[1]) for m in self.metrics) + (
            0 if self.metrics_table is None else self.metrics_table.num_rows
        )


@dataclass(frozen=True)
class RunRecord:
    """Everything recorded about one run, as returned by :meth:`Store.get_run`."""

    run_id: str
    run_name: str
    experiment: str
    status: str
    start_time: int
    end_time: int | None
    source: str
    parent_run_id: str | None
    error: str | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifacts: list[dict[str, Any]]
    context: dict[str, Any]
    deleted: bool
    children: list[str]

    @property
    def duration_s(self) -> float | None:
        """Wall time in seconds, or None while the run has not ended."""
        return None if self.end_time is None else (self.end_time - self.start_time) / 1000

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__} | {"duration_s": self.duration_s}


#: The runs columns that make up :attr:`RunRecord.context`.
CONTEXT_COLUMNS = (
    "host",
    "pid",
    "notebook_path",
    "notebook_sha",
    "cell_id",
    "cell_source",
    "execution_count",
    "git_commit",
    "git_branch",
    "git_dirty",
    "git_diff",
    "env_hash",
    "python_version",
    "gpu",
    "kernel",
)
