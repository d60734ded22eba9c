"""Energy and activity under MicroPython: Keytel by hand, the rest ramp, MET fallback, classes."""

from __future__ import annotations

import itertools

import pytest

from simulators.mpy import MicroPython

SETUP = "from firmware.algo import energy as E\nfrom firmware.algo import activity as A"

# Hand-computed from Keytel et al. 2005, the equation without VO2max (kJ/min / 4.184):
#   man, 140 BPM, 70 kg, 30 y:   -55.0969 + 88.326 + 13.916 + 6.051 = 53.1961 kJ -> 12.7142 kcal
#   woman, 140 BPM, 60 kg, 30 y: -20.4022 + 62.608 - 7.578 + 2.220  = 36.8478 kJ ->  8.8068 kcal
#   man, 105 BPM, 70 kg, 30 y:   -55.0969 + 66.2445 + 13.916 + 6.051 = 31.1146 kJ -> 7.4366 kcal
# Resting (1.3 MET, 70 kg): 1.3 * 3.5 * 70 / 200 = 1.5925 kcal/min.


@pytest.fixture(scope="module")
def mp(mpy: MicroPython) -> MicroPython:
    mpy.exec(SETUP)
    return mpy


def test_keytel_by_hand(mp: MicroPython) -> None:
    man, woman = mp.eval_json(
        "[E.keytel_kcal_min(140, 'm', 70, 30), E.keytel_kcal_min(140, 'f', 60, 30)]"
    )
    assert man == pytest.approx(12.7142, abs=1e-3)
    assert woman == pytest.approx(8.8068, abs=1e-3)


def test_heart_rate_energy_ramps_from_rest_to_keytel(mp: MicroPython) -> None:
    f = "E.hr_kcal_min({}, 'm', 70, 30, 65)"
    at = mp.eval_json("[" + ", ".join(f.format(b) for b in (50, 75, 90, 105, 140)) + "]")
    assert at[0] == pytest.approx(1.5925, abs=1e-3)  # Keytel would say 0.0 here: nonsense
    assert at[1] == pytest.approx(1.5925, abs=1e-3)  # rest + 10: still resting energy
    assert at[2] == pytest.approx((1.5925 + 7.4366) / 2, abs=1e-3)  # half-way up the ramp
    assert at[3] == pytest.approx(7.4366, abs=1e-3)  # rest + 40: Keytel from here on
    assert at[4] == pytest.approx(12.7142, abs=1e-3)
    ramp = mp.eval_json("[" + ", ".join(f.format(b) for b in range(60, 160)) + "]")
    assert all(b >= a for a, b in itertools.pairwise(ramp))  # never falls as HR rises
    assert max(b - a for a, b in itertools.pairwise(ramp)) < 0.25  # no jump


def test_met_fallback(mp: MicroPython) -> None:
    got = mp.eval_json(
        "[E.met_kcal_min(E.activity_met(c, s), 70) for c, s in "
        "(('rest', 0), ('walk', 120), ('walk', 40), ('walk', 200), ('labour', 0))]"
    )
    assert got == pytest.approx([1.5925, 6.125, 2.45, 12.25, 4.655], abs=1e-3)


def test_meter_uses_trusted_hr_holds_it_briefly_then_mets(mp: MicroPython) -> None:
    code = """
m = E.EnergyMeter('m', 70, 30, 65)
_k = [m.add(60, 140, 90, 'walk', 120)]      # trusted: Keytel
_k.append(m.add(10, 150, 10, 'walk', 120))   # unsure: the 140 just measured stands in
_k.append(m.add(10, None, 0, 'walk', 120))   # no estimate after 10 s: METs from cadence
_k.append(m.add(60, None, 0, 'rest', 0))     # none at rest: resting METs
_k += [m.total_kcal, m.seconds_hr, m.seconds_met, m.active_kcal, m.add(0, 140, 90, 'rest', 0)]
"""
    mp.exec(code)
    k = mp.eval_json("_k")
    assert k[0] == pytest.approx(12.7142, abs=1e-3)
    assert k[1] == pytest.approx(12.7142 / 6, abs=1e-3)
    assert k[2] == pytest.approx(6.125 / 6, abs=1e-3)
    assert k[3] == pytest.approx(1.5925, abs=1e-3)
    assert k[4] == pytest.approx(sum(k[:4]), abs=1e-6)
    assert k[5:7] == [70, 70]
    assert k[7] == pytest.approx(sum(k[:4]) - 1.5925 * 140 / 60, abs=1e-3)
    assert k[8] == 0.0


def test_a_trusted_reading_recosts_the_met_seconds_just_before_it(mp: MicroPython) -> None:
    # The PPG starts: 12 s of unsure windows (resting METs), then a trusted 105 BPM. The
    # reading describes the 8 s of pulse behind it, so those 8 s are costed again from it.
    code = """
m = E.EnergyMeter('m', 70, 30, 65)
_k = [m.add(1, None, 0, 'rest', 0) for _ in range(12)]
_k.append(m.add(1, 105, 80, 'rest', 0))
_k.append(m.add(1, 105, 80, 'rest', 0))
_k += [m.total_kcal, m.active_kcal, m.seconds_hr, m.seconds_met]
"""
    mp.exec(code)
    k = mp.eval_json("_k")
    rest, keytel = 1.5925 / 60, E_105 / 60  # kcal per second: 1.3 MET, Keytel at 105 BPM
    assert k[:12] == pytest.approx([rest] * 12, abs=1e-6)
    assert k[12] == pytest.approx(keytel + 8 * (keytel - rest), abs=1e-6)  # booked now
    assert k[13] == pytest.approx(keytel, abs=1e-6)  # and only once
    assert k[14] == pytest.approx(4 * rest + 10 * keytel, abs=1e-6) == pytest.approx(sum(k[:14]))
    assert k[15] == pytest.approx(10 * (keytel - rest), abs=1e-6)
    assert k[16:] == [10, 4]


