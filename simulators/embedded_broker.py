"""Embedded MQTT broker (amqtt) for `sqjz demo` on a machine without mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from simulators.broker import free_port


def password_file(users: dict[str, str], folder: Path) -> Path:
    """An amqtt password file (user:argon2-hash per line)."""
    from pwdlib.hashers.argon2 import Argon2Hasher

    hasher = Argon2Hasher()
    path = folder / "passwd"
    path.write_text("".join(f"{name}:{hasher.hash(pw)}\n" for name, pw in users.items()))
    return path


class EmbeddedBroker:
    """amqtt in a background thread, with password authentication.

    Credentials are not optional here: amqtt discards queued messages of anonymous sessions
    when they go offline, which would lose frames that a hub handed over while the cloud was away.
    """

    def __init__(self, users: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.users = users or {"cloud": secrets.token_urlsafe(12)}
        self._tmp = tempfile.TemporaryDirectory(prefix="sqjz-amqtt-")
        self._passwd = password_file(self.users, Path(self._tmp.name))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def config(self) -> dict[str, object]:
        """amqtt broker configuration: one local TCP listener, file authentication only."""
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(self._passwd)},
            },
        }

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        from amqtt.broker import Broker

        logging.getLogger("amqtt").setLevel(logging.WARNING)
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        broker = Broker(self.config())
        await broker.start()
        self._ready.set()
        await self._stop.wait()
        await broker.shutdown()

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        """Start the broker thread and wait until it accepts connections."""
        self._thread = threading.Thread(target=self._run, name="amqtt", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"embedded MQTT broker did not start: {self._error!r}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.02)
        raise RuntimeError(f"embedded MQTT broker is not listening on {self.port}")

    def stop(self) -> None:
        """Shut the broker down and wait for its thread."""
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=10)
        self._thread = None
        self._tmp.cleanup()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
