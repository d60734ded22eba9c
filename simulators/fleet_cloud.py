"""The real cloud for the fleet: seeded through its own services, run as a separate process.

The cloud process is `create_app` (FastAPI, the MQTT ingest worker, jobs) served by uvicorn on a
SQLite file, with one change from `sqjz cloud`: its clock is the fleet's simulated clock, so
that a compressed day does not look like hours of clock skew. It runs in its own process (its
own interpreter and core), as on a county server. Watchers read its database and its live event
stream from outside, as a supervisor's browser would.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from protocol import gatt

CLOUD_USER = "cloud"  # the cloud worker's MQTT user (hub/deploy/sqjz.acl)


class SimClock:
    """Simulated UTC seconds: `start` at monotonic time `t0`, running `speed` times real time.

    time.monotonic() is CLOCK_MONOTONIC on Linux, shared by every process of the machine, so
    the cloud process and the fleet agree on the simulated time without talking.
    """

    def __init__(self, start: float, t0: float, speed: float) -> None:
        self.start, self.t0, self.speed = start, t0, speed

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self.t0) * self.speed

    def args(self) -> list[str]:
        """Command-line form for the cloud process."""
        return ["--start", repr(self.start), "--t0", repr(self.t0), "--speed", repr(self.speed)]


def status_interval_s(speed: float) -> float:
    """Real seconds between a fleet hub's status reports: 30 simulated s, at most twice a second."""
    return max(0.5, 30.0 / speed)


def hub_offline_after_s(speed: float) -> int:
    """The cloud's hub_offline threshold (simulated s): 300 as shipped, or three missed reports."""
    return max(300, int(3 * status_interval_s(speed) * speed) + 1)


@contextlib.contextmanager
def configs_deferred(rt: Any) -> Iterator[None]:
    """Publish hub records once after a bulk enrolment instead of after every band.

    An enrolment publishes one small record per hub, but working out what changed reads every
    band and its orders (O(bands) each); for thousands of bands the seeding does it once.
    """
    real = rt.publish_configs
    rt.publish_configs = lambda: 0
    try:
        yield
    finally:
        rt.publish_configs = real
    real()


def seed(
    data_dir: Path, password: str, hubs: dict[int, str], bands: Sequence[Any], now: float
) -> dict[str, Any]:
    """County, hubs and bands in a fresh cloud database, all through the cloud's services.

    hubs: hub_id -> unit key of the sample county ("village", "village_b"); each band is
    enrolled at its first hub with the real challenge/answer exchange (protocol §6.1).
    """
    from cloud import models
    from cloud.app import create_app
    from cloud.domain.roles import SYSTEM
    from cloud.seed import sample_county
    from cloud.services import devices
    from cloud.settings import Settings

    values: dict[str, Any] = {"data_dir": data_dir, "mqtt_enabled": False}
    app = create_app(Settings(**values), workers=False, clock=lambda: now)
    rt = app.state.rt
    ids = sample_county(rt, password)
    try:
        with configs_deferred(rt):
            for hub_id, unit in hubs.items():
                devices.create_hub(
                    rt,
                    SYSTEM,
                    models.HubCreate(
                        hub_id=hub_id,
                        name=f"村级网关 {hub_id}",
                        unit_id=ids["units"][unit],
                        lat=34.2 + hub_id % 100 / 1000,
                        lon=108.9 + hub_id % 100 / 1000,
                        address=f"示范县第 {hub_id} 号村委会",
                    ),
                )
            rows = {hub_id: rt.store.hub(hub_id) for hub_id in hubs}
            for band in bands:
                enrol(rt, rows[band.reach[0]], band)
    finally:
        rt.close()
    return ids


def enrol(rt: Any, hub_row: dict[str, Any], band: Any) -> None:
    """One band through the cloud's enrolment services, as `sqjz hub enrol` drives them."""
    from cloud import models
    from cloud.services import devices

    ch = devices.start_enrolment(
        rt,
        hub_row,
        models.EnrolmentStart(band_id=band.band_id, public_key=band.public_key.hex()),
    )
    challenge = bytes([gatt.OP_ENROL_CHALLENGE]) + bytes.fromhex(ch["nonce"])
    band.write(gatt.CONTROL_UUID, challenge + bytes.fromhex(ch["cloud_public"]))
    counter = band.counter - 1
    devices.complete_enrolment(
        rt, hub_row, ch["enrolment_id"], models.EnrolmentComplete(frame=band.queue[counter].hex())
    )
    band.acknowledge(counter)  # the enrolment tool acks the band once the cloud accepted it


class CloudProcess:
    """`python -m simulators.fleet_cloud` on a seeded data folder, until stop()."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        mqtt_port: int,
        mqtt_password: str,
        clock: SimClock,
        client_id: str = "sqjz-cloud",
    ) -> None:
        self.data_dir, self.port = data_dir, port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = data_dir / "cloud.log"
        self._cmd = [
            sys.executable,
            "-m",
            "simulators.fleet_cloud",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--mqtt-port",
            str(mqtt_port),
            "--client-id",
            client_id,
            # The cloud's periodic jobs (escalation, silence, hub health) every 30 simulated s.
            "--jobs-interval",
            repr(max(1.0, 30.0 / clock.speed)),
            "--hub-offline-s",
            str(hub_offline_after_s(clock.speed)),
            *clock.args(),
        ]
        self._env = dict(os.environ, SQJZ_FLEET_MQTT_PASSWORD=mqtt_password)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> CloudProcess:
        """Start and wait until the web app answers."""
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self._cmd,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=_repo(),
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cloud process exited: {self.log()[-2000:]}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/login")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"cloud did not answer on {self.url}: {self.log()[-2000:]}")

    def stop(self) -> int | None:
        """SIGTERM (uvicorn shuts down, the ingest worker finishes its batch); kill if stuck."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def log(self) -> str:
        """What the cloud process printed."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def login(url: str, username: str, password: str) -> str:
    """A bearer token from the cloud's login API."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = json.dumps({"username": username, "password": password})
    conn.request("POST", "/api/v1/auth/login", body, {"content-type": "application/json"})
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"login as {username} refused: {data}")
    return str(data["token"])


