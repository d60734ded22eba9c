"""`sqjz demo` end to end: everything starts, an SOS reaches the cloud, and everything stops.

The demo runs as a real subprocess (`python -m sqjz.cli demo ...`): mosquitto or amqtt, the
cloud as its own process, the hub over the bumble radio, five bands running the firmware under
MicroPython (Node.js children). The oracle is the cloud's own API, queried as the demo's
supervisor logins, and the process table: after SIGINT nothing the demo started is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import sqlite3
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Demo-test-2026"


def _descendants(pid: int) -> dict[int, str]:
    """Every live process below pid (from /proc), with its command line."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                cmd = (Path("/proc") / str(child) / "cmdline").read_bytes()
            except OSError:
                continue
            out[child] = cmd.replace(b"\0", b" ").decode(errors="replace")
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie has ended: it only waits to be reaped)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _start(folder: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQJZ_")}
    argv = [sys.executable, "-m", "sqjz.cli", "demo", "--data-dir", str(folder), "--port", "0"]
    return subprocess.Popen(
        [*argv, "--password", PASSWORD, "--no-keys", *extra],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,  # our SIGINT goes to the demo alone, as `kill -INT` would
    )


def _ready(proc: subprocess.Popen[str], folder: Path, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"the demo exited early ({proc.returncode}):\n{out}")
        path = folder / "demo.json"
        if path.exists():
            doc: dict[str, Any] = json.loads(path.read_text())
            if doc.get("state") == "ready":
                return doc
        time.sleep(0.3)
    raise AssertionError("the demo did not become ready")


def _login(http: httpx.Client, user: str) -> dict[str, str]:
    r = http.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    http.cookies.clear()
    return {"authorization": "Bearer " + r.json()["token"]}


def _kill_all(proc: subprocess.Popen[str], pids: dict[int, str]) -> None:
    """Clean up after a failed test, so that a failure cannot leave processes behind."""
    for pid in [proc.pid, *pids]:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_demo_starts_everything_sos_reaches_the_cloud_and_sigint_stops_it_all(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "demo-data"
    proc = _start(folder, "--scenario", "sos", "--exit-after", "240")
    pids: dict[int, str] = {}
    try:
        info = _ready(proc, folder)
        pids = _descendants(proc.pid)
        commands = list(pids.values())
        assert any("mosquitto" in c for c in commands), commands  # mosquitto is installed here
        assert any("sqjz.cli cloud serve" in c for c in commands), commands
        assert sum("runner.mjs" in c for c in commands) == 5, commands  # five firmware bands
        with httpx.Client(base_url=info["web"].rstrip("/"), timeout=10) as http:
            office = _login(http, "office")
            sos: list[dict[str, Any]] = []
            deadline = time.monotonic() + 90
            while not sos and time.monotonic() < deadline:
                alerts = http.get("/api/v1/alerts", headers=office).json()
                sos = [a for a in alerts if a["kind"] == "sos"]
                time.sleep(0.5)
            assert sos, "no SOS alert at the cloud"
            assert sos[0]["person_name"] == "张建国" and sos[0]["band_id"] == 880001
            head = _login(http, "county_head")
            bands = http.get("/api/v1/bands", headers=head).json()
            assert {b["band_id"] for b in bands} == set(range(880001, 880006))
            assert all(b["person_id"] is not None and b["active"] for b in bands)
            cases = http.get("/api/v1/cases", headers=head).json()
            stages = {c["stage"] for c in cases}
            assert {"notified", "received", "supervising"} <= stages
            assert _login(http, "procuratorate")  # every role has a login
            person = next(x["username"] for x in info["logins"] if x["role"] == "person")
            me = http.get("/api/v1/me", headers=_login(http, person)).json()
            assert me["case"]["id"] == sos[0]["case_id"]  # 张建国's own case, nobody else's
            # The seed went through the API as the staff whose job each act is, and was audited.
            rows = http.get("/api/v1/audit", params={"limit": 5000}, headers=head).json()
            done = {(r["actor"].split(":")[-1], r["action"]) for r in rows}
            assert {
                ("admin", "unit.create"),
                ("office", "case.open"),
                ("county_head", "positioning.approved"),
                ("12", "band.enrol"),
                ("county_head", "band.assign"),
            } <= done
            assert http.get("/api/v1/audit/verify", headers=head).json()["ok"] is True
        health = httpx.get(info["hub_health"], timeout=5).json()
        assert health["uplink"] == "connected" and health["hub_id"] == 12
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
        out = proc.stdout.read() if proc.stdout else ""
        assert code == 0, out
        assert "everything stopped" in out and "the cloud raised it" in out
        time.sleep(0.5)
        left = {pid: cmd for pid, cmd in pids.items() if _alive(pid)}
        assert not left, f"left behind: {left}"
        assert json.loads((folder / "demo.json").read_text())["state"] == "stopped"
    finally:
        _kill_all(proc, pids)


@pytest.mark.slow
def test_demo_on_the_embedded_broker_delivers_the_sos_and_exits_by_itself(tmp_path: Path) -> None:
    folder = tmp_path / "demo-embedded"
    proc = _start(
        folder, "--broker", "embedded", "--bands", "2", "--scenario", "sos", "--exit-after", "0"
    )
    try:
        out, _ = proc.communicate(timeout=150)
    finally:
        _kill_all(proc, {})
    assert proc.returncode == 0, out
    assert "amqtt" in out and "the cloud raised it" in out
    db = sqlite3.connect(f"file:{folder / 'cloud' / 'sqjz.db'}?mode=ro", uri=True)
    try:
        bands = db.execute("SELECT band_id, person_id FROM bands ORDER BY band_id").fetchall()
        sos = db.execute("SELECT band_id FROM alerts WHERE kind = 'sos'").fetchall()
        synced = db.execute(
            "SELECT count(*) FROM frames WHERE band_id = 880002 AND flags & 2 = 0"
        ).fetchone()
    finally:
        db.close()
    assert [b for b, _p in bands] == [880001, 880002] and all(p for _b, p in bands)
    assert sos == [(880001,)]
    assert synced[0] > 0  # frames with UTC time: the time_sync downlink reached the band


@pytest.mark.slow
def test_demo_in_a_terminal_takes_single_keys_and_gives_the_terminal_back(tmp_path: Path) -> None:
    folder = tmp_path / "demo-keys"
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQJZ_")}
    argv = [sys.executable, "-m", "sqjz.cli", "demo", "--data-dir", str(folder), "--port", "0"]
    proc = subprocess.Popen(
        [*argv, "--password", PASSWORD, "--bands", "1"],
        cwd=REPO,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    seen: list[str] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            seen.append(data.decode(errors="replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def wait_for(text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in "".join(seen):
            assert proc.poll() is None, "".join(seen)
            assert time.monotonic() < deadline, f"no {text!r} in:\n{''.join(seen)}"
            time.sleep(0.2)

    try:
        wait_for("s  按下 SOS", 120)  # ready, with the key help
        os.write(master, b"s")
        wait_for("the cloud raised it", 60)
        os.write(master, b"\x03")  # Ctrl-C arrives as a key: the demo stops in order
        assert proc.wait(60) == 0, "".join(seen)
        after = termios.tcgetattr(slave)
    finally:
        _kill_all(proc, {})
        os.close(slave)
        reader.join(5)
        os.close(master)
    out = "".join(seen)
    assert "everything stopped" in out and "🔔" in out
    assert after[3] & (termios.ICANON | termios.ECHO | termios.ISIG) == before[3] & (
        termios.ICANON | termios.ECHO | termios.ISIG
    )
