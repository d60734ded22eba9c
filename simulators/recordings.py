"""Converters from the shared activity datasets to the replay CSV the band algorithms run on.

Every recording becomes `t_ms,ax,ay,az[,ppg]` at 25 Hz (what the band samples), acceleration
in g, PPG as a non-negative integer, plus `NAME.truth.json` with its ground truth. Rates other
than 25 Hz are resampled here (band-limited: zero-phase FIR low-pass at 10 Hz, then linear
interpolation), so the evaluation runs the algorithms on exactly the rate the band uses.

    python -m simulators.recordings [--data DIR] [--out DIR] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulators import matfile

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "activity"
OUT = REPO / "build" / "recordings"
RATE_HZ = 25.0
WINDOW_S, STEP_S = 8, 2  # heart-rate windows: the TROIKA convention, which the band follows
PPG_OFFSET = 1 << 17  # mid-scale of an 18-bit PPG ADC, for datasets that store AC only
PPG_MAX = (1 << 18) - 1
SENSORWATCH_COUNTS_PER_G = 16384  # LIS2DW12 at +-2 g, left-aligned 16-bit
BANGLE_COUNTS_PER_G = 8192
STANDARD_GRAVITY = 9.80665


class RecordingError(ValueError):
    """A dataset file is malformed or not in the expected format."""


@dataclass
class Recording:
    """One recording resampled to the band's rate, with its ground truth."""

    name: str  # "<dataset>/<stem>", unique
    dataset: str
    group: str  # walk | hard-negative | zero | hr
    placement: str  # wrist | upper-arm phone | hand-held phone | fingertip camera
    source_rate_hz: float
    t_ms: np.ndarray
    acc_g: np.ndarray  # (n, 3)
    ppg: np.ndarray | None = None
    truth: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def duration_s(self) -> float:
        return len(self.t_ms) / RATE_HZ


# ---------------------------------------------------------------- resampling


def lowpass_fir(rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """Windowed-sinc (Blackman) low-pass taps with unit DC gain."""
    n = int(4.0 * rate_hz / cutoff_hz) | 1  # transition band about cutoff/2
    k = np.arange(n) - n // 2
    taps = np.sinc(2.0 * cutoff_hz / rate_hz * k) * np.blackman(n)
    return np.asarray(taps / taps.sum())


def resample(t_s: np.ndarray, x: np.ndarray, rate_hz: float = RATE_HZ) -> np.ndarray:
    """Resample irregular samples (rows of x at times t_s) onto t_s[0] + k / rate_hz."""
    t_s = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(t_s), -1)
    if len(t_s) < 2:
        raise RecordingError("need at least two samples to resample")
    keep = np.concatenate(([True], np.diff(t_s) > 0))  # drop repeated or backward stamps
    t_s, x = t_s[keep], x[keep]
    out_t = t_s[0] + np.arange(int((t_s[-1] - t_s[0]) * rate_hz) + 1) / rate_hz
    in_rate = 1.0 / float(np.median(np.diff(t_s)))
    if in_rate > rate_hz * 1.1:
        # Uniform grid at the source rate, band-limit to 0.4 x the target rate, then sample.
        fine_rate = round(in_rate)
        fine_t = t_s[0] + np.arange(int((t_s[-1] - t_s[0]) * fine_rate) + 1) / fine_rate
        taps = lowpass_fir(fine_rate, 0.4 * rate_hz)
        cols = []
        for c in range(x.shape[1]):
            fine = np.interp(fine_t, t_s, x[:, c])
            padded = np.pad(fine, len(taps) // 2, mode="edge")
            cols.append(np.interp(out_t, fine_t, np.convolve(padded, taps, mode="valid")))
        return np.stack(cols, axis=1)
    return np.stack([np.interp(out_t, t_s, x[:, c]) for c in range(x.shape[1])], axis=1)


def _uniform(t_s: np.ndarray, acc: np.ndarray, ppg: np.ndarray | None = None) -> dict[str, Any]:
    """Resample acceleration (and PPG) to the band's rate; returns Recording keyword args."""
    cols = acc if ppg is None else np.column_stack([acc, ppg])
    out = resample(t_s, cols)
    n = len(out)
    fields: dict[str, Any] = {
        "t_ms": np.round(np.arange(n) * 1000.0 / RATE_HZ).astype(np.int64),
        "acc_g": out[:, :3],
        "source_rate_hz": round(1.0 / float(np.median(np.diff(np.asarray(t_s)))), 2),
    }
    if ppg is not None:
        fields["ppg"] = np.clip(np.round(out[:, 3]), 0, PPG_MAX).astype(np.int64)
    return fields


def hr_windows(duration_s: float) -> list[float]:
    """End times of the band's heart-rate windows over a recording."""
    return [float(t) for t in range(WINDOW_S, int(duration_s) + 1, STEP_S)]


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
        **_uniform(t, acc),
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
    data = _numeric_csv(path, expect_header="Time (ms),X,Y,Z", columns=4)
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
        **_uniform(data[:, 0] / 1000.0, data[:, 1:4] / BANGLE_COUNTS_PER_G),
    )


