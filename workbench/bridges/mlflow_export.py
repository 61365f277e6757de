"""``workbench export mlflow URI``: copy Workbench runs into an MLflow store or server.

Each Workbench run becomes an MLflow run (MLflow picks its id) in the experiment of the
same name, tagged ``workbench.run_id`` with the Workbench id: with its params, tags,
status and times, full metric histories, input datasets and artifacts. Exporting again
adds nothing: a run already exported with the same content (``workbench.export_digest``)
is skipped; one that grew gets the points, params, tags and files it lacks.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store import imports
from ..store.store import Store
from . import _common
from .mlflow_import import target_store

__all__ = ["ExportReport", "export_mlflow"]

_ACCEPTED = "give sqlite:///path/to/mlflow.db, a folder (or file:///path/to/mlruns), or an http(s):// MLflow server URL"


@dataclass
class ExportReport:
    """What an export did."""

    target: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    points: int = 0
    artifacts: int = 0

    def __str__(self) -> str:
        return (
            f"exported to {self.target}: {self.added} runs added, {self.updated} updated, {self.unchanged} unchanged "
            f"({self.points:,} metric points, {self.artifacts} artifacts)"
        )


def _target_uri(uri: str) -> str:
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInputError(f"the MLflow target must be a non-empty string; {_ACCEPTED}")
    uri = uri.strip()
    if uri.startswith(("http://", "https://", "sqlite:///")):
        if uri.startswith("sqlite:///"):
            parent = Path(uri[len("sqlite:///") :]).absolute().parent
            if not parent.is_dir():
                raise InvalidInputError(f"the folder of the MLflow database, {str(parent)!r}, does not exist")
        return uri
    if uri.startswith(f"{_common.SCHEME}:"):
        raise InvalidInputError(f"{uri!r} is a Workbench store, not an MLflow one; {_ACCEPTED}")
    if "://" in uri and not uri.startswith("file://"):
        raise InvalidInputError(f"{uri!r} is neither an MLflow store nor a server; {_ACCEPTED}")
    path = Path(uri[len("file://") :] if uri.startswith("file://") else uri).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise InvalidInputError(f"{str(path)!r} is a file, not an mlruns folder; {_ACCEPTED}")
    return path.as_uri()


def export_mlflow(
    uri: str,
    *,
    experiments: str | Sequence[str] | None = None,
    filter: str | None = None,
    store: str | os.PathLike[str] | Store | None = None,
    progress: bool | None = None,
) -> ExportReport:
    """Copy Workbench runs into an MLflow tracking store or server.

    Parameters
    ----------
    uri
        ``sqlite:///path/to/mlflow.db``, an ``mlruns`` folder, or an ``http(s)://`` server.
    experiments
        Only runs of these experiments (default: all).
    filter
        Only runs matching this search filter (Workbench's search syntax).
    store
        The Workbench store to export from (default: the current one).
    progress
        Show a progress bar (default: when stderr is a terminal).

    Returns
    -------
    ExportReport

    Raises
    ------
    InvalidInputError
        The target is not an MLflow store or server, or refuses the runs.
    """
    target_uri = _target_uri(uri)
    if target_uri.startswith("file:"):
        from .mlflow_import import allow_file_store

        with allow_file_store():
            return _export(uri, target_uri, experiments, filter, store, progress)
    return _export(uri, target_uri, experiments, filter, store, progress)


def _export(
    uri: str, target_uri: str, experiments: Any, filter: Any, store: Any, progress: Any
) -> ExportReport:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from tqdm.auto import tqdm

    from ..tracking import flush

    source = target_store(store)
    flush(source)
    exps = [experiments] if isinstance(experiments, str) else list(experiments) if experiments else None
    # Oldest first, and a parent always before its children (a nested run often starts in
    # the same millisecond as its parent), so a child's parent tag can point at it.
    found = source.search_runs(filter, ["attributes.start_time ASC"], exps, include_deleted=False)
    run_ids = _parents_first(list(found["run_id"]), dict(zip(found["run_id"], found["parent_run_id"])))
    exported: dict[str, str] = {}
    report = ExportReport(target=uri)
    try:
        client = MlflowClient(tracking_uri=target_uri)
        exp_ids: dict[str, str] = {}
        for run_id in tqdm(
            run_ids, desc="exporting runs", unit="run", disable=None if progress is None else not progress
        ):
            _export_run(client, source, run_id, exp_ids, exported, report)
    except MlflowException as e:
        raise InvalidInputError(f"cannot export to {uri!r}: {str(e).strip().splitlines()[0]}") from None
    return report


def _export_run(
    client: Any,
    source: Any,
    run_id: str,
    exp_ids: dict[str, str],
    exported: dict[str, str],
    report: ExportReport,
) -> None:
    """Create or update one run in MLflow; only what it lacks is sent again, and a run
    whose content is unchanged since the last export is left alone."""
    from mlflow.entities import Metric, Param, RunTag

    from .mlflow_artifacts import artifact_files

    with _common.session(source) as con:
        r = imports.run_rows(con, [run_id])[run_id]
        points = imports.metric_points(con, run_id)
        files = artifact_files(con, run_id)
    digest = _digest(r, points, files)
    name = r["experiment"]
    if name not in exp_ids:
        known = client.get_experiment_by_name(name)
        exp_ids[name] = known.experiment_id if known else client.create_experiment(name)
    found = client.search_runs([exp_ids[name]], f"tags.`workbench.run_id` = '{run_id}'", max_results=1)
    tags = _export_tags(r, run_id, exported)
    if found:
        target = found[0]
        exported[run_id] = target.info.run_id
        if target.data.tags.get("workbench.export_digest") == digest:
            report.unchanged += 1
            return
        report.updated += 1
        have_points = {
            (m.key, m.step, m.value, m.timestamp)
            for key in target.data.metrics
            for m in client.get_metric_history(target.info.run_id, key)
        }
        have_params = target.data.params
        have_files = set(_listing(client, target.info.run_id))
        target_id = target.info.run_id
    else:
        report.added += 1
        target_id = client.create_run(
            exp_ids[name], start_time=r["start_time"], tags={}, run_name=r["run_name"]
        ).info.run_id
        have_points, have_params, have_files = set(), {}, set()
    exported[run_id] = target_id
    metrics = [Metric(k, v, ts, step) for k, step, v, ts in points if (k, step, v, ts) not in have_points]
    params = [Param(k, v) for k, v in r["params"].items() if k not in have_params]
    run_tags = [RunTag(k, v) for k, v in tags.items()]
    for i in range(0, max(len(metrics), 1), 1000):
        client.log_batch(
            target_id,
            metrics=metrics[i : i + 1000],
            params=params if i == 0 else [],
            tags=run_tags if i == 0 else [],
        )
    report.points += len(metrics)
    if r["datasets"] and not found:
        _log_datasets(client, target_id, r["datasets"])
    report.artifacts += _log_artifacts(client, target_id, files, have_files)
    if r["status"] != "running":
        client.set_terminated(target_id, _common.TO_MLFLOW_STATUS[r["status"]], r["end_time"])
    client.set_tag(target_id, "workbench.export_digest", digest)


def _export_tags(r: dict[str, Any], run_id: str, exported: dict[str, str]) -> dict[str, str]:
    """The run's MLflow tags, its parent tag pointing at the parent's exported id."""
    from .mlflow_convert import mlflow_tags

    tags = {k: v for k, v in mlflow_tags(r).items() if not k.startswith("workbench.export")}
    tags["workbench.run_id"] = run_id
    if "mlflow.parentRunId" in tags:
        parent = exported.get(tags["mlflow.parentRunId"])
        if parent:
            tags["mlflow.parentRunId"] = parent
        else:
            del tags["mlflow.parentRunId"]
    return tags


def _log_datasets(client: Any, target_id: str, datasets: list[Any]) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    from .mlflow_convert import dataset_input

    client.log_inputs(
        target_id,
        [
            DatasetInput(
                Dataset(
                    di.dataset.name,
                    di.dataset.digest[:36],
                    di.dataset.source_type,
                    di.dataset.source,
                    di.dataset.schema,
                    di.dataset.profile,
                ),
                [InputTag(t.key, t.value) for t in di.tags],
            )
            for di in map(dataset_input, datasets)
        ],
    )


def _log_artifacts(client: Any, target_id: str, files: dict[str, Any], have_files: set[str]) -> int:
    """Upload the artifacts MLflow lacks (symlinked, not copied, into a temporary folder)."""
    sent = 0
    with tempfile.TemporaryDirectory(prefix="workbench-export-") as tmp:
        for rel, a in files.items():
            if rel in have_files or not os.path.exists(a["stored_path"]):
                continue
            local = Path(tmp) / rel
            local.parent.mkdir(parents=True, exist_ok=True)
            local.symlink_to(a["stored_path"])
            client.log_artifact(target_id, str(local), posixpath.dirname(rel) or None)
            sent += 1
    return sent


def _listing(client: Any, run_id: str, path: str | None = None) -> list[str]:
    out = []
    for f in client.list_artifacts(run_id, path):
        out.extend(_listing(client, run_id, f.path) if f.is_dir else [f.path])
    return out


def _digest(r: dict[str, Any], points: list[Any], files: dict[str, Any]) -> str:
    import hashlib

    body = json.dumps(
        [
            r["run_name"],
            r["status"],
            r["end_time"],
            sorted(r["params"].items()),
            sorted(r["tags"].items()),
            len(points),
            points[-1] if points else None,
            sorted((k, a["sha256"]) for k, a in files.items()),
        ],
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _parents_first(run_ids: list[str], parents: dict[str, object]) -> list[str]:
    """``run_ids`` in their order, except that a run whose parent is in the list comes
    after that parent."""
    placed: set[str] = set()
    out: list[str] = []

    def place(run_id: str, depth: int = 0) -> None:
        if run_id in placed:
            return
        parent = parents.get(run_id)
        if isinstance(parent, str) and parent in parents and depth < 100:
            place(parent, depth + 1)
        placed.add(run_id)
        out.append(run_id)

    for run_id in run_ids:
        place(run_id)
    return out
