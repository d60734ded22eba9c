"""Ed25519 signatures (RFC 8032) on plain Python ints, for MicroPython bands and CPython tools."""

# Nothing here is constant time: bigint operations take value-dependent time on any Python.
# The code at least avoids secret-dependent skipping of work (see _base_mul).

from protocol.ed25519_table import MULTIPLES, POSITIONS, TABLE
from protocol.sha512 import sha512

# Field prime p = 2**255 - 19, group order L, curve constant d = -121665/121666 and 2*d,
# and sqrt(-1) = 2**((p-1)/4) mod p. The base point B lives in the table.
_P = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED
_L = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED
_D = 0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3
_D2 = 0x2406D9DC56DFFCE7198E80F2EEF3D13000E0149A8283B156EBD69B9426B2F159
_SQRT_M1 = 0x2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0

# s + 0x88..88 read nibble by nibble, minus 8 each, gives s in signed radix-16 digits [-8, 7].
_EIGHTS = 0x8888888888888888888888888888888888888888888888888888888888888888
_M256 = (1 << 256) - 1
_M255 = (1 << 255) - 1
_STRIDE = MULTIPLES * 96  # bytes per table position
_TABLE = memoryview(TABLE)  # slicing a memoryview does not copy the 96 bytes

if POSITIONS != 32 or MULTIPLES != 8:
    raise ImportError("ed25519_table layout does not match ed25519.py")


def _inv(z):
    """Return 1/z mod p by the extended Euclidean algorithm (0 for z == 0, like z**(p-2))."""
    # pow(z, p - 2, p) costs ~5x as much under MicroPython: each of its ~510 steps divides.
    # Invariants: a == u*z and b == v*z (mod p); the gcd is 1, so the last nonzero one is 1.
    P = _P
    a = P
    b = z % P
    u = 0
    v = 1
    while b:
        q, a = divmod(a, b)
        u -= q * v
        if not a:
            return v % P
        q, b = divmod(b, a)
        v -= q * u
    return u % P


def _base_mul(s):
    """Return s*B for 0 <= s < 2**253 as extended coordinates (X, Y, Z, T)."""
    # ref10's method: s = sum e_k 16**k with e_k in [-8, 7]; first add the odd-k digits from
    # the table of j * 256**i * B, multiply by 16, then add the even-k digits.
    P = _P
    M = _M256
    F = _M255
    tbl = _TABLE
    stride = _STRIDE
    fb = int.from_bytes
    digits = (s + _EIGHTS).to_bytes(32, "little")
    X = 0
    Y = 1
    Z = 1
    T = 0
    for shift in (4, 0):
        o = 0
        for i in range(32):
            e = ((digits[i] >> shift) & 15) - 8
            # Zero digits add the identity (1, 1, 0) instead of being skipped, so the work done
            # does not depend on how many digits of the secret nonce are zero.
            if e > 0:
                k = o + e * 96
                v = fb(tbl[k - 96 : k], "little")
                ypx = v & M
                ymx = (v >> 256) & M
                c = v >> 512
            elif e < 0:
                # -(x, y) = (-x, y): swap y+x with y-x and negate 2dxy.
                k = o - e * 96
                v = fb(tbl[k - 96 : k], "little")
                ymx = v & M
                ypx = (v >> 256) & M
                c = -(v >> 512)
            else:
                ypx = 1
                ymx = 1
                c = 0
            # Mixed addition, extended + affine niels (Hisil-Wong-Carter-Dawson 2008, a = -1).
            # a, b and c are only folded below 2**261 (lo + 19*hi costs less than %); the
            # products that use them are then reduced fully, so nothing grows.
            a = (Y + X) * ypx
            a = (a & F) + (a >> 255) * 19
            b = (Y - X) * ymx
            b = (b & F) + (b >> 255) * 19
            c *= T
            c = (c & F) + (c >> 255) * 19
            d = Z + Z
            x = a - b
            y = a + b
            z = d + c
            t = d - c
            X = x * t % P
            Y = y * z % P
            Z = z * t % P
            T = x * y % P
            o += stride
        if shift:
            # Four doublings (times 16); T is not an input of doubling, so only the last needs it.
            for _ in range(4):
                a = X * X
                a = (a & F) + (a >> 255) * 19
                b = Y * Y
                b = (b & F) + (b >> 255) * 19
                c = Z * Z
                c = ((c & F) + (c >> 255) * 19) << 1
                d = X + Y
                d *= d
                y = b + a
                z = b - a
                x = (d & F) + (d >> 255) * 19 - y
                t = c - z
                X = x * t % P
                Y = y * z % P
                Z = z * t % P
            T = x * y % P
    return X, Y, Z, T


