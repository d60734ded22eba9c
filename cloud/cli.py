"""`sqjz cloud`: serve the county cloud (uvicorn + MQTT ingest), or create an administrator."""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `sqjz cloud`."""
    parser.add_argument(
        "action",
        nargs="?",
        default="serve",
        choices=("serve", "create-admin", "migrate"),
        help="serve (default), create-admin, or migrate the data folder and exit",
    )
    parser.add_argument("--host", help="listen address (SQJZ_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (SQJZ_PORT, default 8080)")
    parser.add_argument(
        "--data-dir", type=Path, help="data folder (SQJZ_DATA_DIR, default ./data/cloud)"
    )
    parser.add_argument("--config", type=Path, help="settings file, TOML or JSON (SQJZ_CONFIG)")
    parser.add_argument(
        "--no-mqtt", action="store_true", help="serve without the MQTT ingest worker"
    )
    parser.add_argument("--username", help="create-admin: the administrator's user name")
    parser.add_argument(
        "--password-env",
        default="SQJZ_ADMIN_PASSWORD",
        help="create-admin: environment variable holding the password (else prompt)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    from cloud.settings import load_settings

    overrides = {"host": args.host, "port": args.port, "data_dir": args.data_dir}
    if args.no_mqtt:
        overrides["mqtt_enabled"] = False
    settings = load_settings(args.config, **overrides)
    if args.action == "migrate":
        from cloud.store import Store

        store = Store(settings.db_path)
        print(f"{settings.db_path}: applied migrations {store.applied or 'none (up to date)'}")
        store.close()
        return 0
    if args.action == "create-admin":
        return _create_admin(settings, args)
    import uvicorn

    from cloud.app import create_app

    app = create_app(settings)
    print(f"sqjz cloud on http://{settings.host}:{settings.port}  data: {settings.data_dir}")
    # Supervisors' live event streams never end by themselves: without a limit a stop (systemd,
    # the demo) would wait for every open browser tab.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=5,
    )
    return 0


def _create_admin(settings: object, args: argparse.Namespace) -> int:
    from cloud import models
    from cloud.domain.roles import SYSTEM
    from cloud.runtime import Runtime
    from cloud.services.common import RefusedError
    from cloud.services.oversight import create_user

    username = args.username or input("administrator user name: ").strip()
    password = os.environ.get(args.password_env) or getpass.getpass("password (10+ chars): ")
    rt = Runtime(settings)  # type: ignore[arg-type]
    try:
        uid = create_user(
            rt,
            SYSTEM,
            models.UserCreate(
                username=username, display_name=username, role="admin", password=password
            ),
        )
    except (RefusedError, ValueError) as exc:
        print(f"refused: {exc}")
        return 2
    finally:
        rt.store.close()
    print(f"administrator {username} created (id {uid})")
    return 0
