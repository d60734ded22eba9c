"""Ridge least squares in integers (Cholesky in Q14): no floats, so no garbage on the band."""

# The heart-rate estimator fits the PPG by a few acceleration regressors every 2 s. A float
# solve would box every intermediate on a MicroPython heap; here the Gram matrix is
# normalised to a correlation matrix (unit diagonal) in Q14, a ridge is added to its
# diagonal, and Cholesky runs in integers. With |regressors| < 2**10, |target| < 2**11 and
# at most ~150 samples every input fits a 32-bit port's small ints; the bounds below keep the
# intermediates there too in all but pathological fits, and Python's integers make even those
# exact (they would only allocate). Accuracy: ~1e-4 relative on a matrix whose smallest
# eigenvalue the ridge keeps >= RIDGE / 2**14: plenty for cancelling motion.

Q = 14
ONE = 1 << Q
MIN_NORM = 16  # a regressor with sqrt(sum of squares) below this is left out (axis at rest)


def isqrt(n):
    """Floor of the square root of a non-negative int (Newton's method, integers only)."""
    if n <= 0:
        return 0
    x = n
    half_bits = 0
    while x >= 4:  # n < 4**(half_bits + 1), so 2**(half_bits + 1) is above the root
        x >>= 2
        half_bits += 1
    x = 2 << half_bits
    while True:
        y = (x + n // x) >> 1
        if y >= x:
            return x
        x = y


class RidgeSolver:
    """Weights w (list, Q `wq`) minimising |y - sum w_j x_j >> wq|^2 + ridge |w~|^2."""

    # Inputs to `solve`: the Gram matrix g (flat, m*m, sum x_j x_k; only j >= k is read) and
    # b (sum x_j y). The ridge acts on the normalised problem (each regressor scaled to unit
    # norm), so it is scale-free: 164 (1 %) shrinks directions the data hardly determines.

    def __init__(self, m, ridge_q14=164):
        if m < 1 or ridge_q14 < 1:
            raise ValueError("need m >= 1 and a positive ridge")
        self.m = m
        self.ridge = ridge_q14
        self._l = [0] * (m * m)  # Cholesky factor, Q14
        self._d = [0] * m  # norms of the regressors
        self._z = [0] * m
        self.w = [0] * m

    def solve(self, g, b, y_norm, wq):
        """Fill and return self.w; y_norm is sqrt(sum y^2) (bounds the work's range)."""
        m = self.m
        lf, d, z, w = self._l, self._d, self._z, self.w
        for j in range(m):
            d[j] = isqrt(g[j * m + j])
        # r_j = <x_j / |x_j|, y>, brought below 2**12 with the same shift as |y| (|r| <= |y|).
        rs = 0
        while (y_norm >> rs) >= 1 << 12:
            rs += 1
        for i in range(m):
            di = d[i]
            for j in range(i + 1):
                dj = d[j]
                if di < MIN_NORM or dj < MIN_NORM:
                    c = 0
                elif i == j:
                    c = ONE
                else:
                    c = _ratio_q14(g[i * m + j], di * dj)
                if i == j:
                    c += self.ridge
                s = c << Q
                for k in range(j):
                    s -= lf[i * m + k] * lf[j * m + k]
                if i == j:
                    lf[i * m + i] = isqrt(s) if s > 0 else 1
                else:
                    lf[i * m + j] = s // lf[j * m + j]
        for i in range(m):  # forward: L z = r
            r = (b[i] // d[i]) >> rs if d[i] >= MIN_NORM else 0
            s = r << Q
            for k in range(i):
                s -= lf[i * m + k] * z[k]
            z[i] = s // lf[i * m + i]
        for i in range(m - 1, -1, -1):  # back: L^T beta = z (beta kept in w)
            s = z[i] << Q
            for k in range(i + 1, m):
                s -= lf[k * m + i] * w[k]
            w[i] = s // lf[i * m + i]
        for j in range(m):  # per unit of x_j, in Q wq, undoing the shift of r
            w[j] = ((w[j] << (wq + rs)) // d[j]) if d[j] >= MIN_NORM else 0
        return w


def _ratio_q14(num, den):
    """num / den in Q14 for |num| <= den, with every intermediate below 2**30."""
    shift = 0
    while (den >> shift) >= 1 << 15:
        shift += 1
    return (num >> shift << Q) // ((den >> shift) or 1)
