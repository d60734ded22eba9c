"""Opening a case and moving it through its legal stages (law Arts. 17-22, 24-27, 44-45)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel

from cloud import models
from cloud.domain import checkins, stages
from cloud.domain import deadlines as dl
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.common import RefusedError, check_case_scope, check_unit_scope, local_date


def open_case(rt: Runtime, actor: Actor, body: models.CaseCreate) -> int:
    """Record the deciding authority's documents: person, case in 'notified', report deadline."""
    s, now = rt.store, rt.now()
    try:
        stages.check_case_type(body.case_type, body.authority_kind)
    except stages.TransitionError as exc:
        raise RefusedError(str(exc)) from None
    check_unit_scope(actor, body.office_id)
    office = s.unit(body.office_id)
    village = s.unit(body.village_id)
    if (
        office["kind"] != "office"
        or village["kind"] != "village"
        or village["parent_id"] != office["id"]
    ):
        raise RefusedError("office_id must be a 司法所 and village_id one of its villages")
    with s.tx():
        p = body.person
        existing = s.one("SELECT id FROM persons WHERE id_number = ?", (p.id_number,))
        if existing:
            person_id = int(existing["id"])
            if s.one(
                "SELECT id FROM cases WHERE person_id = ? AND closed_at IS NULL", (person_id,)
            ):
                raise RefusedError("this person already has an open case / 该对象已有未结案件")
        else:
            person_id = s.insert(
                "persons",
                {
                    **p.model_dump(mode="json"),
                    "village_id": body.village_id,
                    "office_id": body.office_id,
                    "created_at": now,
                },
            )
        case_id = s.insert(
            "cases",
            {
                "person_id": person_id,
                "case_type": body.case_type,
                "authority_kind": body.authority_kind,
                "authority_name": body.authority_name,
                "judgment_no": body.judgment_no,
                "effective_on": body.effective_on.isoformat(),
                "term_start": body.term_start.isoformat(),
                "term_end": body.term_end.isoformat(),
                "stage": "notified",
                "office_id": body.office_id,
                "village_id": body.village_id,
                "opened_at": now,
                "updated_at": now,
            },
        )
        due = dl.report_due(body.effective_on, rt.calendar)
        add_deadline(rt, due, body.office_id, case_id=case_id)
        _authority_deadlines(rt, body, case_id, local_date(now), now)
        s.insert(
            "case_events",
            {
                "case_id": case_id,
                "at": now,
                "action": "open",
                "to_stage": "notified",
                "actor_id": actor.id,
                "detail": {"judgment_no": body.judgment_no},
            },
        )
        s.audit(
            actor,
            "case.open",
            "case",
            case_id,
            {"person_id": person_id, "type": body.case_type},
            at=now,
        )
    return case_id


def add_deadline(
    rt: Runtime,
    d: dl.Deadline,
    unit_id: int,
    case_id: int | None = None,
    assessment_id: int | None = None,
    party: str = "bureau",
    source: str | None = None,
    due_at: int | None = None,
) -> int:
    """Store a computed deadline (inside the caller's transaction).

    `party` says whose duty it is: the bureau's own, or the deciding authority's (Art. 20) that
    the bureau watches; `source` ties it to the act that created it; `due_at` is an exact
    instant where the law counts hours (Art. 47: 48 hours).
    """
    return rt.store.insert(
        "deadlines",
        {
            "case_id": case_id,
            "assessment_id": assessment_id,
            "unit_id": unit_id,
            "kind": d.kind,
            "due_on": d.due.isoformat(),
            "basis": d.basis,
            "provisional": int(d.provisional),
            "party": party,
            "source": source,
            "due_at": due_at,
        },
    )


