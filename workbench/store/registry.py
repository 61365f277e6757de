"""The model registry tables: versions, aliases, and the model card text authors write."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError
from .records import now_ms
from .sql import rows_as_dicts

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "card_sections",
    "check_registry_name",
    "delete_model_alias",
    "model_versions",
    "register_model_version",
    "resolve_model_version",
    "set_card_sections",
    "set_model_alias",
]

# Model and alias names: what a URL path segment and a shell word hold without quoting.
_REGISTRY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def check_registry_name(what: str, name: Any) -> str:
    """``name`` if it is a valid model or alias name, else a clear error."""
    if not isinstance(name, str) or not _REGISTRY_NAME.match(name):
        raise InvalidInputError(
            f"{what} {name!r} is not valid: use 1-128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def register_model_version(
    con: duckdb.DuckDBPyConnection, name: str, run_id: str, artifact: dict[str, Any]
) -> int:
    """Add the next version of model ``name`` in one transaction; returns its number."""
    con.execute("BEGIN")
    try:
        version = con.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE name = ?", [name]
        ).fetchone()[0]
        con.execute(
            "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                name,
                version,
                run_id,
                artifact["sha256"],
                artifact["path"],
                artifact.get("stored_path"),
                now_ms(),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(version)


def set_model_alias(con: duckdb.DuckDBPyConnection, name: str, alias: str, version: int) -> None:
    """Point ``alias`` of model ``name`` at ``version``, which must exist."""
    _check_version(con, name, version)
    con.execute(
        "INSERT INTO model_aliases VALUES (?, ?, ?, ?) ON CONFLICT (name, alias) DO UPDATE "
        "SET version = excluded.version, updated_at = excluded.updated_at",
        [name, alias, version, now_ms()],
    )


def delete_model_alias(con: duckdb.DuckDBPyConnection, name: str, alias: str) -> bool:
    """Remove ``alias`` from model ``name``; False when it had no such alias."""
    found = con.execute(
        "DELETE FROM model_aliases WHERE name = ? AND alias = ? RETURNING version", [name, alias]
    ).fetchall()
    return bool(found)


def _check_version(con: duckdb.DuckDBPyConnection, name: str, version: int) -> None:
    versions = [
        r[0]
        for r in con.execute(
            "SELECT version FROM model_versions WHERE name = ? ORDER BY 1", [name]
        ).fetchall()
    ]
    if not versions:
        raise NotFoundError(f"no registered model named {name!r}")
    if version not in versions:
        raise NotFoundError(
            f"model {name!r} has no version {version}: it has versions {', '.join(map(str, versions))}"
        )


def model_versions(con: duckdb.DuckDBPyConnection, name: str | None) -> list[dict[str, Any]]:
    """Registered model versions (all models, or one), each with its aliases, run name and
    the run's final metrics; ordered by name, then version."""
    rows = rows_as_dicts(
        con.execute(
            "SELECT v.name, v.version, v.run_id, r.run_name, v.sha256, v.path, v.stored_path, v.created_at, "
            "coalesce((SELECT list(a.alias ORDER BY a.alias) FROM model_aliases a "
            "  WHERE a.name = v.name AND a.version = v.version), []) AS aliases, "
            "coalesce((SELECT map(list(m.key ORDER BY m.key), list(m.value ORDER BY m.key)) "
            "  FROM latest_metrics m WHERE m.run_id = v.run_id), MAP {}) AS metrics "
            "FROM model_versions v LEFT JOIN runs r USING (run_id) "
            "WHERE ? IS NULL OR v.name = ? ORDER BY v.name, v.version",
            [name, name],
        )
    )
    for row in rows:
        row["metrics"] = dict(row["metrics"]) if row["metrics"] else {}
    return rows


def resolve_model_version(
    versions: list[dict[str, Any]], name: str, version: int | None, alias: str | None
) -> dict[str, Any]:
    """The row of ``versions`` (one model's, from :func:`model_versions`) with this
    number or alias, or the latest when neither is given."""
    if not versions:
        raise NotFoundError(f"no registered model named {name!r}")
    if alias is not None:
        for v in versions:
            if alias in v["aliases"]:
                return v
        known = sorted({a for v in versions for a in v["aliases"]})
        raise NotFoundError(
            f"model {name!r} has no alias {alias!r}"
            + (f": its aliases are {', '.join(known)}" if known else ": it has no aliases")
        )
    if version is None:
        return versions[-1]
    for v in versions:
        if v["version"] == version:
            return v
    raise NotFoundError(
        f"model {name!r} has no version {version}: it has versions "
        + ", ".join(str(v["version"]) for v in versions)
    )


# -- model card sections ----------------------------------------------------------------
def set_card_sections(con: duckdb.DuckDBPyConnection, run_id: str, sections: dict[str, str]) -> None:
    """Store the author's model card text for a run (replacing earlier text)."""
    con.execute(
        "INSERT INTO card_sections VALUES (?, ?, ?) ON CONFLICT (run_id) DO UPDATE "
        "SET sections = excluded.sections, updated_at = excluded.updated_at",
        [run_id, json.dumps(sections), now_ms()],
    )


def card_sections(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, str]:
    """The author's model card text recorded for a run ({} when none)."""
    row = con.execute("SELECT sections FROM card_sections WHERE run_id = ?", [run_id]).fetchone()
    return json.loads(row[0]) if row else {}
