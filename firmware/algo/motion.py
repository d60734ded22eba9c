"""Motion cancellation for wrist PPG: subtract what the accelerometer explains, by least squares."""

# Wrist motion reaches the PPG through pressure on the sensor and blood pushed about, both
# close to linear in the acceleration but with a small delay, so the PPG of one window is
# fitted by the three axes at each sample and at its two neighbours (a 3-tap filter per axis:
# a gain and a delay) and the fit is subtracted. The pulse is not correlated with the wrist's
# acceleration, so it stays. Everything is integer: the Gram matrix of the 9 regressors is
# built from 24 dot products (the other 21 entries follow by sliding the window one sample),
# solved by firmware.algo.lsq in Q14, and the weights applied in Q FIT_WQ.

from firmware.algo.lsq import RidgeSolver, isqrt

ACC_BITS = 10  # each axis scaled below 2**10 for the fit (its Gram sums stay small ints)
PPG_BITS = 11  # ... and the PPG below 2**11
FIT_WQ = 10  # fractional bits of the fitted weights


class MotionCanceller:
    """`cancel(ppg, axes, ppg_shift, shifts)` on int arrays of one window, in place."""

    def __init__(self, size, ridge_q14=164):
        if size < 8:
            raise ValueError("window too short for the motion fit")
        self.size = size
        self._solver = RidgeSolver(9, ridge_q14)
        self._g = [0] * 81
        self._b = [0] * 9
        self.motion = 0  # sum over axes of the mean square acceleration, in input units**2
        self.explained = False  # the last fit left under 2 % of the PPG's power: no pulse

    def cancel(self, ppg, axes, ppg_shift, shifts):
        """Scale ppg and each axis down by its shift, subtract the fit; largest |residual|."""
        size = self.size
        for i in range(size):
            ppg[i] >>= ppg_shift
        for a in range(3):
            axis = axes[a]
            shift = shifts[a]
            for i in range(size):
                axis[i] >>= shift
        g, b = self._g, self._b
        _gram(axes, size, g)
        # Regressor 3 * a + t is axis a at offset t - 1; the fit runs over samples 1..size-2
        # (the callers' Hann window is zero at 0 and size-1: nothing there matters).
        stop = size - 1
        for r in range(9):
            u = axes[r // 3]
            du = r % 3 - 1
            total = 0
            for i in range(1, stop):
                total += u[i + du] * ppg[i]
            b[r] = total
        power = 0
        for i in range(1, stop):
            power += ppg[i] * ppg[i]
        total = 0
        for a in range(3):  # mean squares of the axes (offset 0), undoing their scaling
            total += (g[(3 * a + 1) * 10] // (stop - 1)) << (2 * shifts[a])
        self.motion = total
        w0, w1, w2, w3, w4, w5, w6, w7, w8 = self._solver.solve(g, b, isqrt(power), FIT_WQ)
        ax, ay, az = axes
        biggest = 0
        left = 0  # power of the residual / 16 (so that the sum stays a small int)
        for i in range(1, stop):
            fit = (
                w0 * ax[i - 1]
                + w1 * ax[i]
                + w2 * ax[i + 1]
                + w3 * ay[i - 1]
                + w4 * ay[i]
                + w5 * ay[i + 1]
                + w6 * az[i - 1]
                + w7 * az[i]
                + w8 * az[i + 1]
            ) >> FIT_WQ
            v = ppg[i] - fit
            ppg[i] = v
            left += (v * v) >> 4
            if v > biggest:
                biggest = v
            elif -v > biggest:
                biggest = -v
        ppg[0] = ppg[stop] = 0
        # A PPG that the motion explains to 98 % has no pulse left to measure: what remains is
        # the fit's residue (about 1 % of a pulseless PPG, because the PPG is high-passed and
        # the axes are not). Every recorded wrist window kept at least 8 % of its power.
        self.explained = left < (power >> 4) // 50
        return biggest


def _gram(axes, size, g):
    """g[r * 9 + s] = sum over i in 1..size-2 of x_r[i] x_s[i], x_{3a+t}[i] = axes[a][i+t-1]."""
    last = size - 2
    for a in range(3):
        u = axes[a]
        for c in range(a + 1):
            v = axes[c]
            for t in range(3):
                for s in range(3):
                    if a == c and s < t:
                        continue  # the mirror of an entry already made
                    if t and s:
                        # Both taps one later than (t-1, s-1): the same sum one sample on.
                        k = (3 * a + t - 1) * 9 + 3 * c + s - 1
                        value = g[k] - u[t - 1] * v[s - 1] + u[last + t - 1] * v[last + s - 1]
                    else:
                        value = 0
                        for i in range(t, t + last):
                            value += u[i] * v[i + s - t]
                    g[(3 * a + t) * 9 + 3 * c + s] = value
                    g[(3 * c + s) * 9 + 3 * a + t] = value
