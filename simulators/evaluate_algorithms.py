"""Accuracy of the band's algorithms on the shared datasets, run under MicroPython.

Every recording is converted (simulators.recordings: 25 Hz, milli-g), streamed through
firmware.algo.pipeline.Pipeline inside the MicroPython WebAssembly port, and compared with its
ground truth. Step counts are also recomputed under CPython to show both give the same number.

    python -m simulators.evaluate_algorithms [--only TEXT] [--json FILE] [--write-doc]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from simulators.recordings import DATA, REPO, Recording, discover

DOC = REPO / "docs" / "accuracy.md"
# The half of the step recordings the step counter's thresholds were tuned on ("tune"); the
# other half is held out. SensorWatch: the dataset's own split.json (set1 tunes). Bangle.js:
# every other file of each kind, in name order; the two long files (a 15-minute walk and a
# 14-minute drive) are reported on their own.
BANGLE_TUNE = {
    "steps-bangle/100",
    "steps-bangle/100_2",
    "steps-bangle/100_4",
    "steps-bangle/100_6",
    "steps-bangle/HughB0",
    "steps-bangle/HughB2",
    "steps-bangle/HughB-nosteps1",
    "steps-bangle/HughB-nosteps3",
    "steps-bangle/HughB-static-0",
    "steps-bangle-zero/0",
    "steps-bangle-zero/0_2",
}
BANGLE_LONG = {"steps-bangle/HughB-walk-1834", "steps-bangle/HughB-drive-18"}
BEGIN, END = "<!-- accuracy:begin -->", "<!-- accuracy:end -->"
PROFILE = {"sex": "m", "weight": 70.0, "age": 30, "rest_hr": 65}  # TROIKA: men aged 18-35
HR_TRUSTED = 50

KCAL_SETUP = """
from firmware.algo.energy import EnergyMeter, keytel_kcal_min
def _kcal(ws, refs, sex, kg, age, rest):
    ref_at = {}
    for t, b in refs:
        ref_at[int(t)] = b
    est = EnergyMeter(sex, kg, age, rest)
    ref = EnergyMeter(sex, kg, age, rest)
    raw_est = 0.0
    raw_ref = 0.0
    for t, bpm, conf, cls, cad in ws:
        if t not in ref_at:
            continue
        est.add(2, bpm, conf, cls, cad)
        ref.add(2, ref_at[t], 100, cls, cad)
        if bpm is not None:
            raw_est += keytel_kcal_min(bpm, sex, kg, age) * 2 / 60
            raw_ref += keytel_kcal_min(ref_at[t], sex, kg, age) * 2 / 60
    return [est.total_kcal, ref.total_kcal, raw_est, raw_ref]
"""


def _rows(rec: Recording) -> list[list[int]]:
    """[t_ms, x_mg, y_mg, z_mg(, ppg)] as the band's drivers would hand them over."""
    mg = (rec.acc_g * 1000.0).round().astype(int)
    rows = [[int(t), int(x), int(y), int(z)] for t, (x, y, z) in zip(rec.t_ms, mg, strict=True)]
    if rec.ppg is not None:
        for row, p in zip(rows, rec.ppg, strict=True):
            row.append(int(p))
    return rows


def cpython_steps(rows: list[list[int]]) -> int:
    """The same step counter run by CPython (determinism check)."""
    from firmware.algo.steps import StepCounter

    counter = StepCounter(25)
    for r in rows:
        counter.feed(r[1], r[2], r[3])
    return counter.total


def evaluate(data: Path = DATA, only: str = "") -> dict[str, Any]:
    """Run every recording; per-file results and the summary figures."""
    from sqjz.replay import BandReplay

    band = BandReplay()
    band.mpy.exec(KCAL_SETUP)
    steps: list[dict[str, Any]] = []
    hr: list[dict[str, Any]] = []
    tune = _sensorwatch_tune(data)
    try:
        for rec in discover(data):
            if only not in rec.name:
                continue
            rows = _rows(rec)
            band.start(PROFILE)
            has_ppg = rec.ppg is not None
            band.feed(rows, has_ppg)
            summary = band.summary()
            if "steps" in rec.truth:
                half = split_half(rec.name, tune)
                steps.append(_step_result(rec, summary["steps"], cpython_steps(rows), half))
            if "hr_windows" in rec.truth:
                hr.append(_hr_result(rec, band))
    finally:
        band.close()
    return {"steps": steps, "hr": hr, "summary": summarise(steps, hr), "profile": PROFILE}


