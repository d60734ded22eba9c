"""Hubs, bands and their keys, downlink counters, presence reports."""

from __future__ import annotations

import json
from typing import Any

from cloud.store.base import BaseStore, NotFoundError, Row


class DeviceStore(BaseStore):
    """Hub and band rows; callers hold `tx()` for writes."""

    def hubs(self) -> list[Row]:
        """Every hub without its token hash."""
        rows = self.q("SELECT * FROM hubs ORDER BY hub_id")
        for r in rows:
            r.pop("token_hash", None)
        return rows

    def hub(self, hub_id: int) -> Row:
        """One hub."""
        return self.get("hubs", hub_id, key="hub_id")

    def hub_by_token(self, token_hash: str) -> Row | None:
        """The hub owning an API token."""
        return self.one("SELECT * FROM hubs WHERE token_hash = ?", (token_hash,))

    def bump_config_version(self, hub_id: int, now: int = 0) -> int:
        """The next config version of a hub: monotonic, and never below the clock, so a database
        restored from a backup still issues versions above those the hubs have applied."""
        self.x(
            "UPDATE hubs SET config_version = max(config_version + 1, ?) WHERE hub_id = ?",
            (now, hub_id),
        )
        return int(self.hub(hub_id)["config_version"])

    def hub_status(self, hub_id: int, status: dict[str, Any], now: int) -> bool:
        """Store a hub's retained status; False for a hub we do not know."""
        online = bool(status.get("online"))
        # offline_since keeps the first moment the hub said (or its last will said) it is gone:
        # a retained offline status heard again after a cloud restart does not restart it.
        cur = self.x(
            "UPDATE hubs SET status = ?, online = ?, last_seen = ?, offline_since = "
            "CASE WHEN ? THEN NULL ELSE coalesce(offline_since, ?) END WHERE hub_id = ?",
            (json.dumps(status, ensure_ascii=False), int(online), now, int(online), now, hub_id),
        )
        return cur.rowcount == 1

    def bands(self, active_only: bool = True) -> list[Row]:
        """Bands (with the person's name and village)."""
        where = "WHERE b.active = 1" if active_only else ""
        return self.q(
            "SELECT b.band_id, b.public_key, b.person_id, b.sos_location, b.enrolled_at, b.active, "
            "b.hi, b.last_frame_at, b.last_hub, b.battery_pct, p.name AS person_name, "
            f"p.village_id FROM bands b LEFT JOIN persons p ON p.id = b.person_id {where} "
            "ORDER BY b.band_id"
        )

    def band(self, band_id: int) -> Row:
        """One band row including its keys."""
        return self.get("bands", band_id, key="band_id")

    def band_of_person(self, person_id: int) -> Row | None:
        """The active band worn by a person."""
        return self.one(
            "SELECT * FROM bands WHERE person_id = ? AND active = 1 ORDER BY enrolled_at DESC",
            (person_id,),
        )

    def next_downlink_counter(self, band_id: int) -> tuple[int, bytes]:
        """Reserve the band's next downlink counter; return it with the band's downlink key."""
        cur = self.x(
            "UPDATE bands SET dl_counter = dl_counter + 1 WHERE band_id = ? "
            "RETURNING dl_counter, dl_key",
            (band_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise NotFoundError(f"band {band_id}")
        return int(row[0]), bytes(row[1])

    def downlink_hubs(self, band_id: int, now: int) -> list[int]:
        """Hubs to send a band's downlink to: heard there in the last day, or its home village."""
        rows = self.q(
            "SELECT DISTINCT hub_id FROM frames WHERE band_id = ? AND received_at >= ? "
            "UNION SELECT h.hub_id FROM hubs h JOIN bands b ON b.band_id = ? "
            "JOIN persons p ON p.id = b.person_id WHERE h.unit_id IN (p.village_id, p.office_id) "
            "UNION SELECT last_hub FROM bands WHERE band_id = ? AND last_hub IS NOT NULL",
            (band_id, now - 86400, band_id, band_id),
        )
        return sorted(int(r["hub_id"]) for r in rows if r["hub_id"] is not None)

    def retired_keys(self) -> list[Row]:
        """Every band's earlier keys (re-keyed or retired), for judging late frames."""
        return self.q(
            "SELECT band_id, epoch, public_key, retired_at, compromised FROM band_keys "
            "WHERE retired_at IS NOT NULL ORDER BY band_id, epoch DESC"
        )

    def keyring_version(self) -> str:
        """Changes whenever a band key is added or revoked."""
        return self.meta_get("keyring_version", "0")

    def bump_keyring(self) -> None:
        """Tell ingest workers to reload keys."""
        self.meta_set("keyring_version", str(int(self.keyring_version()) + 1))

    def band_frames(self, band_id: int, limit: int = 200) -> list[Row]:
        """Recent decoded frames of a band (newest first), without the raw bytes."""
        return self.q(
            "SELECT id, epoch, counter, type, band_time, flags, fields, received_at, hub_id, "
            "hubs_heard FROM frames WHERE band_id = ? ORDER BY epoch DESC, counter DESC LIMIT ?",
            (band_id, limit),
        )

    def presence_of(self, band_id: int, since: int) -> list[Row]:
        """Presence reports of a band since a time."""
        return self.q(
            "SELECT p.*, h.name AS hub_name FROM presence p "
            "LEFT JOIN hubs h ON h.hub_id = p.hub_id "
            "WHERE p.band_id = ? AND p.last_seen >= ? ORDER BY p.last_seen DESC",
            (band_id, since),
        )

    def reports_of(self, band_id: int, limit: int = 100) -> list[Row]:
        """Gaps, skew and security reports of a band, newest first."""
        return self.q(
            "SELECT id, at, kind, hub_id, code, value, detail FROM reports WHERE band_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (band_id, limit),
        )
