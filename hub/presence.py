"""Presence of bands near the hub, kept only where an Art. 29 order allows it (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Seen:
    """One band's presence within the current report interval."""

    band_id: int
    rssi: int
    first_seen: int
    last_seen: int


class Presence:
    """Collects sightings of permitted bands between two reports; forgets the rest at once."""

    def __init__(self, allowed: Callable[[int, float], bool]) -> None:
        self._allowed = allowed
        self._seen: dict[int, Seen] = {}

    def heard(self, band_id: int, rssi: int, now: float) -> bool:
        """Record a sighting if collection is allowed for the band; True when recorded."""
        if not self._allowed(band_id, now):
            return False
        t = int(now)
        entry = self._seen.get(band_id)
        if entry is None:
            self._seen[band_id] = Seen(band_id, rssi, t, t)
        else:
            entry.rssi, entry.last_seen = rssi, t
        return True

    def report(self, hub_id: int, now: float) -> dict[str, object] | None:
        """The presence message for the interval just ended (None if nothing), then reset.

        An order that expired during the interval removes the band from the report too.
        """
        seen = [
            {
                "band_id": s.band_id,
                "rssi": s.rssi,
                "first_seen": s.first_seen,
                "last_seen": s.last_seen,
            }
            for s in sorted(self._seen.values(), key=lambda s: s.band_id)
            if self._allowed(s.band_id, now)
        ]
        self._seen.clear()
        if not seen:
            return None
        return {"hub_id": hub_id, "time": int(now), "seen": seen}