class EventStream:
    """A supervisor's live event stream (/api/v1/events, server-sent events), read in a thread.

    `first[(band_id, sos_id)]` is the monotonic time the first event of each SOS arrived.
    """

    def __init__(self, url: str, token: str, name: str) -> None:
        self.url, self.token, self.name = url, token, name
        self.first: dict[tuple[int, int], float] = {}
        self.kinds: dict[str, int] = {}
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._conn: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(target=self._run, name=f"sse-{name}", daemon=True)

    def start(self) -> EventStream:
        self._thread.start()
        if not self.ready.wait(15):
            raise RuntimeError(f"event stream of {self.name} did not open")
        return self

    def _run(self) -> None:
        host, port = self.url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=None)
        self._conn.request(
            "GET", "/api/v1/events", headers={"authorization": "Bearer " + self.token}
        )
        resp = self._conn.getresponse()
        self.ready.set()
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            while not self._stop.is_set():
                line = resp.readline()
                if not line:
                    return
                if line.startswith(b"data: "):
                    self._event(json.loads(line[6:]), time.monotonic())

    def _event(self, event: dict[str, Any], at: float) -> None:
        alert = event.get("alert") or {}
        kind = str(alert.get("kind"))
        if event.get("event") in ("raised", "folded"):
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
        detail = alert.get("detail") or {}
        if kind == "sos" and "sos_id" in detail:
            self.first.setdefault((int(detail["band_id"]), int(detail["sos_id"])), at)

    @staticmethod
    def merged(streams: Sequence[EventStream]) -> dict[tuple[int, int], float]:
        """The earliest arrival of each SOS over several supervisors' streams."""
        out: dict[tuple[int, int], float] = {}
        for stream in streams:
            for key, at in stream.first.items():
                out[key] = min(at, out.get(key, at))
        return out

    def stop(self) -> None:
        self._stop.set()
        if self._conn is not None:
            with contextlib.suppress(OSError):
                sock = self._conn.sock
                if sock is not None:
                    sock.shutdown(2)
        self._thread.join(5)


class CommitWatcher:
    """Polls the cloud's frames table: when each (band_id, counter) became visible (committed)."""

    def __init__(self, db_path: Path, interval_s: float = 0.01) -> None:
        self.db_path, self.interval_s = db_path, interval_s
        self.seen: dict[tuple[int, int], float] = {}
        self._last_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="commit-watcher", daemon=True)

    def start(self) -> CommitWatcher:
        """Watch frames committed from now on (those already stored are not the run's)."""
        with contextlib.closing(sqlite3.connect(str(self.db_path))) as conn:
            self._last_id = int(
                conn.execute("SELECT coalesce(max(id), 0) FROM frames").fetchone()[0]
            )
        self._thread.start()
        return self

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.db_path), timeout=30)
        try:
            while not self._stop.wait(self.interval_s):
                rows = conn.execute(
                    "SELECT id, band_id, counter FROM frames WHERE id > ? ORDER BY id",
                    (self._last_id,),
                ).fetchall()
                now = time.monotonic()
                for row_id, band_id, counter in rows:
                    self.seen.setdefault((band_id, counter), now)
                    self._last_id = row_id
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _die_with_parent() -> None:
    """In the child: SIGTERM when the fleet process dies, however it dies (Linux prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _repo() -> Path:
    return Path(__file__).resolve().parent.parent


def main(argv: Sequence[str] | None = None) -> int:
    """The cloud process: `create_app` with the simulated clock, served by uvicorn."""
    import uvicorn

    from cloud.app import create_app
    from cloud.settings import Settings

    p = argparse.ArgumentParser(description="the real cloud on the fleet's simulated clock")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mqtt-port", type=int, required=True)
    p.add_argument("--client-id", default="sqjz-cloud")
    p.add_argument("--start", type=float, required=True)
    p.add_argument("--t0", type=float, required=True)
    p.add_argument("--speed", type=float, required=True)
    p.add_argument("--jobs-interval", type=float, default=30.0, help="real seconds between jobs")
    p.add_argument("--hub-offline-s", type=int, default=300, help="simulated s without status")
    args = p.parse_args(argv)
    clock: Callable[[], float] = SimClock(args.start, args.t0, args.speed)
    values: dict[str, Any] = {
        "data_dir": args.data_dir,
        "port": args.port,
        "mqtt_port": args.mqtt_port,
        "mqtt_username": CLOUD_USER,
        "mqtt_password": os.environ.get("SQJZ_FLEET_MQTT_PASSWORD") or None,
        "mqtt_client_id": args.client_id,
        "jobs_interval_s": args.jobs_interval,
        "hub_offline_s": args.hub_offline_s,
        # Supervisors stay logged in for the whole compressed run.
        "session_ttl_s": 365 * 86400,
        "session_idle_s": 365 * 86400,
    }
    app = create_app(Settings(**values), clock=clock)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
