"""Downlink v1 (cloud to band): same header as uplink, HMAC-SHA256 tag truncated to 16 bytes."""

import struct

from protocol import replay
from protocol.errors import (
    BAD_ALG,
    BAD_FIELD,
    BAD_FLAGS,
    BAD_LENGTH,
    BAD_SIGNATURE,
    BAD_VERSION,
    REPLAY,
    TRUNCATED,
    UNKNOWN_TYPE,
    FrameError,
)
from protocol.hmac256 import equal, hkdf_sha256, hmac_sha256
from protocol.schema import CONFIG_BITS, MODES

VERSION = 1
ALG_HMAC_SHA256_128 = 3
HEADER_LEN = 16
TAG_LEN = 16
_HEADER_FMT = ">BBBIIIB"

SOS_RECEIVED = 1
SOS_DISPATCHED = 2  # help (village staff or 110) is on the way
SOS_CLOSED = 3
NOTIFY_PATTERNS = (1, 2, 3)
NOTIFY_REASONS = (1, 2, 3, 4)  # check-in due, report to the office, session reminder, leave ends
SEXES = (1, 2)  # profile.sex: 1 male, 2 female (the Keytel et al. 2005 equations differ by sex)

# type id: (name, format, names, enumerated fields)
_LAYOUTS: tuple = (
    (0x81, "sos_ack", ">HB", ("sos_id", "status"), {"status": (1, 2, 3)}),
    (0x82, "time_sync", ">h", ("tz_offset_min",), {}),
    (0x83, "mode", ">BHI", ("mode", "session_id", "max_s"), {"mode": MODES}),
    (
        0x84,
        "config",
        ">HHBI",
        ("activity_s", "heartbeat_s", "config", "presence_until"),
        {"config": CONFIG_BITS},
    ),
    (
        0x85,
        "notify",
        ">BB",
        ("pattern", "reason"),
        {"pattern": NOTIFY_PATTERNS, "reason": NOTIFY_REASONS},
    ),
    (0x86, "profile", ">BBBB", ("sex", "age", "weight_kg", "rest_hr"), {"sex": SEXES}),
)

DOWNLINKS = {}
DOWNLINK_IDS = {}
for _row in _LAYOUTS:
    DOWNLINKS[_row[0]] = (_row[1], struct.calcsize(_row[2]), _row[2], _row[3], _row[4])
    DOWNLINK_IDS[_row[1]] = _row[0]

KEY_INFO = b"sqjz/v1/downlink"
CONFIRM_LABEL = b"sqjz/v1/enrol-confirm"


def derive_key(shared_secret, nonce, band_id):
    """The per-band downlink key agreed at enrolment (HKDF over the X25519 secret)."""
    return hkdf_sha256(shared_secret, nonce, KEY_INFO + struct.pack(">I", band_id))


def enrol_confirm(key, nonce, cloud_public):
    """8-byte proof, carried in the signed enrolment frame, that the band derived `key`."""
    return hmac_sha256(key, CONFIRM_LABEL + nonce + cloud_public)[:8]


class Downlink:
    """One parsed downlink message; `raw` is the exact bytes received."""

    def __init__(self, raw, dtype, flags, band_id, counter, cloud_time, fields):
        self.raw = raw
        self.type = dtype
        self.flags = flags
        self.band_id = band_id
        self.counter = counter
        self.cloud_time = cloud_time
        self.fields = fields

    @property
    def type_name(self):
        """The message type's name, e.g. 'sos_ack'."""
        return DOWNLINKS[self.type][0]

    def to_dict(self):
        """Plain values for JSON."""
        out = {
            "type": self.type_name,
            "flags": self.flags,
            "band_id": self.band_id,
            "counter": self.counter,
            "cloud_time": self.cloud_time,
        }
        out.update(self.fields)
        return out


def encode(key, dtype, band_id, counter, cloud_time, fields):
    """A complete authenticated downlink message."""
    if isinstance(dtype, str):
        dtype = DOWNLINK_IDS[dtype]
    name, size, fmt, names, allowed = DOWNLINKS[dtype]
    values = []
    for field in names:
        value = fields.get(field, 0)
        if field in allowed and value not in allowed[field]:
            raise ValueError("%s.%s = %r is not defined" % (name, field, value))
        values.append(value)
    payload = struct.pack(fmt, *values)
    va = (VERSION << 4) | ALG_HMAC_SHA256_128
    body = struct.pack(_HEADER_FMT, va, dtype, 0, band_id, counter, cloud_time, size) + payload
    return body + hmac_sha256(key, body)[:TAG_LEN]


def parse(buf):
    """Parse a downlink strictly (without checking its tag); raise FrameError only."""
    try:
        return _parse(bytes(buf))
    except FrameError:
        raise
    except Exception as exc:
        raise FrameError(BAD_FIELD, "unexpected: %r" % (exc,)) from None


def _parse(raw):
    n = len(raw)
    if n < HEADER_LEN:
        raise FrameError(TRUNCATED, "%d bytes" % n)
    va, dtype, flags, band_id, counter, cloud_time, plen = struct.unpack_from(_HEADER_FMT, raw, 0)
    if va >> 4 != VERSION:
        raise FrameError(BAD_VERSION, "version %d" % (va >> 4))
    if va & 0x0F != ALG_HMAC_SHA256_128:
        raise FrameError(BAD_ALG, "algorithm %d" % (va & 0x0F))
    spec = DOWNLINKS.get(dtype)
    if spec is None:
        raise FrameError(UNKNOWN_TYPE, "downlink type 0x%02x" % dtype)
    if flags:
        raise FrameError(BAD_FLAGS, "reserved flag bits 0x%02x" % flags)
    if plen != spec[1]:
        raise FrameError(BAD_LENGTH, "%s payload is %d bytes, not %d" % (spec[0], spec[1], plen))
    total = HEADER_LEN + plen + TAG_LEN
    if n < total:
        raise FrameError(TRUNCATED, "%d bytes, message needs %d" % (n, total))
    if n > total:
        raise FrameError(BAD_LENGTH, "%d trailing bytes" % (n - total))
    values = struct.unpack_from(spec[2], raw, HEADER_LEN)
    fields = {}
    for i in range(len(spec[3])):
        fields[spec[3][i]] = values[i]
    for key in spec[4]:
        if fields[key] not in spec[4][key]:
            raise FrameError(BAD_FIELD, "%s.%s = %r" % (spec[0], key, fields[key]))
    return Downlink(raw, dtype, flags, band_id, counter, cloud_time, fields)


def authenticate(buf, key, band_id):
    """Parse and check the tag for this band; return the Downlink or raise FrameError."""
    msg = parse(buf)
    if msg.band_id != band_id:
        raise FrameError(BAD_SIGNATURE, "addressed to band %d" % msg.band_id)
    expect = hmac_sha256(key, msg.raw[:-TAG_LEN])[:TAG_LEN]
    if not equal(expect, msg.raw[-TAG_LEN:]):
        raise FrameError(BAD_SIGNATURE, "downlink tag")
    return msg


def accept(buf, key, band_id, state):
    """Band side: authenticate, then refuse any counter already used; return (msg, new_state).

    state is the replay window (protocol.replay) of downlink counters; the caller stores
    the new state durably before acting on the message.
    """
    msg = authenticate(buf, key, band_id)
    verdict, new_state, _gap = replay.check(state, msg.counter)
    if verdict != replay.NEW:
        raise FrameError(REPLAY, "downlink counter %d %s" % (msg.counter, verdict))
    return msg, new_state