def split_half(name: str, sensorwatch_tune: set[str]) -> str:
    """Which half of the tuning split a step recording is in: tune, held-out, long or phone."""
    if name.startswith("steps-sensorwatch/"):
        return "tune" if name in sensorwatch_tune else "held-out"
    if name in BANGLE_LONG:
        return "long"
    if name.startswith("steps-bangle"):
        return "tune" if name in BANGLE_TUNE else "held-out"
    return "phone"


def _sensorwatch_tune(data: Path) -> set[str]:
    split_file = data / "steps-sensorwatch" / "split.json"
    if not split_file.exists():
        return set()
    names = json.loads(split_file.read_text())["set1"]
    return {f"steps-sensorwatch/{n.removesuffix('.csv')}" for n in names}


def _step_result(rec: Recording, counted: int, cpython: int, half: str) -> dict[str, Any]:
    truth = rec.truth["steps"]
    minutes = rec.duration_s / 60.0
    return {
        "name": rec.name,
        "group": rec.group,
        "placement": rec.placement,
        "half": half,
        "duration_s": round(rec.duration_s, 1),
        "truth": truth,
        "counted": counted,
        "error_pct": round(100.0 * (counted - truth) / truth, 1) if truth else None,
        "excess_per_min": round(max(0, counted - truth) / minutes, 2),
        "cpython_counted": cpython,
    }


def _hr_result(rec: Recording, band: Any) -> dict[str, Any]:
    ref = {float(t): bpm for t, bpm in rec.truth["hr_windows"]}
    pairs = []
    trusted = []
    for t, bpm, conf, _cls, _cad in band.windows:
        if float(t) in ref and bpm is not None:
            pairs.append(abs(bpm - ref[float(t)]))
            if conf >= HR_TRUSTED:
                trusted.append(abs(bpm - ref[float(t)]))
    kcal = band.mpy.eval_json(
        f"_kcal(_p_windows, {rec.truth['hr_windows']!r}, {PROFILE['sex']!r}, "
        f"{PROFILE['weight']!r}, {PROFILE['age']}, {PROFILE['rest_hr']})",
        setup=f"_p_windows = {json.dumps(band.windows).replace('null', 'None')}",
    )
    est, refk, raw_est, raw_ref = kcal
    return {
        "name": rec.name,
        "dataset": rec.dataset,
        "windows": len(ref),
        "estimated": len(pairs),
        "mae_bpm": round(statistics.fmean(pairs), 2) if pairs else None,
        "trusted": len(trusted),
        "mae_trusted_bpm": round(statistics.fmean(trusted), 2) if trusted else None,
        "kcal_est": round(est, 2),
        "kcal_ref": round(refk, 2),
        "kcal_error_pct": round(100.0 * (est - refk) / refk, 1) if refk else None,
        "keytel_est": round(raw_est, 2),
        "keytel_ref": round(raw_ref, 2),
        "keytel_error_pct": round(100.0 * (raw_est - raw_ref) / raw_ref, 1) if raw_ref else None,
    }


