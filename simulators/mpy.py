"""CPython handle on a MicroPython (WebAssembly port) interpreter run by Node.js."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RUNNER = REPO / "simulators" / "micropython" / "runner.mjs"
PORT_PACKAGE = REPO / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"


class MicroPythonError(RuntimeError):
    """Python code raised under MicroPython; carries the exception type and traceback."""

    def __init__(self, error_type: str, text: str, stdout: str = "") -> None:
        super().__init__(f"{error_type} under MicroPython:\n{text}")
        self.error_type = error_type
        self.text = text
        self.stdout = stdout


def node_binary() -> str:
    """Path of the Node.js executable, or a clear error."""
    node = os.environ.get("SQJZ_NODE") or shutil.which("node")
    if not node:
        raise RuntimeError(
            "Node.js is not installed; the MicroPython harness needs it (see README)"
        )
    if not PORT_PACKAGE.exists():
        raise RuntimeError(f"MicroPython WebAssembly port missing; run `npm ci` in {REPO}")
    return node


def runner_command(heap: int, mounts: tuple[str, ...], root: Path = REPO) -> list[str]:
    """Argument vector that starts the runner."""
    cmd = [node_binary(), str(RUNNER), "--heap", str(heap), "--root", str(root)]
    for m in mounts:
        cmd += ["--mount", m]
    return cmd


def run_script(
    script: Path,
    args: list[str] | None = None,
    heap: int = 256 * 1024,
    mounts: tuple[str, ...] = ("protocol", "firmware"),
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one script file under MicroPython and return the finished process."""
    cmd = [*runner_command(heap, mounts), str(script), *(args or [])]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


class MicroPython:
    """One long-lived MicroPython interpreter; code runs in its `__main__`."""

    def __init__(
        self,
        heap: int = 256 * 1024,
        mounts: tuple[str, ...] = ("protocol", "firmware"),
        root: Path = REPO,
    ) -> None:
        self._ids = itertools.count(1)
        self._proc = subprocess.Popen(
            [*runner_command(heap, mounts, root), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        hello = self._read()
        if not hello.get("ready"):
            raise RuntimeError(f"MicroPython runner did not start: {hello}")

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            err = self._proc.stderr.read() if self._proc.stderr else ""
            raise RuntimeError(f"MicroPython runner exited: {err}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def exec(self, code: str) -> str:
        """Run code; return what it printed, or raise MicroPythonError."""
        assert self._proc.stdin is not None
        req_id = next(self._ids)
        self._proc.stdin.write(json.dumps({"id": req_id, "code": code}) + "\n")
        self._proc.stdin.flush()
        reply = self._read()
        if reply.get("id") != req_id:
            raise RuntimeError(f"MicroPython runner answered out of order: {reply}")
        if not reply["ok"]:
            raise MicroPythonError(reply["error_type"], reply["error"], reply.get("stdout", ""))
        out: str = reply["stdout"]
        return out

    def eval_json(self, expr: str, setup: str = "") -> Any:
        """Evaluate an expression under MicroPython and return it decoded from JSON."""
        marker = "@@sqjz-json@@ "
        out = self.exec(f"{setup}\nimport json as _json\nprint({marker!r} + _json.dumps({expr}))")
        for line in reversed(out.split("\n")):
            if line.startswith(marker):
                return json.loads(line[len(marker) :])
        raise RuntimeError(f"no JSON in MicroPython output: {out!r}")

    def close(self) -> None:
        """Stop the interpreter."""
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> MicroPython:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
