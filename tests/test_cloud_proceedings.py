"""Stage acts beyond the main path, on real SQLite: the deciding authority's Art. 20 deadlines,
return from leave (销假, late), change of residence within the county, Art. 47 arrest requests,
rulings on proposals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from cloud.domain import deadlines as dl
from cloud.domain import leave, residence, sanctions
from cloud.testkit import County, id_number


@pytest.fixture()
def county() -> Iterator[County]:
    c = County()
    yield c
    c.close()


def case(c: County, case_id: int, user: str = "office") -> dict[str, Any]:
    r = c.call(user, "GET", f"/api/v1/cases/{case_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def deadline(c: dict[str, Any], kind: str) -> dict[str, Any]:
    (d,) = [d for d in c["deadlines"] if d["kind"] == kind]
    return d


def table_counts(c: County) -> dict[str, int]:
    c.headers("office"), c.headers("county_head")  # log in first: a login is audited
    names = ("cases", "deadlines", "case_events", "audit", "notices", "residence_changes")
    return {t: c.rt.store.one(f"SELECT count(*) AS n FROM {t}")["n"] for t in names}


# Pure rules ---------------------------------------------------------------------------------


def test_custody_is_not_extended_by_a_holiday_but_other_periods_are() -> None:
    from cloud.domain.calendar import load_calendar

    cal = load_calendar()
    arrested = dt.date(2025, 12, 2)
    assert dl.custody_limit(arrested).due == dt.date(2026, 1, 1)  # New Year's Day: still ends
    # Other periods move past 1-3 Jan to Sunday the 4th, an adjusted working day (调休上班).
    assert dl.calendar_days(arrested, 30, cal) == dt.date(2026, 1, 4)
    assert dl.residence_report_due(dt.date(2026, 9, 28), 7, cal).due == dt.date(2026, 10, 8)


def test_return_lateness() -> None:
    start, end, today = dt.date(2025, 12, 1), dt.date(2025, 12, 7), dt.date(2025, 12, 20)
    assert leave.return_lateness(start, end, dt.date(2025, 12, 6), today) == 0
    assert leave.return_lateness(start, end, dt.date(2025, 12, 7), today) == 0
    assert leave.return_lateness(start, end, dt.date(2025, 12, 10), today) == 3
    with pytest.raises(ValueError, match="before the leave started"):
        leave.return_lateness(start, end, dt.date(2025, 11, 30), today)
    with pytest.raises(ValueError, match="future"):
        leave.return_lateness(start, end, dt.date(2025, 12, 21), today)


def test_residence_rules() -> None:
    village = {"id": 5, "kind": "village"}
    today = dt.date(2025, 12, 1)
    ok = ("supervising", 3, village, True, today, today, 0)
    residence.check_request(*ok)
    cases = [
        (("released", *ok[1:]), "not in stage released"),
        ((ok[0], 5, *ok[2:]), "already lives"),
        ((*ok[:2], {"id": 7, "kind": "office"}, *ok[3:]), "village"),
        ((*ok[:3], False, *ok[4:]), "change of execution place"),
        ((*ok[:4], today - dt.timedelta(days=1), today, 0), "before it happens"),
        ((*ok[:6], 1), "awaiting a decision"),
    ]
    for args, message in cases:
        with pytest.raises(residence.ResidenceError, match=message):
            residence.check_request(*args)
    with pytest.raises(PermissionError):
        residence.check_decision("requested", "office")
    with pytest.raises(residence.ResidenceError):
        residence.check_decision("approved", "county_head")


def test_arrest_and_ruling_rules() -> None:
    sanctions.check_arrest_request("revoke_parole", "sent", "flight", "已购车票", 0)
    bad = [
        (("imprison", "sent", "flight", "x", 0), "probation or parole"),
        (("revoke_parole", "proposed", "flight", "x", 0), "同时提请"),
        (("revoke_parole", "sent", "bored", "x", 0), "ground"),
        (("revoke_parole", "sent", "danger", " ", 0), "facts"),
        (("revoke_parole", "sent", "danger", "x", 1), "already"),
    ]
    for args, message in bad:
        with pytest.raises(sanctions.SanctionError, match=message):
            sanctions.check_arrest_request(*args)
    with pytest.raises(sanctions.SanctionError, match="not ruled on"):
        sanctions.check_ruling("warning", "decided")
    facts = {"case_type": "probation"}
    assert [s.kind for s in sanctions.suggestions({**facts, "late_return_days": 2})] == [
        "admonition"
    ]
    assert [s.kind for s in sanctions.suggestions({**facts, "late_return_days": 11})] == ["warning"]


# The deciding authority's Art. 20 deadlines -----------------------------------------------


def test_authority_deadlines_are_stored_per_case_and_met_late(county: County) -> None:
    body = county.case_body(
        effective_on="2025-11-20", notice_received_on="2025-11-24", documents_pending=True
    )
    r = county.call("office", "POST", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    c = case(county, case_id)
    notice, docs = deadline(c, "authority_notice"), deadline(c, "documents")
    assert (notice["party"], notice["due_on"], notice["met_on"]) == (
        "authority",
        "2025-11-25",
        "2025-11-24",
    )
    assert (docs["due_on"], docs["done_at"]) == ("2025-12-01", None)  # 20 Nov + 10 = Sun 30 -> Mon
    # On the dashboard, among this week's deadlines, marked as the authority's.
    dash = county.call("office", "GET", "/api/v1/dashboard").json()
    assert ("documents", "authority") in {(d["kind"], d["party"]) for d in dash["deadlines"]}
    county.set_date("2025-12-03")
    future = {"received_on": "2025-12-04"}
    r = county.call("office", "POST", f"/api/v1/cases/{case_id}/documents", json=future)
    assert r.status_code == 422 and "future" in r.json()["detail"]
    r = county.call(
        "office", "POST", f"/api/v1/cases/{case_id}/documents", json={"received_on": "2025-12-03"}
    )
    assert r.status_code == 200, r.text
    docs = deadline(case(county, case_id), "documents")
    assert docs["met_on"] == "2025-12-03"
    assert dl.days_overdue(dt.date.fromisoformat(docs["due_on"]), dt.date(2025, 12, 3)) == 2
    r = county.call(
        "office", "POST", f"/api/v1/cases/{case_id}/documents", json={"received_on": "2025-12-03"}
    )
    assert r.status_code == 422 and "already" in r.json()["detail"]
    contradictory = county.case_body(
        id_number=id_number(7), documents_pending=True, documents_received_on="2025-11-29"
    )
    r = county.call("office", "POST", "/api/v1/cases", json=contradictory)
    assert r.status_code == 422 and "pending" in r.json()["detail"]


# 销假 and late return ----------------------------------------------------------------------


def approved_leave(county: County, case_id: int, start: str, end: str) -> int:
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/leave",
        json={"starts_on": start, "ends_on": end, "destination": "西安", "reason": "探亲"},
    )
    assert r.status_code == 201, r.text
    leave_id = int(r.json()["id"])
    r = county.call("office", "POST", f"/api/v1/leave/{leave_id}/decision", json={"approve": True})
    assert r.status_code == 200, r.text
    return leave_id


def test_late_return_needs_a_note_and_calls_for_a_proposal(county: County) -> None:
    case_id = county.open_case("supervising")
    leave_id = approved_leave(county, case_id, "2025-12-01", "2025-12-05")
    assert deadline(case(county, case_id), "leave_return")["due_on"] == "2025-12-05"
    county.set_date("2025-12-09")
    before = table_counts(county)
    url = f"/api/v1/leave/{leave_id}/returned"
    r = county.call("office", "POST", url, json={"returned_on": "2025-12-08"})
    assert r.status_code == 422 and "note" in r.json()["detail"]
    assert table_counts(county) == before  # refused: nothing written
    r = county.call(
        "office", "POST", url, json={"returned_on": "2025-12-08", "note": "火车停运，晚归三日"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["late_days"], r.json()["returned_on"]) == (
        "returned",
        3,
        "2025-12-08",
    )
    c = case(county, case_id)
    assert deadline(c, "leave_return")["met_on"] == "2025-12-08"
    assert c["case_events"][-1]["action"] == "leave_return_late"
    kinds = [
        s["kind"]
        for s in county.call("office", "GET", f"/api/v1/cases/{case_id}/suggestions").json()
    ]
    assert kinds == ["admonition"]
    # Once an admonition is decided, that late return no longer calls for one.
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/sanctions",
        json={"kind": "admonition", "reason": "逾期返回三日"},
    )
    assert r.json()["status"] == "decided"
    county.advance(60)
    assert county.call("office", "GET", f"/api/v1/cases/{case_id}/suggestions").json() == []
    r = county.call("office", "POST", url, json={})
    assert r.status_code == 422 and "returned" in r.json()["detail"]  # only once


# Change of residence within the county ------------------------------------------------------


def move_body(county: County, village: str = "village_b", moves_on: str = "2025-12-05") -> dict:
    return {
        "to_village_id": county.ids["units"][village],
        "new_address": "河西村5组12号",
        "moves_on": moves_on,
        "reason": "随子女居住",
    }


def test_move_within_the_county_hands_the_case_to_the_new_office(county: County) -> None:
    case_id = county.open_case("supervising")
    url = f"/api/v1/cases/{case_id}/residence-changes"
    r = county.call("office", "POST", url, json=move_body(county, moves_on="2025-11-29"))
    assert r.status_code == 422 and "before it happens" in r.json()["detail"]
    r = county.call("office", "POST", url, json=move_body(county, village="village"))
    assert r.status_code == 422 and "already lives" in r.json()["detail"]
    r = county.call("office", "POST", url, json=move_body(county))
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["to_office_id"] == county.ids["units"]["office_b"]
    r = county.call("office", "POST", url, json=move_body(county))
    assert r.status_code == 422 and "awaiting" in r.json()["detail"]
    decide = f"/api/v1/residence-changes/{change['id']}/decision"
    r = county.call("office", "POST", decide, json={"approve": True})
    assert r.status_code == 403  # Art. 27: the county bureau approves
    r = county.call("county_head", "POST", decide, json={"approve": True, "note": "同意"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    # The old 司法所 no longer sees the case; the new one does, with its deadlines.
    assert county.call("office", "GET", f"/api/v1/cases/{case_id}").status_code == 404
    c = case(county, case_id, "office_b")
    assert (c["office_id"], c["village_id"], c["address"]) == (
        county.ids["units"]["office_b"],
        county.ids["units"]["village_b"],
        "河西村5组12号",
    )
    report = deadline(c, "residence_report")
    assert (report["due_on"], report["unit_id"]) == ("2025-12-08", county.ids["units"]["office_b"])
    assert all(
        d["unit_id"] == county.ids["units"]["office_b"] for d in c["deadlines"] if not d["done_at"]
    )
    assert {(n["recipient"], n["kind"]) for n in c["notices"]} >= {
        ("河西司法所", "residence_change"),
        ("河西村", "residence_change"),
        ("城关司法所", "residence_change"),
    }
    assert c["case_events"][-1]["action"] == "residence_change"
    # Reporting at the new office meets the deadline.
    r = county.call(
        "office_b", "POST", f"/api/v1/cases/{case_id}/checkins", json={"method": "office"}
    )
    assert r.status_code == 201
    assert deadline(case(county, case_id, "office_b"), "residence_report")["met_on"] == "2025-11-30"
    r = county.call("county_head", "POST", decide, json={"approve": True})
    assert r.status_code == 422  # decided once


def test_a_move_to_another_county_is_a_transfer_not_a_move(county: County) -> None:
    case_id = county.open_case("supervising")
    admin = "admin"

    def unit(kind: str, name: str, parent: int | None) -> int:
        r = county.call(
            admin, "POST", "/api/v1/units", json={"kind": kind, "name": name, "parent_id": parent}
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    other = unit("county", "乙县司法局", None)
    village = unit("village", "乙村", unit("office", "乙镇司法所", other))
    body = {**move_body(county), "to_village_id": village}
    before = table_counts(county)
    r = county.call("office", "POST", f"/api/v1/cases/{case_id}/residence-changes", json=body)
    assert r.status_code == 422 and "change of execution place" in r.json()["detail"]
    assert table_counts(county) == before


# Art. 47 arrest requests and rulings --------------------------------------------------------


def sent_revocation(county: County, case_id: int) -> int:
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/sanctions",
        json={"kind": "revoke_probation", "reason": "两次警告仍不改正", "evidence": ["警告决定书"]},
    )
    sid = int(r.json()["id"])
    r = county.call(
        "county_head", "POST", f"/api/v1/sanctions/{sid}/decision", json={"approve": True}
    )
    assert r.json()["status"] == "sent", r.text
    return sid


def test_arrest_request_with_the_revocation_proposal(county: County) -> None:
    case_id = county.open_case("supervising")
    county.set_date("2025-12-01", hour=15)
    sid = sent_revocation(county, case_id)
    body = {"ground": "flight", "facts": "已购买出境车票", "court": "示范县人民法院"}
    url = f"/api/v1/sanctions/{sid}/arrest-request"
    assert county.call("office", "POST", url, json=body).status_code == 403
    r = county.call("county_head", "POST", url, json=body)
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["due_at"] - req["requested_at"] == 48 * 3600
    c = case(county, case_id)
    d = deadline(c, "arrest_decision")
    assert (d["due_on"], d["due_at"]) == ("2025-12-03", req["due_at"])
    assert ("court", "arrest_request") in {(n["recipient_kind"], n["kind"]) for n in c["notices"]}
    r = county.call("county_head", "POST", url, json=body)
    assert r.status_code == 422 and "already" in r.json()["detail"]
    decision = f"/api/v1/arrest-requests/{req['id']}/decision"
    early = {"arrested": True, "document_no": "(2025)捕1", "decided_at": "2025-12-01T09:00:00"}
    r = county.call("office", "POST", decision, json=early)
    assert r.status_code == 422 and "before the request" in r.json()["detail"]
    county.set_date("2025-12-02", hour=18)
    ok = {**early, "decided_at": "2025-12-02T10:00:00"}  # a form's local time: CST
    r = county.call("office", "POST", decision, json=ok)
    assert r.status_code == 200 and r.json()["status"] == "arrested", r.text
    c = case(county, case_id)
    assert deadline(c, "arrest_decision")["met_on"] == "2025-12-02"
    custody = deadline(c, "custody_limit")
    assert (custody["due_on"], custody["done_at"]) == ("2026-01-01", None)  # 30 days, no holiday
    assert county.call("office", "POST", decision, json=ok).status_code == 422
    # The court's ruling ends custody either way (Art. 48).
    ruling = {"outcome": "refused", "document_no": "(2025)撤2", "ruled_on": "2025-12-02"}
    r = county.call("office", "POST", f"/api/v1/sanctions/{sid}/ruling", json=ruling)
    assert r.status_code == 200
    c = case(county, case_id)
    assert deadline(c, "custody_limit")["met_on"] == "2025-12-02"
    assert deadline(c, "revoke_probation_ruling")["met_on"] == "2025-12-02"
    assert [e["action"] for e in c["case_events"][-3:]] == [
        "arrest_request",
        "arrest_decision",
        "ruling",
    ]


def test_arrest_request_refused_for_other_proposals(county: County) -> None:
    case_id = county.open_case("supervising")
    r = county.call(
        "office",
        "POST",
        f"/api/v1/cases/{case_id}/sanctions",
        json={"kind": "police_penalty", "reason": "殴打他人", "evidence": ["询问笔录"]},
    )
    sid = r.json()["id"]
    body = {"ground": "danger", "facts": "扬言报复", "court": "示范县人民法院"}
    r = county.call("county_head", "POST", f"/api/v1/sanctions/{sid}/arrest-request", json=body)
    assert r.status_code == 422 and "probation or parole" in r.json()["detail"]
    r = county.call(
        "county_head", "POST", f"/api/v1/sanctions/{sid}/decision", json={"approve": True}
    )
    ruling = {"outcome": "granted", "document_no": "公(治)罚1", "ruled_on": "2025-11-30"}
    r = county.call("office", "POST", f"/api/v1/sanctions/{sid}/ruling", json=ruling)
    assert r.status_code == 200 and r.json()["outcome"] == "granted"


# Check-in periods per classification ----------------------------------------------------------


def test_checkin_periods_come_from_settings() -> None:
    from cloud.settings import load_settings

    st = load_settings(env={"SQJZ_CHECKIN_DAYS_STRICT": "5", "SQJZ_CHECKIN_DAYS_LENIENT": "60"})
    assert st.checkin_policy == (5, 14, 60)
    assert st.checkin_policy.days("unknown") == 14  # unclassified: held to 普管
    with pytest.raises(ValueError, match="checkin_days_normal"):
        load_settings(env={"SQJZ_CHECKIN_DAYS_NORMAL": "0"})


def test_missed_checkin_follows_the_configured_period() -> None:
    from cloud import jobs

    c = County({"checkin_days_normal": 3})
    try:
        case_id = c.open_case("supervising")  # classified 普管 (normal) by the testkit
        me = c.call("office", "GET", f"/api/v1/cases/{case_id}").json()
        started = me["supervision_started_at"]
        c.advance(3 * 86400)
        jobs.check_contact(c.rt, int(c.now))
        assert not [
            a
            for a in c.call("office", "GET", "/api/v1/alerts").json()
            if a["kind"] == "missed_checkin"
        ]
        c.advance(60)
        jobs.check_contact(c.rt, int(c.now))
        alerts = [
            a
            for a in c.call("office", "GET", "/api/v1/alerts").json()
            if a["kind"] == "missed_checkin"
        ]
        assert len(alerts) == 1 and alerts[0]["case_id"] == case_id
        r = c.call("office", "POST", f"/api/v1/cases/{case_id}/checkins", json={"method": "phone"})
        assert r.status_code == 201
        c.call(
            "office", "POST", f"/api/v1/cases/{case_id}/account", json={"password": "person-pass-1"}
        )
        token = c.client.post(
            "/api/v1/auth/login", json={"username": me["id_number"], "password": "person-pass-1"}
        ).json()["token"]
        mine = c.client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"}).json()
        assert mine["next_checkin_due"] == int(c.now) + 3 * 86400
        assert started < mine["next_checkin_due"]
    finally:
        c.close()
