"""Demo data, entered through the cloud's own API by the staff whose job each act is.

Every unit, account, case and act goes through the HTTP API with the right login (the
administrator creates units and accounts, the 司法所 opens cases and records acts, the county
head approves the Art. 29 order), so the audit log records who did what, as in production.
Dates are relative to today (China Standard Time): `plan(today)` is pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx

from sqjz.demo_procs import DemoError

_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
HUB_ID = 12
ASSIGNER = "county_head"  # band.manage: the county head hands bands over


def id_number(born: dt.date, seq: int, gender: str) -> str:
    """A well-formed resident ID number (GB 11643): the 17th digit is odd for men."""
    order = seq * 2 + (1 if gender == "male" else 0)
    body = f"610102{born:%Y%m%d}{order % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


@dataclass(frozen=True)
class Person:
    """A supervised person of the demo county and what the demo does with their case."""

    key: str
    name: str
    gender: str
    born: dt.date
    case_type: str
    authority: tuple[str, str]  # kind, name
    office: str
    village: str
    stage: str  # the stage the demo carries the case to
    effective_days_ago: int
    term_days: int  # from the judgment taking effect
    class_level: str = "normal"
    band: tuple[int, int] | None = None  # weight_kg, rest_hr measured at hand-over
    sos_location: bool = False
    extra: str = ""  # "leave", "order": what else the case has


COURT = ("court", "示范县人民法院")
PEOPLE = (
    Person("zhang", "张建国", "male", dt.date(1978, 5, 12), "probation", COURT, "office",
           "v_east", "supervising", 60, 730, band=(72, 66), sos_location=True),
    Person("li", "李秀英", "female", dt.date(1969, 9, 3), "parole", ("court", "示范市中级人民法院"),
           "office", "v_west", "supervising", 45, 400, "strict", band=(58, 72), extra="order"),
    Person("wang", "王海涛", "male", dt.date(1990, 2, 20), "control", COURT, "office", "v_east",
           "supervising", 90, 365, "lenient", band=(80, 62), extra="leave"),
    Person("liu", "刘志强", "male", dt.date(1985, 11, 8), "probation", COURT, "office", "v_west",
           "supervising", 345, 365, band=(68, 70)),
    Person("chen", "陈美玲", "female", dt.date(1972, 7, 15), "medical_parole",
           ("prison_admin", "示范省监狱管理局"), "office_b", "v_river", "supervising", 30, 300,
           band=(55, 78)),
    Person("zhao", "赵磊", "male", dt.date(1995, 3, 30), "probation", COURT, "office", "v_east",
           "notified", 3, 365),
    Person("sun", "孙丽娟", "female", dt.date(1988, 12, 1), "probation", COURT, "office_b",
           "v_willow", "received", 8, 540),
)  # fmt: skip
LATE_NAMES = ("吴刚", "郑浩", "冯涛", "何平", "许强", "韩冰", "邓超", "曹阳")
UNITS = (
    # key, kind, name, parent
    ("county", "county", "示范县司法局", None),
    ("office", "office", "城关司法所", "county"),
    ("v_east", "village", "东关村", "office"),
    ("v_west", "village", "西关村", "office"),
    ("office_b", "office", "河西司法所", "county"),
    ("v_river", "village", "河西村", "office_b"),
    ("v_willow", "village", "柳湾村", "office_b"),
    ("procuratorate", "procuratorate", "示范县人民检察院", "county"),
    ("police", "police", "城关派出所", "county"),
)
UNIT_NAMES = {key: name for key, _kind, name, _parent in UNITS}
ACCOUNTS = (
    # username, role, unit, display name
    ("county_head", "county_head", "county", "王局长（县司法局负责人）"),
    ("office", "office", "office", "李所长（城关司法所）"),
    ("office_b", "office", "office_b", "周所长（河西司法所）"),
    ("village", "village", "v_east", "东关村委会 张主任"),
    ("procuratorate", "procuratorate", "procuratorate", "示范县检察院 刘检察官"),
)
ROLE_NAMES = {
    "person": "社区矫正对象 supervised person (张建国; API /api/v1/me)",
    "admin": "系统管理员 administrator",
    "county_head": "县级司法局负责人 county bureau head",
    "office": "司法所 judicial office (城关)",
    "office_b": "司法所 judicial office (河西)",
    "village": "村（居）委会 village committee",
    "procuratorate": "人民检察院 procuratorate (read-only oversight)",
}


def case_body(p: Person, units: dict[str, int], today: dt.date, seq: int) -> dict[str, Any]:
    """The deciding authority's documents for one person (opens the case)."""
    effective = today - dt.timedelta(days=p.effective_days_ago)
    return {
        "person": {
            "name": p.name,
            "id_number": id_number(p.born, seq, p.gender),
            "gender": p.gender,
            "birth_date": p.born.isoformat(),
            "address": f"{UNIT_NAMES[p.village]}{seq % 9 + 1}组",
        },
        "case_type": p.case_type,
        "authority_kind": p.authority[0],
        "authority_name": p.authority[1],
        "judgment_no": f"({effective.year})示刑初{100 + seq}号",
        "effective_on": effective.isoformat(),
        "term_start": effective.isoformat(),
        "term_end": (effective + dt.timedelta(days=p.term_days)).isoformat(),
        "office_id": units[p.office],
        "village_id": units[p.village],
    }


