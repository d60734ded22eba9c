"""Benchmark group "band-algorithms": cost of the sensing algorithms under MicroPython."""

from __future__ import annotations

import statistics
from typing import Any

SECONDS = 60  # of synthetic 25 Hz signal per run
REPEATS = 5

# Runs inside MicroPython: a walking wrist with a pulse, fed to one algorithm; returns the
# elapsed microseconds and the bytes allocated (GC off, so the heap only grows).
CODE = """
import gc, math, time
from firmware.algo.steps import StepCounter
from firmware.algo.heartrate import HeartRate
from firmware.algo.pipeline import Pipeline
_n = {seconds} * 25
_xs = [int(300 * math.sin(2 * math.pi * 1.9 * i / 25)) for i in range(_n)]
_ps = [120000 + int(400 * math.sin(2 * math.pi * 1.4 * i / 25)) + _xs[i] for i in range(_n)]
def _run(which):
    if which == 'steps':
        a = StepCounter(25)
        f = lambda i: a.feed(40, -_xs[i] // 2, 1000 + _xs[i])
    elif which == 'hr':
        a = HeartRate(25)
        f = lambda i: a.feed(_ps[i], 40, -_xs[i] // 2, 1000 + _xs[i])
    else:
        a = Pipeline(25)
        f = lambda i: a.feed(_ps[i], 40, -_xs[i] // 2, 1000 + _xs[i])
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    t0 = time.ticks_us()
    for i in range(_n):
        f(i)
    us = time.ticks_diff(time.ticks_us(), t0)
    grown = gc.mem_alloc() - before
    gc.enable()
    return [us, grown]
"""


def bench_rows() -> list[dict[str, Any]]:
    """Microseconds and bytes allocated per second of signal, steps / HR / whole pipeline."""
    from simulators.mpy import MicroPython
    from sqjz.benchmarks import row

    rows = []
    with MicroPython(heap=8 * 1024 * 1024) as mpy:
        mpy.exec(CODE.format(seconds=SECONDS))
        mpy.eval_json("_run('pipeline')")  # warm-up: first imports and allocations
        results: dict[str, list[list[int]]] = {}
        for which in ("steps", "hr", "pipeline"):
            results[which] = [mpy.eval_json(f"_run({which!r})") for _ in range(REPEATS)]
    method = (
        f"{SECONDS} s of synthetic 25 Hz wrist signal (1.9 Hz gait, 1.4 Hz pulse) fed sample by "
        f"sample in the MicroPython 1.27 WebAssembly port under Node.js on this machine, "
        f"median of {REPEATS} runs; allocation = gc.mem_alloc() growth with the GC disabled"
    )
    labels = {
        "steps": "StepCounter",
        "hr": "HeartRate (8 s window, 256-point FFTs every 2 s)",
        "pipeline": "Pipeline (steps + HR + activity + energy)",
    }
    for which, runs in results.items():
        us = statistics.median(r[0] for r in runs) / SECONDS
        alloc = statistics.median(r[1] for r in runs) / SECONDS
        rows.append(
            row(
                f"band algorithms: {labels[which]}, CPU per second of signal",
                round(us / 1000.0, 2),
                "ms/s",
                "small share of the band's CPU (signing comes first)",
                method,
                limit=f"{round(100 * us / 1e6, 2)} % of one core of this machine",
            )
        )
        rows.append(
            row(
                f"band algorithms: {labels[which]}, heap allocated per second",
                round(alloc),
                "bytes/s",
                "no per-sample allocation (steps: 0)",
                method,
            )
        )
    return rows
