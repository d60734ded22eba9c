"""A band that signs real frames and a county built over the real app, for tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud.seed import sample_county
from cloud.settings import Settings
from protocol import downlink, envelope, frame
from protocol.ed25519 import Signer
from protocol.x25519 import x25519_from_ed25519_scalar

PASSWORD = "test-pass-2026"
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(seq: int, born: str = "19800101") -> str:
    """A well-formed resident ID number (GB 11643 check digit) for test persons."""
    body = f"610102{born}{seq % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


class BandSim:
    """A wristband's signing side: Ed25519 key from a seed, a counter, enrolment answers."""

    def __init__(self, band_id: int, seed: bytes | None = None) -> None:
        self.band_id = band_id
        self.seed = seed or bytes([band_id % 251 + 1]) * 32
        self.key = Ed25519PrivateKey.from_private_bytes(self.seed)
        self.public = self.key.public_key().public_bytes_raw()
        self.counter = 0
        self.dl_key: bytes | None = None

    def frame(
        self,
        ftype: str,
        fields: dict[str, Any] | None = None,
        counter: int | None = None,
        band_time: int = 1_764_460_800,
        flags: int = 0,
    ) -> bytes:
        """A signed frame; the counter advances unless given."""
        if counter is None:
            counter = self.counter
            self.counter += 1
        return frame.encode(
            ftype, self.band_id, counter, band_time, fields or {}, self.key.sign, flags
        )

    def enrol_answer(self, nonce: bytes, cloud_public: bytes) -> bytes:
        """The signed enrol frame proving the key and agreeing K_dl (protocol §6.1, band side)."""
        shared = x25519_from_ed25519_scalar(Signer(self.seed).scalar, cloud_public)
        self.dl_key = bytes(downlink.derive_key(shared, nonce, self.band_id))
        confirm = downlink.enrol_confirm(self.dl_key, nonce, cloud_public)
        return self.frame(
            "enrol",
            {
                "nonce": nonce,
                "confirm": confirm,
                "fw_version": 0x0100,
                "hw_rev": 1,
                "capabilities": 3,
            },
        )


def wrap(
    hub_id: int,
    raw: bytes,
    received_ms: int = 1_764_460_800_000,
    rssi: int = 0,
    flags: int = envelope.FLAG_HUB_VERIFIED,
) -> bytes:
    """The hub's MQTT payload around a frame."""
    return envelope.wrap(hub_id, received_ms, rssi, raw, flags)


def case_body(
    ids: dict[str, Any], id_number: str = "11010519491231002X", **kw: Any
) -> dict[str, Any]:
    """A valid new-case body in the sample county's first office."""
    u = ids["units"]
    body = {
        "person": {
            "name": "张三",
            "id_number": id_number,
            "gender": "male",
            "address": "东关村3组",
        },
        "case_type": "probation",
        "authority_kind": "court",
        "authority_name": "示范县人民法院",
        "judgment_no": "(2025)示刑初1号",
        "effective_on": "2025-11-28",
        "term_start": "2025-11-28",
        "term_end": "2026-11-27",
        "office_id": u["office"],
        "village_id": u["village"],
    }
    body.update(kw)
    return body


