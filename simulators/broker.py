"""Start a private mosquitto for tests and the demo, from a configuration the project ships."""

from __future__ import annotations

import contextlib
import getpass
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parent.parent
CLOUD_CONF = REPO / "cloud" / "deploy" / "mosquitto.conf"
SITE_KEYS = (
    "listener",
    "persistence_location",
    "password_file",
    "acl_file",
    "log_dest",
    "pid_file",
    "user",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def mosquitto_binary() -> str:
    """Path of mosquitto, or a clear error."""
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if not found:
        raise RuntimeError(
            "mosquitto is not installed (apt-get install mosquitto; make setup does it)"
        )
    return found


def site_config(
    shipped: str, port: int, folder: Path, password_file: Path | None, acl_file: Path | None
) -> str:
    """The shipped configuration with its site-specific lines set for this private instance."""
    kept = [
        line
        for line in shipped.splitlines()
        if not line.strip().startswith("#") and line.split(" ", 1)[0] not in SITE_KEYS
    ]
    kept += [
        # Run as whoever started us: as root mosquitto would switch to a user who cannot write here.
        f"user {getpass.getuser()}",
        f"listener {port} 127.0.0.1",
        f"persistence_location {folder}/",
        f"log_dest file {folder}/mosquitto.log",
    ]
    if password_file is not None:
        kept.append(f"password_file {password_file}")
    else:
        kept = [line for line in kept if not line.startswith("allow_anonymous")]
        kept.append("allow_anonymous true")
    if acl_file is not None:
        kept.append(f"acl_file {acl_file}")
    return "\n".join(kept) + "\n"


class Mosquitto:
    """A mosquitto process on a free port; `stop()` and `start()` keep its persistence folder."""

    def __init__(
        self,
        config: Path = CLOUD_CONF,
        users: dict[str, str] | None = None,
        acl: str | None = None,
        port: int | None = None,
        folder: Path | None = None,
        listener_extra: str = "",
    ) -> None:
        """listener_extra: lines for this instance's listener, e.g. TLS `cafile`/`certfile`."""
        self.port = port or free_port()
        self._tmp = None if folder else tempfile.TemporaryDirectory(prefix="sqjz-mosquitto-")
        self.folder = folder or Path(self._tmp.name)  # type: ignore[union-attr]
        self.folder.mkdir(parents=True, exist_ok=True)
        password_file = self._password_file(users) if users else None
        acl_file = None
        if acl is not None:
            acl_file = self.folder / "acl"
            acl_file.write_text(acl)
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text(
            site_config(config.read_text(), self.port, self.folder, password_file, acl_file)
            + listener_extra
        )
        self._proc: subprocess.Popen[bytes] | None = None

    def _password_file(self, users: dict[str, str]) -> Path:
        path = self.folder / "passwd"
        path.write_text("")
        for name, password in users.items():
            subprocess.run(
                ["mosquitto_passwd", "-b", str(path), name, password],
                check=True,
                capture_output=True,
            )
        return path

    def start(self, timeout: float = 10.0) -> Mosquitto:
        """Start the broker and wait until it accepts connections."""
        self._proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err} {self.log()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port}: {self.log()}")

    def stop(self) -> None:
        """Stop the broker cleanly (it saves its persistence file)."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc and self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None

    def kill(self) -> None:
        """Stop the broker abruptly (SIGKILL), as a crash would."""
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self.stop()

    @property
    def pid(self) -> int | None:
        """Process id of the running broker (benchmarks pin it to a core), else None."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        """The broker's log so far."""
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        """Stop and remove the temporary folder."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
