"""What `sqjz demo` shows and reads: start-up progress, live alerts, single-key commands."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import termios
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

# key -> (action, zh, en). Ctrl-C reaches us as a key while the terminal is in key mode.
KEYS: dict[str, tuple[str, str, str]] = {
    "s": ("sos", "按下 SOS 按钮（按住 4 秒）", "hold a band's SOS button for 4 s"),
    "t": ("tamper", "剪开/打开表带", "open (cut) a band's strap"),
    "g": ("silent", "手环离开网关范围（失联）", "take a band out of the hub's range"),
    "b": ("back", "失联的手环回到范围内", "bring silent bands back into range"),
    "d": ("deadline", "新案件：报到期限将至", "a new case whose reporting deadline falls due"),
    "h": ("help", "显示帮助", "show this help"),
    "q": ("quit", "停止演示", "stop the demo"),
    "\x03": ("quit", "", ""),
}


class Console:
    """Bilingual lines (Chinese first); one step line at a time while starting."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.total = 0
        self.done = 0
        self._running = ""  # the step line shown while a step runs (terminal only)

    def line(self, text: str = "") -> None:
        """Print one line (CR LF: the terminal may be in key mode, without output translation)."""
        if self.tty and self._running:
            # Above the running step's line, which is then shown again.
            self.stream.write(f"\r\x1b[2K{text}\r\n{self._running}")
        else:
            self.stream.write(text + ("\r\n" if self.tty else "\n"))
        self.stream.flush()

    @contextlib.contextmanager
    def step(self, zh: str, en: str) -> Iterator[dict[str, str]]:
        """A start-up step: shown while it runs, then ✔ with its duration and a result note."""
        self.done += 1
        head = f"[{self.done}/{self.total}] {zh} {en}"
        if self.tty:
            self._running = f"  … {head} …"
            self.stream.write(self._running)
            self.stream.flush()
        started = time.monotonic()
        note: dict[str, str] = {"text": ""}
        try:
            yield note
        except asyncio.CancelledError:
            self._finish("■", head, started, "中止 abandoned")
            raise
        except BaseException:
            self._finish("✘", head, started, "失败 failed")
            raise
        self._finish("✔", head, started, note["text"])

    def _finish(self, mark: str, head: str, started: float, text: str) -> None:
        took = time.monotonic() - started
        if self.tty:
            self.stream.write("\r\x1b[2K")
            self._running = ""
        self.line(f"  {mark} {head} ({took:.1f} s)" + (f"  {text}" if text else ""))

    def alert(self, event: str, alert: dict[str, Any], at: float) -> None:
        """One live alert from the cloud's event stream."""
        who = alert.get("person_name") or (
            f"band {alert['band_id']}" if alert.get("band_id") else ""
        )
        stamp = time.strftime("%H:%M:%S", time.localtime(at))
        self.line(
            f"  🔔 {stamp} 告警 alert #{alert.get('id')} {event}: "
            f"{alert.get('label_zh')} {alert.get('label_en')} {who}".rstrip()
        )

    def help(self) -> None:
        """The keys, when stdin is a terminal."""
        self.line("  按键 Keys:")
        for key, (_action, zh, en) in KEYS.items():
            if zh:
                self.line(f"    {key}  {zh} / {en}")


class KeyReader:
    """Single keys from a terminal: no echo, no line buffering, Ctrl-C as a key (not SIGINT).

    With ISIG off the terminal sends no SIGINT to our process group, so the band interpreters
    (Node.js children) are not killed under us; the demo stops them in order instead.
    """

    def __init__(self, on_key: Callable[[str], None], fd: int | None = None) -> None:
        self.on_key = on_key
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._saved: list[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @staticmethod
    def available() -> bool:
        """True when stdin is a terminal we can read keys from."""
        try:
            return os.isatty(sys.stdin.fileno())
        except (OSError, ValueError):
            return False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Switch the terminal to key mode and read keys on the loop."""
        self._saved = termios.tcgetattr(self.fd)
        mode = termios.tcgetattr(self.fd)
        mode[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG)
        mode[6][termios.VMIN] = 1
        mode[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSANOW, mode)
        self._loop = loop
        loop.add_reader(self.fd, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 32)
        except OSError:
            data = b""
        if not data:  # the terminal went away
            self.stop()
            self.on_key("q")
            return
        for ch in data.decode(errors="ignore"):
            self.on_key(ch.lower())

    def stop(self) -> None:
        """Give the terminal back as it was."""
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self.fd)
            self._loop = None
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.fd, termios.TCSANOW, self._saved)
            self._saved = None
