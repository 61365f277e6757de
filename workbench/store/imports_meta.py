"""The records of the bridges (:mod:`.imports`) about experiments, MLflow 3 logged models
and the model registry: experiment ids, tags and deletion, logged models, the registry
metadata MLflow keeps and Workbench's registry does not, and model versions written
with a given number."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .records import now_ms
from .sql import rows_as_dicts

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "delete_experiment_tag",
    "delete_model_version",
    "delete_registered_model",
    "dump_json",
    "experiment_rows",
    "load_json",
    "logged_models",
    "model_version_meta",
    "registered_model_meta",
    "set_experiment",
    "set_experiment_deleted",
    "set_logged_model",
    "set_model_version",
    "set_model_version_meta",
    "set_registered_model_meta",
]


def dump_json(value: Any) -> str | None:
    """``value`` as the JSON text the bridge tables store (None stays None)."""
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def load_json(text: str | None, default: Any = None) -> Any:
    """The value of JSON text from the bridge tables (``default`` where there is none)."""
    return json.loads(text) if text else default


# -- experiments ---------------------------------------------------------------------
def experiment_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every experiment with its bridge metadata (``tags`` parsed; None where unset)."""
    rows = rows_as_dicts(
        con.execute(
            "SELECT e.name, e.created_at, m.experiment_id, m.artifact_location, m.deleted_at, "
            "coalesce(m.last_update_time, e.created_at) AS last_update_time, m.tags "
            "FROM experiments e LEFT JOIN experiment_meta m USING (name) ORDER BY e.created_at, e.name"
        )
    )
    for r in rows:
        r["tags"] = load_json(r["tags"], {})
    return rows


