"""The demo's other programs: its data folder, the MQTT broker and the cloud as a child process."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from simulators.broker import REPO, Mosquitto, free_port, mosquitto_binary

MARKER = "demo.json"
ACL = REPO / "hub" / "deploy" / "sqjz.acl"
# Runs the real command after asking the kernel to SIGTERM it when the demo dies, however it
# dies (even SIGKILL): no broker or cloud is left behind. The child checks its parent is still
# the demo, in case the demo died before prctl took effect.
_SHIM = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"
    "except (AttributeError, OSError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(70)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


class DemoError(RuntimeError):
    """Start-up cannot go on; the message says why and what to do (Chinese and English)."""


def password(length: int = 14) -> str:
    """A per-run password the cloud accepts (10+ characters of letters and digits)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


class DataFolder:
    """The demo's folder, locked while a demo runs; a previous demo's contents are replaced.

    A folder that holds anything but a previous demo is refused, never emptied.
    """

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self._fd: int | None = None
        self.replaced = False

    def open(self) -> DataFolder:
        """Create or take over the folder; raise DemoError if it is not ours to use."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise DemoError(
                f"另一个演示正在使用 {self.path} / another demo is running with this folder "
                "(stop it, or give --data-dir)"
            ) from None
        entries = list(self.path.iterdir())
        if entries and not (self.path / MARKER).exists():
            self.close()
            raise DemoError(
                f"{self.path} 不是空目录，也不是演示数据 / is neither empty nor a previous demo's "
                "folder; nothing was deleted (give another --data-dir)"
            )
        for entry in entries:
            self.replaced = True
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        self.write_summary({"state": "starting", "pid": os.getpid()})
        for sub in ("cloud", "hub", "broker", "logs"):
            (self.path / sub).mkdir()
        return self

    def write_summary(self, doc: dict[str, Any]) -> None:
        """demo.json: what runs where (no passwords), rewritten as start-up proceeds."""
        tmp = self.path / (MARKER + ".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
        tmp.replace(self.path / MARKER)

    def close(self) -> None:
        """Release the lock (the data stays for a look afterwards)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Child:
    """A program the demo started in its own session; stopped by the demo, or killed with it."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.name = name
        self._log: IO[bytes] = log.open("ab")
        # Spawned from the event loop's thread: PR_SET_PDEATHSIG follows the spawning thread.
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SHIM, str(os.getpid()), *argv],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal is the demo's to handle, in order
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    async def stop(self, grace_s: float = 8.0) -> int | None:
        """SIGTERM; SIGINT after half the grace (uvicorn: stop waiting for clients); SIGKILL."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            for _ in range(int(grace_s * 10 / 2)):
                if self.proc.poll() is not None:
                    break
                await asyncio.sleep(0.1)
        code = self.proc.wait() if self.proc.poll() is None else self.proc.returncode
        self._log.close()
        return code


@dataclass
class Broker:
    """Where the broker listens and who may log in."""

    kind: str  # "mosquitto" or "amqtt"
    port: int
    users: dict[str, str]
    child: Child | None = None
    embedded: Any = None
    detail: str = ""

    async def stop(self) -> None:
        """Stop the broker (mosquitto saves its persistence file on SIGTERM)."""
        if self.child is not None:
            await self.child.stop()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else None


def choose_broker(wanted: str) -> str:
    """mosquitto when installed (or asked for), else the embedded amqtt."""
    if wanted == "embedded":
        return "amqtt"
    try:
        mosquitto_binary()
    except RuntimeError:
        if wanted == "mosquitto":
            raise DemoError(
                "没有安装 mosquitto / mosquitto is not installed (apt-get install mosquitto, "
                "or --broker embedded)"
            ) from None
        return "amqtt"
    return "mosquitto"


