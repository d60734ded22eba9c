"""In-place radix-2 complex FFT on float arrays, with tables built once (MicroPython subset)."""

import math
from array import array


class FFT:
    """A fixed-size FFT: `transform(re, im)` overwrites two float arrays of length n."""

    def __init__(self, n):
        bits = 0
        while (1 << bits) < n:
            bits += 1
        if n < 2 or (1 << bits) != n:
            raise ValueError("FFT size must be a power of two >= 2")
        self.n = n
        half = n // 2
        self._cos = array("f", [math.cos(2.0 * math.pi * k / n) for k in range(half)])
        self._sin = array("f", [math.sin(2.0 * math.pi * k / n) for k in range(half)])
        # Pairs (i, j) with i < j to swap for bit-reversed order.
        swaps = []
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
        """Forward DFT, X[k] = sum x[t] exp(-2 pi i k t / n), in place."""
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
                    tr = re[b] * c + im[b] * s
                    ti = im[b] * c - re[b] * s
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                    k += step
            size <<= 1


def split_power(re, im, k, n):
    """Power at bin k of the two real signals packed as re + i*im before the transform."""
    # X[k] = (Z[k] + conj(Z[n-k])) / 2 and Y[k] = (Z[k] - conj(Z[n-k])) / 2i.
    m = (n - k) % n
    xr = re[k] + re[m]
    xi = im[k] - im[m]
    yr = im[k] + im[m]
    yi = re[m] - re[k]
    return (xr * xr + xi * xi) * 0.25, (yr * yr + yi * yi) * 0.25
