"""The audit log page: the chain verified server-side (anchors: see services/anchors.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from cloud import auth
from cloud.domain.roles import Actor
from cloud.routers.deps import rt_of
from cloud.routers.ui import page

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, actor: Annotated[Actor, Depends(auth.require("audit.read"))]
) -> Response:
    s = rt_of(request).store
    ok, bad, n = s.audit_verify()
    rows = s.q("SELECT * FROM audit ORDER BY seq DESC LIMIT 200")
    return page(request, "audit.html", ok=ok, bad=bad, n=n, rows=rows)
