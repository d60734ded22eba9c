"""Benchmark the band's Ed25519 signing (protocol.ed25519) under the MicroPython WebAssembly port.

python -m simulators.bench_band_crypto [N]     # prints the bench_sign() dict as JSON
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

from simulators.mpy import MicroPython

MESSAGE_BYTES = 47  # a frame's signed part
WARMUP = 20
CHUNK = 10  # signatures per request: the port collects garbage only between requests

# Runs once under MicroPython: imports, helpers and the one-time measurements.
_SETUP = """
import gc, sys, time
try:
    import js
    _hires = js.performance.now  # milliseconds as a float, sub-microsecond resolution
except ImportError:
    _hires = None
def _now():
    return _hires() if _hires else time.ticks_us() / 1000
def _ticks_resolution_us():
    t0 = time.ticks_us()
    while time.ticks_us() == t0:
        pass
    t1 = time.ticks_us()
    while time.ticks_us() == t1:
        pass
    return time.ticks_diff(time.ticks_us(), t1)
def _msg(i):
    return bytes((i * 131 + j * 7 + (i >> 8)) & 255 for j in range(%(mlen)d))
h0 = _now()
from protocol import ed25519, ed25519_table
_import_ms = _now() - h0
t0 = time.ticks_us(); h0 = _now()
_signer = ed25519.Signer(bytes(range(32)))
_cold_ms = _now() - h0
_cold_ticks = time.ticks_diff(time.ticks_us(), t0)
for _i in range(%(warmup)d):
    _signer.sign(_msg(100000 + _i))
def _expand_times(k):
    out = []
    for i in range(k):
        seed = bytes((i * 37 + j) & 255 for j in range(32))
        t0 = time.ticks_us(); h0 = _now()
        ed25519.Signer(seed)
        out.append((_now() - h0, time.ticks_diff(time.ticks_us(), t0)))
    return out
def _sign_times(first, count):
    msgs = [_msg(i) for i in range(first, first + count)]
    out = []
    sign = _signer.sign
    for m in msgs:
        t0 = time.ticks_us(); h0 = _now()
        sign(m)
        h1 = _now(); t1 = time.ticks_us()
        out.append((h1 - h0, time.ticks_diff(t1, t0)))
    return out
def _alloc(i):
    m = _msg(i)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    _signer.sign(m)
    after = gc.mem_alloc()
    gc.enable()
    return after - before