def _authority_deadlines(
    rt: Runtime, body: models.CaseCreate, case_id: int, today: dt.date, now: int
) -> None:
    """The deciding authority's notice (5 days) and documents (10 days), met or still open."""
    documents = None if body.documents_pending else (body.documents_received_on or today)
    arrived = [d for d in (body.notice_received_on, documents) if d is not None]
    if any(d > today for d in arrived):
        raise RefusedError("a notice or documents cannot arrive in the future / 收到日期晚于今天")
    met = {"authority_notice": min(arrived) if arrived else None, "documents": documents}
    for d in dl.documents_due(body.effective_on, rt.calendar):
        did = add_deadline(rt, d, body.office_id, case_id=case_id, party="authority")
        day = met[d.kind]
        if day is not None:
            rt.store.update("deadlines", "id", did, {"done_at": now, "met_on": day.isoformat()})


def record_documents(
    rt: Runtime, actor: Actor, case_id: int, body: models.DocumentsReceived
) -> dict[str, Any]:
    """The authority's documents arrived after the case was opened on its notice (Art. 20)."""
    s, now = rt.store, rt.now()
    with s.tx():
        case = s.case(case_id)
        check_case_scope(actor, case)
        if case["closed_at"]:
            raise RefusedError("the case is closed")
        if body.received_on > local_date(now):
            raise RefusedError("documents cannot arrive in the future / 送达日期晚于今天")
        closed = s.close_deadlines(
            case_id, ["documents", "authority_notice"], now, met_on=body.received_on.isoformat()
        )
        if not closed:
            raise RefusedError(
                "the documents are already recorded as received / 法律文书已登记送达"
            )
        s.insert(
            "case_events",
            {
                "case_id": case_id,
                "at": now,
                "action": "documents",
                "actor_id": actor.id,
                "detail": body.model_dump(mode="json"),
            },
        )
        s.audit(actor, "case.documents", "case", case_id, body.model_dump(mode="json"), at=now)
    return s.case(case_id)


ACT_MODELS: dict[str, type[BaseModel]] = {
    "report": models.ReportAct,
    "receive": models.ReceiveAct,
    "announce": models.AnnounceAct,
    "start_supervision": models.SupervisionAct,
    "release": models.ReleaseAct,
    "terminate": models.TerminateAct,
    "transfer": models.TransferAct,
}


def act(rt: Runtime, actor: Actor, case_id: int, action: str, body: BaseModel) -> dict[str, Any]:
    """Apply one stage act: check the transition, record its facts and side effects, audit."""
    s, now = rt.store, rt.now()
    today = local_date(now)
    republish = False
    with s.tx():
        case = s.case(case_id)
        check_case_scope(actor, case)
        facts = body.model_dump(mode="json")
        try:
            target = stages.next_stage(case["stage"], action, case, facts, today)
        except stages.TransitionError as exc:
            raise RefusedError(str(exc)) from None
        changes: dict[str, Any] = {"stage": target, "updated_at": now}
        extra = json.loads(case["extra"])
        if action == "report":
            s.close_deadlines(case_id, ["report"], now)
            changes["missing_since"] = None
        elif action == "receive":
            extra["file_no"] = facts["file_no"]
        elif action == "announce":
            for kind, name in (
                ("police", facts["police_station"]),
                ("village", facts["village_committee"]),
            ):
                s.insert(
                    "notices",
                    {
                        "case_id": case_id,
                        "recipient_kind": kind,
                        "recipient": name,
                        "kind": "announcement",
                        "sent_at": now,
                        "content": facts,
                    },
                )
        elif action == "start_supervision":
            changes.update(
                class_level=facts["class_level"], plan=facts["plan"], supervision_started_at=now
            )
            extra["team"] = facts["team"]
            add_deadline(
                rt, dl.release_due(dt_date(case["term_end"])), case["office_id"], case_id=case_id
            )
        elif action in ("release", "terminate", "transfer"):
            changes["closed_at"] = now
            s.x(
                "UPDATE deadlines SET done_at = ? WHERE case_id = ? AND done_at IS NULL",
                (now, case_id),
            )
            republish = _end_orders(rt, actor, case_id, f"case {target}", now)
            recipients = {
                "release": [
                    ("authority", case["authority_name"]),
                    ("procuratorate", "人民检察院"),
                    ("police", "公安机关"),
                ],  # Art. 44
                "terminate": [("procuratorate", "人民检察院"), ("police", "公安机关")],
                "transfer": [
                    ("county", facts.get("new_county", "")),
                    ("authority", case["authority_name"]),
                ],
            }[action]
            for kind, name in recipients:
                s.insert(
                    "notices",
                    {
                        "case_id": case_id,
                        "recipient_kind": kind,
                        "recipient": name,
                        "kind": action,
                        "sent_at": now,
                        "content": facts,
                    },
                )
            if action == "transfer":
                for d in dl.transfer_deadlines(dt_date(facts["decided_on"]), rt.calendar):
                    add_deadline(rt, d, case["office_id"], case_id=case_id)
        extra[action] = facts
        changes["extra"] = extra
        s.update("cases", "id", case_id, changes)
        s.insert(
            "case_events",
            {
                "case_id": case_id,
                "at": now,
                "action": action,
                "from_stage": case["stage"],
                "to_stage": target,
                "actor_id": actor.id,
                "detail": facts,
            },
        )
        s.audit(actor, f"case.{action}", "case", case_id, facts, at=now)
    if republish:
        rt.publish_configs()
    return s.case(case_id)


