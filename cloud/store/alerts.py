"""Alerts (folded by key), per-person suspensions and the 110 dispatch outbox."""

from __future__ import annotations

import json
from typing import Any

from cloud.domain import alerts as rules
from cloud.store.base import BaseStore, Row


class AlertStore(BaseStore):
    """Alert rows; callers hold `tx()` for writes."""

    def suspended(self, person_id: int | None, kind: str, now: int) -> bool:
        """True if this alert kind is suspended for this person right now."""
        if person_id is None:
            return False
        row = self.one(
            "SELECT 1 FROM alert_suspensions WHERE person_id = ? AND kind = ? "
            "AND from_at <= ? AND until_at > ?",
            (person_id, kind, now, now),
        )
        return row is not None

    def raise_alert(
        self,
        kind: str,
        subject: str,
        detail: dict[str, Any],
        now: int,
        person_id: int | None = None,
        case_id: int | None = None,
        band_id: int | None = None,
        unit_id: int | None = None,
    ) -> tuple[int, bool] | None:
        """Open an alert or fold it into the open one with the same key: (id, new) or None.

        None means the kind is suspended for the person; a report row keeps the fact.
        """
        if self.suspended(person_id, kind, now):
            self.x(
                "INSERT INTO reports (at, kind, band_id, code, detail) "
                "VALUES (?, 'suppressed', ?, ?, ?)",
                (now, band_id, kind, json.dumps(detail, ensure_ascii=False)),
            )
            return None
        key = rules.fold_key(kind, subject, detail)
        open_row = self.one(
            "SELECT id FROM alerts WHERE fold_key = ? AND status != 'resolved'", (key,)
        )
        if open_row is not None:
            self.x(
                "UPDATE alerts SET count = count + 1, last_at = ?, detail = ? WHERE id = ?",
                (now, json.dumps(detail, ensure_ascii=False), open_row["id"]),
            )
            return int(open_row["id"]), False
        cur = self.x(
            "INSERT INTO alerts (kind, priority, fold_key, person_id, case_id, band_id, unit_id, "
            "raised_at, last_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                rules.priority(kind),
                key,
                person_id,
                case_id,
                band_id,
                unit_id,
                now,
                now,
                json.dumps(detail, ensure_ascii=False),
            ),
        )
        return int(cur.lastrowid or 0), True

    def alerts_in(self, scope: frozenset[int], include_resolved: bool = False) -> list[Row]:
        """Alerts of a region, most urgent first."""
        ids = sorted(scope) or [-1]
        marks = ",".join("?" * len(ids))
        where = "" if include_resolved else "AND a.status != 'resolved'"
        return self.q(
            "SELECT a.*, p.name AS person_name FROM alerts a "
            "LEFT JOIN persons p ON p.id = a.person_id "
            f"WHERE a.unit_id IN ({marks}) {where} "
            "ORDER BY a.status = 'resolved', a.priority, a.raised_at DESC",
            ids,
        )

    def alert(self, alert_id: int) -> Row:
        """One alert with the person's name."""
        row = self.one(
            "SELECT a.*, p.name AS person_name FROM alerts a "
            "LEFT JOIN persons p ON p.id = a.person_id "
            "WHERE a.id = ?",
            (alert_id,),
        )
        if row is None:
            from cloud.store.base import NotFoundError

            raise NotFoundError(f"alert {alert_id}")
        return row

    def open_alert_by_key(self, fold_key: str) -> Row | None:
        """The unresolved alert with this fold key."""
        return self.one(
            "SELECT * FROM alerts WHERE fold_key = ? AND status != 'resolved'", (fold_key,)
        )

    def open_alerts(self) -> list[Row]:
        """Every unresolved alert (for the escalation job)."""
        return self.q("SELECT * FROM alerts WHERE status = 'open'")

    def dispatch_due(self, now: int) -> list[Row]:
        """Undelivered 110 dispatches whose next attempt is due."""
        return self.q(
            "SELECT * FROM dispatches WHERE delivered_at IS NULL AND next_at <= ? ORDER BY id",
            (now,),
        )
