"""A minimal hub-and-cloud stand-in for one SimBand: connect, collect, verify, ack, downlink.

Used by `sqjz band` and the firmware tests. It speaks only the real protocol (protocol/gatt.py,
frame, downlink), with `cryptography` on the cloud side, so a frame it accepts is one the real
hub and cloud would accept.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from protocol import downlink, gatt
from protocol.frame import Frame
from protocol.verify import Keyring, verify_frame
from protocol.x25519 import ed25519_public_to_x25519
from simulators.band import SimBand
from simulators.mpy import MicroPythonError


class Central:
    """Plays the hub (GATT central) and the cloud's downlink key for one band."""

    def __init__(self, band: SimBand, hub_id: int = 12, rssi: int | None = None) -> None:
        self.band = band
        self.hub_id = hub_id
        self.rssi = rssi
        self.keyring = Keyring({band.band_id: band.public_key})
        self.reassembler = gatt.Reassembler()
        self.dl_key: bytes | None = None
        self.dl_counter = 0
        self.received: list[Frame] = []  # every verified frame, in arrival order, once
        self._seen: set[int] = set()

    @property
    def connected(self) -> bool:
        """True while the band holds our link (it does not advertise then)."""
        return self.band.advertisement() is None

    def connect(self, mtu: int = 247) -> None:
        """Connect and say hello (the band starts sending after the hello)."""
        self.band.connect(mtu)
        hello = gatt.hub_hello(self.hub_id, int(self.band.now), self.rssi)
        self.band.write(gatt.CONTROL_UUID, hello)

    def ensure_connected(self) -> None:
        """Connect unless already connected."""
        if not self.connected:
            self.connect()

    def frames(self, ack: bool = True) -> list[Frame]:
        """Frames completed by the notifications so far; verified (raises if forged)."""
        out = []
        for note in self.band.take_notifications():
            raw = self.reassembler.feed(note)
            if raw is None:
                continue
            f = verify_frame(raw, self.keyring)
            if f.counter not in self._seen:  # sent again after a dropped link: keep once (§5)
                self._seen.add(f.counter)
                out.append(f)
                self.received.append(f)
            if ack:
                self._ack(f.counter)
        return out

    def _ack(self, counter: int) -> None:
        try:
            self.band.write(gatt.CONTROL_UUID, gatt.ack(counter))
        except MicroPythonError as exc:
            if exc.error_type != "OSError":
                raise  # anything but "not connected" is a real failure
            # The link dropped meanwhile (the band hangs up idle links): it sends it again.

    def drain(self) -> list[Frame]:
        """Connect if needed and collect until the band has nothing more to send."""
        self.ensure_connected()
        out: list[Frame] = []
        while True:
            got = self.frames()
            if not got:
                return out
            out += got

    def enrol(self, cloud_seed: bytes = bytes(range(40, 72))) -> Frame:
        """Run the enrolment challenge as the cloud would; keep the agreed downlink key."""
        self.ensure_connected()
        cloud = X25519PrivateKey.from_private_bytes(cloud_seed)
        cloud_public = cloud.public_key().public_bytes_raw()
        nonce = bytes(range(100, 116))
        self.band.write(gatt.CONTROL_UUID, bytes([gatt.OP_ENROL_CHALLENGE]) + nonce + cloud_public)
        enrol = [f for f in self.drain() if f.type_name == "enrol"]
        if len(enrol) != 1:
            raise RuntimeError("the band did not answer the enrolment challenge")
        shared = cloud.exchange(
            X25519PublicKey.from_public_bytes(ed25519_public_to_x25519(self.band.public_key))
        )
        key = downlink.derive_key(shared, nonce, self.band.band_id)
        if enrol[0].fields["confirm"] != downlink.enrol_confirm(key, nonce, cloud_public):
            raise RuntimeError("enrolment confirm tag does not match")
        self.dl_key = key
        return enrol[0]

    def downlink(self, dtype: str, fields: dict[str, Any], key: bytes | None = None) -> bytes:
        """Send an authenticated downlink (with the next counter); returns its bytes."""
        self.dl_counter += 1
        raw = downlink.encode(
            key or self.dl_key or bytes(32),
            dtype,
            self.band.band_id,
            self.dl_counter,
            int(self.band.now),
            fields,
        )
        self.send_raw(raw)
        return raw

    def send_raw(self, raw: bytes) -> None:
        """Write any bytes as a downlink."""
        self.ensure_connected()
        self.band.write(gatt.CONTROL_UUID, bytes([gatt.OP_DOWNLINK]) + raw)

    def results(self) -> list[tuple[int, int]]:
        """(downlink counter, result) of the cmd_result frames the band sent since."""
        return [
            (f.fields["downlink_counter"], f.fields["result"])
            for f in self.drain()
            if f.type_name == "cmd_result"
        ]
