"""Step counter for a wrist accelerometer: integer-only, one call per sample, no allocation."""

# How it works (integers only, so CPython and MicroPython agree to the step and an ESP32
# never boxes a float at 25 Hz; the evidence is in docs/accuracy.md):
#   1. |a| (integer square root) minus an exponential baseline (~1.3 s: gravity and offset
#      go), then a ~0.12 s moving sum. Only the magnitude: how the band sits does not matter.
#   2. Lobes: each excursion above half the recent mean level (never below a floor) gives
#      one candidate impact at its maximum. Many are not steps; they anchor the count.
#   3. Every second, the autocorrelation of the last 10 s (at ~12.5 Hz, clipped at twice the
#      mean level so a turn or a knock cannot dominate) gives the strongest repeat between
#      0.4 and 1.84 s and its strength r. The step is that lag or half of it (a walk repeats
#      every stride and usually every step); a strong 0.88-1.4 s repeat with no half-period
#      one is the arm swinging once per stride, and a slower repeat is always a stride.
#   4. A bout starts when r >= ON in two windows that agree on the cadence and the wrist
#      moves as much as walking does, or on a steady train of strong lobes (slow walks,
#      whose autocorrelation is weak), or on an even train of heel-strike impacts
#      (impacts.py) at the step the window repeats at, however weakly (r >= IMPACT_R). It
#      is then counted back to the first lobe of the continuous activity (up to RETRO_S):
#      a short walk is not lost to the evidence delay.
#   5. In a bout each lobe adds (time since the last one) / (step period), rounded, with the
#      remainder carried: a missed weak step is filled in and a spurious lobe adds nothing,
#      which counting lobes one by one cannot do. A repeat 2 or 3 times the tracked step is
#      a harmonic of the same cadence; any other ends the bout, as do a pause (MAX_GAP_S)
#      and GRACE seconds of weak evidence while no impact train keeps the cadence. A walk
#      resumed within RESUME_S at the same cadence, or seen as its stride (a turn, a door,
#      a stretch of irregular swing), needs only RESUME_ON, and is counted back over the
#      weak stretch like any new bout.
# Hand work (washing up, dressing, typing) makes as many lobes as walking but rarely a repeat
# that holds for 10 s. Thresholds were tuned on one half of the recordings (docs/accuracy.md).

from firmware.algo.impacts import ImpactTrain
from firmware.algo.repeat import Repeat

MAX_MG = 16000  # clamp per axis: keeps x*x+y*y+z*z a small int (< 2**30) on a 32-bit port
RING = 64  # lobes remembered, for counting a walk back to its start (>= 20 s of walking)


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


def _multiple(new, cur, pct):
    """k in 1..3 if period `new` is k times `cur` within pct % (one cadence), else 0."""
    for k in range(1, 4):
        if abs(new - k * cur) * 100 <= pct * k * cur:
            return k
    return 0


