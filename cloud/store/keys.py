"""Band key epochs, re-key authorizations and the stored frames checked against them."""

from __future__ import annotations

import json
from typing import Any

from cloud.store.base import BaseStore, Row
from protocol.frame import Frame


class KeyStore(BaseStore):
    """band_keys and band_rekeys rows; callers hold `tx()` for writes."""

    def band_or_none(self, band_id: int) -> Row | None:
        """A band row with its keys, or None for a band never enrolled."""
        return self.one("SELECT * FROM bands WHERE band_id = ?", (band_id,))

    def new_key_epoch(
        self, band_id: int, epoch: int, public_key: bytes, hub_id: int, now: int
    ) -> None:
        """Record a band's key as a new epoch."""
        self.insert(
            "band_keys",
            {
                "band_id": band_id,
                "epoch": epoch,
                "public_key": public_key,
                "enrolled_at": now,
                "enrolled_hub": hub_id,
            },
        )

    def retire_key(
        self,
        band_id: int,
        epoch: int,
        now: int,
        reason: str,
        compromised: bool | None = None,
        floor: int | None = None,
    ) -> None:
        """Mark an epoch's key retired (keeping the first retirement time)."""
        self.x(
            "UPDATE band_keys SET retired_at = coalesce(retired_at, ?), retired_reason = ?, "
            "compromised = coalesce(?, compromised), floor = coalesce(?, floor) "
            "WHERE band_id = ? AND epoch = ?",
            (now, reason, None if compromised is None else int(compromised), floor, band_id, epoch),
        )

    def unretire_key(self, band_id: int, epoch: int) -> None:
        """A retired band brought back with the same key: its epoch is in force again."""
        self.x(
            "UPDATE band_keys SET retired_at = NULL, retired_reason = NULL "
            "WHERE band_id = ? AND epoch = ?",
            (band_id, epoch),
        )

    def open_rekey(self, band_id: int, now: int) -> Row | None:
        """The newest unused, unexpired re-key authorization of a band."""
        return self.one(
            "SELECT * FROM band_rekeys WHERE band_id = ? AND used_at IS NULL AND expires_at > ? "
            "ORDER BY id DESC LIMIT 1",
            (band_id, now),
        )

    def expire_rekeys(self, band_id: int, now: int) -> None:
        """End every open authorization of a band (a newer one replaces them)."""
        self.x(
            "UPDATE band_rekeys SET expires_at = ? WHERE band_id = ? AND used_at IS NULL "
            "AND expires_at > ?",
            (now, band_id, now),
        )

    def bands_with_open_rekeys(self, now: int) -> set[int]:
        """Bands that may enrol a new key right now."""
        rows = self.q(
            "SELECT band_id FROM band_rekeys WHERE used_at IS NULL AND expires_at > ?", (now,)
        )
        return {int(r["band_id"]) for r in rows}

    def keep_enrol_frame(self, first: Frame, epoch: int, hub_id: int, now: int) -> None:
        """Store a band's signed enrol frame as the first frame of its epoch."""
        self.x(
            "INSERT OR IGNORE INTO frames (band_id, epoch, counter, type, band_time, flags, raw, "
            "fields, received_at, hub_id, hub_received_ms, hub_flags) "
            "VALUES (?, ?, ?, 'enrol', ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                first.band_id,
                epoch,
                first.counter,
                first.band_time,
                first.flags,
                first.raw,
                json.dumps(first.to_dict()),
                now,
                hub_id,
                now * 1000,
            ),
        )

    def key_history(self, band_id: int) -> list[Row]:
        """Every key of a band, newest first, with the number of frames signed under each."""
        return self.q(
            "SELECT k.*, (SELECT count(*) FROM frames f WHERE f.band_id = k.band_id "
            "AND f.epoch = k.epoch) AS frames FROM band_keys k WHERE k.band_id = ? "
            "ORDER BY k.epoch DESC",
            (band_id,),
        )

    def frames_page(self, band_id: int, after_id: int, limit: int) -> list[Row]:
        """Stored frames of a band in id order, for checking every signature."""
        return self.q(
            "SELECT id, epoch, raw FROM frames WHERE band_id = ? AND id > ? ORDER BY id LIMIT ?",
            (band_id, after_id, limit),
        )

    def bands_overview(self) -> list[dict[str, Any]]:
        """Every band with its wearer's name and units (for the bands page)."""
        return self.q(
            "SELECT b.band_id, b.person_id, b.active, b.epoch, b.battery_pct, b.last_frame_at, "
            "p.name AS person_name, p.office_id, p.village_id FROM bands b "
            "LEFT JOIN persons p ON p.id = b.person_id ORDER BY b.band_id"
        )
