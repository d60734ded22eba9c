"""Step counter under MicroPython: synthetic gaits, real excerpts, CPython determinism."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from simulators.mpy import MicroPython
from simulators.recordings import DATA, read_bangle_steps, read_sensorwatch
from sqjz.replay import BandReplay

SYNTH = """
import math
from firmware.algo.steps import StepCounter
def _gait(hz, seconds, amp, noise, rate=25, seed=7):
    c = StepCounter(rate)
    s = seed
    for i in range(int(seconds * rate)):
        t = i / rate
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF  # LCG: same noise on every port
        n = (s % (2 * noise + 1)) - noise if noise else 0
        z = 1000 + int(amp * math.sin(2 * math.pi * hz * t)) + n
        c.feed(80, -120, z)
    return [c.total, c.cadence_spm()]
"""


@pytest.fixture(scope="module")
def steps_mp(mpy: MicroPython) -> MicroPython:
    mpy.exec(SYNTH)
    return mpy


@pytest.mark.parametrize(("hz", "spm"), [(1.5, 90), (2.0, 120), (2.5, 150)])
def test_steady_gait_counts_every_step(steps_mp: MicroPython, hz: float, spm: int) -> None:
    total, cadence = steps_mp.eval_json(f"_gait({hz}, 60, 300, 40)")
    # 60 s at hz steps/s; the rhythm gate holds back nothing it later confirms.
    assert abs(total - hz * 60) <= 2, total
    assert abs(cadence - spm) <= 3, cadence


def test_still_and_tiny_motion_count_nothing(steps_mp: MicroPython) -> None:
    assert steps_mp.eval_json("_gait(2.0, 60, 0, 30)")[0] == 0  # sensor noise only
    assert steps_mp.eval_json("_gait(2.0, 60, 30, 5)")[0] == 0  # below the 60 mg floor


def test_irregular_hand_motion_is_not_walking(steps_mp: MicroPython) -> None:
    code = """
c = StepCounter(25)
s = 99
t = 0
while t < 25 * 60:
    s = (s * 1103515245 + 12345) & 0x7FFFFFFF
    period = 8 + s % 30  # 0.32 .. 1.5 s, a new one every swing: no rhythm
    for i in range(period):
        c.feed(0, 0, 1000 + int(400 * math.sin(2 * math.pi * i / period)))
    t += period
_irregular = c.total
"""
    steps_mp.exec(code)
    assert steps_mp.eval_json("_irregular") <= 6


def test_isqrt_exact(steps_mp: MicroPython) -> None:
    values = [0, 1, 2, 3, 4, 15, 16, 17, 999_999, 1_000_000, 3 * 16000 * 16000]
    got = steps_mp.eval_json(
        f"[isqrt(v, g) for v in {values!r} for g in (0, 1, 1000, 30000)]",
        setup="from firmware.algo.steps import isqrt",
    )
    assert got == [math.isqrt(v) for v in values for _ in range(4)]


def test_out_of_range_axes_are_clamped(steps_mp: MicroPython) -> None:
    got = steps_mp.eval_json(
        "[_c.feed(10**9, -(10**9), 10**9), _c.feed(0, 0, 1000), _c.total]",
        setup="_c = StepCounter(25)",
    )
    assert got == [0, 0, 0]


def test_rate_is_checked(steps_mp: MicroPython) -> None:
    with pytest.raises(Exception, match="rate_hz"):
        steps_mp.exec("StepCounter(5)")


def _excerpt(path: Path, reader: object) -> list[list[int]]:
    if not path.exists():
        pytest.skip(f"evaluation data not present at {path}")
    rec = reader(path)  # type: ignore[operator]
    mg = (rec.acc_g * 1000).round().astype(int)
    return [[int(t), *map(int, xyz)] for t, xyz in zip(rec.t_ms, mg, strict=True)]


def _count(mpy: MicroPython, rows: list[list[int]]) -> int:
    band = BandReplay(mpy)
    band.start({"sex": "m", "weight": 70, "age": 30, "rest_hr": 65})
    band.feed(rows, False)
    steps: int = band.summary()["steps"]
    return steps


def _cpython(rows: list[list[int]]) -> int:
    from firmware.algo.steps import StepCounter

    c = StepCounter(25)
    for r in rows:
        c.feed(r[1], r[2], r[3])
    return c.total


@pytest.mark.parametrize(
    ("rel", "truth", "tolerance"),
    [
        ("steps-bangle/100_1.csv", 100, 5),  # a wrist walk, 100 hand-counted steps
        ("steps-bangle/HughB2.csv", 150, 8),
        ("steps-bangle/HughB-nosteps2.csv", 0, 1),  # arm moving, no steps
    ],
)
def test_real_bangle_excerpts(mpy: MicroPython, rel: str, truth: int, tolerance: int) -> None:
    rows = _excerpt(DATA / rel, read_bangle_steps)
    counted = _count(mpy, rows)
    assert abs(counted - truth) <= tolerance, counted
    assert counted == _cpython(rows)  # CPython and MicroPython agree to the step


def test_real_hand_work_counts_no_steps(mpy: MicroPython) -> None:
    rows = _excerpt(DATA / "steps-sensorwatch" / "shoe-laces2.csv", read_sensorwatch)
    counted = _count(mpy, rows)
    assert counted <= 1  # 75 s of tying shoe laces: at most one false step
    assert counted == _cpython(rows)


def test_determinism_on_a_noisy_synthetic_walk(mpy: MicroPython) -> None:
    rows = []
    seed = 3
    for i in range(25 * 40):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        jitter = seed % 200 - 100
        z = 1000 + round(350 * math.sin(2 * math.pi * 1.9 * i / 25)) + jitter
        rows.append([i * 40, 150 + jitter // 3, -200, z])
    assert _count(mpy, rows) == _cpython(rows) > 60
