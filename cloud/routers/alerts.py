"""Alert console API and the live event stream (server-sent events)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from cloud import auth, models
from cloud.domain.roles import Actor
from cloud.routers.deps import rt_of
from cloud.services import alerts as service

router = APIRouter(prefix="/api/v1", tags=["alerts"])


@router.get("/alerts")
def list_alerts(
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("alert.read"))],
    all: bool = False,
) -> list[dict[str, Any]]:
    """Open alerts of the caller's region, most urgent first (all=true adds resolved ones)."""
    return [service.public(r) for r in rt_of(request).store.alerts_in(actor.scope, all)]


@router.post("/alerts/{alert_id}/ack")
def ack(
    alert_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("alert.act"))]
) -> dict[str, Any]:
    """Acknowledge: someone has it in hand."""
    return service.acknowledge(rt_of(request), actor, alert_id)


@router.post("/alerts/{alert_id}/resolve")
def resolve(
    alert_id: int,
    body: models.AlertResolve,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("alert.act"))],
) -> dict[str, Any]:
    """Resolve with a note."""
    return service.resolve(rt_of(request), actor, alert_id, body)


@router.post("/alert-suspensions", status_code=201)
def suspend(
    body: models.AlertSuspend,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("alert.suspend"))],
) -> dict[str, int]:
    """Suspend one alert kind for one person (reason required; never SOS)."""
    return {"id": service.suspend(rt_of(request), actor, body)}


@router.get("/events")
def events(
    request: Request, actor: Annotated[Actor, Depends(auth.require("alert.read"))]
) -> StreamingResponse:
    """Live alerts of the caller's region as server-sent events."""
    rt = rt_of(request)
    return StreamingResponse(
        rt.live.stream(actor.scope),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
