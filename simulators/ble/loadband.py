"""Load-test band: SimBand's interface in plain CPython, for fleets and benchmarks.

Thousands of MicroPython interpreters do not fit on one machine, so load tests and the hub
benchmark use this band: it signs real frames (Ed25519 via `cryptography`), keeps unacknowledged
frames in a queue (SOS first) until the hub acknowledges them with OP_ACK, and speaks the GATT
protocol of protocol/gatt.py. It is not the firmware; the hub's integration tests run SimBand
(simulators/band.py), the real firmware.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from protocol import downlink, frame, gatt
from protocol.schema import TYPE_IDS

SOS = TYPE_IDS["sos"]


class LoadBand:
    """A CPython band with SimBand's methods; frames every `activity_s` simulated seconds."""

    def __init__(
        self,
        band_id: int,
        seed: bytes | None = None,
        *,
        start_time: int = 1_764_460_800,
        activity_s: float = 300.0,
        heartbeat_s: float = 900.0,
        counter: int = 0,
    ) -> None:
        self.band_id = band_id
        self.seed = seed or hashlib.sha256(b"sqjz-load-band" + band_id.to_bytes(4, "big")).digest()
        self._key = Ed25519PrivateKey.from_private_bytes(self.seed)
        self.public_key = self._key.public_key().public_bytes_raw()
        self.now = float(start_time)
        self.activity_s = activity_s
        self.heartbeat_s = heartbeat_s
        self.counter = counter
        self.queue: dict[int, bytes] = {}  # counter -> frame, until acknowledged
        self.sent: list[bytes] = []  # every frame ever signed, in order (for test oracles)
        self.downlinks: list[bytes] = []  # CONTROL OP_DOWNLINK payloads received
        self.hellos: list[tuple[int, int, int | None]] = []  # hub_id, hub_time, rssi
        self.downlink_key: bytes | None = None
        self.mtu = 0
        self._out: list[bytes] = []
        self._next_activity = self.now + activity_s
        self._next_heartbeat = self.now + heartbeat_s
        self._sos_id = 0

    # -- frames ----------------------------------------------------------------------------

    def make(self, ftype: str, fields: dict[str, Any] | None = None, flags: int = 0) -> bytes:
        """Sign a new frame with the next counter and queue it."""
        raw: bytes = frame.encode(
            ftype, self.band_id, self.counter, int(self.now), fields or {}, self._key.sign, flags
        )
        self.queue[self.counter] = raw
        self.sent.append(raw)
        self.counter += 1
        if self.mtu:
            self._out += gatt.fragments(raw, self.mtu)
        return raw

    def press_button(self, seconds: float) -> None:
        """A long press raises an SOS (sent before anything else still queued)."""
        if seconds >= 3:
            self._sos_id += 1
            self.make("sos", {"sos_id": self._sos_id, "reason": 1, "battery_pct": 80})

    def open_strap(self) -> None:
        """Tamper: strap opened."""
        self.make("tamper", {"event": 1, "strap_closed": 0, "on_skin": 1, "battery_pct": 80})

    def advance(self, seconds: float) -> None:
        """Let simulated time pass; make the periodic frames that fall due."""
        self.now += seconds
        while self.now >= self._next_activity:
            self.make("activity", {"window_s": int(self.activity_s), "steps": self.counter % 700})
            self._next_activity += self.activity_s
        while self.now >= self._next_heartbeat:
            self.make("heartbeat", {"uptime_s": int(self.now) % 2**32, "battery_pct": 80})
            self._next_heartbeat += self.heartbeat_s

    # -- GATT ----------------------------------------------------------------------------------

    def advertisement(self) -> dict[str, Any] | None:
        """What a scanner sees, or None while a central is connected (as SimBand)."""
        if self.mtu:
            return None
        status = 0
        if self.queue:
            status |= gatt.ADV_FRAMES_QUEUED
        if any(raw[1] == SOS for raw in self.queue.values()):
            status |= gatt.ADV_SOS_PENDING
        if self.downlink_key is None:
            status |= gatt.ADV_UNENROLLED
        return {
            "name": f"SQJZ-{self.band_id:08d}",
            "service_uuids": [gatt.SERVICE_UUID],
            "manufacturer_data": {
                gatt.MANUFACTURER_ID: gatt.pack_adv_status(self.band_id, status)[2:]
            },
        }

    def connect(self, mtu: int = 247) -> None:
        """A central connected: resend every unacknowledged frame, SOS first."""
        self.mtu = mtu
        order = sorted(self.queue.items(), key=lambda kv: (kv[1][1] != SOS, kv[0]))
        self._out = [part for _, raw in order for part in gatt.fragments(raw, mtu)]

    def disconnect(self) -> None:
        self.mtu = 0
        self._out = []

    def read(self, uuid: str) -> bytes:
        if uuid != gatt.IDENTITY_UUID:
            raise ValueError(f"not readable: {uuid}")
        return gatt.pack_identity(
            self.band_id, self.public_key, 0x0100, 1, self.downlink_key is not None
        )

    def write(self, uuid: str, data: bytes) -> None:
        if uuid != gatt.CONTROL_UUID or not data:
            raise ValueError("CONTROL takes an operation byte and its payload")
        op, body = data[0], data[1:]
        if op == gatt.OP_ACK and len(body) == 4:
            self.queue.pop(struct.unpack(">I", body)[0], None)
        elif op == gatt.OP_HUB_HELLO and len(body) in (8, 9):
            hub_id, hub_time = struct.unpack(">II", body[:8])
            rssi = struct.unpack("b", body[8:])[0] if len(body) == 9 else None
            self.hellos.append((hub_id, hub_time, rssi))
        elif op == gatt.OP_DOWNLINK:
            self.downlinks.append(bytes(body))
        elif op == gatt.OP_ENROL_CHALLENGE and len(body) == 48:
            self._enrol(body[:16], body[16:])

    def _enrol(self, nonce: bytes, cloud_public: bytes) -> None:
        # X25519 with the Ed25519 secret scalar: the first half of SHA-512(seed); X25519
        # clamps it exactly as Ed25519 does.
        scalar = hashlib.sha512(self.seed).digest()[:32]
        shared = X25519PrivateKey.from_private_bytes(scalar).exchange(
            X25519PublicKey.from_public_bytes(cloud_public)
        )
        self.downlink_key = downlink.derive_key(shared, nonce, self.band_id)
        confirm = downlink.enrol_confirm(self.downlink_key, nonce, cloud_public)
        self.make("enrol", {"nonce": nonce, "confirm": confirm, "fw_version": 0x0100, "hw_rev": 1})

    def take_notifications(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def close(self) -> None:
        """Nothing to release."""
