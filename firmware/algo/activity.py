"""Activity class each second (rest / walk / labour) and the seconds spent in each."""

# Rules, in order (thresholds physically motivated, not fitted to the evaluation data):
#   walk   - the step counter is inside a walking bout (cadence >= WALK_SPM).
#   labour - the wrist moves at least as much as in light activity: mean of max(0, |a| - g)
#            ("ENMO", the measure behind Hildebrand et al. 2014's wrist cut-points: < 45 mg
#            sedentary, >= 100 mg moderate) at or above LIGHT_MG over the last second; or the
#            heart rate is trusted and ELEVATED_BPM above the person's resting rate while the
#            wrist moves at least MOVING_MG (lifting and carrying move the wrist little but
#            raise the pulse; a raised pulse with a still wrist is not labour).
#   rest   - otherwise.
# Gravity is the slow baseline of |a| (as in the step counter), so sensor offset does not
# masquerade as movement.

from firmware.algo.steps import MAX_MG, isqrt

REST = "rest"
WALK = "walk"
LABOUR = "labour"
CLASSES = (REST, WALK, LABOUR)


def classify(cadence_spm, enmo_mg, bpm, confidence, rest_hr):
    """The activity class from plain measurements (pure; see the module comment)."""
    if cadence_spm >= ActivityClassifier.WALK_SPM:
        return WALK
    if enmo_mg >= ActivityClassifier.LIGHT_MG:
        return LABOUR
    if (
        bpm is not None
        and confidence >= ActivityClassifier.HR_TRUSTED
        and bpm >= rest_hr + ActivityClassifier.ELEVATED_BPM
        and enmo_mg >= ActivityClassifier.MOVING_MG
    ):
        return LABOUR
    return REST


class ActivityClassifier:
    """Feeds on acceleration (milli-g) per sample; `second` closes a period and classifies it."""

    WALK_SPM = 60
    LIGHT_MG = 45
    MOVING_MG = 20
    ELEVATED_BPM = 25
    HR_TRUSTED = 50

    def __init__(self, rate_hz=25, rest_hr=70):
        self.rate_hz = rate_hz
        self.rest_hr = rest_hr
        self.seconds = {REST: 0, WALK: 0, LABOUR: 0}
        self.last = REST
        self.last_enmo_mg = 0
        shift = 1
        while (1 << (shift + 1)) <= int(1.3 * rate_hz):
            shift += 1
        self._shift = shift
        self._base16 = -1
        self._mag = 1000
        self._sum = 0
        self._n = 0

    def feed(self, x_mg, y_mg, z_mg):
        """Add one acceleration sample."""
        x = max(-MAX_MG, min(MAX_MG, x_mg))
        y = max(-MAX_MG, min(MAX_MG, y_mg))
        z = max(-MAX_MG, min(MAX_MG, z_mg))
        mag = isqrt(x * x + y * y + z * z, self._mag)
        self._mag = mag
        if self._base16 < 0:
            self._base16 = mag << 4
        self._base16 += ((mag << 4) - self._base16) >> self._shift
        dyn = mag - (self._base16 >> 4)
        if dyn > 0:
            self._sum += dyn
        self._n += 1

    def second(self, cadence_spm, bpm=None, confidence=0, seconds=1):
        """Classify the samples since the last call and add `seconds` to that class."""
        self.last_enmo_mg = self._sum // self._n if self._n else 0
        self._sum = 0
        self._n = 0
        cls = classify(cadence_spm, self.last_enmo_mg, bpm, confidence, self.rest_hr)
        self.seconds[cls] += seconds
        self.last = cls
        return cls
