"""X25519 (RFC 7748) for the downlink key agreement; a band's Ed25519 key is its X25519 key."""

from protocol.ed25519 import _decode, _inv

_P = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED
_A24 = 121665  # (486662 - 2) / 4


def _ladder(k, u):
    """Return the u-coordinate of k*(u) as 32 bytes; raise ValueError if it is all zero."""
    # Montgomery ladder, RFC 7748 section 5. Speed is secondary: it runs once per enrolment.
    # Python ints are not constant time anyway, so the conditional swap is a plain branch.
    P = _P
    x1 = u % P
    x2 = 1
    z2 = 0
    x3 = x1
    z3 = 1
    swap = 0
    for t in range(254, -1, -1):
        bit = (k >> t) & 1
        if swap ^ bit:
            x2, x3 = x3, x2
            z2, z3 = z3, z2
        swap = bit
        a = x2 + z2
        aa = a * a % P
        b = x2 - z2
        bb = b * b % P
        e = aa - bb
        da = (x3 - z3) * a % P
        cb = (x3 + z3) * b % P
        s = da + cb
        x3 = s * s % P
        s = da - cb
        z3 = x1 * (s * s % P) % P
        x2 = aa * bb % P
        z2 = e * (aa + _A24 * e) % P
    if swap:
        x2 = x3
        z2 = z3
    out = x2 * _inv(z2) % P  # _inv(0) is 0, like z2**(p-2)
    if not out:
        # A low-order peer point; like cryptography/OpenSSL, refuse the all-zero secret.
        raise ValueError("X25519 result is all zero")
    return out.to_bytes(32, "little")


def _decode_u(u32):
    """Return the u-coordinate int of 32 bytes (the top bit ignored, as RFC 7748 says)."""
    if len(u32) != 32:
        raise ValueError("X25519 u-coordinate must be 32 bytes")
    return int.from_bytes(bytes(u32), "little") & ((1 << 255) - 1)


def x25519(scalar32, u32):
    """Return X25519(scalar32, u32) (RFC 7748): the scalar is clamped first."""
    if len(scalar32) != 32:
        raise ValueError("X25519 scalar must be 32 bytes")
    k = int.from_bytes(bytes(scalar32), "little")
    k = (k & ((1 << 254) - 8)) | (1 << 254)
    return _ladder(k, _decode_u(u32))


def x25519_from_ed25519_scalar(a_int, u32):
    """Return X25519 with the Ed25519 clamped secret scalar a (Signer.scalar) and peer u32."""
    # The Ed25519 clamp (bits 0-2 clear, bit 254 set, bit 255 clear) is the X25519 clamp, so a
    # is already a valid X25519 scalar. Anything else (e.g. a mod L) would be silently re-clamped
    # into a different key, so refuse it.
    if a_int >> 255 or a_int & 7 or not (a_int >> 254) & 1:
        raise ValueError("not a clamped Ed25519 secret scalar")
    return _ladder(a_int, _decode_u(u32))


def ed25519_public_to_x25519(pub32):
    """Return the X25519 u-coordinate (32 bytes) of an Ed25519 public key: u = (1+y)/(1-y)."""
    point = _decode(bytes(pub32))
    if point is None:
        raise ValueError("not a valid Ed25519 public key")
    y = point[1]
    if y == 1:
        raise ValueError("Ed25519 public key is the identity point")
    return ((1 + y) * _inv(1 - y) % _P).to_bytes(32, "little")
