"""The `sqjz` command: one entry point, each subcommand imported only when used."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

# name -> (module, help). Each module has `add_arguments(parser)` and `run(args) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("sqjz.demo", "start the whole system on this machine (embedded defaults)"),
    "bench": ("sqjz.bench", "run benchmarks and write docs/benchmarks.md"),
    "selftest": ("sqjz.selftest", "check the frame protocol under CPython and MicroPython"),
    "replay": ("sqjz.replay", "run the band's algorithms under MicroPython on a recording (CSV)"),
    "cloud": ("cloud.cli", "serve the county cloud (web UI, API, MQTT ingest); create-admin"),
    "hub": ("hub.cli", "run the village hub (BLE to MQTT, store-and-forward); check; enrol"),
    "band": ("sqjz.band", "run one simulated band (real firmware) and print its frames as JSON"),
    "simulate": (
        "sqjz.simulate",
        "fleet simulator: thousands of bands, tens of real hubs, real broker and cloud",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="sqjz", description="sqjz 社区矫正 community corrections: bands, hubs and cloud"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        add: Callable[[argparse.ArgumentParser], None] | None = getattr(
            _load(module_name), "add_arguments", None
        )
        if add is not None:
            add(p)
    return parser


def _load(module_name: str) -> Any:
    return importlib.import_module(module_name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sqjz command line."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = _load(args._module).run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