def _parts(k):
    from protocol.sha512 import sha512
    r = 0x0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDE
    X, Y, Z, T = ed25519._base_mul(r)
    jobs = (
        ("sha512_79_bytes", lambda: sha512(_msg(1) + bytes(32))),
        ("sha512_111_bytes", lambda: sha512(_msg(2) + bytes(64))),
        ("base_point_mul", lambda: ed25519._base_mul(r)),
        ("encode_with_inversion", lambda: ed25519._encode(X, Y, Z)),
    )
    out = {}
    for name, job in jobs:
        ts = []
        for _ in range(k):
            h0 = _now()
            job()
            ts.append(_now() - h0)
        ts.sort()
        out[name] = ts[len(ts) // 2]
    return out
_info = {
    "micropython": ".".join(str(v) for v in sys.implementation.version[:3]),
    "machine": sys.implementation._machine,
    "hires": _hires is not None,
    "ticks_us_resolution_us": _ticks_resolution_us(),
    "import_ms": _import_ms,
    "cold_expand_ms": _cold_ms,
    "cold_expand_ticks_us": _cold_ticks,
    "table_bytes": len(ed25519_table.TABLE),
}
"""


def _pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bench_sign(n: int = 200) -> dict[str, Any]:
    """Sign n distinct 47-byte messages under MicroPython; per-call times, key expansion, heap."""
    with MicroPython() as mp:
        info = mp.eval_json("_info", _SETUP % {"mlen": MESSAGE_BYTES, "warmup": WARMUP})
        expand = mp.eval_json("_expand_times(5)")
        times: list[list[float]] = []
        for first in range(0, n, CHUNK):
            times += mp.eval_json(f"_sign_times({first}, {min(CHUNK, n - first)})")
        allocs: list[int] = mp.eval_json("[_alloc(i) for i in range(10)]")
        parts: dict[str, float] = mp.eval_json("_parts(21)")
    hires_us = [t[0] * 1000 for t in times]
    ticks_us = [float(t[1]) for t in times]
    # time.ticks_us() on this port advances in whole milliseconds, so per-call values are
    # quantised; the headline figures use the port's high-resolution clock when it has one.
    per_call = hires_us if info["hires"] else ticks_us
    clock = "js.performance.now()" if info["hires"] else "time.ticks_us()"
    return {
        "n": n,
        "message_bytes": MESSAGE_BYTES,
        "sign_ms_median": round(statistics.median(per_call) / 1000, 3),
        "sign_ms_p90": round(_pct(per_call, 0.9) / 1000, 3),
        "sign_ms_min": round(min(per_call) / 1000, 3),
        "sign_ms_median_ticks_us": round(statistics.median(ticks_us) / 1000, 3),
        "sign_ms_p90_ticks_us": round(_pct(ticks_us, 0.9) / 1000, 3),
        "sign_ms_mean_ticks_us": round(sum(ticks_us) / len(ticks_us) / 1000, 3),
        "sign_method": (
            f"{n} signatures of distinct {MESSAGE_BYTES}-byte messages with one Signer, after "
            f"{WARMUP} warm-up signatures; each sign() call timed inside MicroPython with "
            f"time.ticks_us() and with {clock}. time.ticks_us() ticks every "
            f"{info['ticks_us_resolution_us']} us on this port, so sign_ms_median/p90/min use "
            f"{clock}; the *_ticks_us figures are the quantised ticks_us readings and their mean"
        ),
        "breakdown_ms": {name: round(ms, 3) for name, ms in parts.items()},
        "breakdown_method": (
            "median of 21 timed calls each (same clock): the two SHA-512 blocks one signature "
            "hashes (the 79-byte message hashes like the prefix || message one), the fixed-base "
            "multiplication r*B and the encoding of R (one inversion); the rest of sign() is "
            "small glue"
        ),
        "key_expansion_ms": round(statistics.median(t[0] for t in expand), 3),
        "key_expansion_cold_ms": round(info["cold_expand_ms"], 3),
        "key_expansion_method": (
            "Signer(seed) (SHA-512 of the seed, clamp, a*B, encode) for 5 fresh seeds after the "
            "warm-up, median; _cold_ms is the first Signer in a fresh interpreter, which also "
            "pays the WebAssembly engine's tier-up"
        ),
        "sign_alloc_bytes": max(allocs),
        "sign_alloc_bytes_median": round(statistics.median(allocs)),
        "alloc_method": (
            "gc.collect(); gc.disable(); before = gc.mem_alloc(); sign(); after = gc.mem_alloc(); "
            "gc.enable() over 10 messages, max (and median): every byte one signature allocates, "
            "an upper bound on its peak heap (garbage from the first half could be collected "
            "before the second half needs room)"
        ),
        "import_ms": round(info["import_ms"], 3),
        "import_method": (
            "first import of protocol.ed25519 from source in a fresh interpreter (compiles the "
            "table module); firmware with frozen modules skips this"
        ),
        "table_bytes": info["table_bytes"],
        "table_method": "len(protocol.ed25519_table.TABLE): 32 positions x 8 multiples x 96 bytes",
        "micropython": f"{info['micropython']} ({info['machine']})",
        "host": f"{_cpu()}, Python {platform.python_version()}",
    }


def bench_rows(n: int = 200) -> list[dict[str, Any]]:
    """bench_sign() as rows for sqjz.benchmarks (docs/benchmarks.md)."""
    from sqjz.benchmarks import row

    r = bench_sign(n)
    where = f"MicroPython {r['micropython']} on {r['host']}"
    return [
        row(
            "band: Ed25519 sign, median (MicroPython wasm)",
            r["sign_ms_median"],
            "ms",
            "<= 3 ms",
            f"{where}; {r['sign_method']}",
            limit=f"p90 {r['sign_ms_p90']} ms, min {r['sign_ms_min']} ms",
        ),
        row(
            "band: Ed25519 key expansion (one-time)",
            r["key_expansion_ms"],
            "ms",
            "once per boot",
            r["key_expansion_method"],
            limit=f"cold {r['key_expansion_cold_ms']} ms",
        ),
        row(
            "band: bytes allocated by one signature",
            r["sign_alloc_bytes"],
            "bytes",
            "upper bound on peak heap",
            r["alloc_method"],
        ),
        row(
            "band: Ed25519 base-point table (frozen bytes)",
            r["table_bytes"],
            "bytes",
            "flash, no heap",
            r["table_method"],
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(bench_sign(int(sys.argv[1]) if len(sys.argv) > 1 else 200), indent=1))
