"""The rerun jobs a server started, kept while they run and for a while after."""

from __future__ import annotations

import threading
import time
from typing import Any

# A finished job's outcome stays readable this long (the panel polls it every second or
# so); past it the entry goes, so a long-lived server does not pile up jobs.
KEEP_FINISHED_S = 3600.0
_DONE = ("finished", "failed", "killed")


class JobTable:
    """Job id -> job, expiring finished jobs :data:`KEEP_FINISHED_S` after they finish."""

    def __init__(self, keep_s: float = KEEP_FINISHED_S) -> None:
        self.keep_s = keep_s
        self._jobs: dict[str, Any] = {}
        self._finished_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, job_id: str, job: Any) -> None:
        """Keep ``job`` (anything with a ``result.status``) under ``job_id``."""
        with self._lock:
            self._expire()
            self._jobs[job_id] = job

    def get(self, job_id: str) -> Any | None:
        """The job, or None when unknown or expired."""
        with self._lock:
            self._expire()
            return self._jobs.get(job_id)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._jobs)

    def _expire(self) -> None:
        now = time.monotonic()
        for job_id, job in list(self._jobs.items()):
            if getattr(job.result, "status", None) in _DONE:
                done_at = self._finished_at.setdefault(job_id, now)
                if now - done_at > self.keep_s:
                    del self._jobs[job_id], self._finished_at[job_id]
