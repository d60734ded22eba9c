"""Benchmark the whole band firmware under the MicroPython WebAssembly port: heap and CPU.

python -m simulators.bench_band     # prints the measurements as JSON

The firmware runs exactly as in SimBand, one simulated second per interpreter call. This port
collects garbage only when a call returns to JavaScript (with no stack roots), so the heap in
use at the start of each call is the firmware's live set after a full collection, measured
every simulated second. Within a call nothing is freed: the bytes a callback allocates there
are an upper bound on the transient heap it needs.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from simulators.mpy import MicroPython

ESP32S3_SLOWDOWN = 15.0  # assumed: MicroPython on an ESP32-S3 at 160 MHz vs this port here
HEAP_GOAL = 64 * 1024

# Under MicroPython: hi-res clock, the callback meter and the I2C-time exclusion.
_SETUP = """
import gc, json, sys
import js
import machine, simkernel, simhost
now = js.performance.now
M = {'cb': {}, 'sim_ms': 0.0, 'sim_alloc': 0, 'signs': []}
def _wrap_i2c(name):
    orig = getattr(machine.I2C, name)
    def w(*a):
        t = now(); m = gc.mem_alloc()
        r = orig(*a)
        M['sim_ms'] += now() - t
        M['sim_alloc'] += gc.mem_alloc() - m
        return r
    setattr(machine.I2C, name, w)
for _n in ('readfrom_mem', 'readfrom_mem_into', 'writeto_mem'):
    _wrap_i2c(_n)
def meter(pair):
    fn, arg = pair
    s0 = M['sim_ms']; a0 = M['sim_alloc']
    t = now(); m = gc.mem_alloc()
    fn(arg)
    dt = now() - t - (M['sim_ms'] - s0)
    da = gc.mem_alloc() - m - (M['sim_alloc'] - a0)
    name = getattr(fn, '__name__', 'callback')
    c = M['cb'].setdefault(name, [0, 0.0, 0])
    c[0] += 1; c[1] += dt; c[2] = max(c[2], da)
gc.collect()
"""

_BOOT = """
W0 = simhost.World(1, bytes(32), 1764460800, {PROFILE}, 90)
gc.collect()
"""

_IMPORT = """
B0 = gc.mem_alloc()
import firmware.app, firmware.main
gc.collect()
"""

_START = """
B1 = gc.mem_alloc()
simhost.boot({ARGS!r})
band = simhost.world.band
_sign = band.signer.sign
def _metered_sign(msg):
    t = now(); m = gc.mem_alloc()
    out = _sign(msg)
    M['signs'].append((now() - t, gc.mem_alloc() - m))
    return out
