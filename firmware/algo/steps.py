"""Step counter for a wrist accelerometer: integer-only, one call per sample, no allocation."""

# How it works (all in milli-g and sample counts, integers, so CPython and MicroPython agree
# to the step and an ESP32 never boxes a float at 25 Hz):
#   1. |a| by integer square root (Newton, seeded with the previous magnitude).
#   2. Dynamic part: |a| minus an exponential baseline (time constant ~1.3 s), which removes
#      gravity and the sensor's offset without calibration; then a ~0.12 s moving sum.
#   3. Peak picking with hysteresis: a candidate step is the maximum of a lobe that rises above
#      an adaptive threshold (a fraction of recent peak heights, never below a floor).
#   4. Rhythm gate: candidates are held back until START intervals are in and STEADY_PCT of the
#      last WINDOW lie within TOLERANCE of their median (or of twice it: a missed weak step);
#      then the held-back steps are counted at once and later steps as they come, until the
#      rhythm breaks (fewer than CONTINUE_PCT steady: hysteresis, since a believed walk needs
#      less evidence to go on than to start) or a pause exceeds MAX_INTERVAL. Hand work
#      (washing up, dressing, typing) makes as many lobes as walking, but not at a steady
#      rhythm, so it adds nothing.
#   5. A very even rhythm slower than STRIDE_MIN_S is the arm swinging once per stride (the
#      magnitude then shows one smooth lobe per two steps): those lobes count two steps.

MAX_MG = 16000  # clamp per axis: keeps x*x+y*y+z*z a small int (< 2**30) on a 32-bit port


