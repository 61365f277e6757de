"""Gather everything a model card reports about a run (or a registered model version)."""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, RunNotFoundError
from ..store.store import Store
from ..tracking.system_metrics import is_system
from .sections import HEADINGS, SECTIONS, check_sections, parse_card_text

if TYPE_CHECKING:
    from ..registry import ModelVersion
    from ..store.store import RunRecord

# Packages worth naming in a card's environment line, when installed.
_KEY_PACKAGES = (
    "scikit-learn",
    "numpy",
    "pandas",
    "scipy",
    "torch",
    "tensorflow",
    "keras",
    "jax",
    "xgboost",
    "lightgbm",
    "catboost",
    "transformers",
    "statsmodels",
    "workbench",
)
_HF_LIBRARIES = {
    "sklearn": "sklearn",
    "torch": "pytorch",
    "tensorflow": "tf",
    "keras": "keras",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "transformers": "transformers",
}
MAX_CURVE_POINTS = 500


def collect(ref: str, store: Store, sections: dict[str, Any] | None = None) -> dict[str, Any]:
    """The card's data: run, model version, params, final metrics and curves, datasets
    (training/evaluation with hashes and profiles), environment, lineage, the author's
    sections (stored from ``%%card``, else the notebook snapshot's ``%%card`` cell, then
    ``sections``) and the list of sections still to write.

    Raises
    ------
    RunNotFoundError
        ``ref`` names no run and no registered model.
    InvalidInputError
        The run recorded no metrics (a card reports results), or bad ``sections``.
    """
    from ..tracking import flush

    flush(store)
    run, version = _run_and_version(ref, store)
    # CPU, memory and GPU readings describe the machine, not the model: apart, never in
    # the metric table.
    metrics = {k: v for k, v in run.metrics.items() if not is_system(k)}
    if not metrics:
        raise InvalidInputError(
            f"run {run.run_id[:8]} ({run.run_name}) has no metrics: a model card reports a run's results; "
            "log at least one with wb.log_metric, or pick a run that has them (workbench runs)"
        )
    author = _author_sections(store, run)
    if sections:
        author.update(check_sections(sections, "sections"))
    if author.get("overview") and not author.get("model_details"):
        author["model_details"] = author.pop("overview")  # the overview is the model's description

    model_art, model_meta = _model_artifact(run, version)
    if version is None:
        version = next((v for v in _versions(store) if v.run_id == run.run_id), None)
    datasets = _datasets(run)
    env = store.environment(run.context["env_hash"]) if run.context.get("env_hash") else None
    name = author.get("model_name") or (version.name if version else run.run_name)
    return {
        "name": name,
        "title": f"Model card: {name}" + (f" v{version.version}" if version else ""),
        "generated_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        # The version's date (ISO 8601, UTC): when it was registered, else when it trained.
        "date": _iso_date(version.created_at if version else run.start_time),
        "run": _run_facts(run),
        "version": version.to_dict() if version else None,
        "model": _model_facts(model_art, model_meta),
        "task": author.get("task") or run.tags.get("task") or model_meta.get("task") or "other",
        "params": run.params,
        "metrics": metrics,
        "metric_direction": {k: ("higher" if _higher(k) else "lower") for k in metrics},
        "system_metrics": {k: v for k, v in run.metrics.items() if is_system(k)},
        "curves": {k: v for k, v in _curves(store, run.run_id).items() if not is_system(k)},
        "datasets": datasets,
        "environment": {
            "python": (env or {}).get("python") or run.context.get("python_version"),
            "platform": (env or {}).get("platform"),
            "packages": _key_packages(env),
        },
        "lineage": _lineage_facts(run, store),
        "tags": {k: v for k, v in run.tags.items() if not k.startswith("workbench.")},
        "sections": author,
        "todo": _todo(author, datasets),
    }


def _run_and_version(ref: str, store: Store) -> tuple[RunRecord, ModelVersion | None]:
    """The run ``ref`` names, and the model version when it names one (``name@alias``,
    ``name/3``, ``models:/name/3``, or a bare model name that is not a run id)."""
    from ..registry import get_model_version, parse_model_ref

    parsed = parse_model_ref(ref)
    if parsed is not None and (parsed[1] is not None or parsed[2] is not None or ref.startswith("models:/")):
        version = get_model_version(ref, store=store)
        return store.get_run(version.run_id), version
    try:
        return store.get_run(ref), None
    except RunNotFoundError:
        if parsed is None or not store.model_versions(parsed[0]):
            raise
    version = get_model_version(ref, store=store)
    return store.get_run(version.run_id), version


