"""A recording at the band's rate: the Recording type, resampling to 25 Hz, strict numeric CSVs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RATE_HZ = 25.0
PPG_OFFSET = 1 << 17  # mid-scale of an 18-bit PPG ADC, for datasets that store AC only
PPG_MAX = (1 << 18) - 1


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


def at_band_rate(t_s: np.ndarray, acc: np.ndarray, ppg: np.ndarray | None = None) -> dict[str, Any]:
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


def numeric_csv(path: Path, expect_header: str | None, columns: int) -> np.ndarray:
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
