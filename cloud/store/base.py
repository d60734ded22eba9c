"""SQLite connection, transactions and the generic row helpers every store part uses."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from cloud.domain import audit_chain
from cloud.domain.roles import Actor
from cloud.store.migrations import migrate

Row = dict[str, Any]
# Tables the generic helpers may touch (names are never taken from input).
TABLES = frozenset(
    [
        "units",
        "persons",
        "users",
        "sessions",
        "cases",
        "case_events",
        "assessments",
        "assessment_visits",
        "deadlines",
        "checkins",
        "leave_requests",
        "sanctions",
        "positioning_orders",
        "notices",
        "correction_notices",
        "hubs",
        "bands",
        "enrolments",
        "downlinks",
        "alerts",
        "alert_suspensions",
        "dispatches",
        "presence",
        "reports",
        "residence_changes",
        "arrest_requests",
        "band_keys",
        "band_rekeys",
        "audit_anchors",
    ]
)


class NotFoundError(LookupError):
    """No row with that id (or not in the caller's region)."""


class BaseStore:
    """One SQLite connection in WAL mode; every write goes through `tx()`."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a request is one transaction.
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.db = sqlite_utils.Database(self.conn)
        self.lock = threading.RLock()
        self._depth = 0
        self.path = path
        with self.lock:
            self.applied = migrate(self.conn)

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One write transaction (nested calls join the outer one); any error rolls back all."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def q(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        """Rows as dicts."""
        with self.lock:
            return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Row | None:
        """The first row as a dict, or None."""
        with self.lock:
            r = self.conn.execute(sql, params).fetchone()
            return dict(r) if r is not None else None

    def x(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        """Execute a statement (callers hold `tx()` for writes)."""
        with self.lock:
            return self.conn.execute(sql, params)

    # Generic row helpers -------------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, Any]) -> int:
        """Insert a row (dict/list values stored as JSON) and return its id."""
        assert table in TABLES, table
        values = {k: _cell(v) for k, v in row.items()}
        with self.lock:
            pk = self.db.table(table).insert(values).last_pk
        return int(pk)  # type: ignore[arg-type]

    def update(self, table: str, key: str, key_value: Any, changes: Mapping[str, Any]) -> None:
        """Update one row by its key column; NotFoundError if it does not exist."""
        assert table in TABLES, table
        cols = ", ".join(f"{c} = ?" for c in changes)
        cur = self.x(
            f"UPDATE {table} SET {cols} WHERE {key} = ?",
            [*(_cell(v) for v in changes.values()), key_value],
        )
        if cur.rowcount != 1:
            raise NotFoundError(f"{table} {key_value}")

    def get(self, table: str, row_id: Any, key: str = "id") -> Row:
        """One row by its key; NotFoundError if absent."""
        assert table in TABLES, table
        row = self.one(f"SELECT * FROM {table} WHERE {key} = ?", (row_id,))
        if row is None:
            raise NotFoundError(f"{table} {row_id}")
        return row

    def meta_get(self, key: str, default: str = "") -> str:
        """A value from the meta table."""
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row["value"]) if row else default

    def meta_set(self, key: str, value: str) -> None:
        """Set a meta value (inside the caller's transaction)."""
        self.x(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
            (key, value, value),
        )

    # Audit ----------------------------------------------------------------------------------

    def audit(
        self,
        actor: Actor,
        action: str,
        object_kind: str,
        object_id: Any,
        detail: Any = None,
        at: int | None = None,
    ) -> int:
        """Append one hash-chained audit entry inside the current transaction."""
        assert self._depth, "audit entries are written inside the transaction of the act"
        last = self.one("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        entry = {
            "seq": (last["seq"] + 1) if last else 1,
            "at": int(at if at is not None else time.time()),
            "actor": actor.name if actor.id is None else f"{actor.id}:{actor.name}",
            "role": actor.role,
            "action": action,
            "object_kind": object_kind,
            "object_id": str(object_id),
            "detail": json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
        }
        prev = last["hash"] if last else audit_chain.GENESIS
        digest = audit_chain.entry_hash(prev, entry)
        self.x(
            "INSERT INTO audit VALUES (:seq, :at, :actor, :role, :action, :object_kind, "
            ":object_id, :detail, :prev_hash, :hash)",
            {**entry, "prev_hash": prev, "hash": digest},
        )
        return int(entry["seq"])

    def audit_rows(self, after: int = 0, limit: int = 1000) -> list[Row]:
        """Audit entries in order from seq > after."""
        return self.q("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))

    def audit_verify(self) -> tuple[bool, int | None, int]:
        """Recompute the whole chain (streamed in pages)."""
        prev = audit_chain.GENESIS
        total = 0
        after = 0
        while True:
            rows = self.audit_rows(after, 5000)
            if not rows:
                return True, None, total
            if rows[0]["seq"] != after + 1:
                return False, int(rows[0]["seq"]), total
            ok, bad, n = audit_chain.verify(rows, prev)
            total += n
            if not ok:
                return False, bad, total
            prev, after = rows[-1]["hash"], rows[-1]["seq"]


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value
