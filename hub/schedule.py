"""Connection slots, SOS-first ordering and growing backoff for bands in range (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from protocol import gatt


@dataclass(frozen=True)
class ScheduleSettings:
    """How the hub shares its radio between bands."""

    slots: int = 4  # simultaneous connections; BlueZ on a Pi 4 copes with about 5-7
    max_connecting: int = 1  # BlueZ serialises LE connection attempts; parallel ones fail
    visit_interval_s: float = 300.0  # connect to a quiet band this often (downlinks, time)
    seen_ttl_s: float = 30.0  # a band not heard for this long is out of range
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 300.0
    storm_failures: int = 5  # this many failed connects in a row pauses every attempt
    storm_pause_s: float = 30.0


@dataclass
class Sighting:
    """The latest advertisement heard from a band."""

    band_id: int
    address: str
    rssi: int
    status: int
    seen_at: float


@dataclass
class LinkState:
    """What the scheduler remembers about one band's connections."""

    failures: int = 0
    next_attempt_at: float = 0.0
    last_visit_at: float = float("-inf")
    connected: bool = False
    connecting: bool = False


@dataclass
class Scheduler:
    """Chooses which bands to connect to next; every method takes the time from its caller."""

    settings: ScheduleSettings = field(default_factory=ScheduleSettings)
    rng: random.Random = field(default_factory=random.Random)
    sightings: dict[int, Sighting] = field(default_factory=dict)
    links: dict[int, LinkState] = field(default_factory=dict)
    failures_in_row: int = 0
    paused_until: float = 0.0

    def heard(self, sighting: Sighting) -> None:
        """Record an advertisement."""
        self.sightings[sighting.band_id] = sighting

    def in_range(self, now: float) -> list[Sighting]:
        """Bands heard within seen_ttl_s."""
        ttl = self.settings.seen_ttl_s
        return [s for s in self.sightings.values() if now - s.seen_at <= ttl]

    def forget_old(self, now: float) -> None:
        """Drop sightings long out of range (keeps memory flat on a busy road)."""
        limit = 10 * self.settings.seen_ttl_s
        for band_id in [b for b, s in self.sightings.items() if now - s.seen_at > limit]:
            del self.sightings[band_id]
            link = self.links.get(band_id)
            if link is not None and not (link.connected or link.connecting):
                del self.links[band_id]

    def link(self, band_id: int) -> LinkState:
        """The band's link state (created on first use)."""
        return self.links.setdefault(band_id, LinkState())

    def due(
        self, now: float, pending_downlinks: set[int] | frozenset[int] = frozenset()
    ) -> list[int]:
        """Bands to connect to now, most urgent first, within the free slots."""
        busy = sum(1 for s in self.links.values() if s.connected or s.connecting)
        connecting = sum(1 for s in self.links.values() if s.connecting)
        free = min(self.settings.slots - busy, self.settings.max_connecting - connecting)
        if free <= 0 or now < self.paused_until:
            return []
        ranked = []
        for s in self.in_range(now):
            link = self.links.get(s.band_id) or LinkState()
            if link.connected or link.connecting or now < link.next_attempt_at:
                continue
            urgency = visit_urgency(
                s.status,
                s.band_id in pending_downlinks,
                now - link.last_visit_at >= self.settings.visit_interval_s,
            )
            if urgency is None:
                continue
            ranked.append((urgency, -s.rssi, link.last_visit_at, s.band_id))
        ranked.sort()
        return [r[3] for r in ranked[:free]]

    def connecting(self, band_id: int) -> None:
        """A connection attempt started."""
        self.link(band_id).connecting = True

    def connected(self, band_id: int, now: float) -> None:
        """The attempt succeeded: reset this band's backoff and the storm counter."""
        link = self.link(band_id)
        link.connecting, link.connected = False, True
        link.failures = 0
        link.last_visit_at = now
        self.failures_in_row = 0

    def failed(self, band_id: int, now: float) -> float:
        """The attempt failed: back off this band; pause everything after a storm. Returns delay."""
        link = self.link(band_id)
        link.connecting = link.connected = False
        link.failures += 1
        delay = backoff_delay(
            link.failures,
            self.settings.backoff_base_s,
            self.settings.backoff_cap_s,
            self.rng.random(),
        )
        link.next_attempt_at = now + delay
        self.failures_in_row += 1
        if self.failures_in_row >= self.settings.storm_failures:
            # Reconnect storms are what wedge BlueZ: stop every attempt for a while.
            self.paused_until = now + self.settings.storm_pause_s
            self.failures_in_row = 0
        return delay

    def disconnected(self, band_id: int, now: float) -> None:
        """A session ended (normally or not); the band may be visited again when due."""
        link = self.link(band_id)
        link.connected = link.connecting = False
        link.last_visit_at = now
        # A short pause stops a band that drops every connection from hogging the radio.
        link.next_attempt_at = max(link.next_attempt_at, now + self.settings.backoff_base_s / 2)


def visit_urgency(status: int, has_downlink: bool, visit_due: bool) -> int | None:
    """0 SOS waiting, 1 downlink waiting, 2 frames queued, 3 routine visit; None: leave it."""
    if status & gatt.ADV_SOS_PENDING:
        return 0
    if has_downlink:
        return 1
    if status & gatt.ADV_FRAMES_QUEUED:
        return 2
    if visit_due:
        return 3
    return None


def backoff_delay(failures: int, base: float, cap: float, unit_random: float) -> float:
    """Exponential backoff with full jitter in [0.5, 1.0] of the step, capped."""
    step = min(cap, base * (2 ** max(0, failures - 1)))
    return step * (0.5 + 0.5 * unit_random)
