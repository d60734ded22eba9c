"""Case-page forms for supervision acts: leave and 销假, rewards and penalties, rulings, arrest
requests, change of residence, documents received, positioning orders (post/redirect/get)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cloud import auth, models
from cloud.domain.roles import Actor
from cloud.routers.deps import parse, rt_of
from cloud.routers.ui import back_to
from cloud.services import arrest, positioning, residence, supervision
from cloud.services import cases as case_service
from cloud.ui_forms import form_data

router = APIRouter(include_in_schema=False)


@router.post("/ui/cases/{case_id}/leave")
async def case_leave(
    case_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("leave.request"))]
) -> Response:
    supervision.request_leave(
        rt_of(request), actor, case_id, parse(models.LeaveCreate, form_data(await request.form()))
    )
    return back_to(f"/cases/{case_id}")


@router.post("/ui/leave/{leave_id}/decision")
async def leave_decision(
    leave_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("leave.decide"))]
) -> Response:
    row = supervision.decide_leave(
        rt_of(request),
        actor,
        leave_id,
        parse(models.LeaveDecision, form_data(await request.form())),
    )
    return back_to(f"/cases/{row['case_id']}")


@router.post("/ui/cases/{case_id}/sanction")
async def case_sanction(
    case_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("sanction.propose"))],
) -> Response:
    supervision.propose(
        rt_of(request),
        actor,
        case_id,
        parse(models.SanctionCreate, form_data(await request.form())),
    )
    return back_to(f"/cases/{case_id}")


@router.post("/ui/sanctions/{sanction_id}/decision")
async def sanction_decision(
    sanction_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("sanction.decide"))],
) -> Response:
    row = supervision.decide(
        rt_of(request),
        actor,
        sanction_id,
        parse(models.SanctionDecision, form_data(await request.form())),
    )
    return back_to(f"/cases/{row['case_id']}")


@router.post("/ui/cases/{case_id}/positioning")
async def case_positioning(
    case_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("positioning.request"))],
) -> Response:
    positioning.request(
        rt_of(request), actor, case_id, parse(models.OrderCreate, form_data(await request.form()))
    )
    return back_to(f"/cases/{case_id}")


@router.post("/ui/positioning/{order_id}/decision")
async def order_decision(
    order_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("positioning.approve"))],
) -> Response:
    row = positioning.decide(
        rt_of(request),
        actor,
        order_id,
        parse(models.OrderDecision, form_data(await request.form())),
    )
    return back_to(f"/cases/{row['case_id']}")


@router.post("/ui/positioning/{order_id}/end")
async def order_end(
    order_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("positioning.end"))],
) -> Response:
    row = positioning.end(
        rt_of(request), actor, order_id, parse(models.OrderEnd, form_data(await request.form()))
    )
    return back_to(f"/cases/{row['case_id']}")


@router.post("/ui/cases/{case_id}/documents")
async def case_documents(
    case_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("case.write"))]
) -> Response:
    body = parse(models.DocumentsReceived, form_data(await request.form()))
    case_service.record_documents(rt_of(request), actor, case_id, body)
    return back_to(f"/cases/{case_id}#deadlines")


@router.post("/ui/leave/{leave_id}/returned")
async def leave_returned(
    leave_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("case.write"))]
) -> Response:
    body = parse(models.LeaveReturn, form_data(await request.form()))
    row = supervision.leave_returned(rt_of(request), actor, leave_id, body)
    return back_to(f"/cases/{row['case_id']}")


@router.post("/ui/sanctions/{sanction_id}/ruling")
async def sanction_ruling(
    sanction_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> Response:
    body = parse(models.SanctionRuling, form_data(await request.form()))
    row = supervision.rule(rt_of(request), actor, sanction_id, body)
    return back_to(f"/cases/{row['case_id']}")


@router.post("/ui/sanctions/{sanction_id}/arrest")
async def sanction_arrest(
    sanction_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("sanction.decide"))],
) -> Response:
    body = parse(models.ArrestRequestCreate, form_data(await request.form()))
    row = arrest.request(rt_of(request), actor, sanction_id, body)
    return back_to(f"/cases/{row['case_id']}")


@router.post("/ui/arrest-requests/{request_id}/decision")
async def arrest_decision(
    request_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> Response:
    body = parse(models.ArrestDecision, form_data(await request.form()))
    row = arrest.record_decision(rt_of(request), actor, request_id, body)
    return back_to(f"/cases/{row['case_id']}")


@router.post("/ui/cases/{case_id}/residence")
async def case_residence(
    case_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("case.write"))]
) -> Response:
    body = parse(models.ResidenceChangeCreate, form_data(await request.form()))
    residence.request(rt_of(request), actor, case_id, body)
    return back_to(f"/cases/{case_id}#residence")


@router.post("/ui/residence-changes/{change_id}/decision")
async def residence_decision(
    change_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("residence.decide"))],
) -> Response:
    body = parse(models.ResidenceDecision, form_data(await request.form()))
    row = residence.decide(rt_of(request), actor, change_id, body)
    return back_to(f"/cases/{row['case_id']}#residence")
