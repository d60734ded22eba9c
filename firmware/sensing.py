"""The one door between the main loop and the sensing algorithms of firmware/algo."""

from firmware.algo.activity import ActivityClassifier
from firmware.algo.energy import HR_TRUSTED, EnergyMeter
from firmware.algo.heartrate import HeartRate
from firmware.algo.steps import StepCounter

DEFAULT_PROFILE = {"sex": "m", "weight_kg": 70, "age": 40, "rest_hr": 70}  # until enrolment's


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
        if self.hr.windows != self._windows:
            # A heart-rate window closed: an estimate, or None when it was unusable.
            self._windows = self.hr.windows
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
        # The meter also weighs an unsure estimate (firmware/algo/energy.py); nothing else does.
        kcal = self.energy.add(
            seconds, self._bpm if ppg_on else None, self._conf, activity, cadence
        )
        steps = self._new_steps
        self._new_steps = 0
        return steps, bpm, activity, kcal

    def set_profile(self, p):
        """The wearer's data from enrolment (the profile downlink): energy from now on."""
        self.energy = EnergyMeter(p["sex"], p["weight_kg"], p["age"], p["rest_hr"])
        self.activity.rest_hr = p["rest_hr"]

    def reset_hr(self):
        """Forget beat history (the PPG was off; old beats say nothing about now)."""
        self.hr = HeartRate(self.rate)
        self._bpm = None
        self._conf = 0
        self._windows = 0
