"""Heart rate from wrist PPG with accelerometer motion rejection (spectral peak tracking)."""

# Every STEP_S seconds, over the last WINDOW_S seconds (TROIKA's 8 s / 2 s convention):
#   1. PPG and the three acceleration axes, decimated to ~12.5 Hz (pairs summed as they
#      arrive, so per sample the band only adds integers), detrended and Hann-windowed.
#   2. Two complex 256-point FFTs carry the four real signals (PPG + x, y + z): frequency
#      resolution 12.5/256 Hz = 2.9 BPM per bin, refined by parabolic interpolation. All of
#      it is integer arithmetic (block-scaled fixed point), so a window leaves next to no
#      garbage on the band's heap (only the sub-bin interpolation and tracking use floats).
#   3. Motion rejection: bins where the accelerometer has power are attenuated with a Wiener-
#      like gain Pn / (Pn + MOTION_WEIGHT * An) (normalised PPG and acceleration spectra), as in
#      Temko's WFPV; at rest An is near zero and nothing is attenuated.
#   4. Tracking: the heart rate moves little in 2 s, so once a window is confident (SURE) the
#      peak is searched near the previous estimate (a range that widens by WIDEN_BPM per
#      unsure window), and in motion an unsure window may move it by HOLD_BPM at most, so a
#      weak pulse cannot drag the track onto the cadence. Before that, and after a lost
#      track, the strongest peak of the cleaned spectrum is taken. When still, a peak twice
#      as strong off the track for two windows takes over (the track had followed motion).
#   5. Confidence 0..100 from how much of the cleaned in-band power the chosen peak holds,
#      lowered under heavy motion; 0 and no estimate when the PPG is flat or saturated (the
#      sensor is off the skin or blinded).

import math
from array import array

from firmware.algo.fft import FFT, INPUT_LIMIT, Q, split_power

PPG_FULL_SCALE = (1 << 18) - 1  # MAX30102: 18-bit counts
ACC_NOISE = 100  # acceleration power per bin (FFT units) treated as no motion at all