class StepCounter:
    """Counts steps from 3-axis acceleration in milli-g; `feed` once per sample."""

    SMOOTH_S = 0.12  # moving-sum length (3 samples at 25 Hz)
    FLOOR_MG = 40  # lobes smaller than this are never impacts (sensor noise, typing)
    LOBE_PCT = 50  # lobe threshold as a share of the recent mean level
    MIN_SEP_S = 0.28  # two lobes closer than this are one impact
    WINDOW_S = Repeat.WINDOW_S  # periodicity window, s
    ON = 450  # r (per mille) that starts a bout
    OFF = 250  # r that keeps it going
    GRACE = 3  # seconds below OFF before a bout ends
    MIN_MOTION_MG = 60  # mean |dynamic| over ~10 s: walking moves the wrist at least this much
    MAX_GAP_S = 3.0  # no lobe for this long: the wearer stopped
    RETRO_S = 15  # how far back a newly confirmed bout is counted
    TRACK_PCT = 15  # a new period within this of 1, 2 or 3 steps is the same cadence
    STEADY_PCT = 10  # a bout starts only when two successive windows agree this well
    RESUME_S = 20  # a bout that ended this recently ...
    RESUME_ON = 200  # ... resumes at this r, if the cadence is within RESUME_PCT
    RESUME_PCT = 20
    GATE_N = 8  # intervals between strong lobes of a steady train (slow walks) ...
    GATE_LOBE_PCT = 120  # ... lobes at least this share of the recent mean level ...
    GATE_PCT = 20  # ... all within this of their median ...
    GATE_OFF = 1  # ... but one (a stumble, a turn)
    IMPACT_R = 150  # an even train of impacts (impacts.py) starts a bout if the window
    # repeats at least this strongly ...
    IMPACT_PCT = 15  # ... at the impacts' step or stride, within this

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
        self._n = 0  # samples seen
        self._mag = 1000
        self._base16 = -1  # baseline x 16, -1 until the first sample
        self._smooth = [0] * max(2, int(self.SMOOTH_S * rate_hz + 0.5))
        self._sum = 0
        self._lvl16 = 0  # mean |moving sum| x 16, ~2.5 s
        self._motion16 = 0  # mean |dynamic| x 16, ~10 s
        self._in_lobe = False
        self._lobe_max = 0
        self._lobe_at = 0
        self._lobes = [0] * RING  # sample index of recent lobes (ring)
        self._heights = [0] * RING  # their heights (moving-sum units)
        self._nl = 0  # lobes seen
        self._gaps = [0] * self.GATE_N
        self._rep = Repeat(rate_hz)
        self._evidence = 0  # r of the best repeat in the last window, per mille
        self._seen16 = 0  # its step period, samples x 16
        self._seen_per = 1  # steps per that period (2: a stride)
        # The bout.
        self._walking = False
        self._period16 = 0  # tracked period, samples x 16, holding `_per` steps
        self._per = 1
        self._low = 0  # seconds below OFF
        self._last = -1  # lobe the count is anchored on
        self._upto = -1  # last lobe counted: nothing is counted twice
        self._acc = 0  # carried fraction of a step, x 256
        self._bout = 0  # steps counted in this bout
        self._young = False  # the bout has not yet been re-read by a later window
        self._was16 = 0  # the previous window's step period and per
        self._was_per = 1
        self._stopped = -1
        self._prev16 = 0
        self._prev_per = 1
        self._min_sep = int(self.MIN_SEP_S * rate_hz + 0.5)
        self._max_gap = int(self.MAX_GAP_S * rate_hz + 0.5)
        self._imp = ImpactTrain(rate_hz)
        self._held = -1  # when an even train of impacts last matched the bout's cadence
        self._steps_held = -1  # ... an impact at every step of it

    def feed(self, x_mg, y_mg, z_mg):
        """Take one sample; return how many steps it confirmed (usually 0, a burst at a start)."""
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
        if self._imp.feed(n, mag):
            self._impact()
        self._motion16 += ((abs(dyn) << 4) - self._motion16) >> (self._shift + 3)
        ring = self._smooth
        k = n % len(ring)
        self._sum += dyn - ring[k]
        ring[k] = dyn
        s = self._sum
        self._lvl16 += ((abs(s) << 4) - self._lvl16) >> 6
        before = self.total
        thr = max(len(ring) * self.FLOOR_MG, (self._lvl16 >> 4) * self.LOBE_PCT // 100)
        if self._in_lobe:
            if s > self._lobe_max:
                self._lobe_max = s
                self._lobe_at = n
            if s < thr >> 2:
                self._in_lobe = False
                self._lobe(self._lobe_at, self._lobe_max)
        elif s > thr:
            self._in_lobe = True
            self._lobe_max = s
            self._lobe_at = n
        rep = self._rep
        rep.add(n, s, self._lvl16 >> 4)
        if (n + 1) % self.rate_hz == 0 and n + 1 >= self.WINDOW_S * self.rate_hz:
            rep.analyse()
            self._evidence = rep.evidence
            self._seen16 = rep.seen16
            self._seen_per = rep.seen_per
            self._decide()
        if self._walking and n - self._last > self._max_gap:
            self._stop()
        return self.total - before

    def _lobe(self, at, height):
        """A lobe ended with its maximum (`height`) at sample `at`."""
        lobes = self._lobes
        if self._nl and at - lobes[(self._nl - 1) % RING] < self._min_sep:
            return
        lobes[self._nl % RING] = at
        self._heights[self._nl % RING] = height
        self._nl += 1
        if self._walking:
            self._count(at)
        elif self._nl > self.GATE_N and self._n >= self.WINDOW_S * self.rate_hz:
            self._steady_train()  # once the window can tell a stride from a step

    def _count(self, at):
        """Add the steps between the anchor and this lobe (elapsed / period, remainder kept)."""
        k = 1
        if self._last < 0 or at - self._last > self._max_gap:
            self._acc = 0
        else:
            self._acc += ((at - self._last) << 12) * self._per // self._period16
            k = (self._acc + 128) >> 8
            self._acc -= k << 8
        self.total += k
        self._bout += k
        self._last = at
        self._upto = at

    def _steady_train(self):
        """Start a bout on GATE_N intervals between strong lobes, nearly all near their median."""
        lobes = self._lobes
        heights = self._heights
        g = self._gaps
        n = self.GATE_N
        strong = (self._lvl16 >> 4) * self.GATE_LOBE_PCT // 100
        got = 0
        a = self._nl - 1
        later = -1
        oldest = max(0, self._nl - RING)
        while got < n and a >= oldest:
            if heights[a % RING] >= strong:
                t = lobes[a % RING]
                if later >= 0:
                    v = later - t
                    i = got
                    while i > 0 and g[i - 1] > v:  # insertion sort into a preallocated list
                        g[i] = g[i - 1]
                        i -= 1
                    g[i] = v
                    got += 1
                later = t
            a -= 1
        if got < n:
            return
        med = g[n >> 1]
        if med > self._max_gap or self._motion16 < self.MIN_MOTION_MG << 4:
            return
        off = 0
        for j in range(n):
            if abs(g[j] - med) * 100 > self.GATE_PCT * med:
                off += 1
        if off > self.GATE_OFF:
            return
        self._period16 = med << 4
        self._per = 1
        # One strong lobe per stride (arm swing): the window's repeat says two steps per lobe.
        if self._evidence and abs(2 * self._seen16 - self._seen_per * (med << 4)) * 100 <= (
            self.GATE_PCT * self._seen_per * (med << 4)
        ):
            self._per = 2
        self._start()

    def _impact(self):
        """An impact: an even train of them starts a bout, or holds one at the same cadence."""
        step = self._imp.step()
        if not step:
            return
        if self._walking:
            k = _multiple(step * self._per << 4, self._period16, self.TRACK_PCT)
            if k:
                self._held = self._n
            if k == 1:
                # An impact at every counted step: they, not the window, give the cadence
                # (a 0.88-1.4 s repeat could be read as an arm-swing stride of two steps).
                self._period16 = (step << 4) * self._per
                self._steps_held = self._n
            return
        if (
            self._evidence >= self.IMPACT_R
            and _multiple(self._seen16, (step * self._seen_per) << 4, self.IMPACT_PCT) == 1
        ):
            # The window's step, however weak its repeat, is the impacts' step.
            self._period16 = step << 4
            self._per = 1
            self._start()
            self._held = self._n
            self._steps_held = self._n

    def _decide(self):
        """Once a second: start, keep or end the bout on the window's evidence."""
        seen16 = self._seen16
        seen_per = self._seen_per
        # The same step period as a second ago: a walk's cadence holds, hand work's wanders.
        steady = abs(seen16 * self._was_per - self._was16 * seen_per) * 100 <= (
            self.STEADY_PCT * self._was16 * seen_per
        )
        self._was16 = seen16
        self._was_per = seen_per
        if self._walking:
            if self._n - self._steps_held <= self._max_gap or (
                self._evidence >= self.OFF and self._track(seen16, seen_per)
            ):
                self._low = 0
                return
            if self._n - self._held <= self._max_gap:
                self._low = 0
                return
            self._low += 1
            if self._low > self.GRACE:
                self._stop()
            return
        if not steady or self._evidence == 0 or self._motion16 < self.MIN_MOTION_MG << 4:
            return
        need = self.ON
        k = 1
        if self._stopped >= 0 and self._n - self._stopped <= self.RESUME_S * self.rate_hz:
            # The window may see the stride where the walk had steps: same cadence, k steps.
            k = _multiple(seen16 * self._prev_per, self._prev16 * seen_per, self.RESUME_PCT)
            if k:
                need = self.RESUME_ON
            else:
                k = 1
        if self._evidence >= need:
            self._period16 = seen16
            self._per = seen_per * k
            self._start()

    def _track(self, p16, per):
        """Follow the cadence: False if the window's period is not the walk's any more."""
        cur = self._period16 * per  # both as step periods over a common denominator
        new = p16 * self._per
        if abs(2 * new - cur) * 100 <= self.TRACK_PCT * cur:
            m = 1  # the window now sees the step where it saw the stride
        else:
            m = _multiple(new, cur, self.TRACK_PCT)
            if m == 0:
                return False
        per *= m
        same_lag = abs(p16 - self._period16) * 100 <= self.TRACK_PCT * self._period16
        if self._young and self._per == 1 and per == 2 and same_lag:
            # The first window straddled the start and looked less even than the walk is:
            # the lobes counted so far were strides, each two steps.
            self.total += self._bout
        self._young = False
        self._period16 = p16
        self._per = per
        return True

    def _start(self):
        """Believe a walk: count it back to the first lobe of the continuous activity."""
        self._walking = True
        self._young = True  # until the next window has had its say
        self._bout = 0
        self._low = 0
        self._last = -1
        self._acc = 0
        lobes = self._lobes
        first = max(0, self._nl - RING)
        since = self._n - self.RETRO_S * self.rate_hz
        j = self._nl - 1
        while j > first:
            t = lobes[(j - 1) % RING]
            if t <= self._upto or t < since or lobes[j % RING] - t > self._max_gap:
                break
            j -= 1
        for i in range(j, self._nl):
            t = lobes[i % RING]
            if t > self._upto:
                self._count(t)

    def _stop(self):
        self._walking = False
        self._stopped = self._n
        self._prev16 = self._period16
        self._prev_per = self._per

    def cadence_spm(self):
        """Steps per minute of the current walking bout, 0 when not walking."""
        if not self._walking or self._period16 <= 0:
            return 0
        return 60 * 16 * self.rate_hz * self._per // self._period16

    def motion_mg(self):
        """Mean absolute dynamic acceleration over the last ~10 s, in milli-g."""
        return self._motion16 >> 4
