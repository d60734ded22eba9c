"""sqjz uplink frame v1: strict codec shared by the band (MicroPython), the hub and the cloud."""

import struct

from protocol.errors import (
    BAD_ALG,
    BAD_FIELD,
    BAD_FLAGS,
    BAD_LENGTH,
    BAD_VERSION,
    TRUNCATED,
    UNKNOWN_TYPE,
    FrameError,
)
from protocol.schema import INT_RANGES, PAYLOADS, TYPE_IDS

VERSION = 1
ALG_ED25519 = 1
ALG_P256 = 2  # reserved for a secure element; parsed, but no implementation signs with it yet
HEADER_LEN = 16
SIG_LEN = 64
MAX_PAYLOAD = 31  # header + payload <= 47 bytes keeps each Ed25519 hash input to one SHA-512 block

FLAG_QUEUED = 0x01  # sent from the band's flash queue, not live
FLAG_TIME_UNSYNCED = 0x02  # band_time counts seconds since boot, not UTC
FLAG_SESSION = 0x04  # a community-service session was running
FLAGS_KNOWN = 0x07

_HEADER = struct.Struct(">BBBIIIB") if hasattr(struct, "Struct") else None
_HEADER_FMT = ">BBBIIIB"


class Frame:
    """One parsed uplink frame; `raw` holds the exact bytes, never re-encoded."""

    def __init__(self, raw, alg, ftype, flags, band_id, counter, band_time, fields):
        self.raw = raw
        self.alg = alg
        self.type = ftype
        self.flags = flags
        self.band_id = band_id
        self.counter = counter
        self.band_time = band_time
        self.fields = fields

    @property
    def type_name(self):
        """The frame type's name, e.g. 'sos'."""
        return PAYLOADS[self.type][0]

    @property
    def signed_part(self):
        """Header and payload: the bytes the signature covers."""
        return self.raw[: len(self.raw) - SIG_LEN]

    @property
    def signature(self):
        """The 64-byte signature."""
        return self.raw[len(self.raw) - SIG_LEN :]

    def to_dict(self):
        """Plain values for JSON: header fields plus payload fields (bytes as hex)."""
        out = {
            "version": VERSION,
            "alg": self.alg,
            "type": self.type_name,
            "flags": self.flags,
            "band_id": self.band_id,
            "counter": self.counter,
            "band_time": self.band_time,
        }
        for key in self.fields:
            value = self.fields[key]
            if isinstance(value, bytes):
                value = _hex(value)
            out[key] = value
        return out


def _hex(data):
    return "".join("%02x" % b for b in data)


def _unpack_header(buf):
    if _HEADER is not None:
        return _HEADER.unpack_from(buf, 0)
    return struct.unpack_from(_HEADER_FMT, buf, 0)


def parse(buf):
    """Parse an uplink frame strictly; raise FrameError with a code, never anything else."""
    try:
        return _parse(buf)
    except FrameError:
        raise
    except Exception as exc:  # defence in depth: the contract is FrameError only
        raise FrameError(BAD_FIELD, "unexpected: %r" % (exc,)) from None


def _parse(buf):
    if not isinstance(buf, (bytes, bytearray, memoryview)):
        raise FrameError(TRUNCATED, "not bytes")
    raw = bytes(buf)
    n = len(raw)
    if n < HEADER_LEN:
        raise FrameError(TRUNCATED, "%d bytes, header needs %d" % (n, HEADER_LEN))
    va, ftype, flags, band_id, counter, band_time, plen = _unpack_header(raw)
    if va >> 4 != VERSION:
        raise FrameError(BAD_VERSION, "version %d" % (va >> 4))
    alg = va & 0x0F
    if alg != ALG_ED25519:
        raise FrameError(BAD_ALG, "algorithm %d" % alg)
    spec = PAYLOADS.get(ftype)
    if spec is None:
        raise FrameError(UNKNOWN_TYPE, "type 0x%02x" % ftype)
    if flags & ~FLAGS_KNOWN:
        raise FrameError(BAD_FLAGS, "reserved flag bits 0x%02x" % (flags & ~FLAGS_KNOWN))
    if plen != spec[1]:
        raise FrameError(BAD_LENGTH, "%s payload is %d bytes, not %d" % (spec[0], spec[1], plen))
    total = HEADER_LEN + plen + SIG_LEN
    if n < total:
        raise FrameError(TRUNCATED, "%d bytes, frame needs %d" % (n, total))
    if n > total:
        raise FrameError(BAD_LENGTH, "%d trailing bytes" % (n - total))
    values = struct.unpack_from(spec[2], raw, HEADER_LEN)
    fields = {}
    names = spec[3]
    for i in range(len(names)):
        fields[names[i]] = values[i]
    _check_fields(spec, fields)
    return Frame(raw, alg, ftype, flags, band_id, counter, band_time, fields)


def _check_fields(spec, fields):
    allowed = spec[4]
    for key in allowed:
        if fields[key] not in allowed[key]:
            raise FrameError(BAD_FIELD, "%s.%s = %r" % (spec[0], key, fields[key]))


def type_id(ftype):
    """Accept a type id or name; return the id."""
    if isinstance(ftype, str):
        if ftype not in TYPE_IDS:
            raise FrameError(UNKNOWN_TYPE, ftype)
        return TYPE_IDS[ftype]
    if ftype not in PAYLOADS:
        raise FrameError(UNKNOWN_TYPE, "type 0x%02x" % ftype)
    return ftype


def encode_body(ftype, band_id, counter, band_time, fields, flags=0, alg=ALG_ED25519):
    """Header and payload (the signed part) for a frame; missing payload fields are 0."""
    ftype = type_id(ftype)
    spec = PAYLOADS[ftype]
    values = []
    names = spec[3]
    for i in range(len(names)):
        values.append(_checked(spec, i, fields.get(names[i], 0)))
    for name in fields:
        if name not in names:
            raise ValueError("%s has no field %s" % (spec[0], name))
    payload = struct.pack(spec[2], *values)
    for value, code in ((band_id, "I"), (counter, "I"), (band_time, "I"), (flags, "B")):
        _in_range(value, code, "header")
    header = struct.pack(
        _HEADER_FMT, (VERSION << 4) | alg, ftype, flags, band_id, counter, band_time, len(payload)
    )
    return header + payload


def _checked(spec, i, value):
    """A payload value ready for struct.pack, or ValueError naming the field."""
    name = spec[3][i]
    code = spec[6][i]
    if code == "s":
        size = spec[5][name]
        if value == 0:
            return bytes(size)
        if not isinstance(value, (bytes, bytearray)) or len(value) != size:
            raise ValueError("%s.%s must be %d bytes" % (spec[0], name, size))
        return bytes(value)
    _in_range(value, code, spec[0] + "." + name)
    allowed = spec[4].get(name)
    if allowed is not None and value not in allowed:
        raise ValueError("%s.%s = %r is not defined" % (spec[0], name, value))
    return value


def _in_range(value, code, name):
    lo, hi = INT_RANGES[code]
    if not isinstance(value, int) or value < lo or value > hi:
        raise ValueError("%s = %r outside %d..%d" % (name, value, lo, hi))


def encode(ftype, band_id, counter, band_time, fields, sign, flags=0):
    """A complete signed frame; `sign` maps the signed part to a 64-byte signature."""
    body = encode_body(ftype, band_id, counter, band_time, fields, flags)
    sig = sign(body)
    if len(sig) != SIG_LEN:
        raise ValueError("signature must be 64 bytes")
    return body + sig