def _model_artifact(
    run: RunRecord, version: ModelVersion | None
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The model file the card describes (the version's, else the run's last) and its meta."""
    models = [a for a in run.artifacts if a["direction"] == "output" and a["kind"] == "model"]
    model_art = next(
        (a for a in models if version and a["sha256"] == version.sha256), models[-1] if models else None
    )
    return model_art, (model_art or {}).get("meta") or {}


def _model_facts(model_art: dict[str, Any] | None, model_meta: dict[str, Any]) -> dict[str, Any]:
    library = model_meta.get("library")
    return {
        "artifact": model_art["path"] if model_art else None,
        "sha256": model_art["sha256"] if model_art else None,
        "size": model_art["size"] if model_art else None,
        "class": model_meta.get("class"),
        "library": library,
        "hf_library": _HF_LIBRARIES.get(library or "", library),
        "hyperparameters": model_meta.get("hyperparameters") or {},
    }


def _datasets(run: RunRecord) -> dict[str, list[dict[str, Any]]]:
    """The datasets the run read, by role, each content hash once."""
    datasets: dict[str, list[dict[str, Any]]] = {"training": [], "evaluation": []}
    seen: set[str] = set()
    for a in run.artifacts:
        if a["direction"] != "input" or a["kind"] != "dataset" or a["sha256"] in seen:
            continue
        seen.add(a["sha256"])
        meta = a.get("meta") or {}
        datasets[meta.get("role") or "training"].append(
            {
                "name": a.get("name") or a["path"],
                "path": a["path"],
                "sha256": a["sha256"],
                "size": a["size"],
                "rows": meta.get("rows"),
                "schema": meta.get("schema"),
                "profile": meta.get("profile"),
                "hash_method": meta.get("hash_method"),
                "detected": bool(meta.get("detected")),
            }
        )
    return datasets


def _curves(store: Store, run_id: str) -> dict[str, list[tuple[int, float]]]:
    """The metrics logged at more than one step: key -> (step, value) points."""
    history = store.metric_series([run_id], None, MAX_CURVE_POINTS)
    return {s["key"]: list(zip(s["steps"], s["values"])) for s in history if len(s["steps"]) > 1}


_CONTEXT_FACTS = ("notebook_path", "git_commit", "git_branch", "git_dirty", "python_version", "gpu", "host")


def _run_facts(run: RunRecord) -> dict[str, Any]:
    return {
        "deleted": run.deleted,
        "run_id": run.run_id,
        "run_name": run.run_name,
        "experiment": run.experiment,
        "status": run.status,
        "started": _iso(run.start_time),
        "duration_s": run.duration_s,
        "source": run.source,
        "parent_run_id": run.parent_run_id,
        **{k: run.context.get(k) for k in _CONTEXT_FACTS},
    }


def _lineage_facts(run: RunRecord, store: Store) -> dict[str, Any]:
    from ..lineage import lineage

    # A deleted run (say, behind a registered version) still gets its card, without
    # the lineage graph, which leaves deleted runs out.
    graph = None if run.deleted else lineage(run.run_id, depth=2, store=store)
    return {
        "upstream_runs": [_run_label(graph, r) for r in graph.upstream_runs] if graph else [],
        "downstream_runs": [_run_label(graph, r) for r in graph.downstream_runs] if graph else [],
        "svg": graph.to_svg() if graph and len(graph.nodes) > 1 else None,
    }


def _todo(author: dict[str, Any], datasets: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The headings of the sections only the author can write that are still empty."""
    # Recorded evaluation datasets fill that section as the placeholder-free text shows.
    filled = {k for k in _AUTHOR_ONLY if author.get(k)} | (
        {"evaluation_data"} if datasets["evaluation"] else set()
    )
    return [HEADINGS[k] for k, _ in SECTIONS if k in _AUTHOR_ONLY and k not in filled]


# Sections only the author can fill (the others get recorded facts even when empty).
_AUTHOR_ONLY = {
    "intended_use",
    "factors",
    "ethical_considerations",
    "caveats_and_recommendations",
    "model_details",
    "evaluation_data",
}


def _higher(metric: str) -> bool:
    from ..comparison import higher_is_better

    return higher_is_better(metric)


def _versions(store: Store) -> list[Any]:
    from ..registry import models

    return models(store=store)


def _run_label(graph: Any, run_id: str) -> dict[str, str]:
    n = graph.nodes[f"run:{run_id}"]
    return {"run_id": run_id, "run_name": n["label"], "status": n["status"]}


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _iso_date(ms: int | None) -> str | None:
    if ms is None:
        return None
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc).date().isoformat()


def _key_packages(env: dict[str, Any] | None) -> dict[str, str]:
    packages = (env or {}).get("packages") or {}
    if isinstance(packages, list):  # [[name, version], ...] or ["name==version", ...]
        pairs = [tuple(p.split("==", 1)) if isinstance(p, str) else tuple(p) for p in packages]
        packages = {p[0]: p[1] for p in pairs if len(p) == 2}
    lowered = {str(k).lower(): v for k, v in packages.items()}
    return {k: lowered[k] for k in _KEY_PACKAGES if k in lowered}


def _author_sections(store: Store, run: Any) -> dict[str, Any]:
    """What the author wrote: the sections a ``%%card`` cell stored for this run, else
    the last ``%%card`` cell of the run's notebook snapshot."""
    stored = store.card_sections(run.run_id)
    if stored:
        return dict(stored)
    sha = run.context.get("notebook_sha")
    if not sha:
        return {}
    blob = store.blob_path(sha)
    try:
        nb = json.loads(blob.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    cells = [
        "".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
        for c in nb.get("cells", [])
        if c.get("cell_type") == "code"
    ]
    cards = [c for c in cells if c.lstrip().startswith("%%card")]
    if not cards:
        return {}
    body = cards[-1].lstrip().split("\n", 1)[1] if "\n" in cards[-1].lstrip() else ""
    try:
        return parse_card_text(body, "%%card cell of the notebook snapshot", first_line=2)
    except InvalidInputError as exc:
        warnings.warn(f"{exc}; the card is built without it", stacklevel=3)
        return {}
