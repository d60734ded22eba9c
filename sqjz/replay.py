"""`sqjz replay`: run the band's own algorithms under MicroPython on a recorded CSV.

Input: header `t_ms,ax,ay,az[,ppg]`, acceleration in g, PPG in raw counts. The band samples at
25 Hz; a recording at another rate is first resampled to 25 Hz (the converters' resampler), so
what runs is what the band would run. Samples stream into one MicroPython interpreter in
chunks, converted to integer milli-g as the band's drivers deliver them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RATE_HZ = 25
CHUNK = 1000  # samples per call into MicroPython
HEADERS = ("t_ms,ax,ay,az", "t_ms,ax,ay,az,ppg")


class ReplayError(ValueError):
    """The recording is malformed; the message names the line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", type=Path, help="recording CSV (t_ms,ax,ay,az[,ppg])")
    parser.add_argument(
        "--algo", choices=("steps", "hr", "kcal"), default="steps", help="算法 algorithm (steps)"
    )
    parser.add_argument("--sex", choices=("m", "f"), default="m", help="性别 sex (default m)")
    parser.add_argument("--weight", type=float, default=70.0, help="体重 weight, kg (70)")
    parser.add_argument("--age", type=int, default=35, help="年龄 age, years (35)")
    parser.add_argument("--rest-hr", type=int, default=65, help="静息心率 resting HR (65)")
    parser.add_argument(
        "--convert",
        type=Path,
        metavar="OUT_DIR",
        help="instead: convert the shared datasets into replay CSVs under OUT_DIR",
    )


def read_samples(path: Path) -> tuple[bool, Iterator[tuple[int, list[int]]]]:
    """(has_ppg, iterator of (line number, [t_ms, x_mg, y_mg, z_mg(, ppg)])) for a CSV."""
    f = path.open()
    header = f.readline().strip().replace(" ", "")
    if header not in HEADERS:
        f.close()
        raise ReplayError(f"{path}:1: header {header!r}; expected one of {', '.join(HEADERS)}")
    has_ppg = header.endswith(",ppg")
    width = 5 if has_ppg else 4

    def rows() -> Iterator[tuple[int, list[int]]]:
        last_t = None
        with f:
            for lineno, line in enumerate(f, start=2):
                text = line.strip()
                if not text:
                    continue
                cells = text.split(",")
                if len(cells) != width:
                    raise ReplayError(f"{path}:{lineno}: {len(cells)} fields, expected {width}")
                try:
                    t = float(cells[0])
                    acc = [round(float(c) * 1000.0) for c in cells[1:4]]
                    ppg = [int(cells[4])] if has_ppg else []
                except ValueError as exc:
                    raise ReplayError(f"{path}:{lineno}: {exc}") from None
                if last_t is not None and t <= last_t:
                    raise ReplayError(f"{path}:{lineno}: t_ms {t:g} does not increase")
                if has_ppg and ppg[0] < 0:
                    raise ReplayError(f"{path}:{lineno}: negative PPG {ppg[0]}")
                last_t = t
                yield lineno, [round(t), *acc, *ppg]

    return has_ppg, rows()


def resampled(rows: list[list[int]], has_ppg: bool) -> list[list[int]]:
    """Rows resampled to 25 Hz with the converters' band-limited resampler."""
    import numpy as np

    from simulators.recordings import resample

    data = np.array(rows, dtype=np.float64)
    out = resample(data[:, 0] / 1000.0, data[:, 1:], RATE_HZ)
    t = np.round(np.arange(len(out)) * 1000.0 / RATE_HZ)
    cols = np.column_stack([t, np.round(out)]).astype(np.int64)
    if has_ppg:
        cols[:, 4] = np.maximum(cols[:, 4], 0)
    return [[int(v) for v in row] for row in cols]


