"""HMAC-SHA256 and HKDF (RFC 2104, RFC 5869) over hashlib.sha256, which MicroPython has."""

import hashlib

_BLOCK = 64


def hmac_sha256(key, msg):
    """HMAC-SHA256 of msg under key (32-byte digest)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + bytes(_BLOCK - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(msg)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def hkdf_sha256(ikm, salt, info, length=32):
    """HKDF-SHA256 extract-and-expand."""
    prk = hmac_sha256(salt if salt else bytes(32), ikm)
    out = b""
    block = b""
    i = 1
    while len(out) < length:
        block = hmac_sha256(prk, block + info + bytes([i]))
        out += block
        i += 1
    return out[:length]


def equal(a, b):
    """Compare two byte strings in time that does not depend on where they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
