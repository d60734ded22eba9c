"""`sqjz demo`: the whole system on this machine until Ctrl-C (docs/demo.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `sqjz demo` (cheap: nothing heavy is imported here)."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("demo-data"),
        help="folder for the demo's database, logs, hub outbox and band flash (default "
        "./demo-data); a previous demo's folder is emptied first, any other non-empty folder "
        "is refused",
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="web UI and API port (default 8080; 0: any free)"
    )
    parser.add_argument(
        "--bands", type=int, default=5, choices=range(1, 6), help="simulated bands (1-5, default 5)"
    )
    parser.add_argument(
        "--broker",
        choices=("auto", "mosquitto", "embedded"),
        default="auto",
        help="MQTT broker: mosquitto if installed (auto), or the embedded amqtt",
    )
    parser.add_argument(
        "--password",
        help="password of every demo login (default: a new one each run, printed at start)",
    )
    parser.add_argument(
        "--scenario",
        default="",
        help="after start-up run these in order, each waiting for its alert: "
        "sos,tamper,silent,deadline",
    )
    parser.add_argument(
        "--exit-after",
        type=float,
        metavar="SECONDS",
        help="stop this long after start-up and the scenarios (for CI); default: until Ctrl-C",
    )
    parser.add_argument(
        "--silent-after",
        type=int,
        default=90,
        metavar="SECONDS",
        help="the cloud's band-silence threshold in the demo (default 90; production 1800)",
    )
    parser.add_argument(
        "--no-keys", action="store_true", help="do not read single keys from the terminal"
    )


def run(args: argparse.Namespace) -> int:
    """Start everything; return when it has all stopped again."""
    import asyncio

    from sqjz.demo_console import Console, KeyReader

    try:
        from sqjz.demo_runner import Options, main
        from sqjz.demo_scenarios import parse_scenarios

        scenarios = parse_scenarios(args.scenario)
    except ImportError as exc:
        print(
            f"sqjz demo: 缺少组件 missing component ({exc.name}); run `make demo`, which installs "
            "the simulators' packages (bumble, httpx)",
            file=sys.stderr,
        )
        return 2
    except ValueError as exc:
        print(f"sqjz demo: --scenario: {exc}", file=sys.stderr)
        return 2
    if args.silent_after < 60:
        print("sqjz demo: --silent-after must be at least 60 (bands report every 60 s)")
        return 2
    opts = Options(
        data_dir=args.data_dir,
        port=args.port,
        bands=args.bands,
        broker=args.broker,
        password=args.password,
        scenarios=tuple(scenarios),
        exit_after=args.exit_after,
        silent_s=args.silent_after,
        keys=not args.no_keys and KeyReader.available(),
    )
    console = Console()
    console.line("sqjz 社区矫正 — 演示 demo: broker, cloud, hub, bands on this machine")
    return asyncio.run(main(opts, console))
