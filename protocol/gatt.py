"""BLE GATT layout of a sqjz band and the framing on it (shared by firmware and hub)."""

import struct

# 128-bit UUIDs: "73716a7a" spells "sqjz"; not the Bluetooth SIG base UUID.
SERVICE_UUID = "73716a7a-5351-4a5a-8000-000000000001"
FRAMES_UUID = "73716a7a-5351-4a5a-8000-000000000002"  # notify: signed frames, fragmented
CONTROL_UUID = "73716a7a-5351-4a5a-8000-000000000003"  # write with response: hub -> band
IDENTITY_UUID = "73716a7a-5351-4a5a-8000-000000000004"  # read: band_id, public key, versions

MANUFACTURER_ID = 0xFFFF  # "no company" test id until a Bluetooth SIG company id is assigned
ADV_SOS_PENDING = 0x01  # an SOS waits for an acknowledgement: connect to this band first
ADV_FRAMES_QUEUED = 0x02  # frames wait in flash
ADV_UNENROLLED = 0x04  # the band has no downlink key yet

MIN_MTU = 23  # ATT default; a frame then travels in fragments
WANT_MTU = 247  # requested by the hub; one frame (<= 111 bytes) fits one notification from 115

# Control operations (first byte of a write to CONTROL_UUID).
OP_ACK = 0x01  # u32 counter: the hub stored this frame durably; the band may delete it
OP_DOWNLINK = 0x02  # an authenticated downlink message from the cloud (protocol.downlink)
OP_HUB_HELLO = 0x03  # u32 hub_id, u32 hub_time[, i8 rssi]: who is listening (time: a hint only)
OP_ENROL_CHALLENGE = 0x04  # 16-byte nonce, 32-byte cloud X25519 public key
OPS = (OP_ACK, OP_DOWNLINK, OP_HUB_HELLO, OP_ENROL_CHALLENGE)

FRAG_MORE = 0x80  # fragment header bit: more fragments of this frame follow
_IDENTITY_FMT = ">I32sHBB"
IDENTITY_LEN = 40


def fragments(frame, mtu):
    """Split one frame into notifications of at most mtu - 3 bytes, each with a 1-byte header."""
    room = mtu - 3 - 1
    if room < 1:
        raise ValueError("MTU too small")
    count = (len(frame) + room - 1) // room
    if count > 0x7F:
        raise ValueError("frame too long for this MTU")
    out = []
    for i in range(count):
        header = i | (FRAG_MORE if i < count - 1 else 0)
        out.append(bytes([header]) + frame[i * room : (i + 1) * room])
    return out


class Reassembler:
    """Hub side: rebuild frames from notifications; count what cannot be rebuilt."""

    def __init__(self):
        self._parts = []
        self.malformed = 0

    def feed(self, notification):
        """Add one notification; return a complete frame's bytes or None."""
        if len(notification) < 2:
            self.malformed += 1
            self._parts = []
            return None
        header = notification[0]
        index = header & 0x7F
        if index != len(self._parts):
            # A lost or repeated fragment: drop the partial frame, resynchronise on index 0.
            self.malformed += 1
            self._parts = []
            if index != 0:
                return None
        self._parts.append(bytes(notification[1:]))
        if header & FRAG_MORE:
            if len(self._parts) > 8:
                self.malformed += 1
                self._parts = []
            return None
        frame = b"".join(self._parts)
        self._parts = []
        return frame

    def reset(self):
        """Forget a partial frame (on disconnect)."""
        if self._parts:
            self.malformed += 1
        self._parts = []


def pack_identity(band_id, public_key, fw_version, hw_rev, enrolled):
    """The IDENTITY characteristic value."""
    return struct.pack(_IDENTITY_FMT, band_id, public_key, fw_version, hw_rev, 1 if enrolled else 0)


def unpack_identity(data):
    """(band_id, public_key, fw_version, hw_rev, enrolled) from the IDENTITY value."""
    if len(data) != IDENTITY_LEN:
        raise ValueError("identity is %d bytes, not %d" % (len(data), IDENTITY_LEN))
    band_id, public_key, fw_version, hw_rev, enrolled = struct.unpack(_IDENTITY_FMT, data)
    return band_id, public_key, fw_version, hw_rev, bool(enrolled)


def pack_adv_status(band_id, status):
    """Manufacturer data in the band's advertisement: company id (LE), band_id, status."""
    return struct.pack("<H", MANUFACTURER_ID) + struct.pack(">IB", band_id, status)


def unpack_adv_status(data):
    """(band_id, status) from manufacturer data without the company id, or None."""
    if len(data) != 5:
        return None
    return struct.unpack(">IB", data)


def control(op, payload=b""):
    """A CONTROL write: operation byte then its payload."""
    return bytes([op]) + payload


def ack(counter):
    """CONTROL write acknowledging one stored frame."""
    return control(OP_ACK, struct.pack(">I", counter))


def hub_hello(hub_id, hub_time, rssi=None):
    """CONTROL write announcing the hub; rssi (dBm) is how loud the hub hears this band.

    The optional ninth byte lets a band put the hub's signal strength into an SOS (only with
    the wearer's opt-in); bands accept the 8-byte form too.
    """
    payload = struct.pack(">II", hub_id, hub_time)
    if rssi is not None:
        payload += struct.pack("b", max(-128, min(127, rssi)))
    return control(OP_HUB_HELLO, payload)
