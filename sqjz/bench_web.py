"""Benchmark group "web": the supervisor's dashboard and case page under load from wrk.

A county is seeded through the cloud's own API (cases carried to supervision, bands enrolled
over the hub endpoints and assigned, a working day of signed frames through the real ingest),
then `sqjz cloud` serves it exactly as deployed (one uvicorn process, access log on), pinned to
one core. wrk, pinned to the other core, logs in once through the login form and sends the
session cookie. wrk comes from Debian (`apt-get install wrk`); if it is missing the benchmark
installs it when running as root and otherwise says how.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import warnings
from pathlib import Path
from typing import Any

CASES = 300  # a large county: the national average is ~250 people per county
HOURS_OF_FRAMES = 8
PASSWORD = "bench-pass-2026"
CONNECTIONS, SECONDS = 16, 10


def seed(folder: Path, cases: int = CASES) -> dict[str, Any]:
    """A county with `cases` people under supervision, each wearing a band with a day's frames."""
    with warnings.catch_warnings():  # starlette's notice about httpx is not ours to act on
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from cloud.app import create_app
    from cloud.ingest import Ingestor
    from cloud.seed import sample_county
    from cloud.settings import Settings
    from cloud.testkit import BandSim, wrap

    values: dict[str, Any] = {"data_dir": folder, "mqtt_enabled": False}
    app = create_app(Settings(**values), workers=False)
    rt = app.state.rt
    ids = sample_county(rt, PASSWORD)
    u = ids["units"]
    today = dt.date.today()
    client = TestClient(app)
    tokens = {user: _bearer(client, user) for user in ("office", "office_b", "admin")}
    hub = {"authorization": "Bearer " + ids["hub_token"]}
    bands, case_ids = [], []
    for i in range(cases):
        office, village, user = (
            ("office", "village", "office") if i % 2 == 0 else ("office_b", "village_b", "office_b")
        )
        headers = tokens[user]
        case_id = _supervised_case(client, headers, u[office], u[village], i, today)
        case_ids.append((case_id, user))
        band = BandSim(2_000_000 + i, seed=(2_000_000 + i).to_bytes(32, "big"))
        r = client.post(
            "/api/v1/enrolments",
            headers=hub,
            json={"band_id": band.band_id, "public_key": band.public.hex()},
        )
        ch = _ok(r)
        answer = band.enrol_answer(bytes.fromhex(ch["nonce"]), bytes.fromhex(ch["cloud_public"]))
        _ok(
            client.post(
                f"/api/v1/enrolments/{ch['enrolment_id']}/complete",
                headers=hub,
                json={"frame": answer.hex()},
            )
        )
        person = _ok(client.get(f"/api/v1/cases/{case_id}", headers=headers))["person_id"]
        _ok(
            client.post(
                f"/api/v1/bands/{band.band_id}/assign",
                json={"person_id": person},
                headers=tokens["admin"],
            )
        )
        bands.append(band)
    client.close()
    ingestor = Ingestor(rt.store)
    now = int(time.time())
    start = now - HOURS_OF_FRAMES * 3600
    batch: list[tuple[str, bytes]] = []
    for t in range(start, now, 300):
        for band in bands:
            kind = "heartbeat" if (t - start) % 900 == 0 else "activity"
            fields = {"battery_pct": 70} if kind == "heartbeat" else {"steps": t % 500}
            batch.append(("sqjz/v1/hubs/12/up", wrap(12, band.frame(kind, fields, band_time=t))))
        if len(batch) >= 500:
            ingestor.ingest(batch, t)
            batch = []
    for band in bands[::25]:  # some open alerts for the dashboard
        batch.append(
            ("sqjz/v1/hubs/12/up", wrap(12, band.frame("tamper", {"event": 1}, band_time=now)))
        )
    ingestor.ingest(batch, now)
    rt.close()
    return {"case_ids": case_ids, "frames": len(bands) * HOURS_OF_FRAMES * 12}


def _ok(r: Any) -> Any:
    if r.status_code >= 300:
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}")
    return r.json()


def _bearer(client: Any, user: str) -> dict[str, str]:
    token = _ok(client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD}))
    client.cookies.clear()
    return {"authorization": "Bearer " + token["token"]}


def _supervised_case(
    client: Any, headers: dict[str, str], office: int, village: int, i: int, today: dt.date
) -> int:
    from cloud.testkit import id_number

    effective = today - dt.timedelta(days=30 + i % 200)
    body = {
        "person": {
            "name": f"测试{i:03d}",
            "id_number": id_number(i, born=f"19{60 + i % 40}0101"),
            "gender": "male" if i % 3 else "female",
            "address": f"示范县{i % 17 + 1}组",
        },
        "case_type": ("probation", "parole", "control")[i % 3],
        "authority_kind": "court",
        "authority_name": "示范县人民法院",
        "judgment_no": f"(2026)示刑初{i + 1}号",
        "effective_on": effective.isoformat(),
        "term_start": effective.isoformat(),
        "term_end": (effective + dt.timedelta(days=365 + i % 300)).isoformat(),
        "office_id": office,
        "village_id": village,
    }
    case_id = int(_ok(client.post("/api/v1/cases", json=body, headers=headers))["id"])
    held = dt.datetime.combine(effective + dt.timedelta(days=5), dt.time(9))
    acts = [
        ("report", {"reported_on": (effective + dt.timedelta(days=3)).isoformat()}),
        ("receive", {"identity_checked": True, "file_no": f"SQJZ-{i:04d}"}),
        (
            "announce",
            {
                "held_at": held.isoformat() + "+08:00",
                "place": "司法所",
                "attendees": ["所长", "本人"],
                "police_station": "派出所",
                "village_committee": "村委会",
            },
        ),
        (
            "start_supervision",
            {
                "class_level": ("normal", "strict", "lenient")[i % 3],
                "plan": "每周报告",
                "team": ["所长"],
            },
        ),
    ]
    for action, act in acts:
        _ok(client.post(f"/api/v1/cases/{case_id}/acts/{action}", json=act, headers=headers))
    return case_id


