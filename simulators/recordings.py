"""Converters from the shared activity datasets to the replay CSV the band algorithms run on.

Every recording becomes `t_ms,ax,ay,az[,ppg]` at 25 Hz (what the band samples), acceleration
in g, PPG as a non-negative integer, plus `NAME.truth.json` with its ground truth. Rates other
than 25 Hz are resampled (band-limited: zero-phase FIR low-pass at 10 Hz, then linear
interpolation), so the evaluation runs the algorithms on exactly the rate the band uses. The
step datasets are read here, the heart-rate ones in hr_datasets.py, resampling is in
resampled.py; every name callers used is still importable from this module.

    python -m simulators.recordings [--data DIR] [--out DIR] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from simulators.hr_datasets import (
    _windows_from_series,
    hr_windows,
    read_hr_bangle,
    read_troika,
    read_welltory,
)
from simulators.resampled import (
    RATE_HZ,
    Recording,
    RecordingError,
    at_band_rate,
    lowpass_fir,
    numeric_csv,
    resample,
)

__all__ = [
    "DATA",
    "OUT",
    "RATE_HZ",
    "REPO",
    "Recording",
    "RecordingError",
    "_windows_from_series",
    "bangle_label",
    "discover",
    "hr_windows",
    "lowpass_fir",
    "main",
    "read_bangle_steps",
    "read_hr_bangle",
    "read_oxford",
    "read_sensorwatch",
    "read_troika",
    "read_welltory",
    "resample",
    "write",
]

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "activity"
OUT = REPO / "build" / "recordings"
SENSORWATCH_COUNTS_PER_G = 16384  # LIS2DW12 at +-2 g, left-aligned 16-bit
BANGLE_COUNTS_PER_G = 8192
STANDARD_GRAVITY = 9.80665


# ---------------------------------------------------------------- step datasets


def read_sensorwatch(path: Path) -> Recording:
    """SensorWatch Pro log: `Timestamp,Magnitude,Steps,Header`, 25 Hz approximate L2 norm."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "Magnitude" not in rows[0]:
        raise RecordingError(f"{path}: not a SensorWatch CSV (no Magnitude column)")
    t = np.array([float(r["Timestamp"]) for r in rows])
    mag = np.array([float(r["Magnitude"]) for r in rows]) / SENSORWATCH_COUNTS_PER_G
    # Only the norm was logged: put it on x so the band's magnitude sees the same value.
    acc = np.column_stack([mag, np.zeros_like(mag), np.zeros_like(mag)])
    stem = path.stem
    if "walking" in stem:
        group = "walk"
    elif re.match(r"(dishwasher|dressing|shoe-laces)", stem):
        group = "hard-negative"
    else:
        group = "zero"
    return Recording(
        name=f"steps-sensorwatch/{stem}",
        dataset="steps-sensorwatch",
        group=group,
        placement="wrist",
        truth={"steps": int(rows[0]["Steps"])},
        note="magnitude only (approximate L2 norm, up to +42 % depending on orientation)",
        **at_band_rate(t, acc),
    )


def bangle_label(stem: str) -> int:
    """Ground-truth steps of a Bangle.js step recording, from its file name (upstream rule)."""
    if re.fullmatch(r"HughB[0-2]", stem):
        return 150
    m = re.search(r"-(\d+)$", stem) or re.match(r"(\d+)(_\d+)?$", stem)
    if m:
        return int(m.group(1))
    if "nosteps" in stem:
        return 0
    raise RecordingError(f"no step label in file name {stem!r}")


def read_bangle_steps(path: Path, dataset: str = "steps-bangle") -> Recording:
    """Bangle.js 2 accelerometer log: `Time (ms),X,Y,Z`, 12.5 Hz, 8192 = 1 g."""
    data = numeric_csv(path, expect_header="Time (ms),X,Y,Z", columns=4)
    stem = path.stem
    steps = bangle_label(stem)
    negative = steps == 0 or re.search(r"(drive|nosteps|static|stationary)", stem) is not None
    return Recording(
        name=f"{dataset}/{stem}",
        dataset=dataset,
        group=("zero" if dataset == "steps-bangle-zero" else "hard-negative")
        if negative
        else "walk",
        placement="wrist",
        truth={"steps": steps},
        **at_band_rate(data[:, 0] / 1000.0, data[:, 1:4] / BANGLE_COUNTS_PER_G),
    )


