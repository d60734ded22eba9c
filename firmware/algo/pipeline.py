"""All the band's sensing algorithms wired together the way the band runs them, per sample."""

# One object per worn band: steps and activity on every accelerometer sample, heart rate on
# every PPG sample (when the PPG is on), and once per second the activity class and the energy
# of that second. The replay tool and the accuracy evaluation run exactly this; the main loop
# (firmware/sensing.py) can use the same pieces.

from firmware.algo.activity import ActivityClassifier
from firmware.algo.energy import HR_TRUSTED, EnergyMeter
from firmware.algo.heartrate import HeartRate
from firmware.algo.steps import StepCounter


class Pipeline:
    """Steps, heart rate, activity and energy from one stream of samples."""

    def __init__(self, rate_hz=25, sex="m", weight_kg=70, age=35, rest_hr=65):
        if int(rate_hz) != rate_hz:
            raise ValueError("rate_hz must be a whole number of samples per second")
        self.rate_hz = int(rate_hz)
        self.steps = StepCounter(self.rate_hz)
        self.hr = HeartRate(self.rate_hz)
        self.activity = ActivityClassifier(self.rate_hz, rest_hr)
        self.energy = EnergyMeter(sex, weight_kg, age, rest_hr)
        self.samples = 0
        self.windows = []  # (t_end_s, bpm or None, confidence, activity, cadence) not drained
        self._bpm = None
        self._conf = 0

    def feed(self, ppg, x_mg, y_mg, z_mg):
        """One sample; ppg is None when the PPG is off (energy then falls back to METs)."""
        self.steps.feed(x_mg, y_mg, z_mg)
        self.activity.feed(x_mg, y_mg, z_mg)
        self.samples += 1
        if ppg is not None:
            done = self.hr.windows
            bpm = self.hr.feed(ppg, x_mg, y_mg, z_mg)
            if self.hr.windows != done:
                self._bpm = bpm
                self._conf = self.hr.last_confidence if bpm is not None else 0
                self.windows.append(
                    (
                        self.samples // self.rate_hz,
                        bpm,
                        self._conf,
                        self.activity.last,
                        self.steps.cadence_spm(),
                    )
                )
        if self.samples % self.rate_hz == 0:
            self._second()

    def feed_many(self, flat, with_ppg):
        """Samples packed flat: ppg, x, y, z, ... (or x, y, z, ... without PPG)."""
        if with_ppg:
            for i in range(0, len(flat) - 3, 4):
                self.feed(flat[i], flat[i + 1], flat[i + 2], flat[i + 3])
        else:
            for i in range(0, len(flat) - 2, 3):
                self.feed(None, flat[i], flat[i + 1], flat[i + 2])

    def _second(self):
        cadence = self.steps.cadence_spm()
        bpm = self._bpm if self._conf >= HR_TRUSTED else None
        cls = self.activity.second(cadence, bpm, self._conf)
        self.energy.add(1, self._bpm, self._conf, cls, cadence)

    def drain(self):
        """HR windows completed since the last call, as lists (JSON-ready)."""
        out = [list(w) for w in self.windows]
        self.windows = []
        return out

    def summary(self):
        """Totals so far, as a plain dict."""
        e = self.energy
        return {
            "steps": self.steps.total,
            "kcal": round(e.total_kcal, 2),
            "active_kcal": round(e.active_kcal, 2),
            "seconds_hr": e.seconds_hr,
            "seconds_met": e.seconds_met,
            "activity_s": dict(self.activity.seconds),
            "duration_s": self.samples // self.rate_hz,
        }
