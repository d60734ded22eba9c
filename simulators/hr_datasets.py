"""Heart-rate datasets (TROIKA, Bangle.js HRM harness, Welltory) converted to the band's rate."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from simulators import matfile
from simulators.resampled import (
    PPG_MAX,
    PPG_OFFSET,
    RATE_HZ,
    Recording,
    RecordingError,
    at_band_rate,
    numeric_csv,
    resample,
)

WINDOW_S, STEP_S = 8, 2  # heart-rate windows: the TROIKA convention, which the band follows
ECHO_S = 0.05  # hr-bangle: a strap reading logged again as HRM_b lands within this of its BTHRM row


def hr_windows(duration_s: float) -> list[float]:
    """End times of the band's heart-rate windows over a recording."""
    return [float(t) for t in range(WINDOW_S, int(duration_s) + 1, STEP_S)]


def read_troika(path: Path) -> Recording:
    """TROIKA: raw 125 Hz `.mat` (sig rows ECG, PPG1, PPG2, ax, ay, az) or the 25 Hz CSV."""
    m = re.match(r"DATA_(\d+_TYPE\d+)", path.stem)
    if not m:
        raise RecordingError(f"{path}: not a TROIKA DATA_* file")
    if path.suffix == ".mat":
        sig = matfile.load(path)["sig"]
        t, ppg, acc = np.arange(sig.shape[1]) / 125.0, sig[1], sig[3:6].T
    else:
        data = numeric_csv(path, expect_header="t_s,ppg1,ppg2,acc_x,acc_y,acc_z", columns=6)
        t, ppg, acc = data[:, 0], data[:, 1], data[:, 3:6]
    ref_csv = path.with_name(f"REF_{m.group(1)}_bpm.csv")
    ref = numeric_csv(ref_csv, expect_header="window_start_s,window_end_s,bpm_ecg", columns=3)
    # PPG channel 1, stored AC-coupled: move it to mid-scale of an 18-bit ADC, 4 counts/unit.
    fields = at_band_rate(t, acc, PPG_OFFSET + 4.0 * ppg)
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
    acc_t, acc, ppg_t, ppg, ref, own = [], [], [], [], [], []
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
            if cell.get("HRM_b"):
                own.append((t, float(cell["HRM_b"])))
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
        "device_series": [[round(t - t0, 3), bpm] for t, bpm in _own_estimates(own, ref)],
    }
    return recording


def _own_estimates(
    own: list[tuple[float, float]], strap: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The Bangle firmware's own HRM_b readings, without the strap's echoes among them.

    The recorder logs each strap reading twice: as an HRM_b row (confidence 100) and, a few
    milliseconds later, as the BTHRM row; those copies are not the watch's estimate.
    """
    return [
        (t, bpm)
        for t, bpm in own
        if not any(abs(ts - t) < ECHO_S and bs == bpm for ts, bs in strap)
    ]


def read_welltory(folder: Path) -> Recording:
    """Welltory fingertip camera PPG (`PPG.csv`: ms, R, G, B) with Polar H10 `RR.txt`."""
    data = numeric_csv(folder / "PPG.csv", expect_header="time,R,G,B", columns=4)
    rr_ms = np.array([float(v) for v in (folder / "RR.txt").read_text().split()])
    # No accelerometer: a finger held still on a phone lying flat reads (0, 0, 1 g).
    acc = np.tile([0.0, 0.0, 1.0], (len(data), 1))
    recording = Recording(
        name=f"hr-welltory/{folder.name}",
        dataset="hr-welltory",
        group="hr",
        placement="fingertip camera",
        # Red channel mean (0..255) in thousandths: camera PPG has the MAX30102 polarity.
        **at_band_rate(data[:, 0] / 1000.0, acc, data[:, 1] * 1000.0),
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