class County:
    """The real app (real SQLite in a temporary folder), a sample county, logged-in clients."""

    def __init__(
        self,
        settings: dict[str, Any] | None = None,
        workers: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        from fastapi.testclient import TestClient

        from cloud.app import create_app

        self._tmp = tempfile.TemporaryDirectory(prefix="sqjz-cloud-")
        values = {"data_dir": Path(self._tmp.name), "mqtt_enabled": False, **(settings or {})}
        self.now = 1_764_460_800.0  # 2025-11-30 08:00 CST; tests move it
        self.app = create_app(
            Settings(**values), workers=workers, clock=clock or (lambda: self.now)
        )
        self.rt = self.app.state.rt
        self.ids = sample_county(self.rt, PASSWORD)
        self.client = TestClient(self.app)
        self._headers: dict[str, dict[str, str]] = {}

    def set_date(self, day: str, hour: int = 10) -> None:
        """Move the clock to a local (CST) date and hour."""
        moment = dt.datetime.combine(
            dt.date.fromisoformat(day), dt.time(hour), dt.timezone(dt.timedelta(hours=8))
        )
        self.now = moment.timestamp()
        self._headers.clear()  # sessions would look idle after a jump; log in again

    def advance(self, seconds: float) -> None:
        """Move the clock forward (and log in again: sessions would have gone idle)."""
        self.now += seconds
        self._headers.clear()

    def headers(self, user: str) -> dict[str, str]:
        """Bearer headers of a logged-in account."""
        if user not in self._headers:
            r = self.client.post(
                "/api/v1/auth/login", json={"username": user, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            self.client.cookies.clear()  # the API client authenticates by header only
            self._headers[user] = {"authorization": "Bearer " + r.json()["token"]}
        return self._headers[user]

    def call(self, user: str | None, method: str, path: str, **kw: Any) -> Any:
        """A request as a user (None: anonymous)."""
        headers = self.headers(user) if user else {}
        return self.client.request(method, path, headers=headers, **kw)

    def case_body(self, id_number: str = "11010519491231002X", **kw: Any) -> dict[str, Any]:
        """A valid new-case body in the sample county's first office."""
        return case_body(self.ids, id_number, **kw)

    def open_case(self, stage: str = "notified", **kw: Any) -> int:
        """Open a case and carry it to a stage through the real acts."""
        r = self.call("office", "POST", "/api/v1/cases", json=self.case_body(**kw))
        assert r.status_code == 201, r.text
        case_id = int(r.json()["id"])
        for action, body in STAGE_PATH:
            if self.call("office", "GET", f"/api/v1/cases/{case_id}").json()["stage"] == stage:
                break
            r = self.call("office", "POST", f"/api/v1/cases/{case_id}/acts/{action}", json=body)
            assert r.status_code == 200, r.text
        return case_id

    def enrol(self, band: BandSim) -> None:
        """Enrol a band through the hub's HTTP endpoints."""
        hub = {"authorization": "Bearer " + self.ids["hub_token"]}
        r = self.client.post(
            "/api/v1/enrolments",
            headers=hub,
            json={"band_id": band.band_id, "public_key": band.public.hex()},
        )
        assert r.status_code == 201, r.text
        ch = r.json()
        answer = band.enrol_answer(bytes.fromhex(ch["nonce"]), bytes.fromhex(ch["cloud_public"]))
        r = self.client.post(
            f"/api/v1/enrolments/{ch['enrolment_id']}/complete",
            headers=hub,
            json={"frame": answer.hex()},
        )
        assert r.status_code == 200, r.text

    def close(self) -> None:
        """Stop the app and remove the data folder."""
        self.client.close()
        self.rt.close()
        self._tmp.cleanup()


STAGE_PATH: list[tuple[str, dict[str, Any]]] = [
    ("report", {"reported_on": "2025-11-29"}),
    ("receive", {"identity_checked": True, "file_no": "SQJZ-2025-001"}),
    (
        "announce",
        {
            "held_at": "2025-11-30T09:00:00+08:00",
            "place": "城关司法所",
            "attendees": ["王所长", "本人"],
            "police_station": "城关派出所",
            "village_committee": "东关村委会",
        },
    ),
    (
        "start_supervision",
        {
            "class_level": "normal",
            "plan": "每周电话报告，每月到所报到",
            "team": ["王所长", "村干部李四"],
        },
    ),
]


class LiveCloud:
    """The real app served by uvicorn on a free port (workers on), with the sample county."""

    def __init__(self, settings: dict[str, Any]) -> None:
        import socket

        # The server's clock is real time plus this offset: tests move days ahead (deadlines,
        # late returns) while the browser, SSE and MQTT keep running in real time.
        self.offset = 0.0
        self._tmp = tempfile.TemporaryDirectory(prefix="sqjz-live-")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.settings = Settings(
            **{"data_dir": Path(self._tmp.name), "port": self.port, **settings}
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveCloud:
        import threading
        import time

        import httpx
        import uvicorn

        from cloud.app import create_app

        self.app = create_app(self.settings, clock=lambda: time.time() + self.offset)
        self.rt = self.app.state.rt
        self.ids = sample_county(self.rt, PASSWORD)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.http = httpx.Client(base_url=self.url, timeout=10)
        return self

    def login(self, user: str, password: str = PASSWORD) -> dict[str, str]:
        """Bearer headers for an account."""
        r = self.http.post("/api/v1/auth/login", json={"username": user, "password": password})
        r.raise_for_status()
        self.http.cookies.clear()
        return {"authorization": "Bearer " + r.json()["token"]}

    def open_case(self, stage: str = "supervising", **kw: Any) -> int:
        """A case opened by the office and carried to a stage through the real acts."""
        office = self.login("office")
        body = case_body(self.ids, **{"term_end": "2027-11-27", **kw})
        r = self.http.post("/api/v1/cases", json=body, headers=office)
        r.raise_for_status()
        case_id = int(r.json()["id"])
        for action, act in STAGE_PATH:
            if self.http.get(f"/api/v1/cases/{case_id}", headers=office).json()["stage"] == stage:
                break
            self.http.post(
                f"/api/v1/cases/{case_id}/acts/{action}", json=act, headers=office
            ).raise_for_status()
        return case_id

    def supervised_person_with_band(self, band: BandSim) -> int:
        """A case in supervision whose person wears `band` (enrolled over the hub endpoints)."""
        office = self.login("office")
        body = case_body(self.ids, term_end="2027-11-27")
        r = self.http.post("/api/v1/cases", json=body, headers=office)
        r.raise_for_status()
        case_id = int(r.json()["id"])
        for action, act in STAGE_PATH:
            self.http.post(
                f"/api/v1/cases/{case_id}/acts/{action}", json=act, headers=office
            ).raise_for_status()
        hub = {"authorization": "Bearer " + self.ids["hub_token"]}
        ch = self.http.post(
            "/api/v1/enrolments",
            headers=hub,
            json={"band_id": band.band_id, "public_key": band.public.hex()},
        ).json()
        answer = band.enrol_answer(bytes.fromhex(ch["nonce"]), bytes.fromhex(ch["cloud_public"]))
        self.http.post(
            f"/api/v1/enrolments/{ch['enrolment_id']}/complete",
            headers=hub,
            json={"frame": answer.hex()},
        ).raise_for_status()
        person = self.http.get(f"/api/v1/cases/{case_id}", headers=office).json()["person_id"]
        admin = self.login("admin")
        self.http.post(
            f"/api/v1/bands/{band.band_id}/assign", json={"person_id": person}, headers=admin
        ).raise_for_status()
        return case_id

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self._tmp.cleanup()


def chromium(playwright: Any) -> Any:
    """Debian's Chromium under Playwright (no browser download)."""
    return playwright.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
