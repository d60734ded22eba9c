"""Energy expenditure: Keytel et al. 2005 from heart rate, METs when there is none."""

# Keytel LR, Goedecke JH, Noakes TD, et al. "Prediction of energy expenditure from heart rate
# monitoring during submaximal exercise." J Sports Sci 2005;23(3):289-297. The equation without
# VO2max (kJ/min; HR in beats/min, W in kg, A in years):
#   men:    EE = -55.0969 + 0.6309 HR + 0.1988 W + 0.2017 A
#   women:  EE = -20.4022 + 0.4472 HR - 0.1263 W + 0.0740 A
# It was fitted on submaximal exercise; at resting heart rates it is wrong (it can even go
# negative). So, like the flex-HR method (Spurr et al. 1988), below FLEX_LOW beats above the
# person's resting HR the band counts resting energy (MET_REST), above FLEX_HIGH it counts
# Keytel, and in between it ramps linearly from one to the other, so the curve is continuous
# and a 1 BPM error never moves a minute from rest to exercise in one jump.
#
# Heart rate cannot jump in seconds, so a trusted reading (confidence >= HR_TRUSTED) stands
# in for HOLD_S seconds of unsure windows (motion bursts). After that, an unsure estimate is
# costed from the same curve: it is usually nearer the pulse than a MET guess from the
# activity class (walking about without a counted step is classed rest, 1.3 MET, while the
# heart beats at 80-95; docs/accuracy.md). Only without any estimate (off skin, no PPG, a flat
# or pure-motion window) does the meter fall back to METs (Ainsworth et al., Compendium of
# Physical Activities 2011): sitting quietly 1.3 MET; walking from cadence with the
# CADENCE-Adults heuristic (Tudor-Locke et al. 2019: 100 steps/min ~ 3 MET, 130 steps/min
# ~ 6 MET; clamped to the Compendium's slow walk, 2.0 MET, and running at 6 mph, 9.8 MET);
# labour 3.8 MET (general gardening / cleaning at moderate effort); kcal/min = MET * 3.5 * kg /
# 200. And a heart-rate estimate describes the BACKFILL_S seconds of pulse behind it (the
# estimator's window): when a trusted reading follows seconds costed from METs or from unsure
# estimates, the last BACKFILL_S of them are costed again from it, the difference booked with
# this period. This matters at every start of the PPG, whose first windows are unsure until
# the track settles. Only the energy uses unsure estimates: the activity class and every
# heart rate the band reports as evidence are trusted ones (firmware/sensing.py).

REST = "rest"
WALK = "walk"
LABOUR = "labour"

KJ_PER_KCAL = 4.184
HR_TRUSTED = 50
FLEX_LOW = 10
FLEX_HIGH = 40
MET_REST = 1.3
MET_LABOUR = 3.8
MET_WALK_MIN = 2.0
MET_WALK_MAX = 10.0  # Compendium: running 6 mph 9.8 MET
HOLD_S = 10  # a trusted heart rate stands in for this long when the next windows are unsure
BACKFILL_S = 8  # ... and re-costs this much of the MET time just before it (its own window)


def keytel_kcal_min(bpm, sex, weight_kg, age):
    """Keytel 2005 energy expenditure in kcal/min (may be <= 0 at low heart rates)."""
    if sex == "f":
        kj = -20.4022 + 0.4472 * bpm - 0.1263 * weight_kg + 0.074 * age
    elif sex == "m":
        kj = -55.0969 + 0.6309 * bpm + 0.1988 * weight_kg + 0.2017 * age
    else:
        raise ValueError("sex must be 'm' or 'f'")
    return kj / KJ_PER_KCAL


def met_kcal_min(met, weight_kg):
    """kcal/min of an activity of `met` METs (ACSM: MET x 3.5 ml/kg/min, 5 kcal per litre O2)."""
    return met * 3.5 * weight_kg / 200.0


def walking_met(cadence_spm):
    """METs of walking at a cadence: 3 MET at 100 steps/min, +0.1 MET per step/min."""
    met = 3.0 + (cadence_spm - 100) * 0.1
    return max(MET_WALK_MIN, min(MET_WALK_MAX, met))


def activity_met(activity, cadence_spm):
    """MET value for an activity class (the fallback when the heart rate is unsure)."""
    if activity == WALK:
        return walking_met(cadence_spm)
    if activity == LABOUR:
        return MET_LABOUR
    return MET_REST


