"""Heart rate from wrist PPG: motion regressed out by the accelerometer, Bayesian peak tracking."""

# Every STEP_S seconds, over the last WINDOW_S seconds (TROIKA's 8 s / 2 s convention):
#   1. PPG and the three acceleration axes, decimated to ~12.5 Hz (pairs summed as they
#      arrive, so per sample the band only adds integers); the PPG high-passed (a 0.8 s
#      moving average removed), the axes mean-removed.
#   2. Motion cancellation (firmware.algo.motion): the part of the PPG that the three axes
#      explain linearly, each through a 3-tap filter (a gain and a small delay), is fitted by
#      ridge least squares over the window and subtracted. The pulse is not correlated with
#      the wrist's acceleration, so it stays.
#   3. The residual, Hann-windowed, through a 256-point fixed-point real FFT: 12.5/256 Hz =
#      2.9 BPM per bin between LOW_BPM and HIGH_BPM. A slope running off either edge of that
#      band is leakage, not a pulse, and is levelled off.
#   4. Tracking (firmware.algo.rate_tracker): a Bayes filter over the bins. The belief of the
#      last window is spread by how far the heart rate moves in STEP_S (SIGMA_BPM) plus a
#      small chance JUMP of being anywhere, then weighed by this window's spectrum (with a
#      FLOOR). The estimate is the spectral peak at or next to the most probable bin,
#      refined by parabolic interpolation.
#   5. Confidence 0..100 from the belief's mass within one bin of the estimate; 0 and no
#      estimate when the PPG is flat or saturated (the sensor is off the skin or blinded).
# Integer arithmetic throughout (block-scaled fixed point): a window leaves next to no
# garbage on the band's heap; only the sub-bin interpolation uses a few floats.

import math
from array import array

from firmware.algo.fft import INPUT_LIMIT, Q, RealFFT
from firmware.algo.lsq import isqrt
from firmware.algo.motion import ACC_BITS, PPG_BITS, MotionCanceller
from firmware.algo.rate_tracker import RateTracker

PPG_FULL_SCALE = (1 << 18) - 1  # MAX30102: 18-bit counts


