"""SHA-512 (FIPS 180-4) in plain Python: MicroPython's hashlib has only SHA-256."""

from struct import pack, unpack_from

# fmt: off
# Round constants: the first 64 bits of the fractional parts of the cube roots of the first
# 80 primes.
_K = (
    0x428A2F98D728AE22, 0x7137449123EF65CD, 0xB5C0FBCFEC4D3B2F,
    0xE9B5DBA58189DBBC, 0x3956C25BF348B538, 0x59F111F1B605D019,
    0x923F82A4AF194F9B, 0xAB1C5ED5DA6D8118, 0xD807AA98A3030242,
    0x12835B0145706FBE, 0x243185BE4EE4B28C, 0x550C7DC3D5FFB4E2,
    0x72BE5D74F27B896F, 0x80DEB1FE3B1696B1, 0x9BDC06A725C71235,
    0xC19BF174CF692694, 0xE49B69C19EF14AD2, 0xEFBE4786384F25E3,
    0x0FC19DC68B8CD5B5, 0x240CA1CC77AC9C65, 0x2DE92C6F592B0275,
    0x4A7484AA6EA6E483, 0x5CB0A9DCBD41FBD4, 0x76F988DA831153B5,
    0x983E5152EE66DFAB, 0xA831C66D2DB43210, 0xB00327C898FB213F,
    0xBF597FC7BEEF0EE4, 0xC6E00BF33DA88FC2, 0xD5A79147930AA725,
    0x06CA6351E003826F, 0x142929670A0E6E70, 0x27B70A8546D22FFC,
    0x2E1B21385C26C926, 0x4D2C6DFC5AC42AED, 0x53380D139D95B3DF,
    0x650A73548BAF63DE, 0x766A0ABB3C77B2A8, 0x81C2C92E47EDAEE6,
    0x92722C851482353B, 0xA2BFE8A14CF10364, 0xA81A664BBC423001,
    0xC24B8B70D0F89791, 0xC76C51A30654BE30, 0xD192E819D6EF5218,
    0xD69906245565A910, 0xF40E35855771202A, 0x106AA07032BBD1B8,
    0x19A4C116B8D2D0C8, 0x1E376C085141AB53, 0x2748774CDF8EEB99,
    0x34B0BCB5E19B48A8, 0x391C0CB3C5C95A63, 0x4ED8AA4AE3418ACB,
    0x5B9CCA4F7763E373, 0x682E6FF3D6B2B8A3, 0x748F82EE5DEFB2FC,
    0x78A5636F43172F60, 0x84C87814A1F0AB72, 0x8CC702081A6439EC,
    0x90BEFFFA23631E28, 0xA4506CEBDE82BDE9, 0xBEF9A3F7B2C67915,
    0xC67178F2E372532B, 0xCA273ECEEA26619C, 0xD186B8C721C0C207,
    0xEADA7DD6CDE0EB1E, 0xF57D4F7FEE6ED178, 0x06F067AA72176FBA,
    0x0A637DC5A2C898A6, 0x113F9804BEF90DAE, 0x1B710B35131C471B,
    0x28DB77F523047D84, 0x32CAAB7B40C72493, 0x3C9EBE0A15C9BEBC,
    0x431D67C49C100D4C, 0x4CC5D4BECB3E42B6, 0x597F299CFC657E2A,
    0x5FCB6FAB3AD6FAEC, 0x6C44198C4A475817,
)

# Initial hash value: the first 64 bits of the fractional parts of the square roots of the
# first 8 primes.
_IV = (
    0x6A09E667F3BCC908,
    0xBB67AE8584CAA73B,
    0x3C6EF372FE94F82B,
    0xA54FF53A5F1D36F1,
    0x510E527FADE682D1,
    0x9B05688C2B3E6C1F,
    0x1F83D9ABFB41BD6B,
    0x5BE0CD19137E2179,
)
# fmt: on