async def start_broker(kind: str, folder: Path, users: dict[str, str], logs: Path) -> Broker:
    """mosquitto from the shipped county config with passwords and the hub ACL, or amqtt."""
    port = free_port()
    if kind == "mosquitto":
        conf = Mosquitto(users=users, acl=ACL.read_text(), port=port, folder=folder)
        child = Child("mosquitto", [mosquitto_binary(), "-c", str(conf.conf)], logs, _env({}))
        await wait_port(port, child, 10)
        return Broker(kind, port, users, child=child, detail=f"{folder}/mosquitto.log")
    from simulators.embedded_broker import EmbeddedBroker

    embedded = await asyncio.to_thread(EmbeddedBroker(users=users, port=port).start)
    return Broker(kind, port, users, embedded=embedded, detail="amqtt, in the demo process")


async def wait_port(port: int, child: Child, timeout: float) -> None:
    """Until something accepts connections on the port (or the child exits)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if not child.running():
            raise DemoError(f"{child.name} exited (code {child.proc.returncode}); see its log")
        with contextlib.suppress(OSError):
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        await asyncio.sleep(0.05)
    raise DemoError(f"{child.name} is not listening on port {port}")


def _env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without SQJZ_* settings (the demo sets its own), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQJZ_")}
    env.update(extra)
    return env


@dataclass
class Cloud:
    """The county cloud (`sqjz cloud`) running as a child process."""

    url: str
    child: Child
    config: Path
    db: Path
    settings: dict[str, Any] = field(default_factory=dict)


def cloud_settings(port: int, data: Path, broker: Broker, silent_s: int) -> dict[str, Any]:
    """The demo preset: real defaults, except reporting and silence fast enough to watch."""
    return {
        "data_dir": str(data),
        "host": "127.0.0.1",
        "port": port,
        "mqtt_host": "127.0.0.1",
        "mqtt_port": broker.port,
        "mqtt_username": "cloud",
        "mqtt_client_id": "sqjz-cloud-demo",
        # Bands report every minute (the minimum they accept) instead of every 5/10 minutes,
        # so that a band gone silent raises its alert after silent_s instead of 30 minutes.
        "band_activity_s": 60,
        "band_heartbeat_s": 60,
        "band_silent_s": silent_s,
        "jobs_interval_s": 5.0,
    }


def _toml(settings: dict[str, Any]) -> str:
    lines = ["# sqjz demo: settings of the county cloud (docs/demo.md); passwords come from env"]
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


async def start_cloud(
    folder: Path, port: int, broker: Broker, admin: tuple[str, str], silent_s: int
) -> Cloud:
    """`sqjz cloud` on the demo's SQLite file; returns once it serves and its ingest is on."""
    settings = cloud_settings(port, folder / "cloud", broker, silent_s)
    config = folder / "cloud.toml"
    config.write_text(_toml(settings))
    env = _env(
        {
            "SQJZ_MQTT_PASSWORD": broker.users["cloud"],
            "SQJZ_ADMIN_USERNAME": admin[0],
            "SQJZ_ADMIN_PASSWORD": admin[1],
            "PYTHONUNBUFFERED": "1",
        }
    )
    argv = [sys.executable, "-m", "sqjz.cli", "cloud", "serve", "--config", str(config)]
    child = Child("cloud", argv, folder / "logs" / "cloud.log", env)
    url = f"http://127.0.0.1:{port}"
    cloud = Cloud(url, child, config, folder / "cloud" / "sqjz.db", settings)
    await wait_cloud(cloud, 60)
    return cloud


async def wait_cloud(cloud: Cloud, timeout: float) -> None:
    """Until /api/v1/healthz says the database answers and the MQTT ingest is connected."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = "no answer"
    async with httpx.AsyncClient(base_url=cloud.url, timeout=2) as http:
        while loop.time() < deadline:
            if not cloud.child.running():
                raise DemoError(
                    f"the cloud exited (code {cloud.child.proc.returncode}); "
                    "see logs/cloud.log in the data folder"
                )
            try:
                r = await http.get("/api/v1/healthz")
                if r.status_code == 200 and r.json().get("mqtt"):
                    return
                last = r.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            await asyncio.sleep(0.2)
    raise DemoError(f"the cloud did not become ready in {timeout:.0f} s ({last})")


def port_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:port."""
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
