"""The model registry: numbered versions of named models, and movable aliases.

A version points at a run and one of its model artifacts (by content hash), so the
registry, the lineage graph and the model card all describe the same bytes.
References accepted everywhere a model version is named: ``NAME`` (latest version),
``NAME/3`` or ``NAME@champion``, also with MLflow's ``models:/`` prefix.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInputError, NotFoundError
from .store.store import Store

_REF = re.compile(r"^(?:models:/)?(?P<name>[^/@\s]+)(?:/(?P<version>\d+)|@(?P<alias>[^/@\s]+))?$")


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model."""

    name: str
    version: int
    run_id: str
    run_name: str | None
    sha256: str
    path: str
    stored_path: str | None
    created_at: int
    aliases: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``NAME/VERSION``, accepted wherever a model version is named."""
        return f"{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    def __repr__(self) -> str:
        tags = f" @{', @'.join(self.aliases)}" if self.aliases else ""
        return f"<ModelVersion {self.name} v{self.version}{tags} run {self.run_id[:8]}>"


def parse_model_ref(ref: str) -> tuple[str, int | None, str | None] | None:
    """``(name, version, alias)`` for a model reference, None when ``ref`` is not one."""
    m = _REF.match(ref.strip()) if isinstance(ref, str) else None
    if not m:
        return None
    version = m.group("version")
    return m.group("name"), int(version) if version else None, m.group("alias")


def _store(store: str | os.PathLike[str] | Store | None) -> Store:
    from .api import open_store as resolve

    return resolve(store)


def register_model(
    run_id: str,
    name: str,
    artifact: str | None = None,
    *,
    alias: str | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> ModelVersion:
    """Register a run's model as the next version of ``name``.

    Parameters
    ----------
    run_id
        The run (id or unique prefix) that logged the model.
    name
        The model's name; created on first registration.
    artifact
        Which of the run's artifacts: its name, file name or sha256 prefix. Needed only
        when the run logged more than one model.
    alias
        Also point this alias (``champion``, ``challenger``, ...) at the new version.

    Returns
    -------
    ModelVersion
        The new version (numbered 1, 2, ... per name).
    """
    from .tracking import flush

    st = _store(store)
    st.check_registry_name("model name", name)
    flush(st)  # the run may be this process's, with its model still buffered
    rec = st.get_run(run_id)
    if rec.deleted:
        raise InvalidInputError(
            f"run {rec.run_id[:8]} is deleted; restore it (workbench restore {rec.run_id[:8]}) to register its model"
        )
    outputs = [a for a in rec.artifacts if a["direction"] == "output"]
    if artifact is not None:
        chosen = _match_artifact(rec.run_id, outputs, artifact)
    else:
        models = list({a["sha256"]: a for a in outputs if a["kind"] == "model"}.values())
        if not models:
            listed = ", ".join(_label(a) for a in outputs) or "none"
            raise InvalidInputError(
                f"run {rec.run_id[:8]} logged no model (wb.log_model); name one of its artifacts with "
                f"artifact= (its outputs: {listed})"
            )
        if len(models) > 1:
            raise InvalidInputError(
                f"run {rec.run_id[:8]} logged {len(models)} models; choose one with artifact= "
                f"({', '.join(_label(a) for a in models)})"
            )
        chosen = models[0]
    version = st.register_model_version(name, rec.run_id, chosen)
    if alias is not None:
        st.set_model_alias(name, alias, version)
    return get_model_version(f"{name}/{version}", store=st)


def _label(artifact: dict[str, Any]) -> str:
    return artifact.get("name") or os.path.basename(artifact["path"])


def _match_artifact(run_id: str, outputs: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    for test in (
        lambda a: a.get("name") == ref,
        lambda a: os.path.basename(a["path"]) == ref or a["path"] == ref,
        lambda a: len(ref) >= 6 and a["sha256"].startswith(ref.lower()),
    ):
        found = list({a["sha256"]: a for a in outputs if test(a)}.values())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InvalidInputError(
                f"artifact {ref!r} matches {len(found)} outputs of run {run_id[:8]}; use a sha256 prefix"
            )
    listed = ", ".join(_label(a) for a in outputs) or "none"
    raise InvalidInputError(
        f"run {run_id[:8]} has no output artifact {ref!r}: give a name, file name or sha256 prefix of one of "
        f"{listed}"
    )


def get_model_version(ref: str, *, store: str | os.PathLike[str] | Store | None = None) -> ModelVersion:
    """The model version ``ref`` names: ``NAME``, ``NAME/3`` or ``NAME@alias``."""
    parsed = parse_model_ref(ref)
    if parsed is None:
        raise InvalidInputError(f"{ref!r} is not a model reference: use NAME, NAME/VERSION or NAME@ALIAS")
    name, version, alias = parsed
    row = _store(store).resolve_model_version(name, version, alias)
    return _version(row)


def _version(row: dict[str, Any]) -> ModelVersion:
    return ModelVersion(**{k: row[k] for k in ModelVersion.__dataclass_fields__})


def set_model_alias(
    name: str, alias: str, version: int, *, store: str | os.PathLike[str] | Store | None = None
) -> ModelVersion:
    """Point ``alias`` of model ``name`` at ``version``, moving it if it pointed elsewhere.

    Returns the version it now points at.
    """
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise InvalidInputError(f"version must be a whole number, got {version!r}") from None
    st = _store(store)
    st.set_model_alias(name, alias, version)
    return get_model_version(f"{name}@{alias}", store=st)


def delete_model_alias(name: str, alias: str, *, store: str | os.PathLike[str] | Store | None = None) -> None:
    """Remove ``alias`` from model ``name`` (the version itself stays)."""
    _store(store).delete_model_alias(name, alias)


def models(
    name: str | None = None, *, store: str | os.PathLike[str] | Store | None = None
) -> list[ModelVersion]:
    """Every registered version (of one model, or all), with aliases and run metrics."""
    rows = _store(store).model_versions(name)
    if name is not None and not rows:
        raise NotFoundError(f"no registered model named {name!r}")
    return [_version(r) for r in rows]


def load_model(ref: str, *, store: str | os.PathLike[str] | Store | None = None) -> Any:
    """Load a registered model object (``NAME``, ``NAME/3``, ``NAME@champion``) that
    :func:`workbench.log_model` saved. Unpickling runs code: load only models you trust.
    For a model logged as a file path, returns the stored file's path; for a folder, the
    path of the folder rebuilt under the store (for ``from_pretrained`` and the like)."""
    from .model_io import is_manifest, load_model_bytes, materialize_manifest

    st = _store(store)
    v = get_model_version(ref, store=st)
    if not v.stored_path or not os.path.exists(v.stored_path):
        raise NotFoundError(f"model {v.ref} has no stored file (it was recorded from {v.path})")
    if is_manifest(v.stored_path):
        # A model saved as a folder: rebuilt once under the store, its path returned.
        return materialize_manifest(v.stored_path, st.blob_path, st.directory / "models" / v.sha256)
    fmt = v.path.rsplit(".", 1)[-1]
    if fmt not in ("joblib", "pickle"):
        return v.stored_path
    with open(v.stored_path, "rb") as f:
        return load_model_bytes(f.read(), fmt)


@dataclass
class ModelComparison:
    """A challenger version against the champion: metrics side by side, which is better
    per metric, and whether they trained on different data."""

    champion: ModelVersion
    challenger: ModelVersion
    rows: list[dict[str, Any]]
    data_differs: bool

    @property
    def challenger_wins(self) -> bool:
        """True when the challenger is at least as good on every shared metric and
        better on one."""
        verdicts = [r["better"] for r in self.rows if r["better"] is not None]
        return bool(verdicts) and "champion" not in verdicts and "challenger" in verdicts

    def to_text(self) -> str:
        """A plain-text table (what ``workbench models compare`` prints)."""
        c, h = self.champion, self.challenger
        head = f"{c.name}: champion v{c.version} (run {c.run_id[:8]}) vs challenger v{h.version} (run {h.run_id[:8]})"
        lines = [head, f"{'metric':<24} {'champion':>14} {'challenger':>14}  better"]
        for r in self.rows:
            lines.append(
                f"{r['metric']:<24} {_fmt(r['champion']):>14} {_fmt(r['challenger']):>14}  {r['better'] or '-'}"
            )
        if self.data_differs:
            lines.append("note: they trained on different data (dataset hashes differ)")
        lines.append(f"verdict: {'challenger is better' if self.challenger_wins else 'keep the champion'}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "champion": self.champion.to_dict(),
            "challenger": self.challenger.to_dict(),
            "metrics": self.rows,
            "data_differs": self.data_differs,
            "challenger_wins": self.challenger_wins,
        }


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


def compare_models(
    name: str,
    challenger: str = "challenger",
    champion: str = "champion",
    *,
    store: str | os.PathLike[str] | Store | None = None,
) -> ModelComparison:
    """Compare two versions of ``name``: ``challenger`` and ``champion`` are aliases or
    version numbers. Higher-is-better is judged from the metric name (r2, accuracy, ...);
    other metrics count as losses."""
    from .comparison import dataset_diff, higher_is_better

    st = _store(store)

    def pick(which: str) -> ModelVersion:
        ref = f"{name}/{which}" if str(which).isdigit() else f"{name}@{which}"
        return get_model_version(ref, store=st)

    champ, chall = pick(champion), pick(challenger)
    rows = []
    for key in sorted(set(champ.metrics) | set(chall.metrics)):
        a, b = champ.metrics.get(key), chall.metrics.get(key)
        better = None
        if a is not None and b is not None and a != b:
            better = "challenger" if (b > a) == higher_is_better(key) else "champion"
        rows.append({"metric": key, "champion": a, "challenger": b, "better": better})
    diff = dataset_diff(st, [champ.run_id, chall.run_id])
    return ModelComparison(champ, chall, rows, diff["differ"])