def set_experiment(
    con: duckdb.DuckDBPyConnection,
    name: str,
    created_at: int,
    *,
    experiment_id: str | None = None,
    artifact_location: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Create the experiment if needed and set the given metadata (``tags`` are merged)."""
    con.execute("INSERT INTO experiments VALUES (?, ?) ON CONFLICT DO NOTHING", [name, created_at])
    old = con.execute("SELECT tags FROM experiment_meta WHERE name = ?", [name]).fetchone()
    merged = {**(load_json(old[0], {}) if old else {}), **(tags or {})}
    con.execute(
        "INSERT INTO experiment_meta VALUES (?, ?, ?, NULL, ?, ?) ON CONFLICT (name) DO UPDATE SET "
        "experiment_id = coalesce(excluded.experiment_id, experiment_meta.experiment_id), "
        "artifact_location = coalesce(excluded.artifact_location, experiment_meta.artifact_location), "
        "last_update_time = excluded.last_update_time, tags = excluded.tags",
        [name, experiment_id, artifact_location, now_ms(), dump_json(merged)],
    )


def delete_experiment_tag(con: duckdb.DuckDBPyConnection, name: str, key: str) -> None:
    """Remove one experiment tag."""
    old = con.execute("SELECT tags FROM experiment_meta WHERE name = ?", [name]).fetchone()
    tags = load_json(old[0], {}) if old else {}
    tags.pop(key, None)
    con.execute(
        "UPDATE experiment_meta SET tags = ?, last_update_time = ? WHERE name = ?",
        [dump_json(tags), now_ms(), name],
    )


def set_experiment_deleted(con: duckdb.DuckDBPyConnection, name: str, deleted: bool) -> None:
    """Delete (or restore) an experiment and, as MLflow does, its runs."""
    now = now_ms()
    con.execute(
        "INSERT INTO experiment_meta (name, deleted_at, last_update_time) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET deleted_at = excluded.deleted_at, "
        "last_update_time = excluded.last_update_time",
        [name, now if deleted else None, now],
    )
    if deleted:
        con.execute("UPDATE runs SET deleted_at = ? WHERE experiment = ? AND deleted_at IS NULL", [now, name])
    else:
        con.execute("UPDATE runs SET deleted_at = NULL WHERE experiment = ?", [name])


# -- MLflow 3 logged models ---------------------------------------------------------------
_MODEL_JSON = ("tags", "params", "files")


def set_logged_model(con: duckdb.DuckDBPyConnection, model: Mapping[str, Any]) -> None:
    """Insert or replace one logged model (``tags``, ``params``, ``files`` as dicts)."""
    cols = [
        "model_id",
        "experiment",
        "name",
        "source_run_id",
        "output_step",
        "model_type",
        "status",
        "status_message",
        "creation_time",
        "last_updated_time",
        "tags",
        "params",
        "files",
        "deleted_at",
    ]
    values = [dump_json(model.get(c)) if c in _MODEL_JSON else model.get(c) for c in cols]
    con.execute(
        f"INSERT OR REPLACE INTO logged_models ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        values,
    )


def logged_models(
    con: duckdb.DuckDBPyConnection,
    model_ids: Sequence[str] | None = None,
    run_ids: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Logged models (by id, by source run, or all), JSON columns parsed."""
    sql, params = "SELECT * FROM logged_models", []
    if model_ids is not None:
        sql += " WHERE model_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(model_ids))
    elif run_ids is not None:
        sql += " WHERE source_run_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(run_ids))
    rows = rows_as_dicts(con.execute(sql + " ORDER BY creation_time, model_id", params))
    for r in rows:
        for c in _MODEL_JSON:
            r[c] = load_json(r[c], {})
    return rows


# -- registry metadata MLflow keeps and Workbench's registry does not ------------------------
def set_registered_model_meta(
    con: duckdb.DuckDBPyConnection,
    name: str,
    description: str | None = None,
    tags: Mapping[str, str | None] | None = None,
) -> None:
    """Create or update a registered model's description and tags (a None value removes a tag)."""
    now = now_ms()
    old = con.execute("SELECT description, tags FROM registered_model_meta WHERE name = ?", [name]).fetchone()
    merged = {**(load_json(old[1], {}) if old else {}), **(tags or {})}
    merged = {k: v for k, v in merged.items() if v is not None}
    con.execute(
        "INSERT INTO registered_model_meta VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
        "description = excluded.description, tags = excluded.tags, last_updated_time = excluded.last_updated_time",
        [
            name,
            description if description is not None else (old[0] if old else None),
            dump_json(merged),
            now,
            now,
        ],
    )


def registered_model_meta(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """name -> description, tags, creation and update times."""
    rows = rows_as_dicts(con.execute("SELECT * FROM registered_model_meta"))
    return {r["name"]: r | {"tags": load_json(r["tags"], {})} for r in rows}


def delete_registered_model(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remove a registered model, its versions and aliases."""
    for table in ("model_aliases", "model_versions", "model_version_meta", "registered_model_meta"):
        con.execute(f"DELETE FROM {table} WHERE name = ?", [name])


def set_model_version_meta(
    con: duckdb.DuckDBPyConnection,
    name: str,
    version: int,
    *,
    source: str | None = None,
    model_id: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str | None] | None = None,
) -> None:
    """Create or update what MLflow records of a model version beyond Workbench's registry."""
    old = con.execute(
        "SELECT source, model_id, description, tags FROM model_version_meta WHERE name = ? AND version = ?",
        [name, version],
    ).fetchone()
    merged = {**(load_json(old[3], {}) if old else {}), **(tags or {})}
    merged = {k: v for k, v in merged.items() if v is not None}
    con.execute(
        "INSERT OR REPLACE INTO model_version_meta VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            name,
            version,
            source if source is not None else (old[0] if old else None),
            model_id if model_id is not None else (old[1] if old else None),
            description if description is not None else (old[2] if old else None),
            dump_json(merged),
            now_ms(),
        ],
    )


def model_version_meta(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], dict[str, Any]]:
    """(name, version) -> source, model_id, description, tags."""
    rows = rows_as_dicts(con.execute("SELECT * FROM model_version_meta"))
    return {(r["name"], r["version"]): r | {"tags": load_json(r["tags"], {})} for r in rows}


def delete_model_version(con: duckdb.DuckDBPyConnection, name: str, version: int) -> None:
    """Remove one model version and the aliases pointing at it."""
    for table in ("model_aliases", "model_versions", "model_version_meta"):
        con.execute(f"DELETE FROM {table} WHERE name = ? AND version = ?", [name, version])


def set_model_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    version: int,
    run_id: str,
    artifact: Mapping[str, Any],
    created_at: int,
) -> None:
    """Insert or replace a registered model version with the given number (an import keeps
    the source's numbers)."""
    con.execute(
        "INSERT OR REPLACE INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            name,
            version,
            run_id,
            artifact["sha256"],
            artifact["path"],
            artifact.get("stored_path"),
            created_at,
        ],
    )