def isqrt(value, guess):
    """Integer square root of value >= 0, Newton's method from a nearby guess."""
    if value <= 0:
        return 0
    r = guess if guess > 0 else 1024
    for _ in range(20):
        nxt = (r + value // r) >> 1
        if nxt >= r and r * r <= value:
            break
        r = nxt
    while r * r > value:
        r -= 1
    while (r + 1) * (r + 1) <= value:
        r += 1
    return r


class StepCounter:
    """Counts steps from 3-axis acceleration in milli-g; `feed` once per sample."""

    START = 6  # intervals seen before a bout can be believed
    WINDOW = 8  # intervals the rhythm is judged on
    STEADY_PCT = 90  # share of them within TOLERANCE of their median (or twice it)
    CONTINUE_PCT = 60  # hysteresis: a bout, once believed, continues down to this share
    TOLERANCE_PCT = 25
    STRIDE_MIN_S = 0.8  # a perfectly even rhythm this slow is arm swing, one lobe per stride
    SMOOTH_S = 0.12  # moving-sum length (3 samples at 25 Hz)
    MIN_INTERVAL_S = 0.3  # 200 steps/min: faster than any walk
    MAX_INTERVAL_S = 2.0  # 30 steps/min: a longer pause ends the bout
    FLOOR_MG = 60  # lobes smaller than this are never steps (sensor noise, typing)
    PEAK_FRACTION_PCT = 35  # threshold as a fraction of the recent peak height

    def __init__(self, rate_hz=25):
        if rate_hz < 10 or rate_hz > 200:
            raise ValueError("rate_hz must be 10..200")
        self.rate_hz = rate_hz
        self.total = 0
        # Baseline EMA shift: alpha = 2**-shift, time constant ~1.3 s at any rate.
        shift = 1
        while (1 << (shift + 1)) <= int(1.3 * rate_hz):
            shift += 1
        self._shift = shift
        self._min_gap = int(self.MIN_INTERVAL_S * rate_hz + 0.5)
        self._max_gap = int(self.MAX_INTERVAL_S * rate_hz + 0.5)
        self._n = 0  # samples seen
        self._mag = 1000
        self._base16 = -1  # baseline x 16, -1 until the first sample
        self._smooth = [0] * max(2, int(self.SMOOTH_S * rate_hz + 0.5))
        self._sum = 0
        self._env = 0  # recent peak height (moving-sum units, i.e. 3 x mg)
        self._in_lobe = False
        self._lobe_max = 0
        self._lobe_at = 0
        self._last_step = -1  # sample index of the last candidate step
        self._gaps = [0] * self.WINDOW  # last intervals between candidates (ring)
        self._sorted = [0] * self.WINDOW
        self._gi = 0  # intervals written to the ring in this bout
        self._pending = 0  # steps held back until the rhythm is confirmed
        self._counting = False  # the rhythm has been confirmed
        self._doubling = False  # one lobe per stride: two steps each
        self._stride_gap = int(self.STRIDE_MIN_S * rate_hz + 0.5)
        self._cad_gap16 = 0  # smoothed interval per step x 16, for cadence
        self._motion16 = 0  # mean |dynamic| x 16, ~10 s average

    def feed(self, x_mg, y_mg, z_mg):
        """Take one sample; return how many steps it confirmed (usually 0)."""
        x = max(-MAX_MG, min(MAX_MG, x_mg))
        y = max(-MAX_MG, min(MAX_MG, y_mg))
        z = max(-MAX_MG, min(MAX_MG, z_mg))
        mag = isqrt(x * x + y * y + z * z, self._mag)
        self._mag = mag
        n = self._n
        self._n = n + 1
        if self._base16 < 0:
            self._base16 = mag << 4
        base16 = self._base16
        base16 += ((mag << 4) - base16) >> self._shift
        self._base16 = base16
        dyn = mag - (base16 >> 4)
        self._motion16 += ((abs(dyn) << 4) - self._motion16) >> (self._shift + 3)
        # Moving sum over ~0.2 s: low-pass that merges the double bump of one heel strike.
        ring = self._smooth
        k = n % len(ring)
        self._sum += dyn - ring[k]
        ring[k] = dyn
        s = self._sum
        thr = max(len(ring) * self.FLOOR_MG, self._env * self.PEAK_FRACTION_PCT // 100)
        if self._in_lobe:
            if s > self._lobe_max:
                self._lobe_max = s
                self._lobe_at = n
            if s < thr // 4:
                self._in_lobe = False
                return self._candidate(self._lobe_at, self._lobe_max)
        elif s > thr:
            self._in_lobe = True
            self._lobe_max = s
            self._lobe_at = n
        if self._counting and n - self._last_step > self._max_gap:
            self._end_bout()
        return 0

    def _candidate(self, at, height):
        """A lobe ended with its maximum at sample `at`; decide whether it is a step."""
        self._env += (height - self._env) >> 2
        if self._last_step >= 0 and at - self._last_step < self._min_gap:
            return 0  # too soon after the last one: part of the same impact
        gap = at - self._last_step if self._last_step >= 0 else 0
        self._last_step = at
        if gap == 0 or gap > self._max_gap:
            self._end_bout()
            return 0
        ring = self._gaps
        ring[self._gi % self.WINDOW] = gap
        self._gi += 1
        filled = min(self._gi, self.WINDOW)
        med = self._median(filled)
        # Steps this gap stands for: 1, or 2 when a weak step between two strong ones was missed.
        per = 2 if self._doubling else 1
        if abs(gap - 2 * med) * 100 <= self.TOLERANCE_PCT * med and med * 2 <= self._max_gap:
            per *= 2
        if self._counting:
            if self._steady(filled, med) * 100 < self.CONTINUE_PCT * filled:
                self._end_bout()
                return 0
            self._confirm(per, gap)
            return per
        self._pending += per
        if filled >= self.START and self._steady(filled, med) * 100 >= self.STEADY_PCT * filled:
            self._counting = True
            # A slow, very even rhythm of smooth lobes is the arm swinging once per stride.
            self._doubling = med >= self._stride_gap and self._steady(filled, med, 12) == filled
            got = self._pending + 1 if not self._doubling else 2 * (self._pending + 1)
            self._pending = 0
            self._cad_gap16 = med << 4
            self.total += got
            return got
        return 0

    def _steady(self, filled, med, pct=0):
        """How many of the last intervals lie within the tolerance of the median."""
        tol = (pct or self.TOLERANCE_PCT) * med
        n = 0
        for i in range(filled):
            g = self._gaps[i]
            if abs(g - med) * 100 <= tol or abs(g - 2 * med) * 100 <= tol:
                n += 1
        return n

    def _median(self, filled):
        srt = self._sorted
        for i in range(filled):  # insertion sort into a preallocated list: no garbage
            v = self._gaps[i]
            j = i
            while j > 0 and srt[j - 1] > v:
                srt[j] = srt[j - 1]
                j -= 1
            srt[j] = v
        return srt[filled // 2]

    def _confirm(self, steps, gap):
        self.total += steps
        self._cad_gap16 += ((gap << 4) * 1 // steps - self._cad_gap16) >> 2

    def _end_bout(self):
        self._counting = False
        self._doubling = False
        self._gi = 0
        self._pending = 0

    def cadence_spm(self):
        """Steps per minute of the current walking bout, 0 when not walking."""
        if not self._counting or self._cad_gap16 <= 0:
            return 0
        return 60 * 16 * self.rate_hz // self._cad_gap16

    def motion_mg(self):
        """Mean absolute dynamic acceleration over the last ~10 s, in milli-g."""
        return self._motion16 >> 4