def read_oxford(path: Path) -> Recording:
    """Oxford Step Counter validation trace: ns, m/s^2 x3, algo, ground truth, hardware."""
    data = _numeric_csv(path, expect_header=None, columns=7)
    position = path.stem.split("_")[1]
    truth = int(data[-1, 5] - data[0, 5])
    return Recording(
        name=f"steps-oxford/{path.stem}",
        dataset="steps-oxford",
        group="walk",
        placement={"armband": "upper-arm phone", "hand": "hand-held phone"}.get(position, position),
        truth={"steps": truth},
        note="phone, not a wrist: reported apart from the wrist walks",
        **_uniform(data[:, 0] / 1e9, data[:, 1:4] / STANDARD_GRAVITY),
    )


# ---------------------------------------------------------------- heart-rate datasets


def read_troika(path: Path) -> Recording:
    """TROIKA: raw 125 Hz `.mat` (sig rows ECG, PPG1, PPG2, ax, ay, az) or the 25 Hz CSV."""
    m = re.match(r"DATA_(\d+_TYPE\d+)", path.stem)
    if not m:
        raise RecordingError(f"{path}: not a TROIKA DATA_* file")
    if path.suffix == ".mat":
        sig = matfile.load(path)["sig"]
        t, ppg, acc = np.arange(sig.shape[1]) / 125.0, sig[1], sig[3:6].T
    else:
        data = _numeric_csv(path, expect_header="t_s,ppg1,ppg2,acc_x,acc_y,acc_z", columns=6)
        t, ppg, acc = data[:, 0], data[:, 1], data[:, 3:6]
    ref_csv = path.with_name(f"REF_{m.group(1)}_bpm.csv")
    ref = _numeric_csv(ref_csv, expect_header="window_start_s,window_end_s,bpm_ecg", columns=3)
    # PPG channel 1, stored AC-coupled: move it to mid-scale of an 18-bit ADC, 4 counts/unit.
    fields = _uniform(t, acc, PPG_OFFSET + 4.0 * ppg)
    return Recording(
        name=f"hr-troika/{path.stem}",
        dataset="hr-troika",
        group="hr",
        placement="wrist",
        truth={"hr_windows": [[float(r[1]), float(r[2])] for r in ref]},
        note="PPG channel 1; reference from ECG",
        **fields,
    )