def acts(p: Person, today: dt.date, seq: int) -> list[tuple[str, dict[str, Any]]]:
    """The stage acts that carry the case from 'notified' to the person's stage."""
    effective = today - dt.timedelta(days=p.effective_days_ago)
    reported = min(today, effective + dt.timedelta(days=2))
    office, village = UNIT_NAMES[p.office], UNIT_NAMES[p.village]
    path: list[tuple[str, dict[str, Any]]] = [
        ("report", {"reported_on": reported.isoformat(), "note": "本人持判决书到所报到"}),
        ("receive", {"identity_checked": True, "file_no": f"SQJZ-{reported.year}-{seq:03d}"}),
        (
            "announce",
            {
                "held_at": f"{reported.isoformat()}T09:30:00+08:00",
                "place": office,
                "attendees": ["司法所所长", "本人", "村委会代表"],
                "police_station": "城关派出所",
                "village_committee": f"{village}委会",
            },
        ),
        (
            "start_supervision",
            {
                "class_level": p.class_level,
                "plan": "每周电话报告一次，每月到司法所报到并参加教育学习",
                "team": ["司法所工作人员", f"{village}委会干部", "家庭成员"],
            },
        ),
    ]
    stages = ["notified", "reported", "received", "announced", "supervising"]
    return path[: stages.index(p.stage)]


def late_effective_on(today: dt.date, report_due: Any) -> dt.date:
    """A judgment date whose 10-day reporting period (Art. 21) ends within the next two days."""
    for days_ago in range(10, -1, -1):
        effective = today - dt.timedelta(days=days_ago)
        due = report_due(effective).due
        if today <= due <= today + dt.timedelta(days=2):
            return effective
    return today - dt.timedelta(days=10)  # a long holiday moves every due date further out


class Api:
    """The cloud's HTTP API as the demo's staff: one bearer token per login."""

    def __init__(self, url: str, password: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=30)
        self.password = password
        self._tokens: dict[str, str] = {}

    async def headers(self, user: str) -> dict[str, str]:
        """Log in once per account."""
        if user not in self._tokens:
            r = await self.http.post(
                "/api/v1/auth/login", json={"username": user, "password": self.password}
            )
            if r.status_code != 200:
                raise DemoError(f"login as {user} refused ({r.status_code}): {r.text[:200]}")
            self._tokens[user] = r.json()["token"]
            self.http.cookies.clear()  # the API authenticates by header
        return {"authorization": f"Bearer {self._tokens[user]}"}

    def forget(self, user: str) -> None:
        """Log in again next time (the session expired)."""
        self._tokens.pop(user, None)

    async def call(self, user: str, method: str, path: str, body: Any = None) -> Any:
        """One request as `user`; a refusal stops the demo with the cloud's own message."""
        r = await self.http.request(method, path, json=body, headers=await self.headers(user))
        if r.status_code == 401:  # the session went idle while the demo ran: log in again
            self.forget(user)
            r = await self.http.request(method, path, json=body, headers=await self.headers(user))
        if r.status_code >= 300:
            raise DemoError(f"{method} {path} as {user}: {r.status_code} {r.text[:300]}")
        return r.json()

    async def close(self) -> None:
        await self.http.aclose()


