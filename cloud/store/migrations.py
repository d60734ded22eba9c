"""Versioned schema migrations; each runs once, in order, inside one transaction."""

from __future__ import annotations

import sqlite3
import time

from cloud.store.schema_casework import CASEWORK
from cloud.store.schema_changes import CHANGES
from cloud.store.schema_devices import DEVICES

# (version, name, SQL), the one ordered registry. Append only: never edit a shipped migration.
MIGRATIONS: list[tuple[int, str, str]] = [CASEWORK, DEVICES, *CHANGES]


def statements(script: str) -> list[str]:
    """Split a script into complete statements (trigger bodies contain semicolons)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement: {buf.strip()[:60]}")
    return out


def current_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration, 0 for a new database."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    row = conn.execute("SELECT max(version) FROM _migrations").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, upto: int | None = None) -> list[int]:
    """Apply every pending migration (up to `upto`), each in its own transaction; return them."""
    applied = []
    for version, name, script in MIGRATIONS:
        if version <= current_version(conn) or (upto is not None and version > upto):
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in statements(script):
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO _migrations VALUES (?, ?, ?)", (version, name, int(time.time()))
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied
