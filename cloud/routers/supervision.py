"""Leave, rewards and penalties, Art. 29 positioning orders and presence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from cloud import auth, models
from cloud.domain.roles import Actor
from cloud.routers.deps import rt_of
from cloud.services import arrest, positioning, residence, supervision

router = APIRouter(prefix="/api/v1", tags=["supervision"])


@router.post("/cases/{case_id}/leave", status_code=201)
def request_leave(
    case_id: int,
    body: models.LeaveCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("leave.request"))],
) -> dict[str, Any]:
    """A leave request; the approval tier follows from its length and earlier leave."""
    return supervision.request_leave(rt_of(request), actor, case_id, body)


@router.post("/leave/{leave_id}/decision")
def decide_leave(
    leave_id: int,
    body: models.LeaveDecision,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("leave.decide"))],
) -> dict[str, Any]:
    """Approve or refuse at the leave's tier."""
    return supervision.decide_leave(rt_of(request), actor, leave_id, body)


@router.post("/leave/{leave_id}/returned")
def leave_returned(
    leave_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
    body: Annotated[models.LeaveReturn | None, Body()] = None,
) -> dict[str, Any]:
    """销假: the person is back (today unless returned_on is given; late needs a note)."""
    return supervision.leave_returned(rt_of(request), actor, leave_id, body)


@router.post("/cases/{case_id}/residence-changes", status_code=201)
def request_residence_change(
    case_id: int,
    body: models.ResidenceChangeCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> dict[str, Any]:
    """迁居 within the county: a new village of this county, for the county bureau to approve."""
    return residence.request(rt_of(request), actor, case_id, body)


@router.post("/residence-changes/{change_id}/decision")
def decide_residence_change(
    change_id: int,
    body: models.ResidenceDecision,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("residence.decide"))],
) -> dict[str, Any]:
    """The county bureau approves (the case moves to the new 司法所) or refuses."""
    return residence.decide(rt_of(request), actor, change_id, body)


@router.post("/cases/{case_id}/sanctions", status_code=201)
def propose(
    case_id: int,
    body: models.SanctionCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("sanction.propose"))],
) -> dict[str, Any]:
    """A reward, penalty or proposal with its facts and evidence."""
    return supervision.propose(rt_of(request), actor, case_id, body)


@router.post("/sanctions/{sanction_id}/decision")
def decide(
    sanction_id: int,
    body: models.SanctionDecision,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("sanction.decide"))],
) -> dict[str, Any]:
    """Decide a penalty, or sign and send a proposal."""
    return supervision.decide(rt_of(request), actor, sanction_id, body)


@router.post("/sanctions/{sanction_id}/ruling")
def ruling(
    sanction_id: int,
    body: models.SanctionRuling,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> dict[str, Any]:
    """The court's or authority's ruling on a proposal."""
    return supervision.rule(rt_of(request), actor, sanction_id, body)


@router.post("/sanctions/{sanction_id}/arrest-request", status_code=201)
def request_arrest(
    sanction_id: int,
    body: models.ArrestRequestCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("sanction.decide"))],
) -> dict[str, Any]:
    """Art. 47: with a filed revocation proposal, ask the court to arrest (it decides in 48 h)."""
    return arrest.request(rt_of(request), actor, sanction_id, body)


@router.post("/arrest-requests/{request_id}/decision")
def arrest_decision(
    request_id: int,
    body: models.ArrestDecision,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> dict[str, Any]:
    """The court's decision on an arrest request, as received."""
    return arrest.record_decision(rt_of(request), actor, request_id, body)


@router.post("/sanctions/{sanction_id}/corrected")
def corrected(
    sanction_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("case.write"))]
) -> dict[str, Any]:
    """The person corrected the conduct."""
    return supervision.mark_corrected(rt_of(request), actor, sanction_id)


@router.post("/cases/{case_id}/positioning", status_code=201)
def request_order(
    case_id: int,
    body: models.OrderCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("positioning.request"))],
) -> dict[str, Any]:
    """Request an Art. 29 positioning order or its renewal."""
    return positioning.request(rt_of(request), actor, case_id, body)


@router.post("/positioning/{order_id}/decision")
def decide_order(
    order_id: int,
    body: models.OrderDecision,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("positioning.approve"))],
) -> dict[str, Any]:
    """The county bureau head approves or refuses."""
    return positioning.decide(rt_of(request), actor, order_id, body)


@router.post("/positioning/{order_id}/end")
def end_order(
    order_id: int,
    body: models.OrderEnd,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("positioning.end"))],
) -> dict[str, Any]:
    """End an order that is no longer needed."""
    return positioning.end(rt_of(request), actor, order_id, body)


@router.get("/cases/{case_id}/presence")
def presence(
    case_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("location.read"))],
    hours: int = 24,
) -> dict[str, Any]:
    """Presence reports, only while an order is in force (the read is audited)."""
    return positioning.presence(rt_of(request), actor, case_id, min(max(hours, 1), 24 * 92))


@router.get("/cases/{case_id}/band")
def band_data(
    case_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("location.read"))]
) -> dict[str, Any]:
    """The person's band: recent frames (heart rate is health data: the read is audited)."""
    rt = rt_of(request)
    from cloud.services.common import check_case_scope

    case = rt.store.case(case_id)
    check_case_scope(actor, case)
    band = rt.store.band_of_person(case["person_id"])
    with rt.store.tx():
        rt.store.audit(
            actor,
            "read.health",
            "case",
            case_id,
            {"band": band["band_id"] if band else None},
            at=rt.now(),
        )
    if band is None:
        return {"band": None, "frames": [], "reports": []}
    bid = int(band["band_id"])
    info = {
        k: band[k]
        for k in ("band_id", "battery_pct", "last_frame_at", "last_hub", "sos_location", "hi")
    }
    return {"band": info, "frames": rt.store.band_frames(bid), "reports": rt.store.reports_of(bid)}
