"""Frame ingest: unwrap and verify outside the write lock, then one transaction per batch."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from cloud.store import BatchResult, CasConflictError, Rejected, Store, Verified
from protocol import envelope, receipts, topics
from protocol.errors import BAD_SIGNATURE, UNKNOWN_BAND, FrameError
from protocol.verify import Keyring, verify_frame


class RetiredKey(NamedTuple):
    """A band's earlier key: its epoch, a one-key keyring, when it was retired and why."""

    epoch: int
    keyring: Keyring
    retired_at: int
    compromised: bool


def _band_of(raw: bytes) -> int | None:
    """The band_id a (possibly bad) frame claims, if it is long enough to say."""
    return int(struct.unpack_from(">I", raw, 3)[0]) if len(raw) >= 7 else None


class Ingestor:
    """Turns MQTT uplink messages into stored frames; safe to call from one worker thread."""

    def __init__(self, store: Store, low_battery_pct: int = 20) -> None:
        self.store = store
        self.low_battery_pct = low_battery_pct
        self.keyring = Keyring()
        self.retired: dict[int, list[RetiredKey]] = {}
        self._keyring_version: str | None = None

    def refresh_keys(self) -> None:
        """Reload the keyring when a band was enrolled or revoked since the last batch."""
        version = self.store.keyring_version()
        if version == self._keyring_version:
            return
        keyring = Keyring()
        for band in self.store.bands(active_only=True):
            keyring.add(int(band["band_id"]), bytes(band["public_key"]))
        retired: dict[int, list[RetiredKey]] = {}
        for row in self.store.retired_keys():
            retired.setdefault(int(row["band_id"]), []).append(
                RetiredKey(
                    int(row["epoch"]),
                    Keyring({int(row["band_id"]): bytes(row["public_key"])}),
                    int(row["retired_at"]),
                    bool(row["compromised"]),
                )
            )
        self.keyring, self.retired, self._keyring_version = keyring, retired, version

    def _retired(
        self, raw: bytes, hub_id: int, rx_ms: int, rssi: int | None, flags: int
    ) -> Verified | Rejected | None:
        """A frame that fails the band's key may carry a retired key of the same band.

        Heard by the hub before that key was retired (and the key not retired as compromised):
        genuine evidence of the old epoch, stored there. Otherwise a security matter.
        """
        band_id = _band_of(raw)
        for old in self.retired.get(band_id or -1, ()):
            try:
                frame = verify_frame(raw, old.keyring)
            except FrameError:
                continue
            if not old.compromised and rx_ms < old.retired_at * 1000:
                return Verified(frame, hub_id, rx_ms, rssi, flags, old.epoch)
            why = "compromised" if old.compromised else "heard after retirement"
            return Rejected(
                "retired_key", hub_id, band_id, "retired_key", f"epoch {old.epoch}, {why}", raw
            )
        return None

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
                old = (
                    self._retired(raw, hub_id, rx_ms, rssi, flags)
                    if exc.code == BAD_SIGNATURE
                    else None
                )
                if isinstance(old, Verified):
                    good.append(old)
                    continue
                if old is not None:
                    bad.append(old)
                    continue
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


def receipts_for(
    ups: Sequence[tuple[str, bytes]], events: Sequence[tuple[int, int]]
) -> list[tuple[str, bytes]]:
    """(topic, payload) of one receipt per hub for a committed batch.

    Every frame of the batch is in it, whatever its verdict (new, duplicate, late, forged,
    unknown band): the cloud has decided about it, so the hub need not send it again. Events
    are (hub_id, seq) handled. A message that names no frame (a broken envelope) gets none.
    """
    frames: dict[int, dict[tuple[int, int, bytes], None]] = {}
    seqs: dict[int, dict[int, None]] = {}
    for topic, payload in ups:
        hub_id = topics.hub_of(topic)
        try:
            raw = envelope.unwrap(payload)[4]
        except envelope.EnvelopeError:
            continue
        key = receipts.frame_key(raw)
        if hub_id is not None and key is not None:
            frames.setdefault(hub_id, {})[key] = None  # a dict: ordered, each key once
    for hub_id, seq in events:
        seqs.setdefault(hub_id, {})[seq] = None
    return [
        (topics.receipts(h), receipts.encode(list(frames.get(h, ())), list(seqs.get(h, ()))))
        for h in sorted(frames.keys() | seqs.keys())
    ]


def event_seq(payload: bytes) -> int | None:
    """The seq a hub gave an event (echoed in its receipt), if the JSON carries one."""
    try:
        msg = json.loads(payload)
    except ValueError:
        return None
    return seq_of(msg) if isinstance(msg, dict) else None


def seq_of(msg: dict[str, Any]) -> int | None:
    """The `seq` of a parsed hub event, if it is a u32."""
    seq = msg.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 2**32 else None
