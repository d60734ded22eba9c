"""`sqjz replay` end to end (subprocess), bad input, resampling; converters and the MAT reader."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulators import matfile, recordings

REPO = Path(__file__).resolve().parent.parent


def _walk_csv(path: Path, rate: float = 25.0, seconds: int = 40, ppg: bool = True) -> Path:
    """A synthetic wrist walk: 2 steps/s, a 1.5 Hz pulse, written as the replay CSV."""
    lines = ["t_ms,ax,ay,az" + (",ppg" if ppg else "")]
    for i in range(int(seconds * rate)):
        t = i / rate
        z = 1.0 + 0.3 * math.sin(2 * math.pi * 2.0 * t)
        row = f"{round(t * 1000)},0.05,-0.1,{z:.4f}"
        if ppg:
            pulse = 400 * math.sin(2 * math.pi * 1.5 * t) + 500 * math.sin(2 * math.pi * 2 * t)
            row += f",{round(120000 + pulse)}"
        lines.append(row)
    path.write_text("\n".join(lines) + "\n")
    return path


def _replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqjz.cli", "replay", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_replay_steps_hr_kcal(tmp_path: Path) -> None:
    csv = _walk_csv(tmp_path / "walk.csv")
    steps = _replay("--algo", "steps", str(csv))
    assert steps.returncode == 0, steps.stderr
    assert abs(json.loads(steps.stdout)["steps"] - 80) <= 2

    hr = json.loads(_replay("--algo", "hr", str(csv)).stdout)
    ends = [w["t_end_s"] for w in hr["windows"]]
    assert ends == list(range(8, 41, 2))
    assert all(abs(w["bpm"] - 90) <= 3 for w in hr["windows"][2:])

    kcal = _replay("--algo", "kcal", "--sex", "f", "--weight", "60", "--age", "50", str(csv))
    out = json.loads(kcal.stdout)
    assert {"kcal", "active_kcal", "steps", "seconds_hr", "seconds_met", "activity_s"} <= set(out)
    assert out["seconds_hr"] + out["seconds_met"] == out["duration_s"] == 40
    assert out["activity_s"]["walk"] >= 30
    assert 0 < out["kcal"] < 10


def test_replay_resamples_other_rates(tmp_path: Path) -> None:
    csv = _walk_csv(tmp_path / "walk50.csv", rate=50.0, ppg=False)
    out = json.loads(_replay("--algo", "steps", str(csv)).stdout)
    assert out["resampled_from_hz"] == 50.0
    assert abs(out["steps"] - 80) <= 2


def test_replay_bad_line_reports_it_and_keeps_what_came_before(tmp_path: Path) -> None:
    csv2 = _walk_csv(tmp_path / "long.csv", seconds=60, ppg=False)
    good = json.loads(_replay("--algo", "steps", str(csv2)).stdout)["steps"]
    lines = [*csv2.read_text().splitlines(), "60000,0.1,oops,1.0"]
    csv2.write_text("\n".join(lines) + "\n")
    proc = _replay("--algo", "steps", str(csv2))
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert "long.csv:1502" in out["error"] and "oops" in out["error"]
    assert out["steps"] == good  # every sample before the bad line was counted


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Time (ms),X,Y,Z\n85,1,2,3\n", "header"),
        ("t_ms,ax,ay,az\n0,0,0,1\n0,0,0,1\n", "does not increase"),
        ("t_ms,ax,ay,az,ppg\n0,0,0,1,-5\n", "negative PPG"),
    ],
)
def test_replay_rejects_bad_files(tmp_path: Path, content: str, message: str) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(content)
    proc = _replay("--algo", "steps", str(csv))
    assert proc.returncode != 0
    assert message in proc.stderr


def test_replay_hr_needs_ppg_and_profile_is_checked(tmp_path: Path) -> None:
    csv = _walk_csv(tmp_path / "acc.csv", ppg=False)
    assert "ppg column" in _replay("--algo", "hr", str(csv)).stderr
    assert "weight" in _replay("--algo", "kcal", "--weight", "500", str(csv)).stderr


def test_resample_keeps_a_gait_and_removes_aliases() -> None:
    t = np.arange(0, 20, 0.01)  # 100 Hz
    x = np.sin(2 * np.pi * 2.0 * t) + 0.5 * np.sin(2 * np.pi * 20.0 * t)  # 20 Hz would alias
    out = recordings.resample(t, x)[:, 0]
    assert len(out) == 500  # 0 .. 19.96 s: the grid stops at the last source time
    want = np.sin(2 * np.pi * 2.0 * np.arange(len(out)) / 25)
    assert np.max(np.abs(out[50:-50] - want[50:-50])) < 0.05


def test_bangle_labels_follow_the_upstream_rule() -> None:
    assert recordings.bangle_label("100_3") == 100
    assert recordings.bangle_label("HughB1") == 150
    assert recordings.bangle_label("HughB-walk-1834") == 1834
    assert recordings.bangle_label("HughB-drive-18") == 18
    assert recordings.bangle_label("HughB-nosteps2") == 0
    assert recordings.bangle_label("MrPloppy-stationary-0") == 0
    with pytest.raises(recordings.RecordingError):
        recordings.bangle_label("mystery")


def _mat_v5(name: str, values: np.ndarray) -> bytes:
    """A MAT v5 file with one uncompressed double matrix (written by hand, per the spec)."""

    def element(dtype: int, payload: bytes) -> bytes:
        return struct.pack("<II", dtype, len(payload)) + payload + b"\0" * (-len(payload) % 8)

    body = (
        element(6, struct.pack("<II", 6, 0))  # array flags: mxDOUBLE_CLASS
        + element(5, struct.pack("<ii", *values.shape))
        + element(1, name.encode())
        + element(9, values.astype("<f8").tobytes(order="F"))
    )
    header = b"MATLAB 5.0 MAT-file, made by the sqjz tests".ljust(116) + b"\0" * 8
    return header + struct.pack("<H", 0x0100) + b"IM" + element(14, body)


def test_mat_reader_reads_what_the_spec_describes(tmp_path: Path) -> None:
    values = np.arange(12, dtype=float).reshape(3, 4) * 0.5
    path = tmp_path / "x.mat"
    path.write_bytes(_mat_v5("sig", values))
    assert np.array_equal(matfile.load(path)["sig"], values)
    path.write_bytes(b"not a mat file" * 20)
    with pytest.raises(matfile.MatFileError):
        matfile.load(path)


def test_converters_on_the_shared_data(tmp_path: Path) -> None:
    if not recordings.DATA.is_dir():
        pytest.skip(f"evaluation data not present at {recordings.DATA}")
    data = recordings.DATA
    sw = recordings.read_sensorwatch(data / "steps-sensorwatch" / "normal-walking1.csv")
    assert (sw.truth, sw.group, sw.source_rate_hz) == ({"steps": 99}, "walk", 25.0)
    ox = recordings.read_oxford(data / "steps-oxford" / "user1_armband_1506423438471.csv")
    assert ox.truth == {"steps": 335} and ox.placement == "upper-arm phone"
    assert 0.9 < float(np.median(np.linalg.norm(ox.acc_g, axis=1))) < 1.1  # m/s^2 -> g
    csv = recordings.read_troika(data / "hr-troika" / "DATA_04_TYPE01_25hz.csv")
    mat = recordings.read_troika(data / "hr-troika" / "DATA_04_TYPE01.mat")
    n = min(len(csv.ppg), len(mat.ppg))  # type: ignore[arg-type]
    assert np.corrcoef(csv.ppg[:n], mat.ppg[:n])[0, 1] > 0.99  # type: ignore[index]
    assert csv.truth["hr_windows"][0] == [8.0, 83.0] or csv.truth["hr_windows"][0][0] == 8.0
    hb = recordings.read_hr_bangle(data / "hr-bangle" / "gw-bangle2.1-sitting.csv")
    assert hb.truth["hr_windows"][0][0] == 8.0 and 60 < hb.truth["hr_windows"][-1][1] < 70
    written = recordings.write(sw, tmp_path)
    assert written.read_text().splitlines()[0] == "t_ms,ax,ay,az"
    meta = json.loads(written.with_suffix(".truth.json").read_text())
    assert meta["steps"] == 99 and meta["rate_hz"] == 25.0