band.signer.sign = _metered_sign
simkernel.meter = meter
gc.collect()
"""


def _interp(profile: dict[str, Any]) -> tuple[MicroPython, dict[str, int]]:
    mp = MicroPython(heap=4 * 1024 * 1024)
    mp.exec(_SETUP)
    mp.exec(_BOOT.replace("{PROFILE}", repr(profile)))
    mp.exec(_IMPORT)
    args = json.dumps(
        {"band_id": 1, "seed": "00" * 32, "start_time": 1764460800, "profile": profile}
    )
    mp.exec(_START.replace("{ARGS!r}", repr(args)))
    marks = mp.eval_json("[B0, B1, gc.mem_alloc()]")
    return mp, {"before_firmware": marks[0], "code": marks[1] - marks[0], "boot": marks[2]}


def _run(mp: MicroPython, seconds: int, step_ms: int = 1000) -> list[int]:
    """Live heap at the start of each call (the port collected at the previous return)."""
    code = f"print(gc.mem_alloc())\nsimhost.world.advance({step_ms})\ngc.collect()"
    return [int(mp.exec(code).split()[0]) for _ in range(seconds * 1000 // step_ms)]


PHASES = (("rest", 1200), ("walk", 1200), ("labour", 1200))
SESSION_S = 1200


def measure() -> dict[str, Any]:
    """Heap and CPU of the firmware: 20 minutes each of rest, walking, labour, then a session."""
    mp, marks = _interp({})
    live: list[int] = []
    cpu: dict[str, float] = {}
    signs: list[list[float]] = []
    transient: dict[str, int] = {}
    callbacks: dict[str, int] = {}
    try:

        def phase(name: str, seconds: int) -> None:
            mp.exec("M['cb'] = {}; M['signs'] = []")
            live.extend(_run(mp, seconds))
            m = mp.eval_json("M")
            cpu[name] = sum(c[1] for c in m["cb"].values()) * 3600 / seconds
            signs.extend(m["signs"])
            for k, v in m["cb"].items():
                transient[k] = max(transient.get(k, 0), v[2])
                callbacks[k] = callbacks.get(k, 0) + v[0]

        for activity, seconds in PHASES:
            mp.exec(f"simhost.world.body.forced = {activity!r}")
            phase(activity, seconds)
        # A session: continuous heart rate while walking, started as the mode downlink does.
        mp.exec(
            "simhost.world.body.forced = 'walk'\n"
            "import firmware.control as _c\n"
            "_c._mode(band, 1, 9, 0)\n"
        )
        phase("session", SESSION_S)
        mp.exec("_c._mode(band, 0, 9, 0)")
        table = mp.eval_json("len(__import__('protocol.ed25519_table').ed25519_table.TABLE)")
    finally:
        mp.close()
    base = marks["before_firmware"] + marks["code"]
    return {
        "before_firmware_bytes": marks["before_firmware"],
        "code_bytes": marks["code"],
        "table_bytes": table,
        "live_max_bytes": max(live) - base,
        "live_median_bytes": statistics.median(live) - base,
        "transient_max_bytes": max(transient.values()),
        "transient_by_callback": transient,
        "sign_ms_median": statistics.median(s[0] for s in signs),
        "sign_alloc_max": max(s[1] for s in signs),
        "signs": len(signs),
        "cpu_ms_per_hour": cpu,
        "callbacks": callbacks,
    }


def bench_rows() -> list[dict[str, Any]]:
    """Rows for docs/benchmarks.md (group band-firmware)."""
    from sqjz.benchmarks import row

    m = measure()
    kb = 1024
    run = (
        "SimBand firmware under the MicroPython 1.27 WebAssembly port: 20 simulated minutes "
        "each of rest, walking and labour (normal mode), then 20 of a session (continuous "
        "PPG, walking); one simulated second per interpreter call"
    )
    slow = ESP32S3_SLOWDOWN
    return [
        row(
            "band firmware: live heap, data only (max)",
            round(m["live_max_bytes"] / kb, 1),
            "KB",
            "<= 64 KB",
            f"{run}; gc.mem_alloc() at the start of every call (after this port's full "
            "collection at the previous return) minus the heap before the firmware was imported "
            "minus its code; median "
            f"{m['live_median_bytes'] / kb:.1f} KB",
            limit=f"code loaded from .py: {m['code_bytes'] / kb:.0f} KB (frozen on the band: 0)",
        ),
        row(
            "band firmware: largest transient allocation of one callback",
            round(m["transient_max_bytes"] / kb, 1),
            "KB",
            "upper bound only",
            f"{run}; gc.mem_alloc() before/after each scheduled callback (the port frees "
            "nothing inside a call), I2C time and bytes of the simulated parts subtracted; "
            "dominated by the callbacks that sign a frame",
            limit="the GC reclaims this garbage on the band; it bounds, not measures, the peak",
        ),
        row(
            "band firmware: Ed25519 sign inside the main loop (median)",
            round(m["sign_ms_median"], 2),
            "ms",
            "small next to the 1 s service period",
            f"{run}; each of {m['signs']} signatures timed with js.performance.now() "
            f"inside emit(); ESP32-S3 estimate x{slow:g}: {m['sign_ms_median'] * slow:.0f} ms",
            limit=f"allocates {m['sign_alloc_max'] / kb:.0f} KB of short-lived big integers",
        ),
        *[
            row(
                f"band firmware: CPU per hour, {name}",
                round(ms),
                "ms/h",
                "feeds hardware/power.md",
                f"{run}; sum of callback times (js.performance.now) minus the simulated parts' "
                f"I2C time; ESP32-S3 at 160 MHz estimate x{slow:g}: "
                f"{ms * slow / 1000:.0f} s/h (assumed ratio, see hardware/power.md)",
            )
            for name, ms in m["cpu_ms_per_hour"].items()
        ],
        row(
            "band firmware: Ed25519 base-point table",
            m["table_bytes"],
            "bytes",
            "flash, no heap",
            "len(protocol.ed25519_table.TABLE); a bytes constant frozen by firmware/manifest.py",
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
