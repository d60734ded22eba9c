"""The audit log page: the chain verified server-side, signed anchors, and the check of the
chain against the anchors and public key the procuratorate holds (uploaded from its system)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from cloud import auth, models
from cloud.domain import anchors as anchor_rules
from cloud.domain.roles import Actor
from cloud.routers.deps import parse, rt_of
from cloud.routers.ui import back_to, page
from cloud.services import anchors as anchor_service
from cloud.services.common import RefusedError

router = APIRouter(include_in_schema=False)


def _page(request: Request, report: dict[str, Any] | None = None, status: int = 200) -> Response:
    rt = rt_of(request)
    s = rt.store
    ok, bad, n = s.audit_verify()
    rows = s.recent_audit(200)
    recent = s.anchor_rows(newest_first=True, limit=10)
    key = rt.anchor_key()
    return page(
        request,
        "audit.html",
        status=status,
        ok=ok,
        bad=bad,
        n=n,
        rows=rows,
        anchors=recent,
        public_key=key.public.hex(),
        key_id=anchor_rules.key_id(key.public),
        report=report,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, actor: Annotated[Actor, Depends(auth.require("audit.read"))]
) -> Response:
    return _page(request)


@router.post("/ui/audit/anchor")
def issue_anchor(
    request: Request, actor: Annotated[Actor, Depends(auth.require("audit.anchor"))]
) -> Response:
    anchor_service.issue(rt_of(request), actor)
    return back_to("/audit#anchors")


@router.post("/ui/audit/check", response_class=HTMLResponse)
async def check_held(
    request: Request, actor: Annotated[Actor, Depends(auth.require("audit.read"))]
) -> Response:
    form = await request.form()
    upload = form.get("anchors")
    if upload is None or isinstance(upload, str):
        raise RefusedError("choose the anchors file your office keeps / 请选择本院保存的锚点文件")
    try:
        held = json.loads(await upload.read())
    except ValueError as exc:
        raise RefusedError(f"the anchors file is not JSON: {exc}") from None
    # The export file as downloaded, or a bare list of anchors.
    anchors = held.get("anchors") if isinstance(held, dict) else held
    key = str(form.get("public_key", "")).strip()
    body = parse(models.AnchorCheck, {"public_key": key, "anchors": anchors})
    report = anchor_service.check_held(rt_of(request), body.anchors, bytes.fromhex(body.public_key))
    return _page(request, report)
