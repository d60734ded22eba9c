"""Cloud -> hub receipts: what one ingest transaction decided, so the hub may forget it.

A receipt lists frames by (band_id, counter, tag) and events by the `seq` the hub gave them
(docs/mqtt.md "receipts"). The tag is the first 4 bytes of SHA-256 over the frame's bytes, so a
late receipt never deletes another frame that reuses the same band and counter.
"""

import hashlib
import struct

VERSION = 1
TAG_LEN = 4
_FRAME = ">II4s"  # band_id, counter, tag
_FRAME_LEN = 12
_HEADER = ">BH"  # version, number of frames
_MAX = 65535  # a u16 count; one ingest batch is far smaller


class ReceiptError(ValueError):
    """The receipt bytes do not decode."""


def tag(raw):
    """The 4-byte tag of a frame's bytes."""
    return hashlib.sha256(bytes(raw)).digest()[:TAG_LEN]


def frame_key(raw):
    """(band_id, counter, tag) of a frame's bytes, or None if too short to name them."""
    if len(raw) < 11:
        return None
    band_id, counter = struct.unpack_from(">II", raw, 3)
    return band_id, counter, tag(raw)


def encode(frames, events):
    """Receipt bytes for frames [(band_id, counter, tag)] and event seqs [int]."""
    if len(frames) > _MAX or len(events) > _MAX:
        raise ReceiptError("too many entries for one receipt")
    parts = [struct.pack(_HEADER, VERSION, len(frames))]
    for band_id, counter, t in frames:
        parts.append(struct.pack(_FRAME, band_id, counter, t))
    parts.append(struct.pack(">H", len(events)))
    for seq in events:
        parts.append(struct.pack(">I", seq))
    return b"".join(parts)


def decode(payload):
    """([(band_id, counter, tag)], [seq]) or ReceiptError."""
    if len(payload) < 5:
        raise ReceiptError("receipt is %d bytes" % len(payload))
    version, n = struct.unpack_from(_HEADER, payload, 0)
    if version != VERSION:
        raise ReceiptError("receipt version %d" % version)
    at = 3 + n * _FRAME_LEN
    if len(payload) < at + 2:
        raise ReceiptError("receipt truncated in its frames")
    frames = []
    for i in range(n):
        band_id, counter, t = struct.unpack_from(_FRAME, payload, 3 + i * _FRAME_LEN)
        frames.append((band_id, counter, bytes(t)))
    m = struct.unpack_from(">H", payload, at)[0]
    if len(payload) != at + 2 + 4 * m:
        raise ReceiptError("receipt length does not match its counts")
    events = [struct.unpack_from(">I", payload, at + 2 + 4 * i)[0] for i in range(m)]
    return frames, events
