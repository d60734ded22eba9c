"""调查评估 commissions: register, field visits, signed opinion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from cloud import auth, models
from cloud.domain.roles import Actor
from cloud.routers.deps import rt_of
from cloud.services import assessments as service

router = APIRouter(prefix="/api/v1/assessments", tags=["assessments"])


@router.get("")
def list_assessments(
    request: Request, actor: Annotated[Actor, Depends(auth.require("assessment.read"))]
) -> list[dict[str, Any]]:
    """Commissions of the caller's offices."""
    return rt_of(request).store.assessments_in(actor.scope)


@router.post("", status_code=201)
def create(
    body: models.AssessmentCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("assessment.write"))],
) -> dict[str, Any]:
    """Register a commission from a court, procuratorate, police or prison."""
    return service.create(rt_of(request), actor, body)


@router.get("/{assessment_id}")
def get(
    assessment_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("assessment.read"))],
) -> dict[str, Any]:
    """One commission with visits and deadline."""
    return service.get(rt_of(request), actor, assessment_id)


@router.post("/{assessment_id}/visits", status_code=201)
def visit(
    assessment_id: int,
    body: models.VisitCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("assessment.write"))],
) -> dict[str, Any]:
    """Record a field visit."""
    return service.visit(rt_of(request), actor, assessment_id, body)


@router.post("/{assessment_id}/opinion")
def opinion(
    assessment_id: int,
    body: models.OpinionReturn,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("assessment.write"))],
) -> dict[str, Any]:
    """Sign and return the opinion."""
    return service.return_opinion(rt_of(request), actor, assessment_id, body)
