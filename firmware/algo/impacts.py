"""Heel-strike impacts on the wrist: a slow walk's evidence when its repeat is too weak."""

# A foot landing sends a short, sharp rise through the arm: one large sample-to-sample jump
# of |a| (jerk) standing far above the wrist's usual jerk. In a slow walk (36-60 steps a
# minute, SensorWatch slow-walking*) the wrist is nearly still between the impacts, so they
# stand out; washing up, dressing and typing move the hand all the time, so their jumps do
# not stand out as far and do not keep an even rhythm, and between their jumps the wrist is
# never quiet. An even train of such impacts (one missed step allowed) on a quiet wrist is
# evidence of walking that does not need the 10 s repeat to be strong.
# Integer-only, no allocation per sample (see steps.py).


class ImpactTrain:
    """Finds impacts in |a| (milli-g), one sample at a time, and tells an even train of them."""

    # Jerk in milli-g per sample at 25 Hz (scaled to other rates; only 25 Hz is measured).
    K_PCT = 300  # an impact's jerk is at least this share of the recent mean |jerk| ...
    FLOOR_MG = 40  # ... and at least this
    BG_S = 2.5  # mean |jerk| over about this long
    QUIET_CLIP_MG = 100
    MAX_BG_MG = 50  # a quiet wrist: mean |jerk|, each sample counted up to QUIET_CLIP_MG
    MIN_SEP_S = 0.4  # two impacts closer than this are one (the larger)
    N = 6  # intervals in a train
    TOL_PCT = 25  # each within this of the train's step (or of two steps: one missed) ...
    DOUBLES = 1  # ... at most this many of two steps
    MIN_STEP_S = 0.6  # the train's step: 100 steps a minute at most (faster walks repeat)
    MAX_STEP_S = 1.8

    def __init__(self, rate_hz):
        shift = 1
        while (1 << (shift + 1)) <= int(self.BG_S * rate_hz):
            shift += 1
        self._shift = shift
        self._floor = self.FLOOR_MG * 25 // rate_hz
        self._clip = self.QUIET_CLIP_MG * 25 // rate_hz
        self._quiet16 = (self.MAX_BG_MG << 4) * 25 // rate_hz
        self._prev = -1
        self._bg16 = 0
        self._q16 = 0
        self._pend_at = -1  # a candidate impact, committed when nothing larger follows soon
        self._pend_j = 0
        self._times = [0] * (self.N + 1)  # recent impacts (ring)
        self._ni = 0
        self._iv = [0] * self.N
        self._sep = int(self.MIN_SEP_S * rate_hz + 0.5)
        self._lo = int(self.MIN_STEP_S * rate_hz + 0.5)
        self._hi = int(self.MAX_STEP_S * rate_hz + 0.5)

    def feed(self, n, mag):
        """Sample n's |a|; True when an impact was committed (at `last()`)."""
        prev = self._prev
        self._prev = mag
        if prev < 0:
            return False
        j = mag - prev
        a = abs(j)
        self._bg16 += ((a << 4) - self._bg16) >> self._shift
        self._q16 += ((min(a, self._clip) << 4) - self._q16) >> self._shift
        done = False
        if self._pend_at >= 0 and n - self._pend_at >= self._sep:
            self._commit()
            done = True
        if j >= self._floor and j * 1600 >= self.K_PCT * self._bg16:
            if self._pend_at >= 0:
                if j > self._pend_j:
                    self._pend_at = n
                    self._pend_j = j
            elif self._ni == 0 or n - self.last() >= self._sep:
                self._pend_at = n
                self._pend_j = j
        return done

    def _commit(self):
        self._times[self._ni % (self.N + 1)] = self._pend_at
        self._ni += 1
        self._pend_at = -1

    def last(self):
        """Sample index of the latest committed impact."""
        return self._times[(self._ni - 1) % (self.N + 1)]

    def step(self):
        """Step period (samples) of an even train ending at the latest impact, else 0."""
        n = self.N
        if self._ni <= n:
            return 0
        t = self._times
        iv = self._iv
        newest = self._ni - 1
        for k in range(n):
            v = t[(newest - k) % (n + 1)] - t[(newest - k - 1) % (n + 1)]
            i = k
            while i > 0 and iv[i - 1] > v:  # insertion sort into a preallocated list
                iv[i] = iv[i - 1]
                i -= 1
            iv[i] = v
        med = iv[(n - 1) >> 1]  # lower median: a missed step is the longest interval
        if med < self._lo or med > self._hi or self._q16 > self._quiet16:
            return 0
        doubles = 0
        for k in range(n):
            v = iv[k]
            if abs(v - med) * 100 > self.TOL_PCT * med:
                if abs(v - 2 * med) * 50 > self.TOL_PCT * med:
                    return 0
                doubles += 1
        return med if doubles <= self.DOUBLES else 0
