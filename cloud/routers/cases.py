"""Cases through their legal stages, check-ins, the case file export and person accounts."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request

from cloud import auth, models
from cloud.domain import stages
from cloud.domain.roles import Actor
from cloud.routers.deps import parse, rt_of
from cloud.services import cases as service
from cloud.services import oversight, supervision
from cloud.services.common import check_case_scope

router = APIRouter(prefix="/api/v1", tags=["cases"])


@router.get("/cases")
def list_cases(
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.read"))],
    stage: str | None = None,
) -> list[dict[str, Any]]:
    """Cases in the caller's region."""
    if stage is not None and stage not in stages.STAGES:
        raise HTTPException(422, f"stage must be one of {', '.join(stages.STAGES)}")
    return rt_of(request).store.cases_in(actor.scope, stage)


@router.post("/cases", status_code=201)
def open_case(
    body: models.CaseCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> dict[str, Any]:
    """Documents received: open a case awaiting the person's report."""
    rt = rt_of(request)
    return rt.store.case(service.open_case(rt, actor, body))


@router.get("/cases/{case_id}")
def get_case(
    case_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("case.read"))]
) -> dict[str, Any]:
    """A case with its timeline, check-ins, leave, sanctions, orders and deadlines."""
    return case_detail(request, actor, case_id)


def case_detail(request: Request, actor: Actor, case_id: int) -> dict[str, Any]:
    """Everything the case page shows (band data separately, it is audited)."""
    s = rt_of(request).store
    case = s.case(case_id)
    check_case_scope(actor, case)
    case["extra"] = json.loads(case["extra"])
    case["allowed_actions"] = stages.allowed_actions(case["stage"])
    for table in (
        "case_events",
        "checkins",
        "leave_requests",
        "sanctions",
        "positioning_orders",
        "notices",
        "deadlines",
        "residence_changes",
        "arrest_requests",
    ):
        case[table] = s.rows_for_case(table, case_id)
    return case


@router.post("/cases/{case_id}/acts/{action}")
def act(
    case_id: int,
    action: str,
    request: Request,
    body: Annotated[dict[str, Any], Body()],
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> dict[str, Any]:
    """One stage act: report, receive, announce, start_supervision, release, terminate, transfer."""
    model = service.ACT_MODELS.get(action)
    if model is None:
        raise HTTPException(422, f"action must be one of {', '.join(service.ACT_MODELS)}")
    return service.act(rt_of(request), actor, case_id, action, parse(model, body))


@router.post("/cases/{case_id}/documents")
def documents(
    case_id: int,
    body: models.DocumentsReceived,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> dict[str, Any]:
    """The deciding authority's documents arrived (closes its Art. 20 deadlines, lateness kept)."""
    return service.record_documents(rt_of(request), actor, case_id, body)


@router.post("/cases/{case_id}/checkins", status_code=201)
def checkin(
    case_id: int,
    body: models.CheckinCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("checkin.write"))],
) -> dict[str, int]:
    """Record a check-in, report or home visit."""
    return {"id": service.checkin(rt_of(request), actor, case_id, body)}


@router.get("/cases/{case_id}/export")
def export(
    case_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("case.write"))]
) -> dict[str, Any]:
    """The case file in the documented exchange format (transfer, 安置帮教 handover)."""
    return service.transfer_file(rt_of(request), actor, case_id)


@router.post("/cases/{case_id}/account", status_code=201)
def person_account(
    case_id: int,
    body: models.PersonAccount,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> dict[str, int]:
    """A login for the supervised person (ID number + password)."""
    return {"id": oversight.create_person_account(rt_of(request), actor, case_id, body)}


@router.get("/cases/{case_id}/suggestions")
def suggestions(
    case_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("case.read"))]
) -> list[dict[str, str]]:
    """Proposals the Measures' thresholds call for (never applied automatically)."""
    return supervision.suggestions(rt_of(request), actor, case_id)


@router.get("/me")
def my_case(
    request: Request, actor: Annotated[Actor, Depends(auth.require("me"))]
) -> dict[str, Any]:
    """The supervised person's own case, obligations and leave requests."""
    s = rt_of(request).store
    cases = s.person_cases(actor.person_id or -1)
    if not cases:
        return {"case": None}
    c = cases[0]
    keep = ("id", "case_type", "stage", "term_start", "term_end", "class_level")
    return {
        "case": {k: c[k] for k in keep},
        "next_checkin_due": service.next_checkin(rt_of(request), c),
        "leave_requests": s.rows_for_case("leave_requests", c["id"]),
        "checkins": s.rows_for_case("checkins", c["id"]),
    }
