"""The spool: batches written while another process holds the store, folded in later.

A writer that finds the store locked never waits: it writes its batch as one Arrow IPC
file under ``spool/`` (about 0.5 ms), and the next session of any process applies the
files, oldest first, before doing anything else. A file that cannot be applied is moved
to ``spool/bad/`` for a person to look at, so it never blocks the store.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .records import Batch
from .writes import apply, empty_metrics_table, metrics_table

if TYPE_CHECKING:
    import duckdb

__all__ = ["fold", "merge", "read_spool", "write_spool"]

log = logging.getLogger(__name__)

_seq = 0


def write_spool(spool_dir: Path, batch: Batch) -> Path:
    """Write ``batch`` as a new spool file in ``spool_dir``; returns its path."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    global _seq
    spool_dir.mkdir(parents=True, exist_ok=True)
    _seq += 1
    # Names sort by time, so folding applies one process's batches in order.
    name = f"{time.time_ns():020d}-{os.getpid()}-{_seq:08d}.arrow"
    table = (
        metrics_table(batch) if (batch.metrics or batch.metrics_table is not None) else empty_metrics_table()
    )
    rest = {
        "experiments": batch.experiments,
        "runs": batch.runs,
        "params": batch.params,
        "tags": batch.tags,
        "artifacts": batch.artifacts,
        "ends": batch.ends,
        "heartbeats": batch.heartbeats,
        "contexts": batch.contexts,
        "environments": batch.environments,
        "created_ms": batch.created_ms,
    }
    table = table.replace_schema_metadata({b"workbench_batch": json.dumps(rest).encode()})
    tmp = spool_dir / (name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, spool_dir / name)  # readers never see a half-written file
    return spool_dir / name


def read_spool(path: Path) -> Batch:
    """The batch a spool file holds."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with pa.memory_map(str(path)) as src:
        table = ipc.open_file(src).read_all()
    rest = json.loads(table.schema.metadata[b"workbench_batch"])
    return Batch(
        experiments=rest["experiments"],
        runs=rest["runs"],
        params=[tuple(p) for p in rest["params"]],
        tags=[tuple(t) for t in rest["tags"]],
        artifacts=rest["artifacts"],
        ends=[tuple(e) for e in rest["ends"]],
        heartbeats=rest["heartbeats"],
        contexts=[tuple(c) for c in rest.get("contexts", [])],
        environments=rest.get("environments", []),
        created_ms=rest["created_ms"],
        metrics_table=table.replace_schema_metadata(None) if table.num_rows else None,
    )


def merge(batches: Sequence[Batch]) -> Batch:
    """One batch holding several, in order (for folding many spool files at once)."""
    import pyarrow as pa

    out = Batch(created_ms=max(b.created_ms for b in batches))
    for b in batches:
        out.experiments.update(b.experiments)
        out.runs.extend(b.runs)
        out.params.extend(b.params)
        out.tags.extend(b.tags)
        out.artifacts.extend(b.artifacts)
        out.ends.extend(b.ends)
        out.heartbeats.extend(b.heartbeats)
        out.contexts.extend(b.contexts)
        out.environments.extend(b.environments)
    tables = [b.metrics_table for b in batches if b.metrics_table is not None]
    if tables:
        out.metrics_table = pa.concat_tables(tables)
    return out


def fold(con: duckdb.DuckDBPyConnection, spool_dir: Path) -> int:
    """Apply every spool file not yet applied, oldest first; returns how many."""
    try:
        names = sorted(n for n in os.listdir(spool_dir) if n.endswith(".arrow"))
    except FileNotFoundError:
        return 0
    if not names:
        return 0
    import duckdb

    applied = {r[0] for r in con.execute("SELECT name FROM spool_applied").fetchall()}
    pending = [n for n in names if n not in applied]
    if len(pending) > 1:
        # All in one transaction when they can be; file by file (to find a bad one) if not.
        try:
            batches = [read_spool(spool_dir / n) for n in pending]
            apply(con, merge(batches), spool_names=pending)
            applied.update(pending)
        except (duckdb.Error, OSError, ValueError, KeyError):
            pass
    done = []
    for name in names:
        path = spool_dir / name
        if name not in applied:
            try:
                apply(con, read_spool(path), spool_names=[name])
            except (duckdb.Error, OSError, ValueError, KeyError) as e:
                # One bad file must not block the store; keep it aside for a person.
                bad = spool_dir / "bad"
                bad.mkdir(exist_ok=True)
                os.replace(path, bad / name)
                log.warning("workbench: could not apply spool file %s (%s); moved to %s", name, e, bad)
                continue
        path.unlink(missing_ok=True)
        done.append(name)
    if done:
        con.execute("DELETE FROM spool_applied WHERE name IN (SELECT unnest(?::VARCHAR[]))", [done])
    return len(done)