def read_oxford(path: Path) -> Recording:
    """Oxford Step Counter validation trace: ns, m/s^2 x3, algo, ground truth, hardware."""
    data = numeric_csv(path, expect_header=None, columns=7)
    position = path.stem.split("_")[1]
    truth = int(data[-1, 5] - data[0, 5])
    return Recording(
        name=f"steps-oxford/{path.stem}",
        dataset="steps-oxford",
        group="walk",
        placement={"armband": "upper-arm phone", "hand": "hand-held phone"}.get(position, position),
        truth={"steps": truth},
        note="phone, not a wrist: reported apart from the wrist walks",
        **at_band_rate(data[:, 0] / 1e9, data[:, 1:4] / STANDARD_GRAVITY),
    )


# ---------------------------------------------------------------- the collection


def discover(data: Path = DATA, raw_troika: bool = False) -> Iterator[Recording]:
    """Every recording in the shared activity data, converted (sorted, deterministic)."""
    if not data.is_dir():
        raise RecordingError(f"activity data not found at {data}")
    for path in sorted((data / "steps-sensorwatch").glob("*.csv")):
        yield read_sensorwatch(path)
    for dataset in ("steps-bangle", "steps-bangle-zero"):
        for path in sorted((data / dataset).glob("*.csv")):
            yield read_bangle_steps(path, dataset)
    for path in sorted((data / "steps-oxford").glob("*.csv")):
        yield read_oxford(path)
    pattern = "DATA_*.mat" if raw_troika else "DATA_*_25hz.csv"
    for path in sorted((data / "hr-troika").glob(pattern)):
        yield read_troika(path)
    for path in sorted((data / "hr-bangle").glob("*.csv")):
        yield read_hr_bangle(path)
    for folder in sorted((data / "hr-welltory" / "data").glob("subject_*")):
        yield read_welltory(folder)


def write(rec: Recording, out: Path) -> Path:
    """Write the replay CSV and its truth JSON; returns the CSV path."""
    target = out / f"{rec.name}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w") as f:
        f.write("t_ms,ax,ay,az" + (",ppg" if rec.ppg is not None else "") + "\n")
        for i in range(len(rec.t_ms)):
            ax, ay, az = rec.acc_g[i]
            line = f"{rec.t_ms[i]},{ax:.4f},{ay:.4f},{az:.4f}"
            if rec.ppg is not None:
                line += f",{rec.ppg[i]}"
            f.write(line + "\n")
    meta = {
        "name": rec.name,
        "dataset": rec.dataset,
        "group": rec.group,
        "placement": rec.placement,
        "source_rate_hz": rec.source_rate_hz,
        "rate_hz": RATE_HZ,
        "duration_s": rec.duration_s,
        "note": rec.note,
        **rec.truth,
    }
    target.with_suffix(".truth.json").write_text(json.dumps(meta, indent=1) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    """Convert the shared datasets into replay CSVs."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.recordings",
        description="把共享数据集转换为回放 CSV / convert the shared datasets to replay CSVs",
    )
    parser.add_argument("--data", type=Path, default=DATA, help=f"activity data (default {DATA})")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    parser.add_argument("--only", default="", help="convert only names containing this text")
    parser.add_argument("--raw-troika", action="store_true", help="read TROIKA's 125 Hz .mat")
    args = parser.parse_args(argv)
    try:
        count = 0
        for rec in discover(args.data, raw_troika=args.raw_troika):
            if args.only in rec.name:
                print(f"{write(rec, args.out)}  {rec.group}  {rec.duration_s:.0f} s")
                count += 1
    except (RecordingError, OSError) as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 1
    print(f"{count} recordings -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
