"""Art. 47 arrest requests with a revocation proposal: the court's 48 hours, 30 days' custody."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cloud import models
from cloud.domain import deadlines as dl
from cloud.domain import sanctions as rules
from cloud.domain.positioning import CN
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.cases import add_deadline
from cloud.services.common import ForbiddenError, RefusedError, check_case_scope


def request(
    rt: Runtime, actor: Actor, sanction_id: int, body: models.ArrestRequestCreate
) -> dict[str, Any]:
    """Ask the court to arrest the person while it rules on a filed revocation proposal."""
    s, now = rt.store, rt.now()
    with s.tx():
        sanction = s.get("sanctions", sanction_id)
        case = s.case(sanction["case_id"])
        check_case_scope(actor, case)
        if actor.role not in rules.DECIDER_ROLES.get(sanction["kind"], ()):
            raise ForbiddenError("an arrest request is signed by the county bureau head")
        earlier = s.arrest_requests_of(sanction_id)
        try:
            rules.check_arrest_request(
                sanction["kind"],
                sanction["status"],
                body.ground,
                body.facts,
                earlier,
            )
        except rules.SanctionError as exc:
            raise RefusedError(str(exc)) from None
        due = dl.arrest_decision_due(dt.datetime.fromtimestamp(now, CN))
        rid = s.insert(
            "arrest_requests",
            {
                "sanction_id": sanction_id,
                "case_id": case["id"],
                "ground": body.ground,
                "facts": body.facts,
                "court": body.court,
                "requested_by": actor.id,
                "requested_at": now,
                "due_at": int(due.timestamp()),
            },
        )
        add_deadline(
            rt,
            dl.Deadline("arrest_decision", due.date(), "社区矫正法第四十七条 (四十八小时)"),
            case["office_id"],
            case_id=case["id"],
            source=f"arrest:{rid}",
            due_at=int(due.timestamp()),
        )
        s.insert(
            "notices",
            {
                "case_id": case["id"],
                "recipient_kind": "court",
                "recipient": body.court,
                "kind": "arrest_request",
                "sent_at": now,
                "content": body.model_dump(mode="json") | {"sanction_id": sanction_id},
            },
        )
        _event(rt, actor, case["id"], "arrest_request", {"request_id": rid, "ground": body.ground})
        s.audit(
            actor,
            "arrest.request",
            "arrest_request",
            rid,
            {"sanction_id": sanction_id, "ground": body.ground},
            at=now,
        )
    return s.get("arrest_requests", rid)


def record_decision(
    rt: Runtime, actor: Actor, request_id: int, body: models.ArrestDecision
) -> dict[str, Any]:
    """Record the court's decision; an arrest starts the 30-day limit on custody."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = s.get("arrest_requests", request_id)
        case = s.case(row["case_id"])
        check_case_scope(actor, case)
        if row["status"] != "requested":
            raise RefusedError(f"the court's decision is already recorded ({row['status']})")
        decided = body.decided_at
        if decided.tzinfo is None:
            decided = decided.replace(tzinfo=CN)  # a form's local time is China Standard Time
        at = int(decided.timestamp())
        # Forms give minutes: a decision in the same minute as the request is not "before" it.
        if at // 60 < row["requested_at"] // 60 or at > now + 300:
            raise RefusedError("the decision time lies before the request or in the future")
        status = "arrested" if body.arrested else "refused"
        s.update(
            "arrest_requests",
            "id",
            request_id,
            {
                "status": status,
                "document_no": body.document_no,
                "decided_at": at,
                "recorded_by": actor.id,
                "recorded_at": now,
            },
        )
        day = decided.astimezone(CN).date()
        s.close_deadlines(
            case["id"],
            ["arrest_decision"],
            now,
            source=f"arrest:{request_id}",
            met_on=day.isoformat(),
        )
        if body.arrested:
            add_deadline(
                rt,
                dl.custody_limit(day),
                case["office_id"],
                case_id=case["id"],
                source=f"arrest:{request_id}",
            )
        late_h = max(0, at - row["due_at"]) // 3600
        detail = {"request_id": request_id, "status": status, "court_late_hours": late_h}
        _event(rt, actor, case["id"], "arrest_decision", detail)
        s.audit(actor, f"arrest.{status}", "arrest_request", request_id, detail, at=now)
    return s.get("arrest_requests", request_id)


def _event(rt: Runtime, actor: Actor, case_id: int, action: str, detail: dict[str, Any]) -> None:
    rt.store.insert(
        "case_events",
        {
            "case_id": case_id,
            "at": rt.now(),
            "action": action,
            "actor_id": actor.id,
            "detail": detail,
        },
    )