class BandReplay:
    """One MicroPython interpreter running firmware.algo.pipeline.Pipeline over samples."""

    def __init__(self, mpy: Any = None) -> None:
        from simulators.mpy import MicroPython

        self._own = mpy is None
        self.mpy = mpy if mpy is not None else MicroPython()
        self.mpy.exec(
            "import json\nfrom array import array\nfrom firmware.algo.pipeline import Pipeline"
        )

    def start(self, profile: dict[str, Any]) -> None:
        """Begin a new recording with a fresh pipeline for this wearer."""
        self.mpy.exec(
            f"_p = Pipeline({RATE_HZ}, {profile['sex']!r}, {float(profile['weight'])!r}, "
            f"{int(profile['age'])}, {int(profile['rest_hr'])})"
        )
        self.windows: list[list[Any]] = []

    def feed(self, rows: list[list[int]], has_ppg: bool) -> None:
        """Stream rows ([t, x, y, z(, ppg)]) into the pipeline, in chunks."""
        for at in range(0, len(rows), CHUNK):
            flat: list[int] = []
            for r in rows[at : at + CHUNK]:
                flat += [r[4], r[1], r[2], r[3]] if has_ppg else r[1:4]
            # Packed little-endian int32 in hex: a list display this long would exhaust the
            # MicroPython compiler's stack, a string does not.
            packed = struct.pack(f"<{len(flat)}i", *flat).hex()
            out = self.mpy.exec(
                f"_p.feed_many(array('i', bytes.fromhex('{packed}')), {has_ppg})\n"
                "print(json.dumps(_p.drain()))"
            )
            self.windows += json.loads(out.strip().splitlines()[-1])

    def summary(self) -> dict[str, Any]:
        """The pipeline's totals (steps, kcal, activity seconds, ...)."""
        result: dict[str, Any] = self.mpy.eval_json("_p.summary()")
        return result

    def close(self) -> None:
        if self._own:
            self.mpy.close()


def replay(path: Path, algo: str, profile: dict[str, Any], mpy: Any = None) -> dict[str, Any]:
    """Run one recording; the JSON-ready result. Raises ReplayError on bad input."""
    has_ppg, rows = read_samples(path)
    if algo == "hr" and not has_ppg:
        raise ReplayError(f"{path}: --algo hr needs a ppg column")
    band = BandReplay(mpy)
    try:
        band.start(profile)
        pending: list[list[int]] = []  # accepted rows not yet handed to the band
        error = None
        source_hz = float(RATE_HZ)
        streaming = False
        try:
            for _, row in rows:
                pending.append(row)
                if len(pending) == 50:
                    break
            dts = [b[0] - a[0] for a, b in itertools.pairwise(pending)]
            median_dt = sorted(dts)[len(dts) // 2] if dts else 40
            source_hz = round(1000.0 / median_dt, 2) if median_dt > 0 else 0.0
            streaming = abs(median_dt - 1000 / RATE_HZ) <= 2
            for _, row in rows:
                pending.append(row)
                if streaming and len(pending) >= CHUNK:
                    band.feed(pending, has_ppg)
                    pending = []
        except ReplayError as exc:
            error = str(exc)  # reported with everything accepted before the bad line
        if len(pending) >= 2 or (streaming and pending):
            band.feed(pending if streaming else resampled(pending, has_ppg), has_ppg)
        result = _result(algo, band.summary(), band.windows, source_hz)
        if error:
            result["error"] = error
        return result
    finally:
        band.close()


def _result(
    algo: str, summary: dict[str, Any], windows: list[list[Any]], source_hz: float
) -> dict[str, Any]:
    if algo == "steps":
        out: dict[str, Any] = {"steps": summary["steps"]}
    elif algo == "hr":
        out = {"windows": [{"t_end_s": w[0], "bpm": w[1], "confidence": w[2]} for w in windows]}
    else:
        bpms = [w[1] for w in windows if w[1] is not None and w[2] >= 50]
        out = dict(summary)
        out["mean_bpm"] = round(sum(bpms) / len(bpms), 1) if bpms else None
    out["duration_s"] = summary["duration_s"]
    if source_hz and abs(source_hz - RATE_HZ) > 0.5:
        out["resampled_from_hz"] = source_hz
    return out


def check_profile(profile: dict[str, Any]) -> str:
    """Why a wearer profile is out of the energy model's range, or ''."""
    if not 20 <= profile["weight"] <= 300:
        return "体重 weight must be 20..300 kg"
    if not 10 <= profile["age"] <= 110:
        return "年龄 age must be 10..110"
    if not 30 <= profile["rest_hr"] <= 120:
        return "静息心率 rest HR must be 30..120 BPM"
    return ""


def run(args: argparse.Namespace) -> int:
    if args.convert is not None:
        from simulators import recordings

        return recordings.main(["--out", str(args.convert)])
    if args.file is None:
        print("错误 error: give a recording CSV (or --convert OUT_DIR)", file=sys.stderr)
        return 2
    profile = {"sex": args.sex, "weight": args.weight, "age": args.age, "rest_hr": args.rest_hr}
    problem = check_profile(profile)
    if problem:
        print(f"错误 error: {problem}", file=sys.stderr)
        return 2
    try:
        result = replay(args.file, args.algo, profile)
    except (ReplayError, OSError) as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False))
    if "error" in result:
        print(f"错误 error: {result['error']}", file=sys.stderr)
        return 1
    return 0
