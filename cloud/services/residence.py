"""Change of residence within the county (迁居, law Art. 27): request, county decision, handover."""

from __future__ import annotations

from typing import Any

from cloud import models
from cloud.domain import deadlines as dl
from cloud.domain import residence as rules
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.cases import add_deadline
from cloud.services.common import (
    ForbiddenError,
    RefusedError,
    check_case_scope,
    check_unit_scope,
    local_date,
)


def request(
    rt: Runtime, actor: Actor, case_id: int, body: models.ResidenceChangeCreate
) -> dict[str, Any]:
    """File a move to another village of this county for the county bureau's approval."""
    s, now = rt.store, rt.now()
    with s.tx():
        case = s.case(case_id)
        check_case_scope(actor, case)
        target = s.unit(body.to_village_id)
        pending = s.pending_residence_changes(case_id)
        same_county = s.county_of(int(target["id"])) == s.county_of(int(case["office_id"]))
        try:
            rules.check_request(
                case["stage"],
                int(case["village_id"]),
                target,
                same_county,
                body.moves_on,
                local_date(now),
                pending,
            )
        except rules.ResidenceError as exc:
            raise RefusedError(str(exc)) from None
        rid = s.insert(
            "residence_changes",
            {
                "case_id": case_id,
                "from_office_id": case["office_id"],
                "from_village_id": case["village_id"],
                "to_office_id": target["parent_id"],
                "to_village_id": target["id"],
                "new_address": body.new_address,
                "moves_on": body.moves_on.isoformat(),
                "reason": body.reason,
                "requested_by": actor.id,
                "requested_at": now,
            },
        )
        s.audit(
            actor,
            "residence.request",
            "residence_change",
            rid,
            {"case_id": case_id, "to_village_id": target["id"]},
            at=now,
        )
    return s.get("residence_changes", rid)


def decide(
    rt: Runtime, actor: Actor, change_id: int, body: models.ResidenceDecision
) -> dict[str, Any]:
    """The county bureau approves or refuses; approval hands the case to the new 司法所."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = s.get("residence_changes", change_id)
        case = s.case(row["case_id"])
        check_case_scope(actor, case)
        try:
            rules.check_decision(row["status"], actor.role)
        except PermissionError as exc:
            raise ForbiddenError(str(exc)) from None
        except rules.ResidenceError as exc:
            raise RefusedError(str(exc)) from None
        if body.approve and case["stage"] not in rules.OPEN_FOR_MOVE:
            raise RefusedError(f"the case is {case['stage']}: nothing to move")
        status = "approved" if body.approve else "refused"
        s.update(
            "residence_changes",
            "id",
            change_id,
            {
                "status": status,
                "decided_by": actor.id,
                "decided_at": now,
                "decision_note": body.note or None,
            },
        )
        if body.approve:
            check_unit_scope(actor, row["to_office_id"])
            _hand_over(rt, actor, row, case, now)
        s.audit(
            actor,
            f"residence.{status}",
            "residence_change",
            change_id,
            {"case_id": case["id"], "note": body.note},
            at=now,
        )
    return s.get("residence_changes", change_id)


def _hand_over(
    rt: Runtime, actor: Actor, row: dict[str, Any], case: dict[str, Any], now: int
) -> None:
    """The case, its open deadlines and alerts follow the person to the new village and 司法所."""
    s = rt.store
    to_office, to_village = int(row["to_office_id"]), int(row["to_village_id"])
    s.update(
        "cases",
        "id",
        case["id"],
        {"office_id": to_office, "village_id": to_village, "updated_at": now},
    )
    s.update(
        "persons",
        "id",
        case["person_id"],
        {"office_id": to_office, "village_id": to_village, "address": row["new_address"]},
    )
    s.move_case_units(case["id"], to_office, to_village)
    office, village = s.unit(to_office), s.unit(to_village)
    recipients = [("office", office["name"]), ("village", village["name"])]
    if to_office != row["from_office_id"]:
        recipients.append(("office", s.unit(int(row["from_office_id"]))["name"]))
    for kind, name in recipients:
        s.insert(
            "notices",
            {
                "case_id": case["id"],
                "recipient_kind": kind,
                "recipient": name,
                "kind": "residence_change",
                "sent_at": now,
                "content": {
                    "change_id": row["id"],
                    "new_address": row["new_address"],
                    "moves_on": row["moves_on"],
                },
            },
        )
    due = dl.residence_report_due(local_date(now), rt.settings.residence_report_days, rt.calendar)
    add_deadline(rt, due, to_office, case_id=case["id"], source=f"residence:{row['id']}")
    s.insert(
        "case_events",
        {
            "case_id": case["id"],
            "at": now,
            "action": "residence_change",
            "actor_id": actor.id,
            "detail": {
                "change_id": row["id"],
                "from_village_id": row["from_village_id"],
                "to_village_id": to_village,
                "to_office_id": to_office,
            },
        },
    )
