"""The hub's downlinks (kept until written to the band or a day old) and stored settings.

A part of the Outbox (hub/outbox.py): the same SQLite connection, tables made by its migrations.
"""

from __future__ import annotations

import sqlite3

DOWNLINK_TTL_S = 24 * 3600  # docs/mqtt.md: a downlink is kept a day at most


class Downlinks:
    """Downlink and settings tables of the outbox database (mixed into Outbox)."""

    db: sqlite3.Connection

    # -- downlinks ----------------------------------------------------------------------------

    def add_downlink(self, band_id: int, payload: bytes, now: float) -> bool:
        """Keep a downlink for a band until written or expired; False if already kept."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO downlink (band_id, payload, received_at) VALUES (?, ?, ?)",
            (band_id, payload, now),
        )
        return cur.rowcount == 1

    def downlinks(self, band_id: int, now: float) -> list[tuple[int, bytes]]:
        """(id, payload) of the band's unexpired downlinks, oldest first."""
        rows = self.db.execute(
            "SELECT id, payload FROM downlink WHERE band_id = ? AND received_at > ? ORDER BY id",
            (band_id, now - DOWNLINK_TTL_S),
        )
        return [(i, bytes(p)) for i, p in rows]

    def bands_with_downlinks(self, now: float) -> set[int]:
        """Bands that have a downlink waiting."""
        rows = self.db.execute(
            "SELECT DISTINCT band_id FROM downlink WHERE received_at > ?",
            (now - DOWNLINK_TTL_S,),
        )
        return {r[0] for r in rows}

    def downlink_done(self, downlink_id: int) -> None:
        """The downlink was written to the band."""
        self.db.execute("DELETE FROM downlink WHERE id = ?", (downlink_id,))

    def expire_downlinks(self, now: float) -> int:
        """Forget downlinks older than a day; returns how many."""
        cur = self.db.execute(
            "DELETE FROM downlink WHERE received_at <= ?", (now - DOWNLINK_TTL_S,)
        )
        return cur.rowcount

    # -- settings -------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A stored setting."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting."""
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key)"
            " DO UPDATE SET value = excluded.value",
            (key, value),
        )
