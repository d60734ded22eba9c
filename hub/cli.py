"""`sqjz hub`: run the hub service, check its configuration, or enrol a band at the office."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=["run", "check", "enrol"],
        help="run the service (default), check the configuration, or enrol one band",
    )
    parser.add_argument("--config", type=Path, help="hub.toml (SQJZ_HUB_* variables override it)")
    parser.add_argument("--band", type=int, help="enrol: the band_id printed on the band")
    parser.add_argument(
        "--cloud", default="", help="enrol: cloud base URL, e.g. https://sqjz.example"
    )
    parser.add_argument(
        "--token-env",
        default="SQJZ_HUB_API_TOKEN",
        help="enrol: environment variable holding the hub's API token",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import dataclasses
    import json
    import logging
    import sys

    from hub import config, logs

    try:
        settings = config.load(args.config, os.environ)
    except config.SettingsError as exc:
        print(f"sqjz hub: 配置错误 configuration error: {exc}", file=sys.stderr)
        return 2
    if args.action == "check":
        shown = dataclasses.asdict(settings)
        shown["mqtt"]["password"] = "***" if settings.mqtt.password else ""
        print(json.dumps(shown, indent=1, ensure_ascii=False))
        return 0
    logs.setup(settings.log_level)
    if args.action == "enrol":
        from hub.enrol import enrol_cli

        return asyncio.run(
            enrol_cli(settings, args.band, args.cloud, os.environ.get(args.token_env, ""))
        )

    from hub.service import HubService

    async def main() -> None:
        service = HubService(settings)
        service.install_signal_handlers()
        await service.run()

    try:
        asyncio.run(main())
    except Exception:
        logging.getLogger("sqjz.hub").exception("hub crashed")
        return 1
    return 0
