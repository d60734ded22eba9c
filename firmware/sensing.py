"""The one door between the main loop and the sensing algorithms.

firmware/algo (issue 3 part A) owns the algorithms; where a module of it is missing the
interim ones in firmware/interim_algo.py stand in with the same interface. `SOURCE` says
which ran (reported by `sqjz band --status`).
"""

try:
    from firmware.algo.steps import StepCounter

    _steps_src = "algo"
except ImportError:
    from firmware.interim_algo import StepCounter

    _steps_src = "interim"
try:
    from firmware.algo.heartrate import HeartRate

    _hr_src = "algo"
except ImportError:
    from firmware.interim_algo import HeartRate

    _hr_src = "interim"
try:
    from firmware.algo.energy import EnergyMeter

    _energy_src = "algo"
except ImportError:
    from firmware.interim_algo import EnergyMeter

    _energy_src = "interim"
try:
    from firmware.algo.activity import ActivityClassifier

    _activity_src = "algo"
except ImportError:
    from firmware.interim_algo import ActivityClassifier

    _activity_src = "interim"

SOURCE = {"steps": _steps_src, "hr": _hr_src, "energy": _energy_src, "activity": _activity_src}
HR_TRUSTED = 50  # confidence (0-100) from which a heart rate counts as valid (as firmware/algo)
DEFAULT_PROFILE = {"sex": "m", "weight_kg": 70, "age": 40, "rest_hr": 70}


class Sensing:
    """Feeds samples to the algorithms and closes periods into plain numbers."""

    def __init__(self, rate_hz, profile=None):
        p = profile or DEFAULT_PROFILE
        self.rate = rate_hz
        self.steps = StepCounter(rate_hz)
        self.hr = HeartRate(rate_hz)
        self.activity = ActivityClassifier(rate_hz, p["rest_hr"])
        self.energy = EnergyMeter(p["sex"], p["weight_kg"], p["age"], p["rest_hr"])
        self._new_steps = 0
        self._bpm = None
        self._conf = 0
        self._windows = 0

    def accel(self, x, y, z):
        """One accelerometer sample in mg."""
        self._new_steps += self.steps.feed(x, y, z)
        self.activity.feed(x, y, z)

    def ppg(self, value, x, y, z):
        """One PPG sample with the acceleration at the same moment."""
        bpm = self.hr.feed(value, x, y, z)
        done = getattr(self.hr, "windows", None)
        if done is None or done != self._windows:
            # A heart-rate window closed (or the algorithm answers every sample).
            self._windows = done
            self._bpm = bpm
            self._conf = self.hr.last_confidence if bpm is not None else 0

    def close(self, seconds, ppg_on):
        """Close `seconds` of data: (steps, trusted bpm or None, activity, kcal)."""
        cadence = self.steps.cadence_spm()
        bpm = None
        conf = 0
        if ppg_on and self._bpm is not None and self._conf >= HR_TRUSTED:
            bpm = self._bpm
            conf = self._conf
        activity = self.activity.second(cadence, bpm, conf, seconds)
        kcal = self.energy.add(seconds, bpm, conf, activity, cadence)
        steps = self._new_steps
        self._new_steps = 0
        return steps, bpm, activity, kcal

    def set_profile(self, p):
        """The wearer's data from enrolment (the profile downlink): energy from now on."""
        self.energy = EnergyMeter(p["sex"], p["weight_kg"], p["age"], p["rest_hr"])
        if hasattr(self.activity, "rest_hr"):
            self.activity.rest_hr = p["rest_hr"]

    def reset_hr(self):
        """Forget beat history (the PPG was off; old beats say nothing about now)."""
        self.hr = HeartRate(self.rate)
        self._bpm = None
        self._conf = 0
        self._windows = 0
