"""`sqjz simulate`: thousands of bands and tens of hubs against a real broker and the real cloud."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators.fleet_scenarios import Options

NAMES = (
    "normal-day",
    "sos-storm",
    "sos-latency",
    "broker-outage",
    "hub-offline",
    "clock-drift",
    "forged",
)  # simulators/fleet_scenarios.py SCENARIOS, listed here so that --help stays cheap

# option -> Options field, for the options a scenario may set its own default for
FIELDS = {
    "bands": "bands",
    "hubs": "hubs",
    "speed": "speed",
    "hours": "duration_s",
    "activity_s": "activity_s",
    "heartbeat_s": "heartbeat_s",
    "overlap": "overlap",
    "ack_loss": "ack_loss",
    "seed": "seed",
    "broker": "broker",
    "outage_minutes": "outage_s",
    "outage_kill": "outage_kill",
    "offline_minutes": "offline_s",
    "storm_share": "storm_share",
    "attack_frames": "attack_frames",
    "drain_timeout": "drain_timeout_s",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario",
        nargs="?",
        default="normal-day",
        choices=(*NAMES, "all"),
        help="what happens (default normal-day; all: each in turn)",
    )
    parser.add_argument("--bands", type=int, help="simulated bands (default 1000)")
    parser.add_argument("--hubs", type=int, help="hubs, each a real HubService (default 10)")
    parser.add_argument("--speed", type=float, help="simulated seconds per real second")
    parser.add_argument("--hours", type=float, help="simulated hours to run")
    parser.add_argument("--activity-s", type=float, help="band activity report period (300)")
    parser.add_argument("--heartbeat-s", type=float, help="band heartbeat period (900)")
    parser.add_argument("--overlap", type=float, help="share of bands two hubs hear (0.05)")
    parser.add_argument("--ack-loss", type=float, help="share of band sessions losing acks")
    parser.add_argument("--seed", type=int, help="random seed (1)")
    parser.add_argument("--broker", help="use a running broker 127.0.0.1:PORT (anonymous)")
    parser.add_argument("--outage-minutes", type=float, help="broker-outage: minutes down (5)")
    parser.add_argument(
        "--outage-kill", action="store_true", default=None, help="broker-outage: SIGKILL it"
    )
    parser.add_argument("--offline-minutes", type=float, help="hub-offline: minutes (60)")
    parser.add_argument(
        "--storm-share", type=float, help="sos-storm, sos-latency: share of bands pressing SOS"
    )
    parser.add_argument("--attack-frames", type=int, help="forged: items of each kind (50)")
    parser.add_argument("--drain-timeout", type=float, help="real seconds to wait at the end")
    parser.add_argument("--json", help="also write the report(s) as JSON to this file")
    parser.add_argument("--keep", help="keep databases and logs in this folder")


def options_from(args: argparse.Namespace, scenario: str) -> Options:
    """Options for one scenario: what was given, else the scenario's defaults."""
    from simulators.fleet_scenarios import Options, resolve

    given: dict[str, Any] = {}
    for option, field in FIELDS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if option == "hours":
            value = float(value) * 3600
        elif option in ("outage_minutes", "offline_minutes"):
            value = float(value) * 60
        given[field] = value
    return resolve(Options(scenario=scenario, **given), set(given))


def run(args: argparse.Namespace) -> int:
    import json
    import tempfile
    from pathlib import Path

    from simulators import fleet
    from simulators.fleet_table import render

    # systemd, timeout and CI stop with SIGTERM: end the run as Ctrl-C does, cleaning up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    names = list(NAMES) if args.scenario == "all" else [args.scenario]
    reports = []
    for name in names:
        try:
            opts = options_from(args, name)
        except ValueError as exc:
            print(f"选项错误 / bad option: {exc}", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix="sqjz-fleet-") as tmp:
            folder = Path(args.keep) / name if args.keep else Path(tmp)
            if folder.exists() and any(folder.iterdir()):
                print(f"选项错误 / bad option: {folder} is not empty", file=sys.stderr)
                return 2
            folder.mkdir(parents=True, exist_ok=True)
            try:
                report = fleet.run(opts, folder, lambda m: print(m, flush=True))
            except (ValueError, RuntimeError) as exc:
                print(f"模拟失败 / simulation failed: {exc}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                print("已中断 / interrupted: everything stopped", file=sys.stderr)
                return 130
        print()
        print(render(report))
        print()
        reports.append(report)
    if args.json:
        Path(args.json).write_text(
            json.dumps(reports if len(reports) > 1 else reports[0], indent=1, ensure_ascii=False)
        )
        print(f"JSON: {args.json}")
    return 0 if all(r["ok"] for r in reports) else 1