class HeartRate:
    """Feed PPG + acceleration once per sample; a BPM estimate every STEP_S seconds."""

    # For the main loop: `feed` returns an int BPM when a window completes and None otherwise,
    # and also None for a completed but unusable window (flat, saturated or zero PPG: off the
    # skin), with last_confidence 0; `windows` counts completed windows either way. Treat an
    # estimate as evidence only from confidence >= 50 (energy.HR_TRUSTED). `motion_mg` is the
    # rms in-band acceleration of the last window. Other rates than 25 Hz work (the window is
    # decimated to ~12.5 Hz) but only 25 Hz is measured (docs/accuracy.md).

    WINDOW_S = 8
    STEP_S = 2
    N_FFT = 256
    LOW_BPM = 45
    HIGH_BPM = 200
    MOTION_WEIGHT = 10.0  # how hard bins with accelerometer power are attenuated
    TRACK_BPM = 8  # search half-width around the previous estimate
    WIDEN_BPM = 3  # ... widened by this much for every unsure window since
    HIGHPASS_S = 0.8  # moving-average length removed from the PPG (a high-pass near 0.4 Hz)
    REACQUIRE = 2  # jump to a peak outside the track when it is this many times stronger
    STILL = 0.3  # motion level (0..1) below which the track may jump to a stronger peak
    UNSURE = 25  # confidence below which a window is unsure
    SURE = 50  # confidence at which a fresh track is believed (then it is held in motion)
    HOLD_BPM = 3  # an unsure window moves the track at most this far
    MIN_AC = 4  # PPG swing (counts, decimated sum) below which the signal is flat

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
        self._pos = 0  # next write index in the rings
        self._filled = 0
        self._acc = [0, 0, 0, 0]  # decimation sums
        self._k = 0  # samples in the current decimation sum
        self._n = 0  # samples seen
        self._bad_left = 0  # decimated samples until a bad sample leaves the window
        n = self.N_FFT
        self._fft = FFT(n)
        self._re1 = array("i", [0] * n)
        self._im1 = array("i", [0] * n)
        self._re2 = array("i", [0] * n)
        self._im2 = array("i", [0] * n)
        self._tmp = array("i", [0] * size)
        self._hp_half = int(self.HIGHPASS_S * self.fs / 2)
        # Hann window in Q14.
        self._win = array(
            "h", [int(8192 - 8192 * math.cos(2 * math.pi * i / (size - 1))) for i in range(size)]
        )
        self._k_lo = max(2, int(self.LOW_BPM / 60.0 * n / self.fs))
        self._k_hi = min(n // 2 - 2, int(self.HIGH_BPM / 60.0 * n / self.fs) + 1)
        bins = self._k_hi - self._k_lo + 1
        self._p = array("i", [0] * bins)
        self._a = array("i", [0] * bins)
        self.last_bpm = None
        self.last_confidence = 0
        self.windows = 0  # windows completed (an estimate, or None when unusable)
        self._track = None  # tracked frequency in bins (float)
        self._unsure = 0  # windows since the track was last confident
        self._switch = 0  # consecutive windows with a much stronger peak off the track
        self._sure = False  # the track has had a confident window (until lost)
        self.motion_mg = 0  # rms acceleration in the last window (dynamic part), milli-g

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
        for i in range(size, self.N_FFT):
            dst[i] = 0
        return biggest, hi - lo

    def _window(self, dst, shift):
        """Scale below the FFT's input limit (shift right) and apply the Q14 Hann window."""
        win = self._win
        for i in range(self._len):
            dst[i] = ((dst[i] >> shift) * win[i]) >> Q

    def _estimate(self):
        """Estimate the heart rate over the current window."""
        self.windows += 1
        re1, im1, re2, im2 = self._re1, self._im1, self._re2, self._im2
        big_p, swing = self._detrend(self._ppg, re1, True)
        if self._bad_left or swing < self.MIN_AC:
            return self._lost()
        big_a = max(
            self._detrend(self._ax, im1, False)[0],
            self._detrend(self._ay, re2, False)[0],
            self._detrend(self._az, im2, False)[0],
        )
        self._window(re1, _shift_for(big_p))
        acc_shift = _shift_for(big_a)  # one scale for the three axes: their powers add up
        self._window(im1, acc_shift)
        self._window(re2, acc_shift)
        self._window(im2, acc_shift)
        fft = self._fft
        fft.transform(re1, im1)
        fft.transform(re2, im2)
        n = self.N_FFT
        p, a = self._p, self._a
        lo = self._k_lo
        p_max = a_max = 0
        a_sum = 0
        for i in range(len(p)):
            k = lo + i
            pp, ax = split_power(re1, im1, k, n)
            ay, az = split_power(re2, im2, k, n)
            aa = ax + ay + az
            p[i] = pp
            a[i] = aa
            a_sum += aa
            if pp > p_max:
                p_max = pp
            if aa > a_max:
                a_max = aa
        if p_max <= 0:
            return self._lost()
        # Motion level from the in-band acceleration power: Parseval, undoing the FFT's 1/n,
        # the input shift, the Hann window's energy (3/8) and the decimation sums.
        den = 0.375 * self._len * self._dec * self._dec
        rms = (2.0 * a_sum * n * (4**acc_shift) / den) ** 0.5 if a_sum > 0 else 0.0
        self.motion_mg = int(rms)
        motion = rms / (rms + 50.0)  # 0 at rest, 0.5 at 50 mg rms, towards 1 when running
        weight = int(256 * self.MOTION_WEIGHT * motion)  # Q8
        # Fixed-point rounding leaves a few units of power in every bin; normalising that
        # noise to full scale would suppress random PPG bins when the wrist is still.
        a_top = max(a_max, ACC_NOISE)
        total = 0
        for i in range(len(p)):
            pn = _q12(p[i], p_max)
            an = _q12(a[i], a_top)
            c = pn * pn // (pn + ((weight * an) >> 8) + 1)
            p[i] = c
            total += c
        best = self._pick(p, motion)
        if best < 0 or total <= 0:
            return self._lost()
        freq_bin = lo + best + _parabola(p, best)
        bpm = freq_bin * self.fs * 60.0 / n
        share = (p[best - 1] + p[best] + p[best + 1]) / total  # best is interior
        confidence = int(100.0 * min(1.0, 2.0 * share) * (1.0 - 0.35 * motion))
        if self._sure and confidence < self.UNSURE and motion > self.STILL:
            # An unsure window does not move the track by more than HOLD_BPM: in motion, a
            # weak pulse peak must not drag the track onto the cadence.
            limit = self.HOLD_BPM / 60.0 * n / self.fs
            freq_bin = max(self._track - limit, min(self._track + limit, freq_bin))
            bpm = freq_bin * self.fs * 60.0 / n
        if self._track is not None and confidence < self.UNSURE:
            self._unsure += 1
        else:
            self._unsure = 0
            if confidence >= self.SURE:
                self._sure = True
        self._track = freq_bin
        self.last_bpm = int(bpm + 0.5)
        self.last_confidence = confidence
        return self.last_bpm

    def _pick(self, c, motion):
        """Index of the chosen spectral peak in the cleaned band `c`, or -1."""
        count = len(c)
        lo = 0
        hi = count - 1
        if self._track is not None and self._sure:
            half_bpm = self.TRACK_BPM + self.WIDEN_BPM * self._unsure
            half = half_bpm / 60.0 * self.N_FFT / self.fs
            centre = self._track - self._k_lo
            lo = max(0, int(centre - half))
            hi = min(count - 1, int(centre + half + 1))
        best = _peak(c, lo, hi)
        if (lo == 0 and hi == count - 1) or motion > self.STILL:
            return best  # under motion a strong peak off the track is more likely motion
        other = _peak(c, 0, count - 1)
        if best < 0 or (other >= 0 and c[other] > self.REACQUIRE * c[best]):
            # The track holds a weak peak while a much stronger one stands elsewhere: after
            # two such windows in a row, follow the strong one (the track was lost in motion).
            self._switch += 1
            if best < 0 or self._switch >= 2:
                self._switch = 0
                return other
        else:
            self._switch = 0
        return best

    def _lost(self):
        """No usable signal in this window (off skin, flat or saturated)."""
        self.last_confidence = 0
        self._unsure += 1
        if self._unsure > 5:
            self._track = None  # too long without a pulse: search the whole band again
            self._sure = False
        return None


def _shift_for(biggest):
    """Right shift that brings |values| <= biggest below the FFT's input limit."""
    shift = 0
    while (biggest >> shift) >= INPUT_LIMIT:
        shift += 1
    return shift


def _q12(value, largest):
    """value / largest in Q12 (0..4096) without intermediates beyond a small int."""
    shift = 0
    while (largest >> shift) >= 1 << 16:
        shift += 1
    return ((value >> shift) << 12) // ((largest >> shift) or 1)


def _peak(c, lo, hi):
    """Index of the highest local maximum of c within lo..hi, or -1."""
    # Interior maxima only: a slope running off the band's edge is leakage, not a pulse.
    best = -1
    best_v = 0
    for i in range(max(1, lo), min(len(c) - 2, hi) + 1):
        v = c[i]
        if v > best_v and v >= c[i - 1] and v >= c[i + 1]:
            best = i
            best_v = v
    return best


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