def _compress(state, block, offset):
    """Run the 80 rounds over the 128-byte block at block[offset:] and return the new state."""
    # On a 32-bit MicroPython the 64-bit words are bigints and every operator allocates, so
    # the code keeps the operator count low and unrolls loops to avoid list indexing.
    M = 0xFFFFFFFFFFFFFFFF
    # x * R == x | (x << 64) for x < 2**64 in one operator; then any right shift rotates.
    R = 0x10000000000000001
    K = _K
    w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15 = unpack_from(
        ">16Q", block, offset
    )
    w = [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15]
    # Message schedule w[t] = sigma1(w[t-2]) + w[t-7] + sigma0(w[t-15]) + w[t-16], 16 words
    # per pass in a window of 16 names. Words t and t+1 share each sigma, packed as
    # lo | hi << 128: times R the two 128-bit lanes do not overlap, the shifts pull hi's bits
    # into lo's lane only above bit 64, and >> 128 takes hi's result out. Bits above 64 in a
    # sum are dropped by its one mask.
    for _ in range(4):
        x = w1 | (w2 << 128)
        y = w14 | (w15 << 128)
        s0 = x * R
        s1 = y * R
        s0 = ((s0 ^ (s0 >> 7)) >> 1) ^ (x >> 7)
        s1 = ((s1 ^ (s1 >> 42)) >> 19) ^ (y >> 6)
        w0 = (s1 + w9 + s0 + w0) & M
        w1 = ((s1 >> 128) + w10 + (s0 >> 128) + w1) & M
        x = w3 | (w4 << 128)
        y = w0 | (w1 << 128)
        s0 = x * R
        s1 = y * R
        s0 = ((s0 ^ (s0 >> 7)) >> 1) ^ (x >> 7)
        s1 = ((s1 ^ (s1 >> 42)) >> 19) ^ (y >> 6)
        w2 = (s1 + w11 + s0 + w2) & M
        w3 = ((s1 >> 128) + w12 + (s0 >> 128) + w3) & M
        x = w5 | (w6 << 128)
        y = w2 | (w3 << 128)
        s0 = x * R
        s1 = y * R
        s0 = ((s0 ^ (s0 >> 7)) >> 1) ^ (x >> 7)
        s1 = ((s1 ^ (s1 >> 42)) >> 19) ^ (y >> 6)
        w4 = (s1 + w13 + s0 + w4) & M
        w5 = ((s1 >> 128) + w14 + (s0 >> 128) + w5) & M
        x = w7 | (w8 << 128)
        y = w4 | (w5 << 128)
        s0 = x * R
        s1 = y * R
        s0 = ((s0 ^ (s0 >> 7)) >> 1) ^ (x >> 7)
        s1 = ((s1 ^ (s1 >> 42)) >> 19) ^ (y >> 6)
        w6 = (s1 + w15 + s0 + w6) & M
        w7 = ((s1 >> 128) + w0 + (s0 >> 128) + w7) & M
        x = w9 | (w10 << 128)
        y = w6 | (w7 << 128)
        s0 = x * R
        s1 = y * R
        s0 = ((s0 ^ (s0 >> 7)) >> 1) ^ (x >> 7)
        s1 = ((s1 ^ (s1 >> 42)) >> 19) ^ (y >> 6)
        w8 = (s1 + w1 + s0 + w8) & M
        w9 = ((s1 >> 128) + w2 + (s0 >> 128) + w9) & M
        x = w11 | (w12 << 128)
        y = w8 | (w9 << 128)
        s0 = x * R
        s1 = y * R
        s0 = ((s0 ^ (s0 >> 7)) >> 1) ^ (x >> 7)
        s1 = ((s1 ^ (s1 >> 42)) >> 19) ^ (y >> 6)
        w10 = (s1 + w3 + s0 + w10) & M
        w11 = ((s1 >> 128) + w4 + (s0 >> 128) + w11) & M
        x = w13 | (w14 << 128)
        y = w10 | (w11 << 128)
        s0 = x * R
        s1 = y * R
        s0 = ((s0 ^ (s0 >> 7)) >> 1) ^ (x >> 7)
        s1 = ((s1 ^ (s1 >> 42)) >> 19) ^ (y >> 6)
        w12 = (s1 + w5 + s0 + w12) & M
        w13 = ((s1 >> 128) + w6 + (s0 >> 128) + w13) & M
        x = w15 | (w0 << 128)
        y = w12 | (w13 << 128)
        s0 = x * R
        s1 = y * R
        s0 = ((s0 ^ (s0 >> 7)) >> 1) ^ (x >> 7)
        s1 = ((s1 ^ (s1 >> 42)) >> 19) ^ (y >> 6)
        w14 = (s1 + w7 + s0 + w14) & M
        w15 = ((s1 >> 128) + w8 + (s0 >> 128) + w15) & M
        w += (w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15)
    a, b, c, d, e, f, g, h = state
    # maj(a, b, c) == b ^ ((a ^ b) & (b ^ c)), and this round's a ^ b is the next round's b ^ c.
    bc = b ^ c
    # Eight rounds per pass so that the working variables rotate by renaming, not by copying.
    # Sigma1(e) = rotr14(e ^ rotr4(e) ^ rotr27(e)), Sigma0(a) = rotr28(a ^ rotr6(a) ^ rotr11(a));
    # ch(e, f, g) = ((f ^ g) & e) ^ g.
    for t in range(0, 80, 8):
        k0, k1, k2, k3, k4, k5, k6, k7 = K[t : t + 8]
        w0, w1, w2, w3, w4, w5, w6, w7 = w[t : t + 8]
        x = e * R
        t1 = h + k0 + w0 + ((x ^ (x >> 4) ^ (x >> 27)) >> 14) + (((f ^ g) & e) ^ g)
        d = (d + t1) & M
        x = a * R
        ab = a ^ b
        h = (t1 + ((x ^ (x >> 6) ^ (x >> 11)) >> 28) + (b ^ (ab & bc))) & M
        bc = ab
        x = d * R
        t1 = g + k1 + w1 + ((x ^ (x >> 4) ^ (x >> 27)) >> 14) + (((e ^ f) & d) ^ f)
        c = (c + t1) & M
        x = h * R
        ab = h ^ a
        g = (t1 + ((x ^ (x >> 6) ^ (x >> 11)) >> 28) + (a ^ (ab & bc))) & M
        bc = ab
        x = c * R
        t1 = f + k2 + w2 + ((x ^ (x >> 4) ^ (x >> 27)) >> 14) + (((d ^ e) & c) ^ e)
        b = (b + t1) & M
        x = g * R
        ab = g ^ h
        f = (t1 + ((x ^ (x >> 6) ^ (x >> 11)) >> 28) + (h ^ (ab & bc))) & M
        bc = ab
        x = b * R
        t1 = e + k3 + w3 + ((x ^ (x >> 4) ^ (x >> 27)) >> 14) + (((c ^ d) & b) ^ d)
        a = (a + t1) & M
        x = f * R
        ab = f ^ g
        e = (t1 + ((x ^ (x >> 6) ^ (x >> 11)) >> 28) + (g ^ (ab & bc))) & M
        bc = ab
        x = a * R
        t1 = d + k4 + w4 + ((x ^ (x >> 4) ^ (x >> 27)) >> 14) + (((b ^ c) & a) ^ c)
        h = (h + t1) & M
        x = e * R
        ab = e ^ f
        d = (t1 + ((x ^ (x >> 6) ^ (x >> 11)) >> 28) + (f ^ (ab & bc))) & M
        bc = ab
        x = h * R
        t1 = c + k5 + w5 + ((x ^ (x >> 4) ^ (x >> 27)) >> 14) + (((a ^ b) & h) ^ b)
        g = (g + t1) & M
        x = d * R
        ab = d ^ e
        c = (t1 + ((x ^ (x >> 6) ^ (x >> 11)) >> 28) + (e ^ (ab & bc))) & M
        bc = ab
        x = g * R
        t1 = b + k6 + w6 + ((x ^ (x >> 4) ^ (x >> 27)) >> 14) + (((h ^ a) & g) ^ a)
        f = (f + t1) & M
        x = c * R
        ab = c ^ d
        b = (t1 + ((x ^ (x >> 6) ^ (x >> 11)) >> 28) + (d ^ (ab & bc))) & M
        bc = ab
        x = f * R
        t1 = a + k7 + w7 + ((x ^ (x >> 4) ^ (x >> 27)) >> 14) + (((g ^ h) & f) ^ h)
        e = (e + t1) & M
        x = b * R
        ab = b ^ c
        a = (t1 + ((x ^ (x >> 6) ^ (x >> 11)) >> 28) + (c ^ (ab & bc))) & M
        bc = ab
    return (
        (state[0] + a) & M,
        (state[1] + b) & M,
        (state[2] + c) & M,
        (state[3] + d) & M,
        (state[4] + e) & M,
        (state[5] + f) & M,
        (state[6] + g) & M,
        (state[7] + h) & M,
    )


def sha512(data):
    """Return the 64-byte SHA-512 digest of data (bytes-like)."""
    if not isinstance(data, (bytes, bytearray)):
        data = bytes(data)  # bytes.join() under MicroPython takes no memoryview
    n = len(data)
    # Pad to a multiple of 128 bytes: 0x80, zeros, then the bit length as 128-bit big endian.
    padded = b"".join(
        (data, b"\x80", bytes((111 - n) % 128), pack(">QQ", n >> 61, (n << 3) & 0xFFFFFFFFFFFFFFFF))
    )
    state = _IV
    for offset in range(0, len(padded), 128):
        state = _compress(state, padded, offset)
    return pack(">8Q", *state)
