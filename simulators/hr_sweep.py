"""How much the heart-rate estimator's settings matter, and a leave-one-out view of them.

The estimator's free settings (HeartRate.SIGMA_BPM, JUMP, FLOOR, RIDGE) are swept over a
grid on every HR recording. Each file is then scored with the setting that is best on all the
*other* files (leave-one-out), beside the shipped setting, so the gap shows how much choosing
settings on these same files flatters the figures. Runs the estimator under CPython, which
computes exactly what the band computes (the evaluation checks this on every window:
`hr_identical_cpython`).

    python -m simulators.hr_sweep [--jobs N] [--json FILE] [--write-doc]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from multiprocessing import Pool
from pathlib import Path
from typing import Any

from simulators.evaluate_hr import STRAP_LAG_S
from simulators.recordings import (
    DATA,
    REPO,
    Recording,
    _windows_from_series,
    read_hr_bangle,
    read_troika,
    read_welltory,
)

DOC = REPO / "docs" / "accuracy.md"
BEGIN, END = "<!-- hr-sweep:begin -->", "<!-- hr-sweep:end -->"
GRID = {
    "SIGMA_BPM": (2.0, 3.0, 4.0),
    "JUMP": (0.001, 0.005, 0.02),
    "FLOOR": (13, 51, 102),
    "RIDGE": (16, 164, 1638),
}
DATASETS = ("hr-troika", "hr-bangle", "hr-welltory")
_RECS: list[Recording] = []


def hr_recordings(data: Path = DATA) -> list[Recording]:
    """The heart-rate recordings only (the step datasets are not converted)."""
    recs = [read_troika(p) for p in sorted((data / "hr-troika").glob("DATA_*_25hz.csv"))]
    recs += [read_hr_bangle(p) for p in sorted((data / "hr-bangle").glob("*.csv"))]
    recs += [read_welltory(f) for f in sorted((data / "hr-welltory" / "data").glob("subject_*"))]
    return recs


def score(setting: dict[str, float]) -> dict[str, float]:
    """MAE per file (hr-bangle also with the strap moved) for one setting."""
    from firmware.algo.heartrate import HeartRate

    cls = type("Swept", (HeartRate,), dict(setting))
    out: dict[str, float] = {}
    for rec in _RECS:
        assert rec.ppg is not None
        mg = (rec.acc_g * 1000.0).round().astype(int).tolist()
        ppg = rec.ppg.tolist()
        hr = cls(25)
        est: dict[float, int] = {}
        for i in range(len(ppg)):
            bpm = hr.feed(ppg[i], mg[i][0], mg[i][1], mg[i][2])
            if bpm is not None:
                est[float((i + 1) // 25)] = bpm
        refs = {"": rec.truth["hr_windows"]}
        if "hr_series" in rec.truth:
            refs["@moved"] = _windows_from_series(
                rec.truth["hr_series"], rec.duration_s, STRAP_LAG_S
            )
        for suffix, windows in refs.items():
            errors = [abs(est[t] - b) for t, b in windows if t in est]
            out[rec.name + suffix] = statistics.fmean(errors) if errors else 0.0
    return out


def _objective(per: dict[str, float], names: list[str], leave_out: str = "") -> float:
    """Sum over the datasets of the mean file MAE (hr-bangle against the moved strap)."""
    total = 0.0
    for ds in DATASETS:
        keys = [n + ("@moved" if ds == "hr-bangle" else "") for n in names if n.startswith(ds)]
        kept = [per[k] for k in keys if k.split("@")[0] != leave_out]
        total += statistics.fmean(kept) if kept else 0.0
    return total


def analyse(runs: list[tuple[dict[str, float], dict[str, float]]]) -> dict[str, Any]:
    """Shipped vs leave-one-out vs the grid's spread, per dataset."""
    from firmware.algo.heartrate import HeartRate

    shipped = {k: getattr(HeartRate, k) for k in GRID}
    by = {json.dumps(s, sort_keys=True): per for s, per in runs}
    ship = by[json.dumps(shipped, sort_keys=True)]
    names = [n for n in ship if "@" not in n]
    loo: dict[str, dict[str, float]] = {}
    for name in names:
        best = min(by, key=lambda k: _objective(by[k], names, leave_out=name))
        loo[name] = {k: by[best][k] for k in by[best] if k.split("@")[0] == name}
    rows = []
    for ds in DATASETS:
        for suffix in ("", "@moved") if ds == "hr-bangle" else ("",):
            keys = [n + suffix for n in names if n.startswith(ds)]
            grid = [statistics.fmean(per[k] for k in keys) for per in by.values()]
            rows.append(
                {
                    "dataset": ds + (f", strap {STRAP_LAG_S} s later" if suffix else ""),
                    "shipped": round(statistics.fmean(ship[k] for k in keys), 2),
                    "leave_one_out": round(
                        statistics.fmean(loo[k.split("@")[0]][k] for k in keys), 2
                    ),
                    "grid_min": round(min(grid), 2),
                    "grid_median": round(statistics.median(grid), 2),
                    "grid_max": round(max(grid), 2),
                }
            )
    rank = sorted(by, key=lambda k: _objective(by[k], names)).index(
        json.dumps(shipped, sort_keys=True)
    )
    return {"shipped": shipped, "settings": len(by), "shipped_rank": rank + 1, "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    """The sweep's table for docs/accuracy.md."""
    grid = "; ".join(f"{k} {', '.join(str(v) for v in vals)}" for k, vals in GRID.items())
    lines = [
        f"Grid ({result['settings']} settings): {grid}. Shipped: "
        + ", ".join(f"{k} {v}" for k, v in result["shipped"].items())
        + f" (rank {result['shipped_rank']} of {result['settings']} on all files together).",
        "",
        "| dataset | MAE shipped | MAE leave-one-out | grid best | grid median | grid worst |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['dataset']} | {r['shipped']:.2f} | {r['leave_one_out']:.2f} "
            f"| {r['grid_min']:.2f} | {r['grid_median']:.2f} | {r['grid_max']:.2f} |"
        )
    return "\n".join(lines)


def _init(recs: list[Recording]) -> None:
    _RECS[:] = recs


def main(argv: list[str] | None = None) -> int:
    """Run the sweep and print (or store) the table."""
    parser = argparse.ArgumentParser(prog="python -m simulators.hr_sweep")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--json", type=Path, help="also write the per-file results as JSON")
    parser.add_argument("--write-doc", action="store_true", help="update docs/accuracy.md")
    args = parser.parse_args(argv)
    recs = hr_recordings(args.data)
    settings = [dict(zip(GRID, v, strict=True)) for v in itertools.product(*GRID.values())]
    with Pool(max(1, args.jobs), initializer=_init, initargs=(recs,)) as pool:
        runs = list(zip(settings, pool.map(score, settings), strict=True))
    result = analyse(runs)
    text = markdown(result)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"result": result, "runs": runs}, indent=1) + "\n")
    if args.write_doc:
        doc = DOC.read_text()
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        DOC.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