@dataclass
class County:
    """Ids of what the seed created."""

    units: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    persons: dict[str, int] = field(default_factory=dict)
    hub_token: str = ""
    person_login: str = ""  # the supervised person's login: the ID number
    assessments: int = 0
    late_cases: int = 0


async def seed(api: Api, today: dt.date) -> County:
    """Units, accounts, the hub, cases at their stages, a leave, an Art. 29 order, an assessment."""
    c = County()
    for key, kind, name, parent in UNITS:
        body = {"kind": kind, "name": name, "parent_id": c.units[parent] if parent else None}
        c.units[key] = (await api.call("admin", "POST", "/api/v1/units", body))["id"]
    for username, role, unit, display in ACCOUNTS:
        await api.call(
            "admin",
            "POST",
            "/api/v1/users",
            {
                "username": username,
                "display_name": display,
                "role": role,
                "unit_id": c.units[unit],
                "password": api.password,
            },
        )
    hub = await api.call(
        "admin",
        "POST",
        "/api/v1/hubs",
        {
            "hub_id": HUB_ID,
            "name": "东关村委会网关",
            "unit_id": c.units["v_east"],
            "lat": 34.2658,
            "lon": 108.9541,
            "address": "城关镇东关村委会",
        },
    )
    c.hub_token = hub["api_token"]
    for seq, p in enumerate(PEOPLE, start=1):
        staff = p.office
        case_id = (
            await api.call(staff, "POST", "/api/v1/cases", case_body(p, c.units, today, seq))
        )["id"]
        for action, act in acts(p, today, seq):
            await api.call(staff, "POST", f"/api/v1/cases/{case_id}/acts/{action}", act)
        c.cases[p.key] = case_id
        c.persons[p.key] = (await api.call(staff, "GET", f"/api/v1/cases/{case_id}"))["person_id"]
        if p.extra == "leave":
            await _leave(api, staff, case_id, today)
        elif p.extra == "order":
            await _order(api, staff, case_id, today)
        if not c.person_login and p.band:
            # The first wearer gets a login of their own (user name: the ID number).
            path = f"/api/v1/cases/{case_id}/account"
            await api.call(staff, "POST", path, {"password": api.password})
            c.person_login = id_number(p.born, seq, p.gender)
    await api.call(
        "office",
        "POST",
        "/api/v1/assessments",
        {
            "requester_kind": "court",
            "requester_name": "示范县人民法院",
            "request_no": f"({today.year})示法社评{7:03d}号",
            "received_on": (today - dt.timedelta(days=2)).isoformat(),
            "office_id": c.units["office"],
            "subject_name": "周杰",
            "subject_id_number": id_number(dt.date(1992, 6, 18), 40, "male"),
        },
    )
    c.assessments = 1
    return c


async def _leave(api: Api, staff: str, case_id: int, today: dt.date) -> None:
    leave = await api.call(
        staff,
        "POST",
        f"/api/v1/cases/{case_id}/leave",
        {
            "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=3)).isoformat(),
            "destination": "西安市雁塔区",
            "reason": "探望住院的母亲",
        },
    )
    await api.call(staff, "POST", f"/api/v1/leave/{leave['id']}/decision", {"approve": True})


async def _order(api: Api, staff: str, case_id: int, today: dt.date) -> None:
    order = await api.call(
        staff,
        "POST",
        f"/api/v1/cases/{case_id}/positioning",
        {
            "ground": 3,
            "reason": "两次未按规定报告，经警告后仍不改正",
            "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=60)).isoformat(),
        },
    )
    await api.call(
        "county_head",
        "POST",
        f"/api/v1/positioning/{order['id']}/decision",
        {"approve": True, "note": "同意，期限两个月"},
    )


async def open_late_case(api: Api, county: County, today: dt.date, report_due: Any) -> int:
    """A new case whose reporting deadline falls due within two days (the `deadline` scenario)."""
    n = county.late_cases
    county.late_cases += 1
    p = Person(
        f"late{n}",
        LATE_NAMES[n % len(LATE_NAMES)],
        "male",
        dt.date(1980 + n % 20, 1 + n % 12, 10),
        "probation",
        COURT,
        "office",
        "v_west",
        "notified",
        (today - late_effective_on(today, report_due)).days,
        365,
    )
    body = case_body(p, county.units, today, 100 + n)
    case_id: int = (await api.call("office", "POST", "/api/v1/cases", body))["id"]
    return case_id