def read_hr_bangle(path: Path) -> Recording:
    """EspruinoHRMTestHarness log: interleaved accelerometer, VC31 PPG and BTHRM rows."""
    acc_t, acc, ppg_t, ppg, ref = [], [], [], [], []
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        col = {h: i for i, h in enumerate(header)}
        for needed in ("Time", "Acc_x", "HRM_r", "BTHRM"):
            if needed not in col:
                raise RecordingError(f"{path}: no {needed} column")
        for row in reader:
            cell = dict(zip(header, (c.strip() for c in row), strict=False))
            t = float(cell["Time"]) / 1000.0
            if cell.get("Acc_x"):
                acc_t.append(t)
                acc.append([float(cell["Acc_x"]), float(cell["Acc_y"]), float(cell["Acc_z"])])
            if cell.get("HRM_r"):
                ppg_t.append(t)
                ppg.append(float(cell["HRM_r"]))
            if cell.get("BTHRM"):
                ref.append((t, float(cell["BTHRM"])))
    t0 = max(acc_t[0], ppg_t[0])
    a = resample(np.array(acc_t) - t0, np.array(acc))
    p = resample(np.array(ppg_t) - t0, np.array(ppg))[:, 0]
    n = min(len(a), len(p))
    recording = Recording(
        name=f"hr-bangle/{path.stem}",
        dataset="hr-bangle",
        group="hr",
        placement="wrist",
        source_rate_hz=round(len(ppg_t) / (ppg_t[-1] - ppg_t[0]), 2),
        t_ms=np.round(np.arange(n) * 1000.0 / RATE_HZ).astype(np.int64),
        acc_g=a[:n],
        # HRM_r is the exposure-compensated raw value (may dip below zero): shift to mid-scale.
        ppg=np.clip(np.round(PPG_OFFSET + p[:n]), 0, PPG_MAX).astype(np.int64),
        note="VC31 PPG (HRM_r); reference: Bluetooth chest strap (BTHRM)",
    )
    series = [(t - t0, bpm) for t, bpm in ref]
    recording.truth = {
        "hr_windows": _windows_from_series(series, recording.duration_s),
        "hr_series": [[round(t, 3), bpm] for t, bpm in series],  # the strap's own readings
    }
    return recording


def read_welltory(folder: Path) -> Recording:
    """Welltory fingertip camera PPG (`PPG.csv`: ms, R, G, B) with Polar H10 `RR.txt`."""
    data = _numeric_csv(folder / "PPG.csv", expect_header="time,R,G,B", columns=4)
    rr_ms = np.array([float(v) for v in (folder / "RR.txt").read_text().split()])
    # No accelerometer: a finger held still on a phone lying flat reads (0, 0, 1 g).
    acc = np.tile([0.0, 0.0, 1.0], (len(data), 1))
    recording = Recording(
        name=f"hr-welltory/{folder.name}",
        dataset="hr-welltory",
        group="hr",
        placement="fingertip camera",
        # Red channel mean (0..255) in thousandths: camera PPG has the MAX30102 polarity.
        **_uniform(data[:, 0] / 1000.0, acc, data[:, 1] * 1000.0),
        note="finger on a phone camera; RR assumed to start with the video",
    )
    beats = np.cumsum(rr_ms) / 1000.0
    windows = []
    for t_end in hr_windows(recording.duration_s):
        inside = rr_ms[(beats > t_end - WINDOW_S) & (beats <= t_end)]
        if len(inside):
            windows.append([t_end, round(60000.0 / float(inside.mean()), 2)])
    recording.truth = {"hr_windows": windows}
    return recording


def _windows_from_series(
    series: list[tuple[float, float]], duration_s: float, lag_s: float = 0.0
) -> list[list[float]]:
    """Reference BPM per band window: the mean of the reference readings inside it.

    lag_s > 0 takes the readings from lag_s later: a chest strap reports the rate of beats
    a few seconds old (docs/accuracy.md measures by how much).
    """
    out = []
    for t_end in hr_windows(duration_s):
        inside = [bpm for t, bpm in series if t_end - WINDOW_S < t - lag_s <= t_end]
        if inside:
            out.append([t_end, round(sum(inside) / len(inside), 2)])
    return out


def _numeric_csv(path: Path, expect_header: str | None, columns: int) -> np.ndarray:
    """A numeric CSV as a 2-D array, with a clear error naming the file and line."""
    rows = []
    with path.open() as f:
        for lineno, line in enumerate(f, start=1):
            text = line.strip()
            if not text:
                continue
            if lineno == 1 and expect_header is not None:
                if text.replace(" ", "") != expect_header.replace(" ", ""):
                    raise RecordingError(f"{path}: header {text!r}, expected {expect_header!r}")
                continue
            try:
                values = [float(v) for v in text.split(",")]
            except ValueError as exc:
                raise RecordingError(f"{path}:{lineno}: {exc}") from None
            if len(values) != columns:
                raise RecordingError(f"{path}:{lineno}: {len(values)} columns, want {columns}")
            rows.append(values)
    if len(rows) < 2:
        raise RecordingError(f"{path}: fewer than two samples")
    return np.array(rows)


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
