"""Frame ingest: unwrap and verify outside the write lock, then one transaction per batch."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from cloud.store import BatchResult, CasConflictError, Rejected, Store, Verified
from protocol import envelope, topics
from protocol.errors import BAD_SIGNATURE, UNKNOWN_BAND, FrameError
from protocol.verify import Keyring, verify_frame


def _band_of(raw: bytes) -> int | None:
    """The band_id a (possibly bad) frame claims, if it is long enough to say."""
    return int(struct.unpack_from(">I", raw, 3)[0]) if len(raw) >= 7 else None


class Ingestor:
    """Turns MQTT uplink messages into stored frames; safe to call from one worker thread."""

    def __init__(self, store: Store, low_battery_pct: int = 20) -> None:
        self.store = store
        self.low_battery_pct = low_battery_pct
        self.keyring = Keyring()
        self._keyring_version: str | None = None

    def refresh_keys(self) -> None:
        """Reload the keyring when a band was enrolled or revoked since the last batch."""
        version = self.store.keyring_version()
        if version == self._keyring_version:
            return
        keyring = Keyring()
        for band in self.store.bands(active_only=True):
            keyring.add(int(band["band_id"]), bytes(band["public_key"]))
        self.keyring, self._keyring_version = keyring, version

    def prepare(
        self, messages: Sequence[tuple[str, bytes]]
    ) -> tuple[list[Verified], list[Rejected]]:
        """Unwrap and verify every message (no database access: runs outside the lock)."""
        good: list[Verified] = []
        bad: list[Rejected] = []
        for topic, payload in messages:
            topic_hub = topics.hub_of(topic)
            try:
                hub_id, rx_ms, rssi, flags, raw = envelope.unwrap(payload)
            except envelope.EnvelopeError as exc:
                bad.append(Rejected("malformed", topic_hub, None, "envelope", str(exc), payload))
                continue
            if hub_id != topic_hub:
                # The broker's ACL binds a hub to its topic; the envelope must agree with it.
                bad.append(
                    Rejected(
                        "malformed",
                        topic_hub,
                        _band_of(raw),
                        "hub_mismatch",
                        f"envelope says hub {hub_id}",
                        raw,
                    )
                )
                continue
            try:
                frame = verify_frame(raw, self.keyring)
            except FrameError as exc:
                kind = {BAD_SIGNATURE: "forged", UNKNOWN_BAND: "unknown_band"}.get(
                    exc.code, "malformed"
                )
                bad.append(Rejected(kind, hub_id, _band_of(raw), exc.code, exc.detail, raw))
                continue
            good.append(Verified(frame, hub_id, rx_ms, rssi, flags))
        return good, bad

    def ingest(self, messages: Sequence[tuple[str, bytes]], now: int) -> BatchResult:
        """Verify then store a batch atomically; a concurrent writer means one retry."""
        self.refresh_keys()
        good, bad = self.prepare(messages)
        for attempt in range(3):
            try:
                return self.store.ingest_batch(good, bad, now, self.low_battery_pct, topics.down)
            except CasConflictError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def make_sink(
    ingestor: Ingestor, clock: Callable[[], float]
) -> Callable[[Sequence[tuple[str, bytes]]], BatchResult]:
    """A function the MQTT worker calls with each batch."""
    return lambda batch: ingestor.ingest(batch, int(clock()))
