"""Edits a user makes to a recorded run after the fact: its tags and its description.

Tracking writes go through batches (writes.py); these are single, small, interactive
changes (the panel's tag editor), made in one transaction inside a store session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

from . import run_values


def edit_tags(
    con: duckdb.DuckDBPyConnection, run_id: str, tags: Mapping[str, str], delete: Sequence[str] = ()
) -> dict[str, str]:
    """Set and delete tags of one run in one transaction; returns the run's tags after.

    Parameters
    ----------
    con
        A store session's connection.
    run_id
        The full run id (resolved by the caller).
    tags
        Key -> value to add or change.
    delete
        Keys to remove (a key that is not there is ignored).
    """
    con.execute("BEGIN TRANSACTION")
    try:
        for key in delete:
            con.execute("DELETE FROM tags WHERE run_id = ? AND key = ?", [run_id, key])
        for key, value in tags.items():
            con.execute(
                "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                [run_id, key, value],
            )
        run_values.refresh(con, [run_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    rows = con.execute("SELECT key, value FROM tags WHERE run_id = ? ORDER BY key", [run_id]).fetchall()
    return dict(rows)