def _encode(xp, yp, zp):
    """Return the 32-byte encoding of the projective point (xp : yp : zp)."""
    zi = _inv(zp)
    x = xp * zi % _P
    y = yp * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _expand(seed):
    """Return (clamped scalar a, prefix) from a 32-byte seed (RFC 8032 section 5.1.5)."""
    if len(seed) != 32:
        raise ValueError("Ed25519 seed must be 32 bytes")
    h = sha512(seed)
    a = int.from_bytes(h[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    return a, h[32:]


class Signer:
    """An Ed25519 private key, expanded once; sign() is deterministic (RFC 8032)."""

    def __init__(self, seed):
        a, prefix = _expand(seed)
        self.scalar = a
        self._a = a % _L
        self._prefix = prefix
        X, Y, Z, _ = _base_mul(self._a)
        self.public_key = _encode(X, Y, Z)

    def sign(self, msg):
        """Return the 64-byte signature R || S of msg."""
        if not isinstance(msg, bytes):
            msg = bytes(msg)
        fb = int.from_bytes
        r = fb(sha512(self._prefix + msg), "little") % _L
        X, Y, Z, _ = _base_mul(r)
        R = _encode(X, Y, Z)
        k = fb(sha512(R + self.public_key + msg), "little") % _L
        return R + ((r + k * self._a) % _L).to_bytes(32, "little")


def public_key(seed):
    """Return the 32-byte public key of a 32-byte seed."""
    return Signer(seed).public_key


# Verification: slow generic arithmetic, for tests and tools; the band only signs.


def _add(p1, p2):
    """Return p1 + p2 in extended coordinates (unified formula, a = -1)."""
    P = _P
    X1, Y1, Z1, T1 = p1
    X2, Y2, Z2, T2 = p2
    a = (Y1 - X1) * (Y2 - X2) % P
    b = (Y1 + X1) * (Y2 + X2) % P
    c = T1 * _D2 % P * T2 % P
    d = Z1 * Z2 * 2 % P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def _mul(k, pt):
    """Return k*pt (k >= 0) by double-and-add."""
    q = (0, 1, 1, 0)
    while k:
        if k & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        k >>= 1
    return q


def _decode(s):
    """Return the extended point encoded by 32 bytes s, or None if s is not a valid point."""
    P = _P
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    # x**2 = u/v; candidate x = u v**3 (u v**7)**((p-5)/8) (RFC 8032 section 5.1.3).
    yy = y * y % P
    u = (yy - 1) % P
    v = (_D * yy + 1) % P
    v3 = v * v * v % P
    x = u * v3 * pow(u * v3 * v3 * v % P, (P - 5) // 8, P) % P
    vxx = v * x * x % P
    if vxx != u:
        if vxx != P - u:
            return None
        x = x * _SQRT_M1 % P
    if x == 0 and sign:
        return None
    if (x & 1) != sign:
        x = P - x
    return x, y, 1, x * y % P


def verify(public_key, msg, sig):
    """Return True if sig is a valid signature of msg under the 32-byte public_key."""
    public_key = bytes(public_key)
    sig = bytes(sig)
    if len(sig) != 64:
        return False
    A = _decode(public_key)
    if A is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False
    k = int.from_bytes(sha512(sig[:32] + public_key + bytes(msg)), "little") % _L
    # R' = s*B - k*A must encode to the R in the signature (cofactorless, like OpenSSL).
    X, Y, Z, T = _mul(k, A)
    Q = _add(_base_mul(s), (_P - X, Y, Z, _P - T))
    return _encode(Q[0], Q[1], Q[2]) == sig[:32]
