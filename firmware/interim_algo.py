"""Simple sensing algorithms used only until firmware/algo (issue 3 part A) provides its own.

Same interfaces as firmware/algo: StepCounter, HeartRate, ActivityClassifier, EnergyMeter.
They are deliberately plain; accuracy is part A's job and is measured there.
"""

import math

REST = "rest"
WALK = "walk"
LABOUR = "labour"


def _mag(x, y, z):
    return int(math.sqrt(x * x + y * y + z * z))


class StepCounter:
    """Peaks of the band-passed acceleration magnitude, counted once four are regular."""

    def __init__(self, rate_hz):
        self.rate = rate_hz
        self.total = 0
        self._dc = 1000 << 4
        self._lp = 0
        self._prev = 0
        self._rising = False
        self._peak = 0
        self._since = 0  # samples since the last accepted peak
        self._last_interval = 0
        self._run = 0  # regular peaks in a row, not yet counted
        self._recent = []  # sample ages of the last steps, for cadence
        self._age = 0

    def feed(self, x, y, z):
        """Add one sample (mg); return steps newly counted."""
        m = _mag(x, y, z)
        self._dc += m - (self._dc >> 4)
        hp = m - (self._dc >> 4)
        self._lp = (self._lp * 3 + hp) >> 2
        self._since += 1
        self._age += 1
        new = 0
        if self._lp > self._prev:
            self._rising = True
            self._peak = self._lp
        elif self._rising and self._lp < self._prev:
            self._rising = False
            if self._peak > 60 and self._since >= self.rate * 3 // 10:
                new = self._accept(self._since)
                self._since = 0
        if self._since > self.rate * 2:
            self._run = 0
        self._prev = self._lp
        return new

    def _accept(self, interval):
        last = self._last_interval
        self._last_interval = interval
        regular = last and abs(interval - last) * 10 <= last * 4
        if not regular:
            self._run = 1
            return 0
        self._run += 1
        if self._run < 4:
            return 0
        n = 4 if self._run == 4 else 1  # the first regular run counts its earlier peaks too
        self.total += n
        for _ in range(n):
            self._recent.append(self._age)
        while self._recent and self._age - self._recent[0] > self.rate * 10:
            self._recent.pop(0)
        return n

    def cadence_spm(self):
        """Steps per minute over the last 10 s."""
        while self._recent and self._age - self._recent[0] > self.rate * 10:
            self._recent.pop(0)
        return len(self._recent) * 6


class HeartRate:
    """Beat-to-beat intervals of the detrended PPG; withheld when motion or irregularity."""

    def __init__(self, rate_hz):
        self.rate = rate_hz
        self.last_bpm = None
        self.last_confidence = 0
        self._dc = None
        self._lp = 0
        self._prev = 0
        self._rising = False
        self._peak = 0
        self._amp = 0
        self._since = 0
        self._intervals = []
        self._motion = 0
        self._mprev = 1000

    def feed(self, ppg, x, y, z):
        """Add one sample; return the current bpm or None."""
        if self._dc is None:
            self._dc = ppg << 5
        self._dc += ppg - (self._dc >> 5)
        ac = ppg - (self._dc >> 5)
        self._lp = (self._lp + ac) >> 1
        m = _mag(x, y, z)
        self._motion = (self._motion * 15 + abs(m - self._mprev) * 16) >> 4
        self._mprev = m
        self._since += 1
        self._amp = self._amp * 63 >> 6
        if self._lp > self._prev:
            self._rising = True
            self._peak = self._lp
        elif self._rising and self._lp < self._prev:
            self._rising = False
            if self._peak > self._amp // 2 and self._since >= self.rate * 33 // 100:
                self._amp = max(self._amp, self._peak)
                if self._since <= self.rate * 2:
                    self._intervals.append(self._since)
                    if len(self._intervals) > 8:
                        self._intervals.pop(0)
                self._since = 0
        self._prev = self._lp
        if self._since > self.rate * 3:
            self._intervals = []
        if len(self._intervals) < 4:
            self.last_bpm = None
            self.last_confidence = 0
            return None
        iv = sorted(self._intervals)
        med = iv[len(iv) // 2]
        spread = (iv[-2] - iv[1]) * 100 // med
        conf = max(0, 100 - spread * 2 - (self._motion >> 4) // 3)
        self.last_confidence = conf
        self.last_bpm = self.rate * 60 // med if conf >= 50 else None
        return self.last_bpm


class ActivityClassifier:
    """Rest, walk or labour for each second from movement intensity and cadence."""

    def __init__(self, rate_hz, rest_hr=70):
        self.rate = rate_hz
        self._sum = 0
        self._n = 0
        self._dc = 1000

    def feed(self, x, y, z):
        """Add one sample."""
        m = _mag(x, y, z)
        self._dc += (m - self._dc) >> 3
        self._sum += abs(m - self._dc)
        self._n += 1

    def second(self, cadence_spm, bpm=None, confidence=0, seconds=1):
        """Classify the samples since the last call."""
        intensity = self._sum // self._n if self._n else 0
        self._sum = 0
        self._n = 0
        if cadence_spm >= 50:
            return WALK
        if intensity >= 60:
            return LABOUR
        return REST


class EnergyMeter:
    """Keytel et al. (2005) from heart rate; METs from cadence and activity when HR is unsure."""

    def __init__(self, sex, weight_kg, age, rest_hr):
        self.male = sex != "f"
        self.weight = weight_kg
        self.age = age
        self.rest_hr = rest_hr
        self.total_kcal = 0.0

    def add(self, seconds, bpm, confidence, activity, cadence_spm):
        """Energy for `seconds` more; return its kcal."""
        kcal_min = None
        if bpm is not None and confidence >= 50 and bpm >= self.rest_hr + 15:
            w, a = self.weight, self.age
            if self.male:
                kcal_min = (-55.0969 + 0.6309 * bpm + 0.1988 * w + 0.2017 * a) / 4.184
            else:
                kcal_min = (-20.4022 + 0.4472 * bpm - 0.1263 * w + 0.074 * a) / 4.184
        if kcal_min is None or kcal_min <= 0:
            if activity == WALK:
                met = min(6.0, max(2.0, 3.0 + (cadence_spm - 100) * 0.06))
            elif activity == LABOUR:
                met = 4.0
            else:
                met = 1.3
            kcal_min = met * self.weight / 60.0
        kcal = kcal_min * seconds / 60.0
        self.total_kcal += kcal
        return kcal
