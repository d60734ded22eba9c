"""Accuracy of the band's algorithms on the shared datasets, run under MicroPython.

Every recording is converted (simulators.recordings: 25 Hz, milli-g), streamed through
firmware.algo.pipeline.Pipeline inside the MicroPython WebAssembly port, and compared with its
ground truth. Step counts and heart-rate windows are also recomputed under CPython to show
both give the same numbers. The heart-rate and energy part is in simulators.evaluate_hr.

    python -m simulators.evaluate_algorithms [--only TEXT] [--json FILE] [--write-doc]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from simulators import evaluate_hr
from simulators.evaluate_hr import PROFILE
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


def _rows(rec: Recording) -> list[list[int]]:
    """[t_ms, x_mg, y_mg, z_mg(, ppg)] as the band's drivers would hand them over."""
    mg = (rec.acc_g * 1000.0).round().astype(int)
    rows = [[int(t), int(x), int(y), int(z)] for t, (x, y, z) in zip(rec.t_ms, mg, strict=True)]
    if rec.ppg is not None:
        for row, p in zip(rows, rec.ppg, strict=True):
            row.append(int(p))
    return rows


def cpython_steps(rows: list[list[int]]) -> tuple[int, list[int]]:
    """The same step counter run by CPython (determinism check), and its evidence per second.

    The evidence is the strength r (per mille) of the best repeat in each 10 s window, the
    figure that starts a walking bout (StepCounter.ON); it shows how far apart walking and
    hand work are on each kind of recording.
    """
    from firmware.algo.steps import StepCounter

    counter = StepCounter(25)
    evidence = []
    for i, r in enumerate(rows):
        counter.feed(r[1], r[2], r[3])
        if (i + 1) % 25 == 0 and i + 1 >= 25 * counter.WINDOW_S:
            evidence.append(counter._evidence)
    return counter.total, evidence


EVIDENCE_KINDS = (  # name fragment -> kind, for the evidence table
    ("fast-walking", "SensorWatch fast walks"),
    ("normal-walking", "SensorWatch normal walks"),
    ("slow-walking", "SensorWatch slow walks"),
    ("dishwasher", "SensorWatch hand work"),
    ("dressing", "SensorWatch hand work"),
    ("shoe-laces", "SensorWatch hand work"),
    ("working", "SensorWatch desk and PC work"),
    ("steps-bangle-zero", "Bangle.js zero-step files"),
    ("drive", "Bangle.js drive"),
    ("nosteps", "Bangle.js arm moving, no steps"),
    ("static", "Bangle.js arm moving, no steps"),
    ("stationary", "Bangle.js arm moving, no steps"),
    ("steps-bangle/", "Bangle.js walks"),
)


def evidence_table(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Share of seconds whose 10 s window repeats at least as strongly as ON, OFF, ..."""
    from firmware.algo.steps import StepCounter

    kinds: dict[str, list[int]] = {}
    for r in steps:
        for fragment, kind in EVIDENCE_KINDS:
            if fragment in r["name"]:
                kinds.setdefault(kind, []).extend(r["evidence"])
                break
    out = []
    for kind, values in kinds.items():
        row: dict[str, Any] = {"kind": kind, "seconds": len(values)}
        for level in (150, StepCounter.OFF, 350, StepCounter.ON):
            share = sum(v >= level for v in values) / len(values) if values else 0.0
            row[f"r>={level}"] = round(100.0 * share)
        out.append(row)
    return out


def evaluate(data: Path = DATA, only: str = "") -> dict[str, Any]:
    """Run every recording; per-file results and the summary figures."""
    from sqjz.replay import BandReplay

    band = BandReplay()
    band.mpy.exec(evaluate_hr.KCAL_SETUP)
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
                total, evidence = cpython_steps(rows)
                result = _step_result(rec, summary["steps"], total, half)
                result["evidence"] = evidence
                steps.append(result)
            if "hr_windows" in rec.truth:
                hr.append(evaluate_hr.hr_result(rec, band, rows))
    finally:
        band.close()
    return {
        "steps": steps,
        "evidence": evidence_table(steps),
        "hr": hr,
        "summary": summarise(steps, hr),
        "profile": PROFILE,
    }


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
    out.update(evaluate_hr.summarise(hr))
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
    if result.get("evidence"):
        levels = [k for k in result["evidence"][0] if k.startswith("r>=")]
        lines += ["", "### How strongly each kind of recording repeats (steps)", ""]
        lines.append(
            "Share of seconds whose 10 s window has a repeat at least this strong (r per "
            "mille; a bout starts at "
            f"{levels[-1][3:]} and goes on down to {levels[1][3:]}):"
        )
        lines += ["", "| recording kind | seconds | " + " | ".join(levels) + " |"]
        lines.append("|---|---|" + "---|" * len(levels))
        for row in result["evidence"]:
            shares = " | ".join(f"{row[k]} %" for k in levels)
            lines.append(f"| {row['kind']} | {row['seconds']} | {shares} |")
    lines += evaluate_hr.markdown(result["hr"])
    lines += ["", "### Summary", "", "| figure | value |", "|---|---|"]
    for k, v in result["summary"].items():
        lines.append(f"| {k} | {v} |")
    return "\n".join(lines)


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
