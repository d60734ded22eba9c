"""Fixed-point radix-2 FFT on int arrays: no floats, so no heap garbage on a MicroPython band."""

# MicroPython boxes every float on the heap; a float FFT of 256 points makes ~160 KB of garbage.
# Here samples are small ints (|x| < 2**13), twiddles are Q14, and every stage halves its
# output, so all intermediates stay below 2**29 (small ints on a 32-bit port) and the result
# is DFT / n. Spectra are only ever compared with each other, so the scale does not matter.

import math
from array import array

Q = 14
INPUT_LIMIT = 1 << 13  # callers scale their samples below this


class FFT:
    """A fixed-size FFT: `transform(re, im)` overwrites two int arrays of length n."""

    def __init__(self, n):
        bits = 0
        while (1 << bits) < n:
            bits += 1
        if n < 2 or (1 << bits) != n:
            raise ValueError("FFT size must be a power of two >= 2")
        self.n = n
        half = n // 2
        one = 1 << Q
        self._cos = array("h", [_q(one * math.cos(2.0 * math.pi * k / n)) for k in range(half)])
        self._sin = array("h", [_q(one * math.sin(2.0 * math.pi * k / n)) for k in range(half)])
        swaps = []  # pairs (i, j), i < j, to swap into bit-reversed order
        for i in range(n):
            j, x = 0, i
            for _ in range(bits):
                j = (j << 1) | (x & 1)
                x >>= 1
            if j > i:
                swaps.append(i)
                swaps.append(j)
        self._swaps = array("H", swaps)

    def transform(self, re, im):
        """In place: X[k] = sum x[t] exp(-2 pi i k t / n) / n, rounded down."""
        n = self.n
        sw = self._swaps
        for p in range(0, len(sw), 2):
            i = sw[p]
            j = sw[p + 1]
            re[i], re[j] = re[j], re[i]
            im[i], im[j] = im[j], im[i]
        cos_t = self._cos
        sin_t = self._sin
        size = 2
        while size <= n:
            half = size >> 1
            step = n // size
            for start in range(0, n, size):
                k = 0
                for a in range(start, start + half):
                    b = a + half
                    c = cos_t[k]
                    s = sin_t[k]
                    rb = re[b]
                    ib = im[b]
                    tr = (rb * c + ib * s) >> Q
                    ti = (ib * c - rb * s) >> Q
                    ra = re[a]
                    ia = im[a]
                    re[b] = (ra - tr) >> 1
                    im[b] = (ia - ti) >> 1
                    re[a] = (ra + tr) >> 1
                    im[a] = (ia + ti) >> 1
                    k += step
            size <<= 1


class RealFFT:
    """Power spectrum of one real signal of n samples through an n/2-point complex FFT."""

    # The even samples go in as the real part and the odd ones as the imaginary part; the
    # spectra of the two halves are separated (E[k] = (Z[k] + conj Z[n/2-k]) / 2, O[k] =
    # (Z[k] - conj Z[n/2-k]) / 2i) and joined, X[k] = E[k] + exp(-2 pi i k / n) O[k]: half
    # the butterflies of an n-point transform. X comes out as DFT / (n / 2).

    def __init__(self, n):
        if n < 4 or n & (n - 1):
            raise ValueError("FFT size must be a power of two >= 4")
        self.n = n
        half = n // 2
        self._fft = FFT(half)
        one = 1 << Q
        self._cos = array("h", [_q(one * math.cos(2.0 * math.pi * k / n)) for k in range(half)])
        self._sin = array("h", [_q(one * math.sin(2.0 * math.pi * k / n)) for k in range(half)])
        self._re = array("i", [0] * half)
        self._im = array("i", [0] * half)

    def power(self, x, lo, hi, out):
        """out[k - lo] = |X[k]|^2 for lo <= k <= hi < n/2; x: n ints with |x| < INPUT_LIMIT."""
        half = self.n // 2
        re, im = self._re, self._im
        for m in range(half):
            re[m] = x[2 * m]
            im[m] = x[2 * m + 1]
        self._fft.transform(re, im)
        cos_t, sin_t = self._cos, self._sin
        for k in range(lo, hi + 1):
            j = (half - k) % half
            zr = re[k]  # one name per line: a 4-tuple assignment would allocate
            zi = im[k]
            cr = re[j]
            ci = -im[j]
            er = (zr + cr) >> 1
            ei = (zi + ci) >> 1
            o_r = (zi - ci) >> 1
            o_i = (cr - zr) >> 1
            c = cos_t[k]
            s = sin_t[k]
            xr = er + ((o_r * c + o_i * s) >> Q)
            xi = ei + ((o_i * c - o_r * s) >> Q)
            out[k - lo] = xr * xr + xi * xi


def _q(x):
    """Nearest integer (the same on every port)."""
    return int(x + 0.5) if x >= 0 else -int(0.5 - x)
