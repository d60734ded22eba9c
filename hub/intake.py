"""Judging frames a band handed over: verify, replay window, outbox, events; then what to ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from hub import outbox as ob
from hub import policy
from protocol import envelope, replay
from protocol.errors import UNKNOWN_BAND, FrameError
from protocol.frame import Frame, parse
from protocol.verify import Keyring, verify_frame

# Outcomes of one frame.
ACCEPTED = "accepted"  # stored in the outbox: acknowledge
DUPLICATE = "duplicate"  # stored or forwarded before: acknowledge again
REFUSED_FULL = "refused_full"  # outbox full: not acknowledged, the band keeps it
FORGED = "forged"  # signature does not verify against the synced key: alarm
MALFORMED = "malformed"  # not a frame
REPLAY = "replay"  # counter reused with other bytes (cloned key or a broken band counter)
LATE = "late"  # below the hub's window: forwarded for the cloud, which keeps history, to judge

EVENT_REPEAT_S = 600  # one unknown_band / malformed event per band per 10 minutes is enough


class Heard(NamedTuple):
    """One reassembled frame as it came off the air."""

    raw: bytes
    received_at_ms: int
    rssi: int
    address: str = ""


class Outcome(NamedTuple):
    """What became of a frame; `ack` is the counter to acknowledge to the band, if any."""

    verdict: str
    ack: int | None = None
    band_id: int | None = None
    code: str = ""


class Intake:
    """The hub's judgement of incoming frames, writing through one Outbox."""

    def __init__(
        self,
        hub_id: int,
        store: ob.Outbox,
        presence_allowed: Callable[[int, float], bool],
        uplink_up: Callable[[], bool],
    ) -> None:
        self.hub_id = hub_id
        self.store = store
        self.keyring = Keyring()
        self.presence_allowed = presence_allowed
        self.uplink_up = uplink_up
        self.windows: dict[int, tuple[int, int]] = store.windows()
        self._last_event: dict[tuple[str, object], float] = {}
        self._dirty: dict[int, tuple[int, int]] = {}

    def set_keys(self, keys: dict[int, bytes]) -> None:
        """Replace the keyring with the keys of the config just applied."""
        self.keyring = Keyring(keys)

    def update_keys(self, keys: dict[int, bytes | None]) -> None:
        """Add, replace or (None) remove the keys of some bands."""
        for band_id, public in keys.items():
            if public is None:
                self.keyring.remove(band_id)
            elif self.keyring.get(band_id) != public:
                self.keyring.add(band_id, public)

    def process(self, items: list[Heard], now: float) -> list[Outcome]:
        """Judge a batch in one transaction (one fsync); outcomes are in the same order."""
        held = not self.uplink_up()
        windows = dict(self.windows)
        try:
            return self._batch(items, now, held)
        except ob.DiskFullError:
            # Rolled back: forget what this batch did in memory, redo it with the disk full.
            self.windows = windows
            return self._batch(items, now, held)

    def _batch(self, items: list[Heard], now: float, held: bool) -> list[Outcome]:
        self._dirty = {}
        with self.store.batch():
            out = [self._one(item, now, held) for item in items]
            self.store.save_windows(self._dirty)
        return out

    def _one(self, item: Heard, now: float, held: bool) -> Outcome:
        self.store.count("frames_heard_total")
        flags = envelope.FLAG_HUB_VERIFIED
        try:
            frame = verify_frame(item.raw, self.keyring)
        except FrameError as exc:
            if exc.code != UNKNOWN_BAND:
                return self._refused(item, exc, now)
            frame = parse(item.raw)  # verify_frame parsed it already: this cannot fail
            flags = 0
            self.store.count("unknown_band_total")
            self._event_once(
                "unknown_band", frame.band_id, now, code=UNKNOWN_BAND, band_id=frame.band_id
            )
        state = self.windows.get(frame.band_id, replay.EMPTY)
        verdict, new_state, _gap = replay.check(state, frame.counter)
        if verdict == replay.STALE:
            # Below the window the hub cannot tell a late frame from a replayed one; the cloud,
            # which keeps every accepted frame, can. Refusing would leave the band resending a
            # genuine frame forever, so forward it (the window stays as it is) and acknowledge.
            self.store.count("stale_forwarded_total")
            outcome = self._store(frame, item, now, held, flags, state)
            return outcome._replace(verdict=LATE) if outcome.verdict == ACCEPTED else outcome
        if verdict == replay.DUPLICATE:
            self.store.count("duplicates_total")
            return Outcome(DUPLICATE, frame.counter, frame.band_id)
        return self._store(frame, item, now, held, flags, new_state)

    def _store(
        self,
        frame: Frame,
        item: Heard,
        now: float,
        held: bool,
        flags: int,
        new_state: tuple[int, int],
    ) -> Outcome:
        if self.presence_allowed(frame.band_id, now):
            flags |= envelope.FLAG_PRESENCE_OK
        result = self.store.add_frame(
            frame.band_id,
            frame.counter,
            frame.type,
            frame.raw,
            item.received_at_ms,
            item.rssi if flags & envelope.FLAG_PRESENCE_OK else 0,
            flags,
            held,
        )
        if result == ob.REFUSED:
            self._event_once("outbox_full", 0, now, code="outbox_full", band_id=frame.band_id)
            return Outcome(REFUSED_FULL, None, frame.band_id, "outbox_full")
        if result == ob.CONFLICT:
            self.store.count("replay_total")
            self._event(
                "replay",
                now,
                band_id=frame.band_id,
                code="replay",
                detail=f"counter {frame.counter} reused with other bytes: cloned key?",
                frame_hex=item.raw.hex(),
                priority=policy.PRIORITY_ALARM,
            )
            return Outcome(REPLAY, None, frame.band_id, "replay")
        self.windows[frame.band_id] = new_state
        self._dirty[frame.band_id] = new_state
        if result == ob.DUPLICATE:
            self.store.count("duplicates_total")
            return Outcome(DUPLICATE, frame.counter, frame.band_id)
        self.store.count("frames_accepted_total")
        return Outcome(ACCEPTED, frame.counter, frame.band_id)

    def _refused(self, item: Heard, exc: FrameError, now: float) -> Outcome:
        band_id = int.from_bytes(item.raw[3:7], "big") if len(item.raw) >= 7 else None
        if exc.code == "bad_signature":
            self.store.count("forged_total")
            self._event(
                "forged_frame",
                now,
                band_id=band_id,
                code=exc.code,
                detail=exc.detail,
                frame_hex=item.raw.hex(),
                priority=policy.PRIORITY_ALARM,
                address=item.address,
            )
            return Outcome(FORGED, None, band_id, exc.code)
        self.store.count("malformed_total")
        self._event_once(
            "malformed",
            item.address or band_id,
            now,
            band_id=band_id,
            code=exc.code,
            detail=exc.detail,
            frame_hex=item.raw[:128].hex(),
            address=item.address,
        )
        return Outcome(MALFORMED, None, band_id, exc.code)

    def malformed_notification(self, address: str, count: int, now: float) -> None:
        """Notifications that could not be reassembled into a frame (counted, reported)."""
        with self.store.batch():
            self.store.count("malformed_total", count)
            self._event_once(
                "malformed",
                address,
                now,
                code="truncated",
                address=address,
                detail=f"{count} notification(s) did not reassemble into a frame",
            )

    def event(self, kind: str, now: float, **fields: object) -> None:
        """Queue a hub event (adapter faults and the like) in its own transaction."""
        with self.store.batch():
            self._event(kind, now, **fields)

    def _event_once(self, kind: str, key: object, now: float, **fields: object) -> None:
        last = self._last_event.get((kind, key))
        if last is not None and now - last < EVENT_REPEAT_S:
            return
        self._last_event[(kind, key)] = now
        self._event(kind, now, **fields)

    def _event(self, kind: str, now: float, **fields: object) -> None:
        priority = fields.pop("priority", policy.PRIORITY_EVENT)
        body: dict[str, object] = {"hub_id": self.hub_id, "time": int(now), "kind": kind}
        body.update({k: v for k, v in fields.items() if v is not None and v != ""})
        self.store.add_event(body, int(priority), int(now * 1000))  # type: ignore[call-overload]