def summarise(steps: list[dict[str, Any]], hr: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's figures: MAPE on wrist walks, false steps per minute, HR MAE, kcal error."""

    def mape(rows: list[dict[str, Any]]) -> float | None:
        errs = [abs(r["error_pct"]) for r in rows if r["error_pct"] is not None]
        return round(statistics.fmean(errs), 2) if errs else None

    wrist_walks = [r for r in steps if r["group"] == "walk" and r["placement"] == "wrist"]
    phone_walks = [r for r in steps if r["group"] == "walk" and r["placement"] != "wrist"]
    hard = [r for r in steps if r["group"] == "hard-negative"]
    zero = [r for r in steps if r["group"] == "zero"]
    out: dict[str, Any] = {
        "wrist_walk_mape_pct": mape(wrist_walks),
        "wrist_walk_files": len(wrist_walks),
        "phone_walk_mape_pct": mape(phone_walks),
        "hard_negative_excess_per_min": _mean([r["excess_per_min"] for r in hard]),
        "other_zero_excess_per_min": _mean([r["excess_per_min"] for r in zero]),
        "steps_identical_cpython": all(r["counted"] == r["cpython_counted"] for r in steps),
    }
    for ds in ("steps-sensorwatch", "steps-bangle"):
        out[f"{ds}_walk_mape_pct"] = mape([r for r in wrist_walks if r["name"].startswith(ds)])
    for half in ("tune", "held-out"):  # the thresholds were chosen on "tune" only
        rows = [r for r in steps if r.get("half") == half]
        key = half.replace("-", "_")
        out[f"{key}_walk_mape_pct"] = mape([r for r in rows if r["group"] == "walk"])
        out[f"{key}_walk_files"] = len([r for r in rows if r["group"] == "walk"])
        out[f"{key}_hard_negative_excess_per_min"] = _mean(
            [r["excess_per_min"] for r in rows if r["group"] == "hard-negative"]
        )
        out[f"{key}_other_zero_excess_per_min"] = _mean(
            [r["excess_per_min"] for r in rows if r["group"] == "zero"]
        )
    for ds in sorted({r["dataset"] for r in hr}):
        rows = [r for r in hr if r["dataset"] == ds]
        out[f"{ds}_mae_bpm"] = _mean([r["mae_bpm"] for r in rows if r["mae_bpm"] is not None])
        out[f"{ds}_kcal_abs_error_pct"] = _mean(
            [abs(r["kcal_error_pct"]) for r in rows if r["kcal_error_pct"] is not None]
        )
    return out


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def markdown(result: dict[str, Any]) -> str:
    """Per-file tables for docs/accuracy.md."""
    lines = ["### Steps, every file", ""]
    lines.append(
        "| recording | group | placement | split | s | truth | counted | error | excess/min |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in result["steps"]:
        err = f"{r['error_pct']:+.1f} %" if r["error_pct"] is not None else ""
        lines.append(
            f"| {r['name']} | {r['group']} | {r['placement']} | {r.get('half', '')} "
            f"| {r['duration_s']:.0f} | {r['truth']} | {r['counted']} | {err} "
            f"| {r['excess_per_min']:.2f} |"
        )
    lines += ["", "### Heart rate and energy, every file", ""]
    lines.append(
        "| recording | windows | estimated | MAE BPM | trusted | MAE trusted | kcal est / ref "
        "| kcal error | raw Keytel error |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in result["hr"]:
        lines.append(
            f"| {r['name']} | {r['windows']} | {r['estimated']} | {_fmt(r['mae_bpm'])} "
            f"| {r['trusted']} | {_fmt(r['mae_trusted_bpm'])} "
            f"| {r['kcal_est']:.1f} / {r['kcal_ref']:.1f} | {_fmt(r['kcal_error_pct'], ' %')} "
            f"| {_fmt(r['keytel_error_pct'], ' %')} |"
        )
    lines += ["", "### Summary", "", "| figure | value |", "|---|---|"]
    for k, v in result["summary"].items():
        lines.append(f"| {k} | {v} |")
    return "\n".join(lines)


def _fmt(v: float | None, unit: str = "") -> str:
    return "" if v is None else f"{v:.2f}{unit}"


def write_doc(result: dict[str, Any]) -> None:
    """Replace the generated tables in docs/accuracy.md, keeping the prose around them."""
    text = DOC.read_text() if DOC.exists() else f"# Accuracy\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{markdown(result)}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print (or store) the results."""
    parser = argparse.ArgumentParser(prog="python -m simulators.evaluate_algorithms")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--only", default="", help="only recordings whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the full result as JSON")
    parser.add_argument("--write-doc", action="store_true", help="update docs/accuracy.md")
    args = parser.parse_args(argv)
    result = evaluate(args.data, args.only)
    print(markdown(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.write_doc:
        write_doc(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
