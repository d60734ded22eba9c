"""调查评估: commissions, field visits and the signed opinion within the time limit."""

from __future__ import annotations

from typing import Any

from cloud import models
from cloud.domain import deadlines as dl
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.cases import add_deadline
from cloud.services.common import RefusedError, check_unit_scope
from cloud.store import NotFoundError


def create(rt: Runtime, actor: Actor, body: models.AssessmentCreate) -> dict[str, Any]:
    """Register a commission and its deadline (10 working days, 5 fast-track)."""
    s, now = rt.store, rt.now()
    check_unit_scope(actor, body.office_id)
    if s.unit(body.office_id)["kind"] != "office":
        raise RefusedError("an assessment is assigned to a 司法所")
    with s.tx():
        aid = s.insert(
            "assessments",
            {**body.model_dump(mode="json"), "fast_track": int(body.fast_track), "created_at": now},
        )
        due = dl.assessment_due(body.received_on, body.fast_track, rt.calendar)
        add_deadline(rt, due, body.office_id, assessment_id=aid)
        s.audit(
            actor, "assessment.create", "assessment", aid, {"request_no": body.request_no}, at=now
        )
    return get(rt, actor, aid)


def get(rt: Runtime, actor: Actor, assessment_id: int) -> dict[str, Any]:
    """An assessment with its visits and deadline."""
    s = rt.store
    row = s.get("assessments", assessment_id)
    if row["office_id"] not in actor.scope:
        raise NotFoundError(f"assessment {assessment_id}")
    row["visits"] = s.visits(assessment_id)
    row["deadlines"] = s.q("SELECT * FROM deadlines WHERE assessment_id = ?", (assessment_id,))
    return row


def visit(
    rt: Runtime, actor: Actor, assessment_id: int, body: models.VisitCreate
) -> dict[str, Any]:
    """Record a field visit (notes, photo references, who signed)."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = get(rt, actor, assessment_id)
        if row["status"] != "open":
            raise RefusedError(f"assessment is {row['status']}")
        vid = s.insert(
            "assessment_visits",
            {**body.model_dump(mode="json"), "assessment_id": assessment_id, "staff_id": actor.id},
        )
        s.audit(actor, "assessment.visit", "assessment", assessment_id, {"visit_id": vid}, at=now)
    return get(rt, actor, assessment_id)


def return_opinion(
    rt: Runtime, actor: Actor, assessment_id: int, body: models.OpinionReturn
) -> dict[str, Any]:
    """Sign and return the opinion to the commissioning authority (copy to the procuratorate)."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = get(rt, actor, assessment_id)
        if row["status"] != "open":
            raise RefusedError(f"assessment is {row['status']}")
        if not row["visits"]:
            raise RefusedError("record at least one field visit before returning the opinion")
        s.update(
            "assessments",
            "id",
            assessment_id,
            {
                "status": "returned",
                "opinion": body.opinion,
                "recommendation": body.recommendation,
                "signed_by": actor.id,
                "returned_on": body.returned_on.isoformat(),
            },
        )
        s.close_deadlines(None, ["assessment_opinion"], now, assessment_id=assessment_id)
        s.audit(
            actor,
            "assessment.return",
            "assessment",
            assessment_id,
            {"recommendation": body.recommendation},
            at=now,
        )
    return get(rt, actor, assessment_id)
