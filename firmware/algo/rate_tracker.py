"""Heart-rate tracking over spectral bins: a discrete Bayes filter in integers."""

# The belief is a probability per frequency bin. Each window it is first spread by how far
# the heart rate can move in one step (a Gaussian of `sigma_bins`, plus a small chance
# `jump` of being anywhere, so a lost track can come back), then multiplied by the window's
# spectrum normalised to its strongest bin plus `floor` (one bad window cannot rule a bin
# out). The estimate is the most probable bin. A pulse that persists outweighs motion residue
# that wanders from window to window, and a settled track needs several windows of contrary
# evidence to move. Confidence is the belief's mass within one bin of the estimate, mapped
# linearly from mass_low % (0) to mass_high % (100).
#
# Integers only: the belief sums to at most ONE (renormalised by shifts), the kernel and the
# likelihood are Q8, so every product stays below 2**30 (no heap on a 32-bit port).

import math
from array import array

ONE = 1 << 20


class RateTracker:
    """`update(power)` with the power of each bin; returns the most probable bin's index."""

    def __init__(self, bins, sigma_bins, jump=0.005, floor_q8=51, mass_low=40, mass_high=80):
        if bins < 3 or sigma_bins <= 0 or not 0 <= jump < 1 or mass_high <= mass_low:
            raise ValueError("bad tracker parameters")
        self.bins = bins
        self.floor = floor_q8
        self.mass_low = mass_low
        self.mass_high = mass_high
        reach = max(1, int(3 * sigma_bins + 0.5))
        kern = [math.exp(-0.5 * (d / sigma_bins) ** 2) for d in range(-reach, reach + 1)]
        total = sum(kern)
        self._kern = array("h", [int(256 * v / total + 0.5) for v in kern])
        self._jump_q16 = int(jump * 65536 + 0.5)
        self._belief = array("i", [0] * bins)
        self._prior = array("i", [0] * bins)
        self._fresh = True  # no belief yet: the next update starts from a uniform one
        self._gap = 0  # windows without evidence since the last update
        self.confidence = 0

    def reset(self):
        """Forget the track: the next update starts from a uniform belief."""
        self._fresh = True
        self._gap = 0

    def skip(self):
        """A window without evidence (the belief only spreads); windows skipped in a row."""
        self._gap += 1
        self.confidence = 0
        return self._gap

    def update(self, power):
        """Fold one window's bin powers (non-negative ints, len == bins) into the belief."""
        count = self.bins
        belief, prior = self._belief, self._prior
        if self._fresh:
            for i in range(count):
                prior[i] = ONE // count
        else:
            for _ in range(self._gap + 1):  # one spread per window since the last update
                self._spread(belief, prior)
                for i in range(count):
                    belief[i] = prior[i]
        self._fresh = False
        self._gap = 0
        top = 0
        for v in power:
            if v > top:
                top = v
        shift = 0
        while (top >> shift) >= 1 << 20:
            shift += 1
        top = (top >> shift) or 1
        floor = self.floor
        total = 0
        best = 0
        for i in range(count):
            v = prior[i] * (floor + (((power[i] >> shift) << 8) // top))
            belief[i] = v
            total += v
            if v > belief[best]:
                best = i
        shift = 0
        while (total >> shift) > ONE:
            shift += 1
        for i in range(count):
            belief[i] >>= shift
        total >>= shift
        near = belief[best]
        if best > 0:
            near += belief[best - 1]
        if best < count - 1:
            near += belief[best + 1]
        mass = near * 100 // max(1, total)
        span = self.mass_high - self.mass_low
        self.confidence = max(0, min(100, (mass - self.mass_low) * 100 // span))
        return best

    def _spread(self, src, dst):
        """dst = src convolved with the kernel, plus the uniform `jump` share."""
        kern = self._kern
        reach = len(kern) // 2
        count = self.bins
        total = 0
        for v in src:
            total += v
        jump = ((total >> 8) * self._jump_q16 >> 8) // count
        for i in range(count):
            acc = 0
            for d in range(max(-reach, -i), min(reach, count - 1 - i) + 1):
                acc += src[i + d] * kern[d + reach]
            dst[i] = (acc >> 8) + jump
