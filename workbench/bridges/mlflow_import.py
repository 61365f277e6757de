"""``wb.import_mlflow(uri)`` / ``workbench import mlflow URI``: copy an MLflow store into Workbench.

Sources: a ``sqlite:///`` database (read from a copy, so the source is never touched),
an ``./mlruns`` folder (or ``file:///...``), or an ``http(s)://`` MLflow server.

Experiments, runs with their ids, params, tags, status and times, full metric histories
(steps and timestamps), input datasets, artifacts, MLflow 3 logged models, registered
models with their version numbers and aliases. Everything is read first and written in
one transaction, so an import lands whole or not at all. Importing again adds nothing:
a run whose content (as read) is unchanged is skipped, and a run that grew in MLflow
since is replaced, not duplicated.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store import imports
from ..store.records import now_ms
from ..store.store import Store, get_store
from . import _common
from .mlflow_models import read_logged_models, read_registry, write_registry

__all__ = ["ImportReport", "import_mlflow"]

log = logging.getLogger(__name__)

_ACCEPTED = (
    "give sqlite:///path/to/mlflow.db, an mlruns folder (or file:///path/to/mlruns), "
    "or an http(s):// MLflow server URL"
)


@dataclass
class ImportReport:
    """What an import did."""

    source: str
    experiments: list[str] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    points: int = 0
    artifacts: int = 0
    model_versions: int = 0
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"imported {self.source}: {self.added} runs added, {self.updated} updated, {self.unchanged} unchanged "
            f"({len(self.experiments)} experiments, {self.points:,} metric points, {self.artifacts} artifacts, "
            f"{self.model_versions} model versions)"
        )
        if self.skipped:
            text += f"; skipped: {'; '.join(self.skipped)}"
        return text


def target_store(store: str | os.PathLike[str] | Store | None) -> Store:
    """The Workbench store to import into (the current one by default)."""
    if isinstance(store, Store):
        return store
    if store is None:
        from ..tracking import current_store

        return current_store()
    return get_store(store)


@contextlib.contextmanager
def _open_source(uri: str) -> Iterator[tuple[str, str | None]]:
    """``(tracking_uri, sqlite_copy)`` for an MLflow source, after checking it exists
    and is what it claims to be."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInputError(f"the MLflow source must be a non-empty string; {_ACCEPTED}")
    uri = uri.strip()
    if uri.startswith(("http://", "https://")):
        yield uri, None
        return
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        if not path.is_file():
            raise InvalidInputError(f"MLflow database {str(path)!r} does not exist; {_ACCEPTED}")
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise InvalidInputError(f"{str(path)!r} is not an SQLite database; {_ACCEPTED}")
        try:
            ro = sqlite3.connect(f"file:{path.absolute()}?mode=ro", uri=True)
            try:
                tables = {r[0] for r in ro.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                ro.close()
        except sqlite3.Error as e:
            raise InvalidInputError(f"cannot read the MLflow database {str(path)!r}: {e}") from None
        if "alembic_version" not in tables or "runs" not in tables:
            raise InvalidInputError(
                f"{str(path)!r} is an SQLite database but not an MLflow store (no runs/alembic_version tables); "
                f"{_ACCEPTED}"
            )
        # MLflow's store may write to the file it opens (a migration check, a default
        # experiment): it reads a copy, so the source is never changed.
        with tempfile.TemporaryDirectory(prefix="workbench-mlflow-") as tmp:
            copy = Path(tmp) / "mlflow.db"
            src = sqlite3.connect(f"file:{path.absolute()}?mode=ro", uri=True)
            dst = sqlite3.connect(copy)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
            yield f"sqlite:///{copy}", str(copy)
        return
    if "://" in uri and not uri.startswith("file://"):
        raise InvalidInputError(f"{uri!r} is neither an MLflow store nor a server; {_ACCEPTED}")
    path = Path(uri[len("file://") :] if uri.startswith("file://") else uri).expanduser()
    if not path.is_dir():
        raise InvalidInputError(f"MLflow folder {str(path)!r} does not exist; {_ACCEPTED}")
    if not any((d / "meta.yaml").is_file() for d in path.iterdir() if d.is_dir()):
        raise InvalidInputError(
            f"{str(path)!r} is not an MLflow store: no experiment folder with a meta.yaml in it; {_ACCEPTED}"
        )
    with allow_file_store():
        yield path.absolute().as_uri(), None


@contextlib.contextmanager
def allow_file_store() -> Iterator[None]:
    """Let MLflow open an ``mlruns`` folder: MLflow 3 refuses its file store unless
    ``MLFLOW_ALLOW_FILE_STORE`` is set, and reading one is what an import is for."""
    old = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old


def _sqlite_points(db: str, run_ids: Sequence[str]) -> dict[str, list[tuple[str, int, float, int]]]:
    """Every metric point of these runs, read straight from an MLflow sqlite database
    (one query instead of one call per run and key)."""
    out: dict[str, list[tuple[str, int, float, int]]] = {r: [] for r in run_ids}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for run_id, key, value, ts, step, is_nan in con.execute(
            "SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics"
        ):
            if run_id in out:
                out[run_id].append((key, int(step), float("nan") if is_nan else float(value), int(ts)))
    finally:
        con.close()
    return out


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _list_files(client: Any, run_id: str, path: str | None = None) -> list[tuple[str, int]]:
    out = []
    for f in client.list_artifacts(run_id, path):
        if f.is_dir:
            out.extend(_list_files(client, run_id, f.path))
        else:
            out.append((f.path, int(f.file_size or 0)))
    return out


def import_mlflow(
    uri: str,
    experiments: str | Sequence[str] | None = None,
    *,
    store: str | os.PathLike[str] | Store | None = None,
    progress: bool | None = None,
) -> ImportReport:
    """Copy experiments, runs, metric histories, artifacts and registered models from an
    MLflow store into Workbench.

    Parameters
    ----------
    uri
        ``sqlite:///path/to/mlflow.db``, an ``mlruns`` folder (``file:///...`` too), or
        an ``http(s)://`` MLflow server.
    experiments
        Experiment names to import (default: all, deleted ones included).
    store
        The Workbench store to import into (default: the current one).
    progress
        Show a progress bar (default: when stderr is a terminal).

    Returns
    -------
    ImportReport
        Runs added, updated and unchanged, points, artifacts and model versions.

    Raises
    ------
    InvalidInputError
        The source is not an MLflow store or server, cannot be read (e.g. a database of a
        schema version this MLflow does not read), or names unknown experiments; nothing
        is imported.
    """
    from mlflow.exceptions import MlflowException

    wanted = [experiments] if isinstance(experiments, str) else list(experiments or [])
    target = target_store(store)
    with _open_source(uri) as (tracking_uri, sqlite_copy):
        try:
            return _import(uri, tracking_uri, sqlite_copy, wanted, target, progress)
        except MlflowException as e:
            raise InvalidInputError(_source_error(uri, e)) from None
        except (OSError, ConnectionError) as e:
            raise InvalidInputError(f"cannot read the MLflow source {uri!r}: {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _source_error(uri: str, e: Exception) -> str:
    msg = _first_line(e)
    if "schema" in msg.lower() and ("out-of-date" in msg.lower() or "version" in msg.lower()):
        import mlflow

        return (
            f"the MLflow database {uri!r} has a schema version that MLflow {mlflow.__version__} (installed here) "
            f"does not read ({msg}); upgrade a copy with `mlflow db upgrade`, or import from an MLflow server "
            "that serves it"
        )
    return f"cannot read the MLflow source {uri!r}: {msg}"


@dataclass
class _Source:
    """What an import read from MLflow, before it writes anything."""

    experiments: list[Any]
    payload: list[tuple[Any, list, list, list, str]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    registered: Any = None
    known: dict[str, str] = field(default_factory=dict)

    @property
    def exp_name(self) -> dict[str, str]:
        return {e.experiment_id: e.name for e in self.experiments}


def _import(
    uri: str,
    tracking_uri: str,
    sqlite_copy: str | None,
    wanted: list[str],
    target: Store,
    progress: bool | None,
) -> ImportReport:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    report = ImportReport(source=uri)
    # Everything is read (and artifacts copied into the blob store) first, then written in
    # one transaction: an import lands whole or not at all.
    source = _Source(experiments=_read_experiments(client, wanted))
    report.experiments = [e.name for e in source.experiments]
    runs = _read_runs(client, source.experiments)
    with tempfile.TemporaryDirectory(prefix="workbench-import-") as tmp:
        _read_payload(client, runs, sqlite_copy, target, tmp, source, report, progress)
        source.models = read_logged_models(client, [e.experiment_id for e in source.experiments], target, tmp)
    source.registered = read_registry(client)
    _write(uri, target, source, report)
    for run, *_ in source.payload:
        if run.info.run_id in source.known:
            report.updated += 1
        else:
            report.added += 1
    return report


def _read_experiments(client: Any, wanted: list[str]) -> list[Any]:
    """The source's experiments (deleted ones included), only the wanted ones if named."""
    from mlflow.entities import ViewType

    exps: list[Any] = []
    token = None
    while True:
        page = client.search_experiments(view_type=ViewType.ALL, max_results=1000, page_token=token)
        exps.extend(page)
        token = page.token
        if not token:
            break
    if not wanted:
        return exps
    names = {e.name for e in exps}
    missing = [w for w in wanted if w not in names]
    if missing:
        raise InvalidInputError(
            f"the MLflow source has no experiment {', '.join(map(repr, missing))}; it has "
            f"{', '.join(sorted(names)) or 'none'}"
        )
    return [e for e in exps if e.name in wanted]


def _read_runs(client: Any, experiments: list[Any]) -> list[Any]:
    """Every run of these experiments, deleted ones included, page by page."""
    from mlflow.entities import ViewType

    runs: list[Any] = []
    for e in experiments:
        token = None
        while True:
            page = client.search_runs(
                [e.experiment_id], run_view_type=ViewType.ALL, max_results=50000, page_token=token
            )
            runs.extend(page)
            token = page.token
            if not token:
                break
    return runs


def _read_payload(
    client: Any,
    runs: list[Any],
    sqlite_copy: str | None,
    target: Store,
    tmp: str,
    source: _Source,
    report: ImportReport,
    progress: bool | None,
) -> None:
    """Read each run that is new or changed since the last import into ``source.payload``."""
    from tqdm.auto import tqdm

    run_ids = [r.info.run_id for r in runs]
    exported_from = [r.data.tags["workbench.run_id"] for r in runs if r.data.tags.get("workbench.run_id")]
    with _common.session(target) as con:
        source.known = imports.import_digests(con, run_ids)
        present = imports.existing_run_ids(con, run_ids)
        own = imports.existing_run_ids(con, exported_from)
    sqlite_points = _sqlite_points(sqlite_copy, run_ids) if sqlite_copy else None
    for run in tqdm(
        runs, desc="reading MLflow runs", unit="run", disable=None if progress is None else not progress
    ):
        info, data = run.info, run.data
        if info.run_id in present and info.run_id not in source.known:
            report.skipped.append(f"run {info.run_id[:8]} is already in the store (not from an import)")
            continue
        if data.tags.get("workbench.run_id") in own:
            report.skipped.append(
                f"run {info.run_id[:8]} is an export of Workbench run {data.tags['workbench.run_id'][:8]}"
            )
            continue
        read = _read_run(client, run, sqlite_points, target, tmp, source.known)
        if read is None:
            report.unchanged += 1
        else:
            source.payload.append(read)


def _read_run(
    client: Any,
    run: Any,
    sqlite_points: dict[str, list[tuple[str, int, float, int]]] | None,
    target: Store,
    tmp: str,
    known: dict[str, str],
) -> tuple[Any, list, list, list, str] | None:
    """``(run, points, datasets, stored artifacts, digest)``, or None when the run is
    unchanged since the last import (its artifacts are then not copied)."""
    from .mlflow_convert import dataset_row

    info, data = run.info, run.data
    if sqlite_points is not None:
        points = sorted(sqlite_points.get(info.run_id, []))
    else:
        points = sorted(
            (m.key, int(m.step), float(m.value), int(m.timestamp))
            for key in data.metrics
            for m in client.get_metric_history(info.run_id, key)
        )
    files = _list_files(client, info.run_id)
    datasets = [dataset_row(info.run_id, di) for di in (run.inputs.dataset_inputs if run.inputs else [])]
    digest = _digest(
        info.to_proto().SerializeToString().hex(),
        sorted(data.params.items()),
        sorted(data.tags.items()),
        points,
        files,
        [(d["name"], d["sha256"], d["meta"]) for d in datasets],
    )
    if known.get(info.run_id) == digest:
        return None
    stored = []
    for path, _size in files:
        local = client.download_artifacts(info.run_id, path, tmp)
        sha, size, dest = target.put_file(local)
        os.remove(local)
        stored.append(
            {
                "run_id": info.run_id,
                "path": path,
                "kind": "file",
                "sha256": sha,
                "size": size,
                "direction": "output",
                "stored_path": str(dest),
                "name": path,
                "meta": {"mlflow_artifact": True},
            }
        )
    return run, points, datasets, stored, digest


def _write(uri: str, target: Store, source: _Source, report: ImportReport) -> None:
    """Write what was read, in one transaction."""
    exp_name = source.exp_name
    new_ids = {p[0].info.run_id for p in source.payload}
    with _common.session(target) as con, imports.transaction(con):
        for e in source.experiments:
            imports.set_experiment(
                con, e.name, e.creation_time or now_ms(), artifact_location=None, tags=dict(e.tags.items())
            )
            if e.lifecycle_stage == "deleted":
                imports.set_experiment_deleted(con, e.name, True)
        imports.clear_runs(con, list(new_ids))
        imports.upsert_runs(con, [_run_row(p[0], exp_name) for p in source.payload])
        tags, params, arts = [], [], []
        for run, points, datasets, stored, _ in source.payload:
            rid = run.info.run_id
            params += [(rid, k, v) for k, v in run.data.params.items()]
            rtags = dict(run.data.tags)
            if run.info.user_id and "mlflow.user" not in rtags:
                rtags["mlflow.user"] = run.info.user_id
            rtags.setdefault("mlflow.runName", run.info.run_name or rid)
            tags += [(rid, k, v) for k, v in rtags.items()]
            arts += datasets + stored
            report.artifacts += len(stored)
            if points:
                report.points += imports.insert_points(con, _points(rid, points), dedupe=False)
            imports.set_deleted(con, rid, run.info.lifecycle_stage == "deleted")
        imports.upsert_key_values(con, "params", params)
        imports.upsert_key_values(con, "tags", tags)
        imports.add_artifacts(con, arts)
        _write_models(con, target, source, new_ids, report)
        imports.record_imports(con, uri, {p[0].info.run_id: p[4] for p in source.payload})


def _write_models(con: Any, target: Store, source: _Source, new_ids: set[str], report: ImportReport) -> None:
    """Logged models (their files recorded as the source run's model artifact) and the
    registry's models, versions and aliases."""
    from .mlflow_store import record_model_artifact

    exp_name = source.exp_name
    models = source.models
    all_runs = imports.existing_run_ids(con, [m["source_run_id"] for m in models if m["source_run_id"]])
    for m in models:
        m["experiment"] = exp_name.get(
            m.pop("experiment_id"), m.get("experiment") or _common.DEFAULT_EXPERIMENT
        )
        imports.set_logged_model(con, m)
        if (
            m["status"] == "READY"
            and m["files"]
            and m["source_run_id"] in all_runs
            and m["source_run_id"] in new_ids
        ):
            record_model_artifact(target, con, m)
    report.model_versions = write_registry(con, target, source.registered, models)


def _run_row(run: Any, exp_name: dict[str, str]) -> dict[str, Any]:
    info, tags = run.info, run.data.tags
    row = {
        "run_id": info.run_id,
        "experiment": exp_name[info.experiment_id],
        "run_name": info.run_name or tags.get("mlflow.runName") or info.run_id[:8],
        "status": _common.TO_WORKBENCH_STATUS.get(info.status, "finished"),
        "start_time": info.start_time or 0,
        "end_time": info.end_time,
        "source": "mlflow",
        "parent_run_id": tags.get("mlflow.parentRunId"),
        "git_commit": tags.get("mlflow.source.git.commit"),
        "git_branch": tags.get("mlflow.source.git.branch"),
    }
    if tags.get("mlflow.source.type") == "NOTEBOOK" and tags.get("mlflow.source.name"):
        row["notebook_path"] = tags["mlflow.source.name"]
    return row


def _points(run_id: str, points: list[tuple[str, int, float, int]]) -> Any:
    import pyarrow as pa

    keys, steps, values, times = zip(*points)
    return pa.table(
        {
            "run_id": pa.array([run_id] * len(points), pa.string()),
            "key": pa.array(keys, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
            "timestamp": pa.array(times, pa.int64()),
        }
    )
