"""``Store``: the facade over the store package, the only code in Workbench that speaks SQL.

Every operation is one short session (see :mod:`.session`): take the cross-process lock,
attach the DuckDB file, run one transaction, detach, release; the last two wait a moment
for the next session of the process, unless another process asks (:mod:`.linger`). The
SQL itself lives in the package's modules, as functions taking the session's connection: ``migrations``,
``writes``, ``spool``, ``blobs``, ``queries``, ``search``, ``lineage``, ``registry`` and
``profile``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError, StoreWriteError, WorkbenchError
from ..paths import resolve_store
from . import blobs, queries, registry, spool, writes
from . import lineage as lineage_sql
from .records import Batch, RunRecord
from .rows import nested_rows, wide_rows
from .search import build_query
from .session import first_line
from .sessions import Sessions

# Kept importable from here, where they used to live.
from .spool import read_spool as _read_spool  # noqa: F401
from .writes import STALE_HEARTBEAT_MS  # noqa: F401

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = ["Batch", "RunRecord", "Store", "get_store"]

log = logging.getLogger(__name__)

#: ``step(run_ids, shas)``: one breadth-first step of the lineage graph.
LineageStep = Callable[[Sequence[str], Sequence[str]], dict[str, Any]]


class Store(Sessions):
    """A Workbench store: one directory holding ``workbench.duckdb`` and its artifacts.

    Use :func:`get_store` rather than the constructor, so every user of one directory in
    a process shares its lock.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.artifact_dir = self.directory / "artifacts"
        self._pruned = False

    def __repr__(self) -> str:
        return f"Store({str(self.directory)!r})"

    # -- writes ----------------------------------------------------------------------
    def write(self, batch: Batch, batch_id: str | None = None) -> None:
        """Write one batch from the tracking buffer; never waits for another process.

        With the lock free, the batch is written in one transaction. While another
        process holds the store, it goes to a spool file instead (about 0.5 ms), which
        the next session of any process folds in before doing anything else.

        ``batch_id`` names the batch: writing a batch whose id was applied before
        changes nothing, so a batch may be retried after any error (a new id when None).

        Raises
        ------
        StoreWriteError
            The store (or its spool folder) cannot be written now; nothing was written,
            or the batch was written and a retry will change nothing.
        InvalidInputError
            The batch holds a value the store must not take (it is not written).
        StoreVersionError, StoreCorruptError
            The store must not be written.
        """
        if batch.is_empty():
            return
        try:
            spool.check_batch(batch)
        except ValueError as e:
            raise InvalidInputError(f"a batch for {self.directory} was refused: {e}") from None
        batch_id = batch_id or spool.new_batch_id()
        try:
            got = self.lock.try_acquire()
        except OSError as e:
            raise StoreWriteError(f"cannot write to {self.directory}: {first_line(e)}") from e
        if not got:
            try:
                self._spool(batch, batch_id)
            except OSError as e:
                raise StoreWriteError(
                    f"the store {self.directory} is busy and its spool folder cannot be written: {first_line(e)}"
                ) from e
            return
        try:
            with self._attached(strict=True) as con:
                writes.apply(con, batch, batch_ids=[batch_id])
                if not self._pruned:
                    self._pruned = True
                    writes.prune_applied_batches(con)
        except WorkbenchError:
            raise
        except Exception as e:
            raise StoreWriteError(f"could not write to {self.db_path}: {first_line(e)}") from e

    def _spool(self, batch: Batch, batch_id: str | None = None) -> Path:
        return spool.write_spool(self.spool_dir, batch, batch_id)

    def spill(self, batch: Batch, batch_id: str) -> Path:
        """Put a batch on disk beside the store, without the store: a spool file in its
        folder, else in a fallback folder (see :meth:`rescue_dirs`). The next session
        folds it in. Returns its path.

        Raises
        ------
        StoreWriteError
            No folder could take it.
        """
        failures = []
        for i, d in enumerate([self.spool_dir, *self.rescue_dirs()[1:]]):
            try:
                if i:
                    _private_dir(d)
                return spool.write_spool(d, batch, batch_id, sync=True)
            except OSError as e:
                failures.append(f"{d}: {e.strerror or first_line(e)}")
        raise StoreWriteError(f"no folder could take a spill of {self.directory} ({'; '.join(failures)})")

    def rescue(self, batches: Sequence[tuple[str | None, Batch]]) -> Path:
        """Save batches that could not be written as one rescue file: in the store's
        ``unflushed/`` folder, else the first fallback folder that takes it. The next
        session on this store folds it in (each batch at most once). Returns its path.

        Raises
        ------
        StoreWriteError
            No folder could take it.
        """
        failures = []
        for i, d in enumerate(self.rescue_dirs()):
            try:
                if i:
                    _private_dir(d)
                return spool.write_rescue(d, batches, self.directory)
            except OSError as e:
                failures.append(f"{d}: {e.strerror or first_line(e)}")
        raise StoreWriteError("no folder could take the rescue file (" + "; ".join(failures) + ")")

    def _apply(
        self,
        con: duckdb.DuckDBPyConnection,
        batch: Batch,
        spool_names: Sequence[str] = (),
        batch_ids: Sequence[str] = (),
    ) -> bool:
        """Write a batch in one transaction (recording its ids and the spool files it came from)."""
        return writes.apply(con, batch, spool_names, batch_ids)

    def set_deleted(self, run_id: str, deleted: bool) -> None:
        """Soft-delete (or restore) a run: it is hidden from searches but kept whole."""
        with self.session() as con:
            writes.set_deleted(con, run_id, deleted)

    def reap_dead_runs(self, con: duckdb.DuckDBPyConnection) -> int:
        """Mark ``killed`` the runs still ``running`` whose process is gone.

        On this host the pid is checked (with its start time, against pid reuse); runs of
        other hosts are judged by their heartbeat. Returns how many runs were marked.
        """
        return writes.reap_dead_runs(con)

    # -- blobs -------------------------------------------------------------------------
    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int, Path]:
        """Copy a file into the store's content-addressed blob folder (once per content).

        Returns ``(sha256, size, stored_path)``. Hashing streams the file, so size is no
        concern.
        """
        return blobs.put_file(self.artifact_dir, path)

    def put_bytes(self, data: bytes) -> str:
        """Store bytes as a blob (once per content); returns their sha256."""
        return blobs.put_bytes(self.artifact_dir, data)

    def blob_path(self, digest: str) -> Path:
        """Where the blob with this sha256 lives (it may not exist)."""
        return blobs.blob_path(self.artifact_dir, digest)

    # -- reads -----------------------------------------------------------------------
    def environment(self, env_hash: str) -> dict[str, Any] | None:
        """The recorded environment (python, platform, packages) with this hash."""
        with self.session() as con:
            return queries.environment(con, env_hash)

    def resolve_run_id(self, ref: str, con: duckdb.DuckDBPyConnection | None = None) -> str:
        """Return the full run id for an id or unique prefix.

        Raises
        ------
        RunNotFoundError, AmbiguousRunError
        """
        if con is None:
            with self.session() as c:
                return queries.resolve_run_id(c, ref)
        return queries.resolve_run_id(con, ref)

    def resolve_run_ids(self, refs: Sequence[str]) -> list[str]:
        """Resolve several ids or prefixes in one session (see :meth:`resolve_run_id`)."""
        with self.session() as con:
            return queries.resolve_run_ids(con, refs)

    def search_runs(
        self,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        experiment: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """Runs matching a filter, one row each, shaped like MLflow's ``search_runs``.

        See :func:`workbench.runs` for the columns and the filter grammar.
        """
        query = build_query(filter, order_by)  # parse before touching the store
        with self.session() as con:
            return self._wide_runs(con, query, experiment, include_deleted, limit, offset)

    @staticmethod
    def _wide_runs(
        con: duckdb.DuckDBPyConnection,
        query: Any,
        experiment: str | Sequence[str] | None,
        include_deleted: bool,
        limit: int | None,
        offset: int,
    ) -> pd.DataFrame:
        writes.reap_dead_runs(con)
        return queries.wide_runs_frame(con, query, experiment, include_deleted, limit, offset)

    def runs_page(
        self,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        experiment: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        limit: int = 200,
        offset: int = 0,
    ) -> tuple[pd.DataFrame, int]:
        """One page of :meth:`search_runs` and :meth:`count_runs`'s total, read in one
        session (the panel asks for both with every page)."""
        query = build_query(filter, order_by)
        with self.session() as con:
            page = self._wide_runs(con, query, experiment, include_deleted, limit, offset)
            return page, queries.count_runs(con, query, experiment, include_deleted)

    def runs_page_rows(
        self,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        experiment: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        limit: int = 200,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], dict[str, list[str]], int]:
        """:meth:`runs_page` as plain rows (see :func:`.rows.nested_rows`): the rows,
        the keys of each kind on the page, and the total."""
        query = build_query(filter, order_by)
        with self.session() as con:
            writes.reap_dead_runs(con)
            names, found = wide_rows(con, query, experiment, include_deleted, limit, offset)
            rows, keys = nested_rows(names, found)
            return rows, keys, queries.count_runs(con, query, experiment, include_deleted)

    def iter_runs(
        self,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        experiment: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        batch_rows: int = 8192,
    ) -> Iterator[pd.DataFrame]:
        """:meth:`search_runs` in DataFrames of at most ``batch_rows`` rows, read from
        DuckDB as they are consumed, so memory stays flat whatever the store's size.

        The first DataFrame comes even when no run matches (it carries the columns).
        The store is held until the iterator is exhausted or closed: consume it promptly.
        """
        query = build_query(filter, order_by)
        with self.session() as con:
            writes.reap_dead_runs(con)
            sql, params, names = queries.wide_runs_query(con, query, experiment, include_deleted, limit, 0)
            n = con.execute("SELECT count(*) FROM _sel").fetchone()[0]
            try:
                # The first batch comes even when empty: it carries the columns.
                step = max(1, int(batch_rows))
                for lo in range(0, max(n, 1), step):
                    df = con.execute(sql, [lo, lo + step, *params]).df()
                    yield queries.wide_frame(df, names)
            finally:
                con.execute("DROP TABLE _sel")

    def count_runs(
        self,
        filter: str | None = None,
        experiment: str | Sequence[str] | None = None,
        include_deleted: bool = False,
    ) -> int:
        """How many runs :meth:`search_runs` would find (for pagination)."""
        query = build_query(filter, None)
        with self.session() as con:
            return queries.count_runs(con, query, experiment, include_deleted)

    def get_run(self, ref: str) -> RunRecord:
        """Everything recorded about one run (id or unique prefix)."""
        with self.session() as con:
            writes.reap_dead_runs(con)
            return queries.get_run(con, queries.resolve_run_id(con, ref))

    def metric_history(self, run_ids: Sequence[str], keys: Sequence[str] | None = None) -> pd.DataFrame:
        """Every point of the given metrics for the given run ids (or unique prefixes,
        resolved in the same session), as a DataFrame with columns
        ``run_id, key, step, value, timestamp``."""
        import pandas as pd

        with self.session() as con:
            df = queries.metric_history(con, queries.resolve_run_ids(con, run_ids), keys)
        # A time pandas cannot represent (a store damaged by an earlier version) reads as
        # NaT rather than making the whole history unreadable.
        df["timestamp"] = pd.to_datetime(df["timestamp"], unit="ms", utc=True, errors="coerce")
        return df

    def metric_series(
        self,
        run_ids: Sequence[str],
        keys: Sequence[str] | None = None,
        max_points: int = 1000,
        after: Sequence[int | None] | None = None,
    ) -> list[dict[str, Any]]:
        """Metric curves for charts, each at most ``max_points`` points.

        A longer series is cut into ``max_points // 2`` step ranges and keeps, per range,
        its lowest and highest point (in step order), so spikes and the curve's envelope
        survive, which averaging would smooth away.

        Run ids may be given by unique prefix. ``after``, one step per run id (None: from
        the first point), keeps only the points logged at a later step: what a live chart
        has not drawn yet. A run given twice keeps its first cursor.

        Returns
        -------
        list of dict
            ``{"run_id", "key", "steps", "values"}`` per (run, key), ordered by the given
            run ids, then key.
        """
        if after is not None and len(after) != len(run_ids):
            raise InvalidInputError(f"give one cursor per run id: {len(run_ids)} ids, {len(after)} cursors")
        with self.session() as con:
            run_ids = queries.resolve_run_ids(con, run_ids)
            if after is not None:
                cursors: dict[str, int | None] = {}
                for rid, cursor in zip(run_ids, after):
                    cursors.setdefault(rid, cursor)
                run_ids = list(cursors)
                after = list(cursors.values())
            rows = queries.metric_buckets(con, run_ids, keys, max_points, after)
        return queries.series_from_buckets(rows, run_ids)

    def experiments(self) -> list[dict[str, Any]]:
        """Experiments with their run counts, newest first."""
        with self.session() as con:
            return queries.experiments(con)

    # -- lineage -------------------------------------------------------------------
    def lineage_step(
        self, run_ids: Sequence[str], shas: Sequence[str], con: duckdb.DuckDBPyConnection | None = None
    ) -> dict[str, Any]:
        """One breadth-first step of the lineage graph.

        Returns ``artifacts``: every artifact row of the given runs or with one of the
        given hashes (each with ``run_id``); ``runs``: a summary of every run those rows,
        the given runs, their parents and their reruns name (deleted runs excluded).
        Pass ``con`` (from :meth:`session`) to run many steps in one session, or use
        :meth:`lineage_steps`.
        """
        if con is not None:
            return lineage_sql.lineage_step(con, run_ids, shas)
        with self.session() as c:
            return lineage_sql.lineage_step(c, run_ids, shas)

    @contextlib.contextmanager
    def lineage_steps(self) -> Iterator[LineageStep]:
        """Hold one session for a whole lineage walk and yield ``step(run_ids, shas)``,
        :meth:`lineage_step` bound to it (a session costs ~1-3 ms, a walk takes a dozen
        steps)."""
        with self.session() as con:
            yield functools.partial(lineage_sql.lineage_step, con)

    def lineage_scope(self, ref: str, depth: int) -> lineage_sql.LineageScope:
        """Resolve ``ref`` (id or unique prefix) and read, in one session, everything a
        lineage walk of ``depth`` hops from it can need: the runs it can reach, their
        artifacts and the rows sharing their hashes (one query), and the registered
        model versions. ``scope.step(run_ids, shas)`` then answers the walk's steps as
        :meth:`lineage_step` would.

        Raises
        ------
        RunNotFoundError, AmbiguousRunError
        """
        with self.session() as con:
            return lineage_sql.lineage_scope(con, ref, depth)

    def dataset_rows(self, run_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Input artifacts of kind ``dataset`` of the given runs, with their metadata."""
        with self.session() as con:
            return lineage_sql.dataset_rows(con, run_ids)

    # -- model registry ------------------------------------------------------------
    @staticmethod
    def check_registry_name(what: str, name: Any) -> str:
        """``name`` if it is a valid model or alias name, else a clear error."""
        return registry.check_registry_name(what, name)

    def register_model_version(self, name: str, run_id: str, artifact: dict[str, Any]) -> int:
        """Add the next version of model ``name`` (created on first use); returns it.

        The version number is taken under the store lock, so concurrent registrations
        from several processes get distinct, consecutive numbers.
        """
        registry.check_registry_name("model name", name)
        with self.session() as con:
            return registry.register_model_version(con, name, run_id, artifact)

    def set_model_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` of model ``name`` at ``version`` (moving it if it exists)."""
        registry.check_registry_name("alias", alias)
        if alias.isdigit():
            raise InvalidInputError(
                f"alias {alias!r} is not valid: an alias cannot be a number (versions are)"
            )
        with self.session() as con:
            registry.set_model_alias(con, name, alias, version)

    def delete_model_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from model ``name``."""
        with self.session() as con:
            found = registry.delete_model_alias(con, name, alias)
        if not found:
            raise NotFoundError(f"model {name!r} has no alias {alias!r}")

    def model_versions(self, name: str | None = None) -> list[dict[str, Any]]:
        """Registered model versions (all models, or one), each with its aliases, run name
        and the run's final metrics; ordered by name, then version."""
        with self.session() as con:
            return registry.model_versions(con, name)

    def resolve_model_version(
        self, name: str, version: int | None = None, alias: str | None = None
    ) -> dict[str, Any]:
        """One model version, by number, by alias, or the latest when neither is given."""
        return registry.resolve_model_version(self.model_versions(name), name, version, alias)

    # -- model card sections ------------------------------------------------------------
    def set_card_sections(self, run_id: str, sections: dict[str, str]) -> None:
        """Store the author's model card text for a run (replacing earlier text)."""
        with self.session() as con:
            registry.set_card_sections(con, run_id, sections)

    def card_sections(self, run_id: str) -> dict[str, str]:
        """The author's model card text recorded for a run ({} when none)."""
        with self.session() as con:
            return registry.card_sections(con, run_id)


def _private_dir(d: Path) -> None:
    # Fallback folders hold a user's data outside the store: readable by the user only.
    for p in (d.parent, d):
        with contextlib.suppress(FileExistsError):
            p.mkdir(mode=0o700, parents=True)


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def get_store(path: str | os.PathLike[str] | None = None) -> Store:
    """The process-wide :class:`Store` for a directory resolved by ``resolve_store``."""
    directory = resolve_store(path)
    with _stores_lock:
        store = _stores.get(directory)
        if store is None:
            store = _stores[directory] = Store(directory)
        return store
