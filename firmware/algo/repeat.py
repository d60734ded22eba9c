"""How strongly, and at what period, the wrist's motion repeated over the last 10 s."""

# The autocorrelation of the step counter's dynamic signal (steps.py), kept at ~12.5 Hz (a
# walk's repeat is below 3 Hz), clipped at twice its recent level so a turn or a knock cannot
# dominate. Integer-only, no allocation per sample.


class Repeat:
    """The last WINDOW_S seconds of the signal, and its strongest repeat once a second."""

    WINDOW_S = 10  # periodicity window
    MIN_STEP_S = 0.4  # 150 steps/min: the fastest walk searched for
    MAX_LAG_S = 1.84  # slowest stride searched for
    ARM_SWING_S = 0.88  # a very even repeat from here ...
    STRIDE_S = 1.4  # ... to here is one stride; slower is always one
    HALF = 500  # a half-period repeat this strong (vs the best) makes the step half the lag
    HALF_ARM = 150  # ... and in the arm-swing range, any clear half-period repeat does
    ARM_R = 500  # r above which a 0.88-1.4 s repeat without a half-period one is a stride

    def __init__(self, rate_hz):
        dec = max(1, rate_hz // 12)
        self._dec = dec
        self._dsum = 0
        w = self.WINDOW_S * rate_hz // dec
        self._w = w
        self._buf = [0] * (2 * w)  # every value written twice: any window is contiguous
        self._bi = 0
        self._x = [0] * w
        self._lo = max(2, int(self.MIN_STEP_S * rate_hz / dec + 0.5))
        self._hi = int(self.MAX_LAG_S * rate_hz / dec + 0.5)
        self._r = [0] * (self._hi + 2)
        self._arm = int(self.ARM_SWING_S * rate_hz / dec + 0.5)
        self._stride = int(self.STRIDE_S * rate_hz / dec + 0.5)
        self.evidence = 0  # r of the best repeat in the last window, per mille
        self.seen16 = 0  # its step period, samples x 16
        self.seen_per = 1  # steps per that period (2: a stride)

    def add(self, n, s, level):
        """Sample n of the moving sum s; level is its recent mean |s|."""
        self._dsum += s
        if (n + 1) % self._dec == 0:
            # Scaled to the recent level and clipped at twice it: |v| <= 32 keeps every
            # product sum of the autocorrelation a small int.
            v = self._dsum * 16 // ((level + 1) * self._dec)
            self._dsum = 0
            v = max(-32, min(32, v))
            i = self._bi
            self._buf[i] = v
            self._buf[i + self._w] = v
            self._bi = (i + 1) % self._w

    def analyse(self):
        """Autocorrelation of the last window: evidence (r) and the step period it implies."""
        w = self._w
        buf = self._buf
        x = self._x
        start = self._bi
        tot = 0
        for i in range(w):
            tot += buf[start + i]
        m = (tot + (w >> 1)) // w
        e = 0
        for i in range(w):
            v = buf[start + i] - m
            x[i] = v
            e += v * v
        self.evidence = 0
        if e <= 0:
            return
        r = self._r
        lo = self._lo
        hi = self._hi
        for k in range(lo - 1, hi + 2):
            acc = 0
            for i in range(w - k):
                acc += x[i] * x[i + k]
            r[k] = acc * 1000 // e
        best = 0
        lag = 0
        for k in range(lo, hi + 1):
            if r[k] >= r[k - 1] and r[k] >= r[k + 1] and r[k] > best:
                best = r[k]
                lag = k
        if lag == 0:
            return
        half = lag >= 2 * lo and (
            self._half_r(lag) >= self.HALF * best // 1000
            or (self._arm <= lag <= self._stride and self._half_r(lag) >= self.HALF_ARM)
        )
        p16 = self._refine(lag)
        per = 1
        if half:
            p16 >>= 1
        elif lag > self._stride or (lag >= self._arm and best >= self.ARM_R):
            per = 2
        self.evidence = best
        self.seen16 = p16 * self._dec
        self.seen_per = per

    def _half_r(self, lag):
        r = self._r
        h = lag >> 1
        return r[h] if lag & 1 == 0 else (r[h] + r[h + 1]) >> 1

    def _refine(self, k):
        """Lag k in 1/16 steps, moved to the top of a parabola through r[k-1..k+1]."""
        r = self._r
        den = r[k - 1] - 2 * r[k] + r[k + 1]
        d16 = 0
        if den < 0:
            d16 = max(-16, min(16, 8 * (r[k - 1] - r[k + 1]) // den))
        return k * 16 + d16