def test_no_recosting_across_a_held_reading_or_an_untrusted_one(mp: MicroPython) -> None:
    code = """
m = E.EnergyMeter('m', 70, 30, 65)
m.add(60, 140, 90, 'walk', 120)
m.add(5, None, 0, 'walk', 120)      # held: the 140 stands in
_k = [m.add(1, 150, 40, 'walk', 120)]  # untrusted: still held, not a new reading
_k.append(m.add(1, 150, 90, 'walk', 120))  # trusted after held seconds: nothing to recost
_k += [m.seconds_hr, m.seconds_met]
"""
    mp.exec(code)
    k = mp.eval_json("_k")
    assert k[0] == pytest.approx(12.7142 / 60, abs=1e-4)
    assert k[1] == pytest.approx(E_150 / 60, abs=1e-4)
    assert k[2:] == [67, 0]


def test_an_unsure_estimate_is_costed_from_its_heart_rate_not_from_mets(mp: MicroPython) -> None:
    # Walking about without a counted step is classed rest (1.3 MET) while the heart beats at
    # 90: the unsure estimate is nearer than the MET guess. An impossible one is not used.
    code = """
m = E.EnergyMeter('m', 70, 30, 65)
_k = [m.add(60, 90, 10, 'rest', 0), m.seconds_hr, m.seconds_met]
_k += [m.add(60, 300, 10, 'rest', 0), m.add(60, 49, 0, 'labour', 0), m.seconds_hr, m.seconds_met]
"""
    mp.exec(code)
    k = mp.eval_json("_k")
    assert k[0] == pytest.approx((1.5925 + 7.4366) / 2, abs=1e-3)  # half-way up the ramp
    assert k[1:3] == [60, 0]
    assert k[3] == pytest.approx(1.5925, abs=1e-3)  # 300 BPM: resting METs
    assert k[4] == pytest.approx(1.5925, abs=1e-3)  # 49 BPM: resting energy, not labour's 3.8
    assert k[5:] == [120, 60]


def test_a_trusted_reading_recosts_unsure_and_met_seconds_alike(mp: MicroPython) -> None:
    code = """
m = E.EnergyMeter('m', 70, 30, 65)
_k = [m.add(4, None, 0, 'rest', 0), m.add(4, 90, 10, 'rest', 0), m.add(1, 105, 80, 'rest', 0)]
_k += [m.total_kcal, m.seconds_hr, m.seconds_met]
"""
    mp.exec(code)
    k = mp.eval_json("_k")
    rest, mid, keytel = 1.5925 / 60, (1.5925 + E_105) / 120, E_105 / 60  # kcal per second
    assert k[:2] == pytest.approx([4 * rest, 4 * mid], abs=1e-6)
    assert k[2] == pytest.approx(keytel + 8 * keytel - 4 * rest - 4 * mid, abs=1e-6)
    assert k[3] == pytest.approx(9 * keytel, abs=1e-6)
    assert k[4:] == [9, 0]


E_105 = (-55.0969 + 0.6309 * 105 + 0.1988 * 70 + 0.2017 * 30) / 4.184  # Keytel, kcal/min
E_150 = (-55.0969 + 0.6309 * 150 + 0.1988 * 70 + 0.2017 * 30) / 4.184


@pytest.mark.parametrize(
    "args",
    ["'x', 70, 30, 65", "'m', 5, 30, 65", "'m', 70, 200, 65", "'m', 70, 30, 10"],
)
def test_meter_rejects_impossible_profiles(mp: MicroPython, args: str) -> None:
    with pytest.raises(Exception, match="ValueError"):
        mp.exec(f"E.EnergyMeter({args})")


def test_activity_rules(mp: MicroPython) -> None:
    cases = [
        (110, 80, None, 0, "walk"),  # walking bout
        (0, 10, None, 0, "rest"),  # still
        (0, 60, None, 0, "labour"),  # wrist busy above the light-activity cut-point
        (0, 30, 100, 80, "labour"),  # raised pulse while moving a little (carrying)
        (0, 30, 100, 20, "rest"),  # ... but not on an unsure pulse
        (0, 5, 120, 90, "rest"),  # raised pulse with a still wrist is not labour
    ]
    got = mp.eval_json(
        "[A.classify(c, e, b, k, 65) for c, e, b, k in " + repr([c[:4] for c in cases]) + "]"
    )
    assert got == [c[4] for c in cases]


def test_activity_classifier_accumulates_seconds(mp: MicroPython) -> None:
    code = """
import math
a = A.ActivityClassifier(25, 65)
_cls = []
for sec in range(30):
    for i in range(25):
        amp = 0 if sec < 10 else 300
        a.feed(0, 0, 1000 + int(amp * math.sin(2 * math.pi * 1.3 * (sec * 25 + i) / 25)))
    _cls.append(a.second(100 if sec >= 20 else 0))
_acc = [a.seconds['rest'], a.seconds['labour'], a.seconds['walk'], a.last_enmo_mg]
"""
    mp.exec(code)
    cls = mp.eval_json("_cls")
    rest, labour, walk, enmo = mp.eval_json("_acc")
    assert cls[:10] == ["rest"] * 10 and cls[-10:] == ["walk"] * 10
    assert cls[12:20] == ["labour"] * 8
    assert (rest, labour, walk) == (cls.count("rest"), cls.count("labour"), 10)
    assert 60 <= enmo <= 120  # mean positive part of a 300 mg sine: 300 / pi
