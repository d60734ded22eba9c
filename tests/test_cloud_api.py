"""The cloud's HTTP API on real SQLite: cases through every stage, leave, sanctions, orders."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cloud.domain.roles import SYSTEM
from cloud.services.positioning import expire
from cloud.store.migrations import MIGRATIONS
from cloud.testkit import PASSWORD, BandSim, County, id_number
from protocol import topics


@pytest.fixture()
def county() -> Iterator[County]:
    c = County()
    yield c
    c.close()


def counts(c: County) -> dict[str, int]:
    c.headers("office")  # log in first: a login is itself audited
    tables = ("persons", "cases", "deadlines", "case_events", "audit", "notices", "sanctions")
    return {t: c.rt.store.one(f"SELECT count(*) AS n FROM {t}")["n"] for t in tables}


def test_fresh_data_folder_is_migrated_and_login_works(county: County) -> None:
    assert county.rt.store.applied == [v for v, _name, _sql in MIGRATIONS]
    r = county.call("office", "GET", "/api/v1/auth/me")
    assert r.json()["role"] == "office"


def test_case_through_every_stage_with_deadlines_notices_and_audit(county: County) -> None:
    case_id = county.open_case("notified")
    c = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()
    assert c["stage"] == "notified"
    assert [(d["kind"], d["due_on"], d["party"]) for d in c["deadlines"]] == [
        ("report", "2025-12-08", "bureau"),  # 28 Nov + 10
        ("authority_notice", "2025-12-03", "authority"),  # Art. 20: 5 days
        ("documents", "2025-12-08", "authority"),  # Art. 20: 10 days
    ]
    # Opening the case records the documents as received today (30 Nov): both duties met.
    assert [d["met_on"] for d in c["deadlines"][1:]] == ["2025-11-30", "2025-11-30"]
    case_id = county.open_case("supervising", id_number=id_number(2))
    c = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()
    assert [e["to_stage"] for e in c["case_events"]] == [
        "notified",
        "reported",
        "received",
        "announced",
        "supervising",
    ]
    assert {n["recipient_kind"] for n in c["notices"]} == {"police", "village"}
    report = next(d for d in c["deadlines"] if d["kind"] == "report")
    assert report["done_at"] is not None
    assert c["class_level"] == "normal" and c["extra"]["team"] == ["王所长", "村干部李四"]
    # Release only at expiry (term_end 2026-11-27).
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/acts/release",
        json={"certificate_no": "JC-1", "released_on": "2026-11-27"},
    )
    assert r.status_code == 422 and "expiry" in r.json()["detail"]
    county.set_date("2026-11-27")
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/acts/release",
        json={"certificate_no": "JC-1", "released_on": "2026-11-27"},
    )
    assert r.status_code == 200 and r.json()["stage"] == "released"
    c = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()
    assert {"authority", "procuratorate", "police"} <= {n["recipient_kind"] for n in c["notices"]}
    assert all(d["done_at"] for d in c["deadlines"])
    handover = county.call("office", "GET", f"/api/v1/cases/{case_id}/export").json()
    assert handover["format"] == "sqjz.case-file/v1" and handover["case"]["stage"] == "released"
    assert len(handover["case_events"]) == 6
    ok = county.call("procuratorate", "GET", "/api/v1/audit/verify").json()
    assert ok["ok"] and ok["entries"] > 10
    actions = [r["action"] for r in county.call("procuratorate", "GET", "/api/v1/audit").json()]
    assert "case.release" in actions and "case.export" in actions


def test_terminate_and_transfer(county: County) -> None:
    case_id = county.open_case("supervising")
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/acts/terminate",
        json={"reason": "revoked_parole", "document_no": "x", "on": "2025-12-01"},
    )
    assert r.status_code == 422 and "does not apply" in r.json()["detail"]
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/acts/transfer",
        json={
            "new_county": "乙县司法局",
            "new_address": "乙县某村",
            "decided_on": "2025-11-30",
            "reason": "迁居",
        },
    )
    assert r.status_code == 200 and r.json()["stage"] == "transferred"
    c = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()
    assert {"transfer_report", "transfer_file"} <= {d["kind"] for d in c["deadlines"]}
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/acts/terminate",
        json={"reason": "died", "on": "2025-12-01"},
    )
    assert r.status_code == 422 and "not allowed in stage transferred" in r.json()["detail"]


def test_bad_input_is_422_with_a_clear_message_and_nothing_written(county: County) -> None:
    before = counts(county)
    body = county.case_body(id_number=id_number(5)[:-1] + ("1" if id_number(5)[-1] != "1" else "2"))
    r = county.call("office", "POST", "/api/v1/cases", json=body)
    assert r.status_code == 422
    assert "person.id_number" in r.json()["detail"] and "check digit" in r.json()["detail"]
    r = county.call("office", "POST", "/api/v1/cases", json=county.case_body(term_end="2025-01-01"))
    assert r.status_code == 422 and "term_end" in r.json()["detail"]
    r = county.call("office", "POST", "/api/v1/cases", json={**county.case_body(), "colour": "red"})
    assert r.status_code == 422 and "colour" in r.json()["detail"]
    r = county.call(
        "office",
        "POST",
        "/api/v1/cases",
        json=county.case_body(case_type="probation", authority_kind="police"),
    )
    assert r.status_code == 422 and "not decided by" in r.json()["detail"]
    assert counts(county) == before


def test_a_failed_write_leaves_nothing_behind(county: County) -> None:
    """The person row is written first; the case insert then fails: both are rolled back."""
    before = counts(county)
    body = county.case_body()
    store = county.rt.store
    original = store.insert

    def failing_insert(table: str, row: dict) -> int:
        if table == "cases":
            raise OSError("disk full")
        return original(table, row)

    store.insert = failing_insert  # type: ignore[method-assign]
    try:
        with pytest.raises(OSError):
            county.call("office", "POST", "/api/v1/cases", json=body)
    finally:
        store.insert = original  # type: ignore[method-assign]
    assert counts(county) == before
    # A constraint the database itself enforces: village of another office (foreign key passes,
    # our rule refuses) and an unknown unit (foreign key) both leave nothing.
    r = county.call(
        "office",
        "POST",
        "/api/v1/cases",
        json=county.case_body(village_id=county.ids["units"]["village_b"]),
    )
    assert r.status_code == 422
    assert counts(county) == before


def test_region_scoping(county: County) -> None:
    case_id = county.open_case("supervising")
    assert county.call("office_b", "GET", f"/api/v1/cases/{case_id}").status_code == 404
    assert county.call("office_b", "GET", "/api/v1/cases").json() == []
    assert [c["id"] for c in county.call("village", "GET", "/api/v1/cases").json()] == [case_id]
    assert county.call("procuratorate", "GET", f"/api/v1/cases/{case_id}").status_code == 200
    r = county.call("office_b", "POST", "/api/v1/cases", json=county.case_body())
    assert r.status_code == 404  # office of another region


def test_login_lockout_and_session_expiry(county: County) -> None:
    for _ in range(5):
        r = county.client.post(
            "/api/v1/auth/login", json={"username": "village", "password": "wrong-pass-1"}
        )
        assert r.status_code == 401
    r = county.client.post("/api/v1/auth/login", json={"username": "village", "password": PASSWORD})
    assert r.status_code == 401 and "locked" in r.json()["detail"]
    county.now += county.rt.settings.lockout_s + 1
    headers = county.headers("village")
    assert county.client.get("/api/v1/auth/me", headers=headers).status_code == 200
    county.now += county.rt.settings.session_idle_s + 1
    r = county.client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    stored = county.rt.store.one("SELECT password_hash FROM users WHERE username = 'village'")
    assert stored["password_hash"].startswith("$argon2id$")


def test_person_logs_in_with_id_number_and_requests_leave(county: County) -> None:
    case_id = county.open_case("supervising")
    r = county.call(
        "office", "POST", f"/api/v1/cases/{case_id}/account", json={"password": "person-pass-1"}
    )
    assert r.status_code == 201
    r = county.client.post(
        "/api/v1/auth/login", json={"username": "11010519491231002X", "password": "person-pass-1"}
    )
    h = {"authorization": "Bearer " + r.json()["token"]}
    me = county.client.get("/api/v1/me", headers=h).json()
    assert me["case"]["id"] == case_id and "id_number" not in me["case"]
    r = county.client.post(
        f"/api/v1/cases/{case_id}/leave",
        headers=h,
        json={
            "starts_on": "2025-12-02",
            "ends_on": "2025-12-05",
            "destination": "西安",
            "reason": "就医",
        },
    )
    assert r.status_code == 201 and r.json()["tier"] == "office"
    assert county.client.get(f"/api/v1/cases/{case_id}", headers=h).status_code == 403
    other = county.open_case("supervising", id_number=id_number(2))
    r = county.client.post(
        f"/api/v1/cases/{other}/leave",
        headers=h,
        json={
            "starts_on": "2025-12-02",
            "ends_on": "2025-12-05",
            "destination": "x",
            "reason": "y",
        },
    )
    assert r.status_code == 404


def test_leave_tiers_through_the_api(county: County) -> None:
    case_id = county.open_case("supervising")

    def ask(start: str, end: str) -> dict:
        r = county.call(
            "office",
            "POST",
            f"/api/v1/cases/{case_id}/leave",
            json={"starts_on": start, "ends_on": end, "destination": "西安", "reason": "务工"},
        )
        assert r.status_code == 201, r.text
        return r.json()

    short, mid, long = (
        ask("2025-12-01", "2025-12-07"),
        ask("2025-12-10", "2025-12-20"),
        ask("2026-01-01", "2026-02-15"),
    )
    assert (short["tier"], mid["tier"], long["tier"]) == ("office", "county", "superior")
    assert (
        county.call(
            "office", "POST", f"/api/v1/leave/{short['id']}/decision", json={"approve": True}
        ).status_code
        == 200
    )
    r = county.call("office", "POST", f"/api/v1/leave/{mid['id']}/decision", json={"approve": True})
    assert r.status_code == 403 and "county" in r.json()["detail"]
    r = county.call(
        "county_head", "POST", f"/api/v1/leave/{long['id']}/decision", json={"approve": True}
    )
    assert r.status_code == 200
    c = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()
    assert any(
        n["recipient_kind"] == "procuratorate" and n["kind"] == "leave_superior"
        for n in c["notices"]
    )
    assert sum(d["kind"] == "leave_return" for d in c["deadlines"]) == 2
    county.set_date("2025-12-06")  # back a day early
    r = county.call("office", "POST", f"/api/v1/leave/{short['id']}/returned")
    assert r.json()["status"] == "returned" and r.json()["late_days"] == 0
    returns = [
        d
        for d in county.call("office", "GET", f"/api/v1/cases/{case_id}").json()["deadlines"]
        if d["kind"] == "leave_return"
    ]
    # Only this leave's return deadline is met; the long leave's stays open.
    assert [(d["source"], d["met_on"]) for d in returns] == [
        (f"leave:{short['id']}", "2025-12-06"),
        (f"leave:{long['id']}", None),
    ]
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/leave",
        json={
            "starts_on": "2025-11-01",
            "ends_on": "2025-11-02",
            "destination": "x",
            "reason": "y",
        },
    )
    assert r.status_code == 422 and "past" in r.json()["detail"]


def test_sanctions_proposals_and_ruling_deadline(county: County) -> None:
    case_id = county.open_case("supervising")
    url = f"/api/v1/cases/{case_id}/sanctions"
    w = county.call(
        "office", "POST", url, json={"kind": "warning", "reason": "未经批准外出"}
    ).json()
    assert w["status"] == "proposed"  # a warning is the county's to decide
    assert (
        county.call(
            "office", "POST", f"/api/v1/sanctions/{w['id']}/decision", json={"approve": True}
        ).status_code
        == 403
    )
    assert (
        county.call(
            "county_head", "POST", f"/api/v1/sanctions/{w['id']}/decision", json={"approve": True}
        ).json()["status"]
        == "decided"
    )
    w2 = county.call(
        "county_head", "POST", url, json={"kind": "warning", "reason": "再次未报告"}
    ).json()
    assert w2["status"] == "decided"
    sug = county.call("office", "GET", f"/api/v1/cases/{case_id}/suggestions").json()
    assert [s["kind"] for s in sug] == ["revoke_probation"]  # suggested, not applied
    assert county.call("office", "GET", f"/api/v1/cases/{case_id}").json()["stage"] == "supervising"
    r = county.call(
        "office", "POST", url, json={"kind": "revoke_probation", "reason": "两次警告仍不改正"}
    )
    assert r.status_code == 422 and "evidence" in r.json()["detail"]
    p = county.call(
        "office",
        "POST",
        url,
        json={
            "kind": "revoke_probation",
            "reason": "两次警告仍不改正",
            "evidence": ["警告决定书1", "警告决定书2"],
        },
    ).json()
    sent = county.call(
        "county_head", "POST", f"/api/v1/sanctions/{p['id']}/decision", json={"approve": True}
    ).json()
    assert sent["status"] == "sent" and sent["due_on"] == "2025-12-30"  # Art. 48: 30 days
    ruling = {"outcome": "granted", "document_no": "(2025)撤1", "ruled_on": "2025-12-20"}
    r = county.call("office", "POST", f"/api/v1/sanctions/{p['id']}/ruling", json=ruling)
    assert r.status_code == 422 and "future" in r.json()["detail"]  # not yet 20 Dec
    county.set_date("2025-12-21")
    r = county.call("office", "POST", f"/api/v1/sanctions/{p['id']}/ruling", json=ruling)
    assert r.json()["status"] == "ruled"
    assert (r.json()["ruling_no"], r.json()["ruled_on"]) == ("(2025)撤1", "2025-12-20")
    county.call("office", "POST", f"/api/v1/sanctions/{w2['id']}/corrected")
    assert county.call("office", "GET", f"/api/v1/cases/{case_id}/suggestions").json() == []


def test_assessment_deadline_visit_and_opinion(county: County) -> None:
    body = {
        "requester_kind": "court",
        "requester_name": "示范县人民法院",
        "request_no": "评估委托2025-9",
        "received_on": "2025-11-28",
        "fast_track": True,
        "office_id": county.ids["units"]["office"],
        "subject_name": "李四",
        "subject_id_number": id_number(3),
    }
    a = county.call("office", "POST", "/api/v1/assessments", json=body).json()
    assert a["deadlines"][0]["due_on"] == "2025-12-05"  # 5 working days from Fri 28 Nov
    url = f"/api/v1/assessments/{a['id']}"
    r = county.call(
        "office",
        "POST",
        url + "/opinion",
        json={"recommendation": "suitable", "opinion": "可以适用", "returned_on": "2025-12-03"},
    )
    assert r.status_code == 422 and "field visit" in r.json()["detail"]
    county.call(
        "office",
        "POST",
        url + "/visits",
        json={
            "visited_on": "2025-12-01",
            "place": "东关村",
            "notes": "邻里评价良好",
            "signatures": ["村主任"],
        },
    )
    r = county.call(
        "office",
        "POST",
        url + "/opinion",
        json={"recommendation": "suitable", "opinion": "可以适用", "returned_on": "2025-12-03"},
    )
    assert r.json()["status"] == "returned" and r.json()["deadlines"][0]["done_at"]
    assert county.call("office_b", "GET", url).status_code == 404


def test_correction_notice_answered_by_the_bureau(county: County) -> None:
    n = county.call(
        "procuratorate", "POST", "/api/v1/correction-notices", json={"text": "三名对象未按期报到"}
    ).json()
    assert n["due_on"] == "2025-12-15"
    r = county.call(
        "county_head",
        "POST",
        f"/api/v1/correction-notices/{n['id']}/answer",
        json={"response": "不采纳", "adopted": False},
    )
    assert r.status_code == 422 and "reasons" in r.json()["detail"]
    r = county.call(
        "county_head",
        "POST",
        f"/api/v1/correction-notices/{n['id']}/answer",
        json={"response": "已采纳，已组织查找并整改", "adopted": True},
    )
    assert r.json()["responded_at"]
    assert (
        county.call("procuratorate", "GET", "/api/v1/correction-notices").json()[0]["adopted"] == 1
    )


def test_positioning_order_lifecycle_tells_hubs_and_limits_presence(county: County) -> None:
    published: list[tuple[str, object]] = []
    county.rt.publish = lambda topic, payload, retain=False: published.append((topic, payload))  # type: ignore[method-assign]
    case_id = county.open_case("supervising")
    band = BandSim(66051)
    county.enrol(band)
    person = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()["person_id"]
    county.call("admin", "POST", "/api/v1/bands/66051/assign", json={"person_id": person})
    presence_msg = json.dumps(
        {
            "hub_id": 12,
            "time": 1,
            "seen": [
                {
                    "band_id": 66051,
                    "rssi": -60,
                    "first_seen": int(county.now) - 50,
                    "last_seen": int(county.now),
                }
            ],
        }
    )
    from cloud.services.devices import on_hub_message

    on_hub_message(county.rt, "presence", 12, presence_msg.encode())
    assert county.rt.store.one("SELECT count(*) AS n FROM presence")["n"] == 0  # no order: dropped
    assert (
        county.call("office", "GET", f"/api/v1/cases/{case_id}/presence").json()["in_force"]
        is False
    )

    url = f"/api/v1/cases/{case_id}/positioning"
    r = county.call(
        "office",
        "POST",
        url,
        json={
            "ground": 3,
            "reason": "被警告后仍拒不报告",
            "starts_on": "2025-11-30",
            "ends_on": "2026-03-01",
        },
    )
    assert r.status_code == 422 and "three months" in r.json()["detail"]
    order = county.call(
        "office",
        "POST",
        url,
        json={
            "ground": 3,
            "reason": "被警告后仍拒不报告",
            "starts_on": "2025-11-30",
            "ends_on": "2026-02-28",
        },
    ).json()
    assert order["status"] == "requested"
    assert (
        county.call(
            "office", "POST", f"/api/v1/positioning/{order['id']}/decision", json={"approve": True}
        ).status_code
        == 403
    )
    published.clear()
    assert (
        county.call(
            "county_head",
            "POST",
            f"/api/v1/positioning/{order['id']}/decision",
            json={"approve": True},
        ).json()["status"]
        == "approved"
    )
    # One record for the county, for this band only (docs/mqtt.md "config"), and a downlink.
    records = [p for t, p in published if "/bands/" in t]
    record = json.loads(next(p for t, p in published if t == topics.band(66051)))  # type: ignore[arg-type]
    until = record["presence_until"]
    assert until > county.now and record["band_id"] == 66051 and len(records) == 1
    down = [p for t, p in published if t == "sqjz/v1/hubs/12/down/66051"]
    from protocol import downlink

    msg, _ = downlink.accept(down[-1], band.dl_key, 66051, (-1, 0))  # the band itself accepts it
    assert (
        msg.type_name == "config"
        and msg.fields["presence_until"] == until
        and msg.fields["config"] & 1
    )

    on_hub_message(county.rt, "presence", 12, presence_msg.encode())
    seen = county.call("office", "GET", f"/api/v1/cases/{case_id}/presence").json()
    assert seen["in_force"] and seen["seen"][0]["hub_id"] == 12
    assert county.call("village", "GET", f"/api/v1/cases/{case_id}/presence").status_code == 403
    reads = [
        a
        for a in county.call("procuratorate", "GET", "/api/v1/audit").json()
        if a["action"] == "read.location"
    ]
    assert len(reads) >= 2

    # Renewal needs a new assessment; then the order expires and hubs are told to stop.
    r = county.call(
        "office",
        "POST",
        url,
        json={
            "ground": 3,
            "reason": "仍未改正",
            "starts_on": "2026-02-28",
            "ends_on": "2026-05-27",
            "renewal_of": order["id"],
        },
    )
    assert r.status_code == 422 and "assessment" in r.json()["detail"]
    county.set_date("2026-02-28")
    published.clear()
    assert expire(county.rt, SYSTEM, int(county.now)) == 1  # the periodic job's step
    record = json.loads(next(p for t, p in published if t == topics.band(66051)))  # type: ignore[arg-type]
    assert record["presence_until"] == 0
    assert county.call("office", "GET", f"/api/v1/cases/{case_id}/presence").json() == {
        "in_force": False,
        "until": 0,
        "seen": [],
    }
    on_hub_message(county.rt, "presence", 12, presence_msg.encode())
    assert county.rt.store.one("SELECT count(*) AS n FROM presence")["n"] == 1  # nothing new kept


def test_ending_an_order_early_and_release_ends_orders(county: County) -> None:
    case_id = county.open_case("supervising")
    url = f"/api/v1/cases/{case_id}/positioning"
    o = county.call(
        "office",
        "POST",
        url,
        json={
            "ground": 2,
            "reason": "未经批准离开本县",
            "starts_on": "2025-11-30",
            "ends_on": "2026-01-30",
        },
    ).json()
    county.call(
        "county_head", "POST", f"/api/v1/positioning/{o['id']}/decision", json={"approve": True}
    )
    r = county.call(
        "office", "POST", f"/api/v1/positioning/{o['id']}/end", json={"reason": "已返回，无需继续"}
    )
    assert r.json()["status"] == "ended"
    r = county.call(
        "office", "POST", f"/api/v1/positioning/{o['id']}/end", json={"reason": "again"}
    )
    assert r.status_code == 422
