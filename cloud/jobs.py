"""Periodic work: escalation, silence and contact checks, deadlines, orders, retention."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from cloud.domain import checkins, retention
from cloud.domain.roles import SYSTEM
from cloud.runtime import Runtime
from cloud.services import alerts as alert_service
from cloud.services import anchors, hub_health, positioning
from cloud.services.common import local_date

log = logging.getLogger("sqjz.cloud.jobs")
DEADLINE_WARN_DAYS = 2


def run_all(rt: Runtime, now: int) -> dict[str, Any]:
    """One pass of every job; each is its own transaction."""
    return {
        "escalated": len(alert_service.escalate_due(rt, SYSTEM, now)),
        "silent": check_silence(rt, now),
        "contact": check_contact(rt, now),
        "deadlines": check_deadlines(rt, now),
        "orders_expired": positioning.expire(rt, SYSTEM, now),
        "hubs_offline": check_hubs_if_listening(rt, now),
        "retention": apply_retention(rt, now),
        "anchored": anchors.issue_if_due(rt, now),
    }


def check_hubs_if_listening(rt: Runtime, now: int) -> int:
    """Hub offline alerts, only while the cloud itself hears the broker (else it cannot tell)."""
    if rt.mqtt is None or not rt.mqtt.connected.is_set():
        return 0
    return hub_health.check_hubs(rt, now)


def check_silence(rt: Runtime, now: int) -> int:
    """A worn band that has sent nothing for band_silent_s raises band_silent."""
    # Selected in SQL: a pass reads only the silent bands, not every band of the county.
    silent = rt.store.q(
        "SELECT b.band_id, b.person_id, coalesce(b.last_frame_at, b.enrolled_at) AS last, "
        "c.id AS case_id, c.village_id FROM bands b JOIN cases c ON c.id = "
        "(SELECT min(id) FROM cases WHERE person_id = b.person_id AND closed_at IS NULL) "
        "WHERE b.active = 1 AND b.person_id IS NOT NULL "
        "AND coalesce(b.last_frame_at, b.enrolled_at) < ? ORDER BY b.band_id",
        (now - rt.settings.band_silent_s,),
    )
    for b in silent:
        alert_service.raise_and_broadcast(
            rt,
            SYSTEM,
            "band_silent",
            f"person:{b['person_id']}",
            {"band_id": b["band_id"], "silent_s": now - b["last"]},
            now,
            person_id=b["person_id"],
            case_id=b["case_id"],
            band_id=b["band_id"],
            unit_id=b["village_id"],
        )
    return len(silent)


def check_contact(rt: Runtime, now: int) -> int:
    """Missed check-ins, and 脱管: overdue report or no contact of any kind for out_of_contact_s."""
    s = rt.store
    n = 0
    for case in s.supervising_cases():
        last = s.last_checkin(case["id"])
        where = {
            "person_id": case["person_id"],
            "case_id": case["id"],
            "unit_id": case["village_id"],
        }
        started = case["supervision_started_at"] or case["opened_at"]
        policy = rt.settings.checkin_policy
        if checkins.missed(last, started, case["class_level"] or "normal", now, policy):
            alert_service.raise_and_broadcast(
                rt,
                SYSTEM,
                "missed_checkin",
                f"person:{case['person_id']}",
                {"last_checkin": last},
                now,
                **where,
            )
            n += 1
        band = s.band_of_person(case["person_id"])
        contact = max(last or 0, (band or {}).get("last_frame_at") or 0, started)
        if contact < now - rt.settings.out_of_contact_s:
            _out_of_contact(rt, case, contact, now)
            n += 1
    for d in s.q(
        "SELECT d.*, c.person_id, c.village_id, c.missing_since FROM deadlines d JOIN cases c "
        "ON c.id = d.case_id WHERE d.kind = 'report' AND d.done_at IS NULL AND d.due_on < ?",
        (local_date(now).isoformat(),),
    ):
        # Not reported in time (law Art. 21): an alert and a search (Art. 30).
        _out_of_contact(rt, d, None, now, case_id=d["case_id"])
        n += 1
    return n


def _out_of_contact(
    rt: Runtime, case: dict[str, Any], contact: int | None, now: int, case_id: int | None = None
) -> None:
    cid = case_id or case["id"]
    if not case["missing_since"]:
        with rt.store.tx():
            rt.store.update("cases", "id", cid, {"missing_since": contact or now})
            rt.store.audit(SYSTEM, "case.missing", "case", cid, {"since": contact or now}, at=now)
    alert_service.raise_and_broadcast(
        rt,
        SYSTEM,
        "out_of_contact",
        f"person:{case['person_id']}",
        {"since": contact or now, "action": "立即组织查找 (社区矫正法第三十条)"},
        now,
        person_id=case["person_id"],
        case_id=cid,
        unit_id=case["village_id"],
    )


def check_deadlines(rt: Runtime, now: int) -> int:
    """Deadlines due within two days raise deadline_due once."""
    s = rt.store
    soon = (local_date(now) + dt.timedelta(days=DEADLINE_WARN_DAYS)).isoformat()
    rows = s.due_deadlines(soon)
    for d in rows:
        case = (
            s.one("SELECT person_id, village_id FROM cases WHERE id = ?", (d["case_id"],))
            if d["case_id"]
            else None
        )
        alert_service.raise_and_broadcast(
            rt,
            SYSTEM,
            "deadline_due",
            f"unit:{d['unit_id']}",
            {"deadline_id": d["id"], "kind": d["kind"], "due_on": d["due_on"], "basis": d["basis"]},
            now,
            person_id=case["person_id"] if case else None,
            case_id=d["case_id"],
            unit_id=case["village_id"] if case else d["unit_id"],
        )
        with s.tx():
            s.update("deadlines", "id", d["id"], {"alerted_at": now})
    return len(rows)


def apply_retention(rt: Runtime, now: int) -> dict[str, int]:
    """Delete data past its retention; raise each band's floor so late frames stay judged right."""
    st = rt.settings
    policy = retention.Retention(
        st.retain_frames_days,
        st.retain_presence_days,
        st.retain_sessions_days,
        st.retain_security_days,
    )
    s = rt.store
    out = {}
    with s.tx():
        cut = retention.cutoff("frames", now, policy)
        # Each key epoch keeps its own floor: the current one on bands, earlier ones on band_keys.
        s.x(
            "UPDATE bands SET floor = max(floor, (SELECT coalesce(max(counter), -1) FROM frames f "
            "WHERE f.band_id = bands.band_id AND f.epoch = bands.epoch AND f.received_at < ?))",
            (cut,),
        )
        s.x(
            "UPDATE band_keys SET floor = max(floor, (SELECT coalesce(max(counter), -1) "
            "FROM frames f WHERE f.band_id = band_keys.band_id AND f.epoch = band_keys.epoch "
            "AND f.received_at < ?)) WHERE retired_at IS NOT NULL",
            (cut,),
        )
        out["frames"] = s.x("DELETE FROM frames WHERE received_at < ?", (cut,)).rowcount
        out["presence"] = s.x(
            "DELETE FROM presence WHERE received_at < ?",
            (retention.cutoff("presence", now, policy),),
        ).rowcount
        out["sessions"] = s.expire_sessions(now)
        out["reports"] = s.x(
            "DELETE FROM reports WHERE at < ?", (retention.cutoff("security", now, policy),)
        ).rowcount
        if any(out.values()):
            s.audit(SYSTEM, "retention.expire", "data", "all", out, at=now)
    return out
