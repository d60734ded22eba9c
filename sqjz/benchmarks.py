"""Benchmark registry and the results table kept in docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"
RESULTS = REPO / "docs" / "benchmarks.json"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# group -> "module:function"; the function returns a list of result rows (see `row`).
# "limits" runs first: other rows are shown as a share of the limits it measures.
REGISTRY: dict[str, str] = {
    "limits": "sqjz.bench_limits:bench_rows",
    "band-sign": "simulators.bench_band_crypto:bench_rows",
    "band-algorithms": "simulators.bench_algorithms:bench_rows",
    "band-firmware": "simulators.bench_band:bench_rows",
    "protocol-verify": "sqjz.benchmarks:bench_protocol_verify",
    "hub": "simulators.hub_bench:bench_rows",
    "cloud": "cloud.bench:bench_rows",
    "fleet": "simulators.fleet_bench:bench_rows",
    "web": "sqjz.bench_web:bench_rows",
}

# Rows of the groups above whose figure is bounded by a measured limit: name prefix ->
# (limit key, units of that limit one unit of the row spends), e.g. one verify per frame.
BOUNDS: dict[str, tuple[tuple[str, float], ...]] = {
    "protocol: verify with parser, libsodium": (("ed25519", 1.0),),
    "protocol: verify with parser, OpenSSL": (("ed25519-openssl", 1.0),),
    "hub: frames/s verify + outbox + publish": (("ed25519", 1.0), ("mqtt", 1.0)),
    "cloud: ingest": (("ed25519", 1.0),),
}


def row(
    name: str,
    value: float,
    unit: str,
    goal: str,
    method: str,
    limit: str = "",
    key: str = "",
    bounds: tuple[tuple[str, float], ...] = (),
) -> dict[str, Any]:
    """One measured figure beside its goal and, where known, the hardware/library limit.

    `key` names a limit other rows refer to; `bounds` lists (limit key, units of that limit
    one unit of this row spends), e.g. (("ed25519", 2.0),) for two verifications per frame.
    """
    out: dict[str, Any] = {
        "name": name,
        "value": value,
        "unit": unit,
        "goal": goal,
        "limit": limit,
        "method": method,
    }
    if key:
        out["key"] = key
    if bounds:
        out["bounds"] = [list(b) for b in bounds]
    return out


def judge(value: float, unit: str, goal: str) -> str:
    """Whether a figure meets a goal written as '>= 15,000/s', '<= 3 ms', '< 1 s', '~40 ms'.

    Goals in words ('small', 'well under 1 s') are not judged ('').
    """
    m = re.match(r"^\s*(>=|<=|<|>|~)\s*([\d,.]+)\s*([a-zA-Z/%]*)", goal)
    if m is None or not isinstance(value, int | float):
        return ""
    op, number, goal_unit = m.group(1), float(m.group(2).replace(",", "")), m.group(3)
    scale = {("ms", "s"): 1000.0, ("s", "ms"): 0.001}
    unit_word = unit.split()[0] if unit else ""
    factor = 1.0
    if goal_unit and goal_unit not in ("/s",) and goal_unit != unit_word:
        if (unit_word, goal_unit) not in scale:
            return ""
        factor = scale[(unit_word, goal_unit)]
    target = number * factor
    if op == "~":  # "about X": within 25 % on the good side (rates higher, times lower)
        if unit.endswith("/s"):
            return "✓ meets" if value >= 0.75 * target else "✗ misses"
        if unit_word in ("ms", "s"):
            return "✓ meets" if value <= 1.25 * target else "✗ misses"
        return ""
    ok = {
        ">=": value >= target,
        "<=": value <= target,
        "<": value < target,
        ">": value > target,
    }[op]
    return "✓ meets" if ok else "✗ misses"


def share_of_limits(r: dict[str, Any], limits: dict[str, dict[str, Any]]) -> str:
    """'39 % of Ed25519 verify, libsodium (16,460/s; 1 per frame)' for each bound of a row."""
    bounds = r.get("bounds") or next(
        (b for prefix, b in BOUNDS.items() if r["name"].startswith(prefix)), ()
    )
    parts = []
    for key, cost in bounds:
        lim = limits.get(key)
        if lim is None or not lim["value"] or not isinstance(r["value"], int | float):
            continue
        label = lim["name"].removeprefix("limit: ")
        share = 100 * r["value"] * cost / lim["value"]
        parts.append(f"{share:.0f} % of {label} ({lim['value']:,}/s; {cost:g} per frame)")
    return "; ".join(parts)


def machine() -> str:
    """A short description of the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def bench_protocol_verify(n: int = 20_000, repeats: int = 5) -> list[dict[str, Any]]:
    """CPython: frames/s through parse + key lookup + Ed25519 verify, one core."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from protocol import frame
    from protocol.verify import Keyring, verify_frame, verify_sodium

    keys = [Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in range(1, 101)]
    keyring = Keyring()
    for band_id, key in enumerate(keys, start=1):
        keyring.add(band_id, key.public_key().public_bytes_raw())
    frames = [
        frame.encode(
            "activity", 1 + i % 100, i, 1_764_460_800 + i, {"steps": i % 500}, keys[i % 100].sign
        )
        for i in range(n)
    ]
    full: list[float] = []
    bare: list[float] = []
    openssl: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for raw in frames:
            verify_frame(raw, keyring)
        full.append(n / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for i, raw in enumerate(frames):
            public = keyring.get(1 + i % 100)
            assert public is not None
            if not verify_sodium(public, raw[-64:], raw[:-64]):
                raise AssertionError("benchmark frame failed to verify")
        bare.append(n / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for raw in frames:
            verify_frame(raw, keyring, backend="openssl")
        openssl.append(n / (time.perf_counter() - t0))
    median_full, median_bare = statistics.median(full), statistics.median(bare)
    median_openssl = statistics.median(openssl)
    method = (
        f"{n} distinct activity frames from 100 bands, single thread, median of {repeats} runs; "
        "verify_frame = strict parse + keyring lookup + Ed25519 verify"
    )
    return [
        row(
            "protocol: verify with parser, libsodium (CPython, 1 core)",
            round(median_full),
            "frames/s",
            ">= 15,000/s",
            method + " (PyNaCl/libsodium backend, the default)",
            limit=f"bare libsodium verify {round(median_bare):,}/s",
        ),
        row(
            "protocol: verify with parser, OpenSSL (CPython, 1 core)",
            round(median_openssl),
            "frames/s",
            "reference backend",
            method + " (cryptography/OpenSSL backend)",
            limit="see the limits group: `openssl speed ed25519` on this machine",
        ),
        row(
            "protocol: parser overhead over bare verify",
            round(100 * (median_bare / median_full - 1), 1),
            "%",
            "small",
            "same run: (bare libsodium rate / verify_frame rate) - 1",
        ),
    ]


def run_group(group: str) -> list[dict[str, Any]]:
    """Run one registered benchmark group."""
    module_name, func_name = REGISTRY[group].split(":")
    func: Callable[[], list[dict[str, Any]]] = getattr(
        importlib.import_module(module_name), func_name
    )
    rows = func()
    for r in rows:
        r["group"] = group
    return rows


def render_table(results: dict[str, Any]) -> str:
    """Markdown table of every stored result: figure, goal, verdict, share of the limits."""
    limits = {r["key"]: r for r in results["rows"] if r.get("key")}
    lines = [
        f"Machine: {results['machine']}. Updated: {results['updated']}.",
        "",
        "| group | measure | result | goal | meets? | share of the limit here "
        "| limit / reference | method |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        value = f"{r['value']:,}" if isinstance(r["value"], int) else f"{r['value']}"
        lines.append(
            f"| {r['group']} | {r['name']} | {value} {r['unit']} | {r['goal']} "
            f"| {judge(r['value'], r['unit'], r['goal'])} | {share_of_limits(r, limits)} "
            f"| {r['limit']} | {r['method']} (measured {r['date']}) |"
        )
    took = results.get("durations", {})
    if took:
        total = sum(took.values())
        parts = ", ".join(f"{g} {s / 60:.1f} min" for g, s in took.items())
        lines += ["", f"Run time of `sqjz bench` per group: {parts}; total {total / 60:.0f} min."]
    return "\n".join(lines)


def store(rows: list[dict[str, Any]], durations: dict[str, float] | None = None) -> dict[str, Any]:
    """Merge new rows into docs/benchmarks.json (replacing rows of the same groups)."""
    old: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"rows": []}
    groups = {r["group"] for r in rows}
    today = dt.date.today().isoformat()
    for r in rows:
        r["date"] = today
    kept = [r for r in old["rows"] if r["group"] not in groups]
    order = list(REGISTRY)
    took = {g: s for g, s in old.get("durations", {}).items() if g in REGISTRY}
    took.update(durations or {})
    merged = {
        "machine": machine(),
        "updated": today,
        "durations": {g: round(took[g], 1) for g in order if g in took},
        "rows": sorted(
            kept + rows, key=lambda r: order.index(r["group"]) if r["group"] in order else 99
        ),
    }
    RESULTS.write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n")
    return merged


def write_doc(results: dict[str, Any]) -> None:
    """Replace the generated table in docs/benchmarks.md, keeping the prose around it."""
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{render_table(results)}\n{END}{tail}")


def main(which: list[str], write: bool = True) -> int:
    """Run the named groups (all when empty), print rows, optionally update the docs."""
    unknown = [w for w in which if w not in REGISTRY]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
        return 2
    rows: list[dict[str, Any]] = []
    durations: dict[str, float] = {}
    for group in which or list(REGISTRY):
        print(f"running {group} ...", flush=True)
        t0 = time.monotonic()
        got = run_group(group)
        durations[group] = time.monotonic() - t0
        for r in got:
            verdict = judge(r["value"], r["unit"], r["goal"])
            print(
                f"  {r['name']}: {r['value']} {r['unit']} (goal {r['goal']}) {verdict}", flush=True
            )
        print(f"  ({durations[group]:.0f} s)", flush=True)
        rows += got
        if write:  # after each group: a long run interrupted later keeps what it measured
            write_doc(store(got, {group: durations[group]}))
    if write:
        print(f"updated {DOC.relative_to(REPO)}")
    return 0