def hr_kcal_min(bpm, sex, weight_kg, age, rest_hr):
    """kcal/min from heart rate: resting below rest+FLEX_LOW, Keytel above rest+FLEX_HIGH."""
    rest = met_kcal_min(MET_REST, weight_kg)
    low = rest_hr + FLEX_LOW
    high = rest_hr + FLEX_HIGH
    if bpm <= low:
        return rest
    top = max(rest, keytel_kcal_min(high, sex, weight_kg, age))
    if bpm >= high:
        return max(top, keytel_kcal_min(bpm, sex, weight_kg, age))
    return rest + (top - rest) * (bpm - low) / (high - low)


class EnergyMeter:
    """Accumulates kcal for one person; `add` each closed period (seconds) of measurements."""

    def __init__(self, sex, weight_kg, age, rest_hr):
        if sex not in ("m", "f"):
            raise ValueError("sex must be 'm' or 'f'")
        if not (20 <= weight_kg <= 300 and 10 <= age <= 110 and 30 <= rest_hr <= 120):
            raise ValueError("weight_kg 20..300, age 10..110, rest_hr 30..120")
        self.sex = sex
        self.weight_kg = weight_kg
        self.age = age
        self.rest_hr = rest_hr
        self.total_kcal = 0.0
        self.active_kcal = 0.0  # above resting energy: the part the activity itself cost
        self.seconds_hr = 0  # seconds costed from a heart rate (trusted, held or unsure)
        self.seconds_met = 0  # seconds costed from METs (no heart rate at all)
        self._held = None  # last trusted heart rate
        self._held_s = 0  # seconds since it was measured
        self._back_s = 0  # the latest run of seconds without a trusted rate (<= BACKFILL_S) ...
        self._back_kcal = 0.0  # ... what they were costed ...
        self._back_met_s = 0  # ... and how many of them from METs

    def add(self, seconds, bpm, confidence, activity, cadence_spm):
        """Add `seconds` of activity; return the kcal added."""
        if seconds <= 0:
            return 0.0
        if bpm is not None and not 30 <= bpm <= 230:
            bpm = None
        trusted = bpm is not None and confidence >= HR_TRUSTED
        if trusted:
            self._held = bpm
            self._held_s = 0
        elif self._held is not None and self._held_s + seconds <= HOLD_S:
            bpm = self._held
            self._held_s += seconds
            trusted = True
        else:
            self._held = None
        rest_min = met_kcal_min(MET_REST, self.weight_kg)
        if trusted:
            per_min = hr_kcal_min(bpm, self.sex, self.weight_kg, self.age, self.rest_hr)
            kcal = per_min * seconds / 60.0
            self.seconds_hr += seconds
            back_s = self._back_s
            if back_s:
                # The unsure seconds just before this reading: cost them from it instead.
                back = per_min * back_s / 60.0
                self.active_kcal += max(0.0, back - rest_min * back_s / 60.0) - max(
                    0.0, self._back_kcal - rest_min * back_s / 60.0
                )
                kcal += back - self._back_kcal
                self.seconds_hr += self._back_met_s
                self.seconds_met -= self._back_met_s
                self._back_s = self._back_met_s = 0
                self._back_kcal = 0.0
            self.total_kcal += kcal
            self.active_kcal += max(0.0, per_min - rest_min) * seconds / 60.0
            return kcal
        if bpm is not None:  # an unsure estimate: nearer the truth than a MET guess (above)
            per_min = hr_kcal_min(bpm, self.sex, self.weight_kg, self.age, self.rest_hr)
            self.seconds_hr += seconds
        else:
            per_min = met_kcal_min(activity_met(activity, cadence_spm), self.weight_kg)
            self.seconds_met += seconds
            self._back_met_s += seconds
        kcal = per_min * seconds / 60.0
        self._back_s += seconds
        self._back_kcal += kcal
        if self._back_s > BACKFILL_S:  # keep only the last BACKFILL_S (at their mean rate)
            self._back_kcal = self._back_kcal * BACKFILL_S / self._back_s
            self._back_met_s = self._back_met_s * BACKFILL_S // self._back_s
            self._back_s = BACKFILL_S
        self.total_kcal += kcal
        self.active_kcal += max(0.0, kcal - rest_min * seconds / 60.0)
        return kcal
