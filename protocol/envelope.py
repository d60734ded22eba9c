"""Hub envelope (MQTT uplink payload): hub metadata in front of a band's untouched frame bytes."""

import struct

ENVELOPE_VERSION = 1
_FMT = ">BIQbB"  # version, hub_id, received_at_ms, rssi, flags
HEADER_LEN = 15

FLAG_HUB_VERIFIED = 0x01  # the hub checked the signature against its synced keyring
FLAG_FROM_OUTBOX = 0x02  # held in the hub's outbox while the uplink was down
FLAG_PRESENCE_OK = 0x04  # rssi is given: presence collection is enabled for this band


class EnvelopeError(ValueError):
    """The envelope around a frame is malformed (the frame itself is judged separately)."""


def wrap(hub_id, received_at_ms, rssi, frame, flags=0):
    """Envelope bytes: header then the frame exactly as the band sent it."""
    if not flags & FLAG_PRESENCE_OK:
        rssi = 0  # the hub forwards RSSI only where location-like collection is allowed
    return struct.pack(_FMT, ENVELOPE_VERSION, hub_id, received_at_ms, rssi, flags) + bytes(frame)


def unwrap(payload):
    """(hub_id, received_at_ms, rssi or None, flags, frame bytes) or EnvelopeError."""
    if len(payload) < HEADER_LEN:
        raise EnvelopeError("envelope is %d bytes, header needs %d" % (len(payload), HEADER_LEN))
    version, hub_id, received_at_ms, rssi, flags = struct.unpack_from(_FMT, payload, 0)
    if version != ENVELOPE_VERSION:
        raise EnvelopeError("envelope version %d" % version)
    if flags & ~0x07:
        raise EnvelopeError("reserved envelope flags 0x%02x" % flags)
    return (
        hub_id,
        received_at_ms,
        rssi if flags & FLAG_PRESENCE_OK else None,
        flags,
        bytes(payload[HEADER_LEN:]),
    )
