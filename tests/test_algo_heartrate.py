"""Heart rate under MicroPython: FFT, synthetic pulse under motion, off-skin, real excerpts."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from simulators.mpy import MicroPython
from simulators.recordings import DATA, read_troika, read_welltory

SYNTH = """
import math
from firmware.algo.heartrate import HeartRate
def _pulse(pulse_hz, motion_hz, motion_mg, seconds, ppg_amp=400, motion_ppg=600):
    h = HeartRate(25)
    out = []
    for i in range(int(seconds * 25)):
        t = i / 25
        m = math.sin(2 * math.pi * motion_hz * t)
        # Motion shows in the PPG (pressure, blood sloshing) at its own frequency, stronger
        # than the pulse itself, as on a running wrist.
        ppg = 120000 + int(ppg_amp * math.sin(2 * math.pi * pulse_hz * t)) + int(motion_ppg * m)
        bpm = h.feed(ppg, int(motion_mg * m), 0, 1000 + int(motion_mg * 0.5 * m))
        if bpm is not None:
            out.append([bpm, h.last_confidence])
    return out
"""


@pytest.fixture(scope="module")
def hr_mp(mpy: MicroPython) -> MicroPython:
    mpy.exec(SYNTH)
    return mpy


def test_fixed_point_fft_matches_numpy(mpy: MicroPython) -> None:
    rng = random.Random(5)
    limit = 1 << 13  # fft.INPUT_LIMIT
    re = [rng.randrange(-limit + 1, limit) for _ in range(256)]
    im = [rng.randrange(-limit + 1, limit) for _ in range(256)]
    got = mpy.eval_json(
        "[list(_re), list(_im)]",
        setup=(
            "from array import array\nfrom firmware.algo.fft import FFT\n"
            f"_re = array('i', {re!r})\n_im = array('i', {im!r})\nFFT(256).transform(_re, _im)"
        ),
    )
    want = np.fft.fft(np.array(re) + 1j * np.array(im)) / 256  # the fixed-point FFT is DFT / n
    assert max(np.max(np.abs(got[0] - want.real)), np.max(np.abs(got[1] - want.imag))) <= 4
    # Every value is an int that fits a 32-bit port's small ints (no heap allocation).
    assert all(isinstance(v, int) and abs(v) < 1 << 14 for v in got[0] + got[1])


def test_heart_rate_is_the_same_under_cpython(mpy: MicroPython) -> None:
    from firmware.algo.heartrate import HeartRate

    rows = []
    for i in range(25 * 30):
        m = round(300 * math.sin(2 * math.pi * 2.2 * i / 25))
        p = 120000 + round(400 * math.sin(2 * math.pi * 1.3 * i / 25)) + m
        rows.append([p, m, 0, 1000 + m // 2])
    h = HeartRate(25)
    want = [[h.feed(*r), h.last_confidence] for r in rows]
    want = [w for w in want if w[0] is not None]
    got = mpy.eval_json(
        "_o",
        setup=(
            "from firmware.algo.heartrate import HeartRate\n_h = HeartRate(25)\n_o = []\n"
            f"for _r in {rows!r}:\n"
            "    _b = _h.feed(*_r)\n"
            "    if _b is not None:\n"
            "        _o.append([_b, _h.last_confidence])\n"
        ),
    )
    assert got == want and len(got) == 12


def test_fft_rejects_other_sizes(mpy: MicroPython) -> None:
    with pytest.raises(Exception, match="power of two"):
        mpy.exec("from firmware.algo.fft import FFT\nFFT(100)")


def test_pulse_at_rest(hr_mp: MicroPython) -> None:
    out = hr_mp.eval_json("_pulse(1.2, 0.0, 0, 30, motion_ppg=0)")
    assert len(out) == 12  # windows end at 8, 10, ..., 30 s
    assert all(abs(bpm - 72) <= 2 for bpm, _ in out)
    assert all(conf >= 80 for _, conf in out)


def test_pulse_under_stronger_motion_is_found(hr_mp: MicroPython) -> None:
    # 1.5 Hz pulse (90 BPM) under 2.3 Hz arm motion (138/min) that is stronger in the PPG.
    out = hr_mp.eval_json("_pulse(1.5, 2.3, 400, 40)")
    assert all(abs(bpm - 90) <= 3 for bpm, _ in out[2:]), out
    # Without the accelerometer channel the same PPG would be read as the motion.
    blind = hr_mp.eval_json("_pulse(1.5, 2.3, 0, 40)")
    assert any(abs(bpm - 138) <= 4 for bpm, _ in blind), blind


def test_flat_or_saturated_ppg_gives_no_estimate(hr_mp: MicroPython) -> None:
    code = """
h = HeartRate(25)
_flat = []
for i in range(25 * 12):
    r = h.feed(50000, 0, 0, 1000)
    if i % 50 == 49:
        _flat.append([r, h.last_confidence])
h = HeartRate(25)
_sat = []
for i in range(25 * 12):
    p = 262143 if i % 25 == 0 else 120000 + int(300 * math.sin(i * 0.3))
    r = h.feed(p, 0, 0, 1000)
    if i % 50 == 49:
        _sat.append([r, h.last_confidence])
"""
    hr_mp.exec(code)
    flat = hr_mp.eval_json("_flat")
    sat = hr_mp.eval_json("_sat")
    assert [r for r, _ in flat[3:]] == [None] * 3 and all(c == 0 for _, c in flat)
    assert [r for r, _ in sat[3:]] == [None] * 3 and all(c == 0 for _, c in sat)


def _windows(mpy: MicroPython, rec: object, seconds: int) -> list[list[object]]:
    from sqjz.replay import BandReplay

    n = seconds * 25
    acc = (rec.acc_g[:n] * 1000).round().astype(int)  # type: ignore[attr-defined]
    rows = [
        [int(t), int(x), int(y), int(z), int(p)]
        for t, (x, y, z), p in zip(rec.t_ms[:n], acc, rec.ppg[:n], strict=True)  # type: ignore[attr-defined]
    ]
    band = BandReplay(mpy)
    band.start({"sex": "m", "weight": 70, "age": 30, "rest_hr": 65})
    band.feed(rows, True)
    return band.windows


def test_real_troika_running_excerpt(mpy: MicroPython) -> None:
    path = DATA / "hr-troika" / "DATA_05_TYPE02_25hz.csv"
    if not path.exists():
        pytest.skip(f"evaluation data not present at {path}")
    rec = read_troika(path)
    ref = {t: bpm for t, bpm in rec.truth["hr_windows"]}
    windows = _windows(mpy, rec, 90)  # rest, then the start of the run
    errors = [abs(w[1] - ref[w[0]]) for w in windows if w[1] is not None]
    assert len(errors) >= 40
    assert sum(errors) / len(errors) <= 5.0, json.dumps(windows)


def test_real_fingertip_excerpt(mpy: MicroPython) -> None:
    folder = DATA / "hr-welltory" / "data" / "subject_09"
    if not folder.exists():
        pytest.skip(f"evaluation data not present at {folder}")
    rec = read_welltory(folder)
    ref = {t: bpm for t, bpm in rec.truth["hr_windows"]}
    windows = _windows(mpy, rec, 60)
    errors = [abs(w[1] - ref[w[0]]) for w in windows if w[1] is not None and w[0] in ref]
    assert len(errors) >= 20
    assert sum(errors) / len(errors) <= 4.0
