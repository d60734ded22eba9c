"""Audit log reading and verification, procuratorate correction notices, dashboard figures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from cloud import auth, models
from cloud.domain.roles import Actor
from cloud.routers.deps import rt_of
from cloud.services import anchors as anchor_service
from cloud.services import oversight
from cloud.services.common import local_date

router = APIRouter(prefix="/api/v1", tags=["oversight"])


@router.get("/audit")
def audit(
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("audit.read"))],
    after: int = 0,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Audit entries in order (with their hashes, so a reader can check the chain)."""
    return rt_of(request).store.audit_rows(max(0, after), min(max(1, limit), 5000))


@router.get("/audit/verify")
def verify(
    request: Request, actor: Annotated[Actor, Depends(auth.require("audit.read"))]
) -> dict[str, Any]:
    """Recompute the whole hash chain."""
    ok, bad, n = rt_of(request).store.audit_verify()
    return {"ok": ok, "first_bad_seq": bad, "entries": n}


@router.get("/audit/anchors")
def anchors(
    request: Request, actor: Annotated[Actor, Depends(auth.require("audit.read"))]
) -> dict[str, Any]:
    """Every signed anchor with the public key: the file the procuratorate keeps."""
    return anchor_service.export(rt_of(request))


@router.post("/audit/anchors", status_code=201)
def issue_anchor(
    request: Request, actor: Annotated[Actor, Depends(auth.require("audit.anchor"))]
) -> dict[str, Any]:
    """Anchor the chain's head now (also done every anchor_interval_s)."""
    return anchor_service.issue(rt_of(request), actor)


@router.post("/audit/anchors/check")
def check_anchors(
    body: models.AnchorCheck,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("audit.read"))],
) -> dict[str, Any]:
    """Check the chain against anchors the caller holds, with the public key the caller holds."""
    return anchor_service.check_held(rt_of(request), body.anchors, bytes.fromhex(body.public_key))


@router.get("/correction-notices")
def notices(
    request: Request, actor: Annotated[Actor, Depends(auth.require("notice.read"))]
) -> list[dict[str, Any]]:
    """Correction notices of the caller's county."""
    s = rt_of(request).store
    return s.correction_notices(s.county_of(actor.unit_id) if actor.unit_id else None)


@router.post("/correction-notices", status_code=201)
def file_notice(
    body: models.NoticeFile,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("notice.file"))],
) -> dict[str, Any]:
    """The procuratorate files a correction notice (law Art. 62)."""
    return oversight.file_notice(rt_of(request), actor, body)


@router.post("/correction-notices/{notice_id}/answer")
def answer(
    notice_id: int,
    body: models.NoticeAnswer,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("notice.answer"))],
) -> dict[str, Any]:
    """The bureau answers in writing."""
    return oversight.answer_notice(rt_of(request), actor, notice_id, body)


@router.get("/dashboard")
def dashboard(
    request: Request, actor: Annotated[Actor, Depends(auth.require("dashboard"))]
) -> dict[str, Any]:
    """Caseload by stage, open alerts by kind, deadlines this week."""
    return dashboard_data(request, actor)


def dashboard_data(request: Request, actor: Actor) -> dict[str, Any]:
    """The figures the dashboard shows."""
    rt = rt_of(request)
    cases = rt.store.cases_in(actor.scope)
    stages: dict[str, int] = {}
    for c in cases:
        stages[c["stage"]] = stages.get(c["stage"], 0) + 1
    alerts = rt.store.alerts_in(actor.scope)
    kinds: dict[str, int] = {}
    for a in alerts:
        kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
    week = (local_date(rt.now()) + dt.timedelta(days=7)).isoformat()
    return {
        "caseload": stages,
        "open_cases": sum(
            stages.get(k, 0)
            for k in ("notified", "reported", "received", "announced", "supervising")
        ),
        "alerts": kinds,
        "alert_rows": alerts[:20],
        "deadlines": rt.store.deadlines_in(actor.scope, week),
        "today": local_date(rt.now()).isoformat(),
    }