class HeartRate:
    """Feed PPG + acceleration once per sample; a BPM estimate every STEP_S seconds."""

    # For the main loop: `feed` returns an int BPM when a window completes and None otherwise,
    # and also None for a completed but unusable window (flat, saturated or zero PPG: off the
    # skin; or a PPG the wrist's motion explains entirely), with last_confidence 0; `windows`
    # counts completed windows either way. Treat an estimate as evidence only from confidence
    # >= 50 (energy.HR_TRUSTED). `motion_mg` is the rms acceleration about its mean in the
    # last window. Other rates than 25 Hz work (the window is decimated to ~12.5 Hz) but only
    # 25 Hz is measured (docs/accuracy.md).

    WINDOW_S = 8
    STEP_S = 2
    N_FFT = 256
    LOW_BPM = 45
    HIGH_BPM = 200
    HIGHPASS_S = 0.8  # moving-average length removed from the PPG (a high-pass near 0.4 Hz)
    MIN_AC = 4  # PPG swing (counts, decimated sum) below which the signal is flat
    RIDGE = 164  # Q14 (1 %): ridge of the motion fit on its normalised regressors
    SIGMA_BPM = 3.0  # spread of the heart rate's change from one window to the next
    JUMP = 0.005  # chance per window that the rate is anywhere in the band
    FLOOR = 51  # Q8 (0.2): likelihood of a bin with no power, relative to the strongest
    MASS_LOW = 40  # belief within one bin of the estimate (%) that means confidence 0 ...
    MASS_HIGH = 80  # ... and 100
    LOST_RESET = 5  # windows without a usable pulse after which the track starts afresh

    def __init__(self, rate_hz=25):
        if rate_hz < 10 or rate_hz > 400:
            raise ValueError("rate_hz must be 10..400")
        self.rate_hz = rate_hz
        self._dec = max(1, int(rate_hz / 12.5 + 0.5))  # samples summed per decimated sample
        self.fs = rate_hz / self._dec
        self._len = int(self.WINDOW_S * self.fs + 0.5)
        if self._len > self.N_FFT:
            raise ValueError("window longer than the FFT")
        self._every = self.STEP_S * rate_hz  # samples between estimates
        size = self._len
        self._ppg = array("i", [0] * size)
        self._ax = array("i", [0] * size)
        self._ay = array("i", [0] * size)
        self._az = array("i", [0] * size)
        self._rings = (self._ax, self._ay, self._az)
        self._pos = 0  # next write index in the rings
        self._filled = 0
        self._acc = [0, 0, 0, 0]  # decimation sums
        self._k = 0  # samples in the current decimation sum
        self._n = 0  # samples seen
        self._bad_left = 0  # decimated samples until a bad sample leaves the window
        n = self.N_FFT
        self._fft = RealFFT(n)
        self._re = array("i", [0] * n)
        self._axes = (array("i", [0] * size), array("i", [0] * size), array("i", [0] * size))
        self._shifts = [0, 0, 0]  # per axis, to bring it below 2**ACC_BITS for the fit
        self._tmp = array("i", [0] * size)
        self._hp_half = int(self.HIGHPASS_S * self.fs / 2)
        # Hann window in Q14 (zero at both ends, where the motion fit leaves the PPG alone).
        self._win = array(
            "h", [int(8192 - 8192 * math.cos(2 * math.pi * i / (size - 1))) for i in range(size)]
        )
        self._k_lo = max(2, int(self.LOW_BPM / 60.0 * n / self.fs))
        self._k_hi = min(n // 2 - 2, int(self.HIGH_BPM / 60.0 * n / self.fs) + 1)
        bins = self._k_hi - self._k_lo + 1
        self._p = array("i", [0] * bins)
        self._motion = MotionCanceller(size, self.RIDGE)
        sigma_bins = self.SIGMA_BPM / 60.0 * n / self.fs
        self._tracker = RateTracker(
            bins, sigma_bins, self.JUMP, self.FLOOR, self.MASS_LOW, self.MASS_HIGH
        )
        self.last_bpm = None
        self.last_confidence = 0
        self.windows = 0  # windows completed (an estimate, or None when unusable)
        self.motion_mg = 0  # rms acceleration about its mean in the last window, milli-g

    def feed(self, ppg, x_mg, y_mg, z_mg):
        """Take one sample; return a BPM estimate when a window completes, else None."""
        acc = self._acc
        acc[0] += ppg
        acc[1] += x_mg
        acc[2] += y_mg
        acc[3] += z_mg
        if ppg <= 0 or ppg >= PPG_FULL_SCALE:
            self._bad_left = self._len + 1
        self._k += 1
        if self._k == self._dec:
            p = self._pos
            self._ppg[p] = acc[0]
            self._ax[p] = acc[1]
            self._ay[p] = acc[2]
            self._az[p] = acc[3]
            acc[0] = acc[1] = acc[2] = acc[3] = 0
            self._k = 0
            self._pos = (p + 1) % self._len
            if self._filled < self._len:
                self._filled += 1
            if self._bad_left:
                self._bad_left -= 1
        self._n += 1
        if self._n % self._every or self._filled < self._len:
            return None
        return self._estimate()

    def _detrend(self, ring, dst, highpass):
        """Copy a ring (oldest first) into dst minus its baseline; (largest |value|, swing)."""
        size = self._len
        pos = self._pos
        lo = hi = ring[pos]
        total = 0
        for i in range(size):
            v = ring[(pos + i) % size]
            dst[i] = v
            total += v
            if v < lo:
                lo = v
            elif v > hi:
                hi = v
        biggest = 0
        if highpass:
            # Subtract a centred moving average (~0.8 s): PPG baselines wander with pressure
            # and breathing below 0.5 Hz, and that leakage would otherwise win at the band's
            # low edge. The average runs one step behind, in `tmp`, to read unmodified input.
            half = self._hp_half
            width = 2 * half + 1
            tmp = self._tmp
            run = 0
            for i in range(-half, half + 1):
                run += dst[min(size - 1, max(0, i))]
            for i in range(size):
                tmp[i] = dst[i] - run // width
                run += dst[min(size - 1, i + half + 1)] - dst[max(0, i - half)]
            for i in range(size):
                v = tmp[i]
                dst[i] = v
                if abs(v) > biggest:
                    biggest = abs(v)
        else:
            mean = total // size
            for i in range(size):
                v = dst[i] - mean
                dst[i] = v
                if abs(v) > biggest:
                    biggest = abs(v)
        return biggest, hi - lo

    def _estimate(self):
        """Estimate the heart rate over the current window."""
        self.windows += 1
        re = self._re
        size = self._len
        big_p, swing = self._detrend(self._ppg, re, True)
        if self._bad_left or swing < self.MIN_AC:
            return self._lost()
        axes, shifts = self._axes, self._shifts
        rings = self._rings
        for a in range(3):
            shifts[a] = _bits_for(self._detrend(rings[a], axes[a], False)[0], ACC_BITS)
        motion = self._motion
        big_r = motion.cancel(re, axes, _bits_for(big_p, PPG_BITS), shifts)
        self.motion_mg = isqrt(motion.motion) // self._dec  # undo the decimation sums
        if motion.explained:
            return self._lost()
        # Fill the FFT's input range again (the fit worked on PPG_BITS), then window.
        up = 0
        while big_r and (big_r << (up + 1)) < INPUT_LIMIT:
            up += 1
        down = 0
        while (big_r >> down) >= INPUT_LIMIT:
            down += 1
        win = self._win
        for i in range(size):
            re[i] = (((re[i] << up) >> down) * win[i]) >> Q
        for i in range(size, self.N_FFT):
            re[i] = 0
        p = self._p
        self._fft.power(re, self._k_lo, self._k_hi, p)
        top = 0
        for v in p:
            if v > top:
                top = v
        if top <= 0:
            return self._lost()
        _flatten_edges(p)
        best = self._tracker.update(p)
        # The estimate: the spectral peak at or next to the most probable bin, interpolated.
        j = best
        if best > 0 and p[best - 1] > p[j]:
            j = best - 1
        if best < len(p) - 1 and p[best + 1] > p[j]:
            j = best + 1
        bpm = (self._k_lo + j + _parabola(p, j)) * self.fs * 60.0 / self.N_FFT
        self.last_bpm = int(bpm + 0.5)
        self.last_confidence = self._tracker.confidence
        return self.last_bpm

    def _lost(self):
        """No usable pulse in this window (off skin, flat, saturated, or nothing but motion)."""
        self.last_confidence = 0
        if self._tracker.skip() > self.LOST_RESET:
            self._tracker.reset()  # too long without a pulse: search the whole band again
        return None


def _bits_for(biggest, bits):
    """Right shift that brings |values| <= biggest below 2**bits."""
    shift = 0
    while (biggest >> shift) >= 1 << bits:
        shift += 1
    return shift


def _flatten_edges(c):
    """A slope running off either edge of the band is leakage, not a pulse: level it off."""
    count = len(c)
    i = 0
    while i + 1 < count and c[i + 1] <= c[i]:
        i += 1
    for k in range(i):
        c[k] = c[i]
    i = count - 1
    while i > 0 and c[i - 1] <= c[i]:
        i -= 1
    for k in range(i + 1, count):
        c[k] = c[i]


def _parabola(c, i):
    """Sub-bin offset of a peak at i from the parabola through its neighbours."""
    if i <= 0 or i >= len(c) - 1:
        return 0.0
    left, mid, right = c[i - 1], c[i], c[i + 1]
    den = left - 2 * mid + right
    if den >= 0:
        return 0.0
    off = 0.5 * (left - right) / den
    return max(-0.5, min(0.5, off))
