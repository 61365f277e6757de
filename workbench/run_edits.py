"""Run edits and the panel's reads: columns, tags, descriptions, artifacts, notebook copies.

Split out of :mod:`workbench.api`, which re-exports every public name here (with
:func:`open_store` and :func:`get_run`, which these build on).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError
from .store.store import RunRecord, Store, get_store
from .tracking import current_store, flush

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "artifact_file",
    "check_text",
    "deleted_run_ids",
    "describe_columns",
    "get_run",
    "notebook_copy",
    "open_store",
    "run_columns",
    "run_tags",
    "set_run_description",
    "set_run_tags",
]


def open_store(store: str | os.PathLike[str] | Store | None = None) -> Store:
    """The store a service or an edge should use, with this process's own logging flushed.

    Parameters
    ----------
    store
        A ``Store``, a store directory, or ``None`` for the current one (``set_store``,
        ``$WORKBENCH_STORE`` or the nearest ``.workbench/`` walking up).

    Returns
    -------
    Store
        The store, after this process's buffered points are written, so that a read sees
        every write made before it.
    """
    if isinstance(store, Store):
        s = store
    else:
        s = current_store() if store is None else get_store(store)
    # Read what this process has logged so far, like a database reads its own writes.
    flush(s)
    return s


def get_run(run_id: str, *, store: str | os.PathLike[str] | Store | None = None) -> RunRecord:
    """Everything recorded about one run.

    Parameters
    ----------
    run_id
        The run id or any unique prefix of it.

    Raises
    ------
    RunNotFoundError, AmbiguousRunError
    """
    return open_store(store).get_run(run_id)


def check_text(name: str, value: object, *, many: bool = True, optional: bool = True) -> None:
    """Refuse what is not a string (or, where ``many``, a list of strings) in one line."""
    if value is None and optional:
        return
    if isinstance(value, str):
        return
    accepted = "a string or a list of strings" if many else "a string"
    if many and isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return
    raise InvalidInputError(f"{name} must be {accepted}{' or None' if optional else ''}, got {value!r}")


# -- the columns that show an experiment -------------------------------------------------

#: Tags that group runs started together: a parameter that varies inside such a group
#: was swept or tuned.
SWEEP_TAGS = ("sweep_id", "tune_id", "study")
#: A tag naming the metric a sweep or search optimizes; that metric is shown first.
OBJECTIVE_TAG = "objective"
#: How many parameter and metric columns are shown before the user chooses.
DEFAULT_PARAM_COLUMNS = 8
DEFAULT_METRIC_COLUMNS = 6
#: Names that usually are the objective, best first, for runs that do not name one.
_OBJECTIVE_NAMES = ("loss", "val_loss", "rmse", "mse", "mae", "error", "accuracy", "auc", "f1", "r2")
# Autologged estimator parameters are named ``ClassName.param`` (tracking/autolog.py).
_AUTOLOGGED = re.compile(r"^[A-Z][A-Za-z0-9_]*\.(.+)$")


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _same_value(a: str, b: str) -> bool:
    """Whether two logged parameter texts mean the same value (``1`` and ``1.0`` do)."""
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def describe_columns(df: pd.DataFrame) -> dict[str, Any]:
    """Which parameter and metric columns describe a set of runs, and which to show first.

    Parameters
    ----------
    df
        Runs as :func:`runs` returns them (every run of the query, not one page).

    Returns
    -------
    dict
        ``total`` (runs), ``params``: one entry per parameter with ``name``, ``runs``
        (how many have it), ``values`` (distinct values), ``constant`` (one value in every
        run), ``swept`` (varies among runs of one sweep or tuning study: a ``sweep_id``,
        ``tune_id`` or ``study`` tag), ``autologged`` (``Estimator.param``) and
        ``duplicate_of`` (the plain parameter an autologged one repeats in every run);
        ``metrics``: ``name``, ``runs``, ``system`` (``system/*``); ``objective``: the
        metric a ``objective`` tag names, else None; ``default_params``: the parameters
        that differ, swept ones first, autologged ones only when no plain one differs
        and never duplicates; ``default_metrics``: the metrics at least half the runs
        have, the objective first, never a system metric; ``constant_params``: plain
        parameters with one value everywhere (the table's "show constant" toggle).
    """
    n = len(df)
    pcols = [c for c in df.columns if c.startswith("params.")]
    mcols = [c for c in df.columns if c.startswith("metrics.")]
    groups: list[Any] = []
    for tag in SWEEP_TAGS:
        col = f"tags.{tag}"
        if col in df.columns:
            groups += [g for _, g in df[df[col].notna()].groupby(col) if len(g) > 1]
    params: list[dict[str, Any]] = []
    values_of: dict[str, list[Any]] = {}
    for col in pcols:
        name = col[7:]
        vals = list(df[col])
        values_of[name] = vals
        present = [str(v) for v in vals if _present(v)]
        distinct = len(set(present))
        swept = any(g[col].astype("string").nunique(dropna=False) > 1 for g in groups)
        params.append(
            {
                "name": name,
                "runs": len(present),
                "values": distinct,
                "constant": distinct <= 1 and len(present) in (0, n),
                "swept": swept,
                "autologged": bool(_AUTOLOGGED.match(name)),
                "duplicate_of": None,
            }
        )
    for p in params:
        m = _AUTOLOGGED.match(p["name"])
        plain = m.group(1) if m else None
        if plain is None or plain not in values_of:
            continue
        pairs = list(zip(values_of[p["name"]], values_of[plain]))
        if all(
            (_present(a) and _present(b) and _same_value(str(a), str(b))) or not _present(a) for a, b in pairs
        ):
            p["duplicate_of"] = plain
    metrics = [
        {"name": c[8:], "runs": int(df[c].notna().sum()), "system": c[8:].startswith("system/")}
        for c in mcols
    ]
    objective = None
    if f"tags.{OBJECTIVE_TAG}" in df.columns:
        named = df[f"tags.{OBJECTIVE_TAG}"].dropna()
        names = {m["name"] for m in metrics}
        for value in named.value_counts().index:
            key = str(value).split()[0].removeprefix("metrics.") if str(value).split() else ""
            if key in names:
                objective = key
                break

    def metric_rank(m: dict[str, Any]) -> tuple[Any, ...]:
        name = m["name"]
        hint = _OBJECTIVE_NAMES.index(name) if name in _OBJECTIVE_NAMES else len(_OBJECTIVE_NAMES)
        return (name != objective, m["system"], -m["runs"], hint, name)

    ranked = sorted(metrics, key=metric_rank)
    # System metrics (CPU, memory, GPU: on in every run) would fill the narrow panel;
    # they are one click away, in the column chooser's System group.
    default_metrics = [m["name"] for m in ranked if m["runs"] * 2 >= n and m["runs"] > 0 and not m["system"]]
    differing = [p for p in params if not p["constant"] and p["duplicate_of"] is None]
    plain = [p for p in differing if not p["autologged"]]
    chosen = plain or differing
    chosen.sort(key=lambda p: (not p["swept"], p["name"].lower()))
    return {
        "total": n,
        "params": params,
        "metrics": metrics,
        "objective": objective,
        "default_params": [p["name"] for p in chosen[:DEFAULT_PARAM_COLUMNS]],
        "default_metrics": default_metrics[:DEFAULT_METRIC_COLUMNS],
        "constant_params": [p["name"] for p in params if p["constant"] and not p["autologged"] and p["runs"]],
    }


def run_columns(
    filter: str | None = None,
    experiment: str | Sequence[str] | None = None,
    *,
    include_deleted: bool = False,
    store: str | os.PathLike[str] | Store | None = None,
) -> dict[str, Any]:
    """:func:`describe_columns` of every run a query finds (the panel's default columns).

    Parameters
    ----------
    filter, experiment, include_deleted
        As for :func:`runs`.
    store
        A store directory; by default the current one.

    Raises
    ------
    FilterSyntaxError
        The filter does not parse.
    """
    check_text("filter", filter, many=False)
    check_text("experiment", experiment)
    df = open_store(store).search_runs(filter, None, experiment, include_deleted, None)
    return describe_columns(df)


def deleted_run_ids(
    run_ids: Sequence[str], *, store: str | os.PathLike[str] | Store | None = None
) -> set[str]:
    """Which of these full run ids are soft-deleted (runs that do not exist count as not).

    Parameters
    ----------
    run_ids
        Full run ids, e.g. one page of a search that included deleted runs.
    """
    ids = [r for r in run_ids if isinstance(r, str) and re.fullmatch(r"[0-9a-f]+", r)]
    if not ids:
        return set()
    s = open_store(store)
    everything = s.search_runs(_ids_filter(ids), None, None, True, None)
    alive = s.search_runs(_ids_filter(ids), None, None, False, None)
    return set(everything["run_id"]) - set(alive["run_id"])


def _ids_filter(ids: Sequence[str]) -> str:
    # Run ids are hex (checked above), so quoting them cannot break the filter.
    return "attributes.run_id IN (" + ", ".join(f"'{i}'" for i in ids) + ")"


# -- editing a run's tags and description ------------------------------------------------

#: The tag holding a run's description (Markdown), as MLflow names it.
DESCRIPTION_TAG = "mlflow.note.content"
#: Tags Workbench itself writes and reads (a sweep's id, a rerun's job): not editable.
PROTECTED_TAG_PREFIXES = ("workbench.",)
PROTECTED_TAGS = ("sweep_id",)
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 5000
MAX_DESCRIPTION = 100_000


def _check_tag_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_TAG_KEY or key != key.strip():
        raise InvalidInputError(
            f"a tag key must be a non-empty string of at most {MAX_TAG_KEY} characters "
            f"without surrounding spaces, got {key!r}"
        )
    if key in PROTECTED_TAGS or key.startswith(PROTECTED_TAG_PREFIXES):
        raise InvalidInputError(f"tag {key!r} is written by Workbench itself and cannot be edited")
    return key


def set_run_tags(
    run_id: str,
    tags: Mapping[str, str] | None = None,
    *,
    delete: Sequence[str] = (),
    store: str | os.PathLike[str] | Store | None = None,
) -> dict[str, str]:
    """Add, change and delete tags of a recorded run, in one transaction.

    Parameters
    ----------
    run_id
        The run id or a unique prefix.
    tags
        Key -> value (strings) to add or change.
    delete
        Keys to remove.
    store
        A store directory; by default the current one.

    Returns
    -------
    dict
        The run's tags after the edit.

    Raises
    ------
    InvalidInputError
        A key that is empty, too long or one Workbench writes itself (``sweep_id``,
        ``workbench.*``); a value that is not a string or is too long; a key both set
        and deleted.
    RunNotFoundError, AmbiguousRunError
    """
    tags = dict(tags or {})
    if isinstance(delete, str):
        delete = [delete]
    for key, value in tags.items():
        _check_tag_key(key)
        limit = MAX_DESCRIPTION if key == DESCRIPTION_TAG else MAX_TAG_VALUE
        if not isinstance(value, str) or len(value) > limit:
            raise InvalidInputError(
                f"the value of tag {key!r} must be a string of at most {limit} characters, got {value!r:.80}"
            )
    for key in delete:
        _check_tag_key(key)
    both = sorted(set(tags) & set(delete))
    if both:
        raise InvalidInputError(f"tag {both[0]!r} is both set and deleted; do one or the other")
    from .store import edits

    s = open_store(store)
    full = s.resolve_run_id(run_id)
    with s.session() as con:
        return edits.edit_tags(con, full, tags, list(delete))


def set_run_description(
    run_id: str, text: str, *, store: str | os.PathLike[str] | Store | None = None
) -> dict[str, str]:
    """Set a run's description (Markdown; the ``mlflow.note.content`` tag, as in MLflow).

    An empty text removes it. Returns the run's tags after the edit.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"a description must be a string, got {text!r:.80}")
    if text.strip():
        return set_run_tags(run_id, {DESCRIPTION_TAG: text}, store=store)
    return set_run_tags(run_id, delete=[DESCRIPTION_TAG], store=store)


# -- a run's files, for download and for opening in JupyterLab ---------------------------

#: Where :func:`notebook_copy` writes, under the directory it is given.
NOTEBOOK_COPIES = "workbench-runs"


def artifact_file(
    run_id: str, sha256: str, *, store: str | os.PathLike[str] | Store | None = None
) -> dict[str, Any]:
    """The stored file of one of a run's artifacts (or of its notebook snapshot).

    Parameters
    ----------
    run_id
        The run id or a unique prefix.
    sha256
        The artifact's content hash, as the run's detail lists it; the run's
        ``notebook_sha`` gives the notebook snapshot taken when it ran.

    Returns
    -------
    dict
        ``path`` (the blob on disk), ``name`` (a file name to save it as), ``size``,
        ``kind``.

    Raises
    ------
    NotFoundError
        The run has no artifact with that hash, or its content was not stored (datasets
        read from memory are recorded by hash only).
    """
    from .errors import NotFoundError

    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise InvalidInputError(f"give an artifact's sha256 (64 hex digits), got {sha256!r:.80}")
    s = open_store(store)
    rec = s.get_run(run_id)
    found: dict[str, Any] | None = None
    for a in rec.artifacts:
        if a["sha256"] == sha256:
            found = {"name": os.path.basename(str(a["path"]).rstrip("/")) or sha256[:12], "kind": a["kind"]}
            break
    if found is None and rec.context.get("notebook_sha") == sha256:
        nb = str(rec.context.get("notebook_path") or "notebook.ipynb")
        found = {"name": os.path.basename(nb) or "notebook.ipynb", "kind": "notebook snapshot"}
    if found is None:
        raise NotFoundError(f"run {rec.run_id[:8]} has no artifact with sha256 {sha256[:12]}…")
    path = s.blob_path(sha256)
    if not path.is_file():
        raise NotFoundError(
            f"the content of {found['name']!r} was not stored (it is recorded by its hash only)"
        )
    return {**found, "path": path, "size": path.stat().st_size}


def notebook_copy(
    run_id: str,
    which: str,
    directory: str | os.PathLike[str],
    *,
    store: str | os.PathLike[str] | Store | None = None,
) -> dict[str, Any]:
    """Write a copy of a run's notebook where JupyterLab can open it.

    Parameters
    ----------
    run_id
        The run id or a unique prefix.
    which
        ``snapshot`` (the notebook as it was when the run started) or ``output`` (the
        executed notebook a sweep or rerun saved, with its outputs).
    directory
        The folder to write under (JupyterLab's root): the copy goes to
        ``workbench-runs/<run id>/``.

    Returns
    -------
    dict
        ``path`` (the copy, relative to ``directory``, with ``/``), ``cell_index`` (the
        tracked cell's index in it, or None) and ``which``.

    Raises
    ------
    InvalidInputError
        ``which`` is neither value.
    NotFoundError
        The run has no such notebook stored.
    """
    from .errors import NotFoundError

    if which not in ("snapshot", "output"):
        raise InvalidInputError(f"which must be 'snapshot' or 'output', got {which!r:.80}")
    s = open_store(store)
    rec = s.get_run(run_id)
    if which == "snapshot":
        sha = rec.context.get("notebook_sha")
        stem = os.path.splitext(os.path.basename(str(rec.context.get("notebook_path") or "notebook")))[0]
        name = f"{stem} (snapshot).ipynb"
    else:
        outputs = [a for a in rec.artifacts if a["kind"] == "notebook" and str(a["path"]).endswith(".ipynb")]
        sha = outputs[-1]["sha256"] if outputs else None
        name = os.path.basename(str(outputs[-1]["path"])) if outputs else ""
        if name and not name.endswith(".output.ipynb"):
            name = name[: -len(".ipynb")] + " (output).ipynb"
    blob = s.blob_path(sha) if sha else None
    if blob is None or not blob.is_file():
        what = "notebook snapshot" if which == "snapshot" else "executed output notebook"
        raise NotFoundError(f"run {rec.run_id[:8]} has no {what} stored")
    safe = re.sub(r"[^\w.() =,-]+", "-", name).strip(" -") or f"{which}.ipynb"
    rel = f"{NOTEBOOK_COPIES}/{rec.run_id[:8]}/{safe}"
    target = Path(directory) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    data = blob.read_bytes()
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)
    return {"path": rel, "cell_index": _tracked_cell(data, rec.context.get("cell_id")), "which": which}


def _tracked_cell(data: bytes, cell_id: Any) -> int | None:
    """The index of the run's cell in a notebook: by cell id, else the first %%track cell."""
    import json

    try:
        cells = json.loads(data).get("cells", [])
    except (ValueError, AttributeError):
        return None
    for i, cell in enumerate(cells):
        if cell_id and cell.get("id") == cell_id:
            return i
    for i, cell in enumerate(cells):
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if text.lstrip().startswith("%%track"):
            return i
    return None


def run_tags(
    run_ids: Sequence[str], *, store: str | os.PathLike[str] | Store | None = None
) -> dict[str, dict[str, str]]:
    """The tags of several runs at once (deleted runs included).

    Parameters
    ----------
    run_ids
        Full run ids.

    Returns
    -------
    dict
        Run id -> its tags (key -> value); runs that do not exist are left out.
    """
    ids = [r for r in run_ids if isinstance(r, str) and re.fullmatch(r"[0-9a-f]+", r)]
    if not ids:
        return {}
    df = open_store(store).search_runs(_ids_filter(ids), None, None, True, None)
    cols = [c for c in df.columns if c.startswith("tags.")]
    return {
        row["run_id"]: {c[5:]: row[c] for c in cols if isinstance(row[c], str)}
        for row in df.to_dict("records")
    }