def wrk_binary() -> str:
    """Path of wrk; installs Debian's package when running as root, else a clear error."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("  wrk is missing: apt-get install wrk", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise RuntimeError("the web benchmark needs wrk: sudo apt-get install wrk")
    return found


def cookie_login(port: int, user: str) -> str:
    """Log in through the login form, as a browser does; returns the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = urllib.parse.urlencode({"username": user, "password": PASSWORD, "next": "/"})
    conn.request("POST", "/login", body, {"content-type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    m = re.search(r"sqjz_session=([^;]+)", resp.getheader("set-cookie") or "")
    if resp.status != 303 or m is None:
        raise RuntimeError(f"login as {user} failed: {resp.status}")
    return f"sqjz_session={m.group(1)}"


def _page_ok(port: int, path: str, cookie: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"cookie": cookie})
    resp = conn.getresponse()
    size = len(resp.read())
    if resp.status != 200:
        raise RuntimeError(f"GET {path} answered {resp.status}, not the page")
    return size


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if m is None:
        raise ValueError(text)
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def wrk(url: str, cookie: str, core: int, seconds: int = SECONDS) -> dict[str, float]:
    """requests/s and latency percentiles from one wrk run pinned to `core`."""
    out = subprocess.run(
        [
            wrk_binary(),
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Cookie: {cookie}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {core}),
    ).stdout
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if rate is None or not pct:
        raise RuntimeError(f"wrk output not understood:\n{out}")
    return {
        "rps": float(rate.group(1)),
        "p50": _ms(pct["50"]),
        "p99": _ms(pct["99"]),
        "bad": float(bad.group(1)) if bad else 0.0,
        "socket_errors": 0.0
        if errors is None
        else float(sum(map(int, re.findall(r"\d+", errors.group(1))))),
    }


def bench_rows() -> list[dict[str, Any]]:
    """Rows for docs/benchmarks.md (group "web")."""
    from simulators.broker import free_port
    from sqjz.benchmarks import row

    wrk_binary()
    cores = sorted(os.sched_getaffinity(0))
    server_core, client_core = cores[0], cores[-1]
    with tempfile.TemporaryDirectory(prefix="sqjz-web-bench-") as tmp:
        folder = Path(tmp)
        seeded = seed(folder)
        port = free_port()
        env = dict(os.environ, SQJZ_MQTT_ENABLED="false")
        cmd = [
            sys.executable,
            "-m",
            "sqjz.cli",
            "cloud",
            "--data-dir",
            str(folder),
            "--port",
            str(port),
        ]
        with open(folder / "server.log", "wb") as log:
            server = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=lambda: os.sched_setaffinity(0, {server_core}),
            )
        try:
            _wait_up(port, server)
            results = {}
            case_id, user = seeded["case_ids"][0]
            pages = {
                "dashboard": ("/", cookie_login(port, "county_head")),
                "case page": (f"/cases/{case_id}", cookie_login(port, user)),
            }
            for name, (path, cookie) in pages.items():
                size = _page_ok(port, path, cookie)
                wrk(f"http://127.0.0.1:{port}{path}", cookie, client_core, seconds=2)  # warm-up
                got = wrk(f"http://127.0.0.1:{port}{path}", cookie, client_core)
                if got["bad"] or got["socket_errors"]:
                    raise RuntimeError(f"{name}: {got['bad']:.0f} bad answers, socket errors")
                results[name] = {**got, "bytes": size}
        finally:
            server.terminate()
            server.wait(30)
    method = (
        f"`sqjz cloud` (one uvicorn process, access log on, SQLite WAL) pinned to one core, "
        f"serving a county of {CASES} people under supervision with bands and "
        f"{HOURS_OF_FRAMES} h of frames each ({seeded['frames']:,} frames); wrk 4.1 pinned to the "
        f"other core, {CONNECTIONS} connections, {SECONDS} s after a 2 s warm-up, session cookie "
        "from the login form; every answer 200"
    )
    rows = []
    for name, who in (
        ("dashboard", "county head, the whole county"),
        ("case page", "司法所 staff"),
    ):
        r = results[name]
        rows.append(
            row(
                f"web: {name} requests/s ({who})",
                round(r["rps"], 1),
                "requests/s",
                ">= 50/s (our goal: a county's staff at once)",
                method + f"; page {r['bytes'] // 1024} KB",
                limit=f"p50 {r['p50']:.1f} ms",
            )
        )
        rows.append(
            row(
                f"web: {name} p99 latency, {CONNECTIONS} concurrent",
                round(r["p99"], 1),
                "ms",
                "< 500 ms (our goal)",
                "same run",
            )
        )
    return rows


def _wait_up(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("sqjz cloud exited; see its log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("sqjz cloud did not answer")