def _end_orders(rt: Runtime, actor: Actor, case_id: int, reason: str, now: int) -> bool:
    rows = rt.store.q(
        "SELECT id FROM positioning_orders WHERE case_id = ? "
        "AND status IN ('requested', 'approved')",
        (case_id,),
    )
    for r in rows:
        rt.store.update(
            "positioning_orders",
            "id",
            r["id"],
            {"status": "ended", "ended_by": actor.id, "ended_at": now, "end_reason": reason},
        )
        rt.store.audit(
            actor, "positioning.end", "positioning_order", r["id"], {"reason": reason}, at=now
        )
    return bool(rows)


def dt_date(value: Any) -> Any:
    """An ISO date string (or date) as a date."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def checkin(rt: Runtime, actor: Actor, case_id: int, body: models.CheckinCreate) -> int:
    """Record a report / visit / check-in for a case."""
    s, now = rt.store, rt.now()
    with s.tx():
        case = s.case(case_id)
        check_case_scope(actor, case)
        if case["stage"] in stages.CLOSED_STAGES:
            raise RefusedError("the case is closed")
        at = int(body.at.timestamp()) if body.at else now
        if at > now + 300:
            raise RefusedError("a check-in cannot be in the future")
        cid = s.insert(
            "checkins",
            {
                "case_id": case_id,
                "at": at,
                "method": body.method,
                "place": body.place,
                "note": body.note,
                "staff_id": actor.id,
            },
        )
        if body.method == "office":
            # Reporting at the (new) 司法所 after an approved move meets that deadline.
            s.close_deadlines(case_id, ["residence_report"], now, met_on=local_date(at).isoformat())
        s.audit(
            actor,
            "checkin.create",
            "checkin",
            cid,
            {"case_id": case_id, "method": body.method},
            at=now,
        )
    return cid


def transfer_file(rt: Runtime, actor: Actor, case_id: int) -> dict[str, Any]:
    """The documented exchange file for a transfer or the 安置帮教 handover (docs/cloud.md)."""
    s = rt.store
    case = s.case(case_id)
    check_case_scope(actor, case)
    with s.tx():
        s.audit(actor, "case.export", "case", case_id, {}, at=rt.now())
    keep = ("case_events", "checkins", "leave_requests", "sanctions", "notices")
    return {
        "format": "sqjz.case-file/v1",
        "exported_at": rt.now(),
        "county": rt.settings.county_name,
        "case": {k: v for k, v in case.items() if k != "extra"}
        | {"extra": json.loads(case["extra"])},
        **{t: s.rows_for_case(t, case_id) for t in keep},
    }


def next_checkin(rt: Runtime, case: dict[str, Any]) -> int | None:
    """When the next check-in is due under the case's classification (None outside supervision)."""
    if case["stage"] != "supervising":
        return None
    last = rt.store.last_checkin(case["id"])
    started = case["supervision_started_at"] or case["opened_at"]
    return checkins.next_checkin_due(
        last, started, case["class_level"] or "normal", rt.settings.checkin_policy
    )
