"""Fleet band: a load-test band that keeps the oracle the fleet simulator checks the cloud against.

It signs real frames with its own Ed25519 key (`cryptography`), keeps every frame until a hub
acknowledges it (SOS first), repeats an SOS until an authenticated `sos_ack` downlink arrives
(checked with the band's downlink key and replay window, protocol/downlink.py), and may run a
clock that drifts or was never synced. It is not the firmware: the firmware runs under
MicroPython in the hub's and the demo's tests (simulators/band.py); thousands of interpreters
do not fit one machine.
"""

from __future__ import annotations

import time
from typing import Any

from protocol import downlink, frame, gatt, replay
from protocol.errors import FrameError
from protocol.frame import FLAG_QUEUED, FLAG_TIME_UNSYNCED
from protocol.verify import SKEW_REPORT_S
from simulators.ble.loadband import SOS, LoadBand

SOS_REPEAT_S = 30.0  # simulated seconds between repeats of an unacknowledged SOS


class FleetBand(LoadBand):
    """A band of the fleet: periodic reports on a simulated clock, SOS repeats, drift."""

    def __init__(
        self,
        band_id: int,
        now: float,
        *,
        activity_s: float = 300.0,
        heartbeat_s: float = 900.0,
        phase: float = 0.0,
    ) -> None:
        super().__init__(band_id, start_time=int(now), activity_s=activity_s)
        self.heartbeat_s = heartbeat_s
        self.now = now
        # Start part-way through a period so that a fleet does not report in lock step.
        self._next_activity = now + activity_s * (1.0 - phase)
        self._next_heartbeat = now + heartbeat_s * (1.0 - phase)
        self.reach: tuple[int, ...] = ()  # hubs in radio range now (empty: out of range)
        self.offset_s = 0.0  # band clock minus true time when the drift started
        self.drift = 0.0  # seconds gained per second (0.01: 1 % fast)
        self._drift_from = now
        self.booted_at: float | None = None  # set: clock lost, band_time counts from boot
        self.lost_clock = False  # the scenario made it lose its clock at some point
        self.far_off = False  # the scenario set its clock more than the skew tolerance off
        self.signed_at: dict[int, float] = {}  # counter -> time.monotonic() when signed
        self.acked: set[int] = set()  # counters a hub acknowledged (OP_ACK)
        self.accepted_by: dict[int, set[int]] = {}  # counter -> hubs that stored it as new
        self.sos_open: dict[int, float] = {}  # sos_id -> next repeat (simulated time)
        self.sos_signed: dict[int, float] = {}  # sos_id -> monotonic time of its first frame
        self.sos_acked: dict[int, float] = {}  # sos_id -> monotonic time the ack arrived
        self.downlinks_refused = 0
        self.resynced = 0  # lost clocks set again by an authenticated time_sync
        self._sos_attempts: dict[int, int] = {}
        self._dl_state = replay.EMPTY

    def rebase(self, now: float, phase: float) -> None:
        """The run starts at `now`: the next reports fall due a `phase` of a period from now."""
        self.now = self._drift_from = now
        self._next_activity = now + self.activity_s * phase
        self._next_heartbeat = now + self.heartbeat_s * phase

    # -- clock ---------------------------------------------------------------------------------

    def set_drift(self, offset_s: float, drift: float) -> None:
        """From now on the band's clock is `offset_s` off and gains `drift` s per second."""
        self.offset_s, self.drift, self._drift_from = offset_s, drift, self.now
        self.far_off = self.far_off or abs(offset_s) > SKEW_REPORT_S

    def lose_clock(self) -> None:
        """A reset without a time sync since: frames carry seconds since boot (flag 0x02)."""
        self.booted_at = self.now
        self.lost_clock = True

    def band_time(self) -> tuple[int, int]:
        """(band_time, flags) as the band would stamp a frame now."""
        if self.booted_at is not None:
            return int(self.now - self.booted_at), FLAG_TIME_UNSYNCED
        t = self.now + self.offset_s + (self.now - self._drift_from) * self.drift
        return max(0, int(t)) % 2**32, 0

    # -- frames --------------------------------------------------------------------------------

    def make(self, ftype: str, fields: dict[str, Any] | None = None, flags: int = 0) -> bytes:
        """Sign a new frame with the next counter and keep it until acknowledged."""
        band_time, clock_flags = self.band_time()
        if not self.reach:
            flags |= FLAG_QUEUED  # made while no hub was in range: kept in flash
        raw: bytes = frame.encode(
            ftype,
            self.band_id,
            self.counter,
            band_time,
            fields or {},
            self._key.sign,
            flags | clock_flags,
        )
        self.signed_at[self.counter] = time.monotonic()
        self.queue[self.counter] = raw
        self.sent.append(raw)
        self.counter += 1
        return raw

    def advance_to(self, now: float) -> int:
        """Let simulated time reach `now`; make every frame that fell due. Returns how many."""
        before = self.counter
        self.now = now
        while now >= self._next_activity:
            self.make("activity", {"window_s": int(self.activity_s), "steps": self.counter % 700})
            self._next_activity += self.activity_s
        while now >= self._next_heartbeat:
            self.make(
                "heartbeat",
                {"uptime_s": int(now) % 2**32, "battery_pct": 80, "queue_depth": len(self.queue)},
            )
            self._next_heartbeat += self.heartbeat_s
        for sos_id, due in list(self.sos_open.items()):
            if now >= due:
                self._sos_frame(sos_id)
        return self.counter - before

    def next_due(self) -> float:
        """Simulated time of the next frame this band will make on its own."""
        return min([self._next_activity, self._next_heartbeat, *self.sos_open.values()])

    def press_button(self, seconds: float) -> None:
        """A long press (3 s or more) raises an SOS."""
        if seconds >= 3:
            self.press_sos()

    def press_sos(self) -> int:
        """A new SOS, repeated every SOS_REPEAT_S until acknowledged. Returns its sos_id."""
        self._sos_id += 1
        self.sos_signed[self._sos_id] = time.monotonic()
        self._sos_frame(self._sos_id)
        return self._sos_id

    def _sos_frame(self, sos_id: int) -> None:
        attempt = self._sos_attempts.get(sos_id, 0)
        self._sos_attempts[sos_id] = attempt + 1
        self.make(
            "sos", {"sos_id": sos_id, "reason": 1, "battery_pct": 80, "attempt": min(attempt, 255)}
        )
        self.sos_open[sos_id] = self.now + SOS_REPEAT_S

    def pending(self) -> list[tuple[int, bytes]]:
        """Unacknowledged frames in the order a band sends them on a connection: SOS first."""
        return sorted(self.queue.items(), key=lambda kv: (kv[1][1] != SOS, kv[0]))

    # -- what a hub writes to CONTROL ----------------------------------------------------------

    def acknowledge(self, counter: int) -> None:
        """OP_ACK: the hub holds the frame durably; the band may forget it."""
        self.write(gatt.CONTROL_UUID, gatt.ack(counter))
        self.acked.add(counter)

    def deliver(self, payload: bytes) -> bool:
        """OP_DOWNLINK: accept only an authenticated, new downlink; an sos_ack ends repeats."""
        self.write(gatt.CONTROL_UUID, gatt.control(gatt.OP_DOWNLINK, payload))
        if self.downlink_key is None:
            self.downlinks_refused += 1
            return False
        try:
            msg, self._dl_state = downlink.accept(
                payload, self.downlink_key, self.band_id, self._dl_state
            )
        except FrameError:
            self.downlinks_refused += 1
            return False
        if msg.type_name == "sos_ack":
            sos_id = msg.fields["sos_id"]
            if self.sos_open.pop(sos_id, None) is not None:
                self.sos_acked[sos_id] = time.monotonic()
        elif msg.type_name == "time_sync":
            # The band sets its clock to the cloud's time in the header (firmware/control.py);
            # a lost clock is found again, a drifting one starts over from the right time.
            if self.booted_at is not None:
                self.resynced += 1
            self.booted_at = None
            self.offset_s, self._drift_from = msg.cloud_time - self.now, self.now
        return True
