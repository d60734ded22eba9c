"""Supervisor web UI: server-rendered pages (Jinja2), zh-CN by default, English with ?lang=en."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from cloud import auth, i18n, models
from cloud.domain import positioning as pos_rules
from cloud.domain import sanctions as sanction_rules
from cloud.domain import stages
from cloud.domain.roles import ROLES, Actor, allowed
from cloud.routers.deps import parse, rt_of
from cloud.routers.oversight import dashboard_data
from cloud.services import alerts as alert_service
from cloud.services import assessments as assessment_service
from cloud.services import cases as case_service
from cloud.services import positioning, supervision
from cloud.services.common import check_case_scope, local_date
from cloud.ui_forms import ACT_FORMS, FORMS, form_data

router = APIRouter(include_in_schema=False)
_templates: dict[str, Jinja2Templates] = {}


def templates() -> Jinja2Templates:
    """The template engine (built on first use, not at import)."""
    if "t" not in _templates:
        t = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
        t.env.globals.update(label=i18n.label, allowed=allowed, ROLES=ROLES, late_days=_late_days)
        t.env.filters["ts"] = lambda v: (
            dt.datetime.fromtimestamp(int(v), pos_rules.CN).strftime("%Y-%m-%d %H:%M") if v else ""
        )
        t.env.filters["fromjson"] = lambda v: json.loads(v) if isinstance(v, str) else v
        _templates["t"] = t
    return _templates["t"]


def _late_days(due_on: str, met_on: str) -> int:
    """Days a duty was (or is being) met after its due date; 0 when on time."""
    return max(0, (dt.date.fromisoformat(met_on) - dt.date.fromisoformat(due_on)).days)


def lang_of(request: Request) -> str:
    """zh unless ?lang=en or the lang cookie says otherwise."""
    lang = request.query_params.get("lang") or request.cookies.get("lang")
    return lang if lang in ("zh", "en") else rt_of(request).settings.default_lang


def page(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
    """Render a page with the common context."""
    lang = lang_of(request)
    actor = getattr(request.state, "actor", None)
    context = {
        "lang": lang,
        "t": lambda k: i18n.t(k, lang),
        "actor": actor,
        "county": rt_of(request).settings.county_name,
        **ctx,
    }
    response = templates().TemplateResponse(request, name, context, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie("lang", lang, samesite="lax")
    return response


def error_page(request: Request, status: int, message: str) -> Response:
    """An error as a page with a way back."""
    return page(
        request,
        "error.html",
        status=status,
        message=message,
        back=request.headers.get("referer", "/"),
    )


def back_to(url: str) -> RedirectResponse:
    """Post/redirect/get."""
    return RedirectResponse(url, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, _: Annotated[None, Depends(auth.public)]) -> Response:
    return page(request, "login.html", next=request.query_params.get("next", "/"), error=None)


@router.post("/login")
async def login_submit(request: Request, _: Annotated[None, Depends(auth.public)]) -> Response:
    rt = rt_of(request)
    form = await request.form()
    nxt = str(form.get("next") or "/")
    try:
        token, user = auth.login(
            rt.store,
            str(form.get("username", "")),
            str(form.get("password", "")),
            rt.now(),
            rt.settings,
        )
    except auth.AuthError as exc:
        return page(request, "login.html", status=401, next=nxt, error=str(exc))
    response = back_to(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")
    if user["must_change_password"]:
        response = back_to("/account/password")
    response.set_cookie(
        auth.COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=rt.settings.cookie_secure,
        max_age=rt.settings.session_ttl_s,
    )
    return response


@router.post("/logout")
def logout(request: Request, actor: Annotated[Actor, Depends(auth.require("session"))]) -> Response:
    rt = rt_of(request)
    with rt.store.tx():
        rt.store.session_delete(auth.token_hash(request.cookies.get(auth.COOKIE, "")))
        rt.store.audit(actor, "logout", "user", actor.id, at=rt.now())
    response = back_to("/login")
    response.delete_cookie(auth.COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request, actor: Annotated[Actor, Depends(auth.require("dashboard"))]
) -> Response:
    return page(request, "dashboard.html", d=dashboard_data(request, actor))


@router.get("/cases", response_class=HTMLResponse)
def cases(
    request: Request, actor: Annotated[Actor, Depends(auth.require("case.read"))]
) -> Response:
    rt = rt_of(request)
    offices = [
        u for u in rt.store.units() if u["id"] in actor.scope and u["kind"] in ("office", "village")
    ]
    return page(
        request,
        "cases.html",
        cases=rt.store.cases_in(actor.scope),
        units=offices,
        form=FORMS["case"],
    )


@router.post("/ui/cases")
async def new_case(
    request: Request, actor: Annotated[Actor, Depends(auth.require("case.write"))]
) -> Response:
    body = parse(models.CaseCreate, form_data(await request.form()))
    return back_to(f"/cases/{case_service.open_case(rt_of(request), actor, body)}")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("case.read"))]
) -> Response:
    from cloud.routers.cases import case_detail

    rt = rt_of(request)
    case = case_detail(request, actor, case_id)
    band: dict[str, Any] | None = None
    presence: dict[str, Any] | None = None
    if allowed(actor.role, "location.read"):
        b = rt.store.band_of_person(case["person_id"])
        presence = positioning.presence(rt, actor, case_id)  # audited read
        if b is not None:
            with rt.store.tx():
                rt.store.audit(
                    actor, "read.health", "case", case_id, {"band": b["band_id"]}, at=rt.now()
                )
            band = {
                "info": b,
                "frames": rt.store.band_frames(int(b["band_id"]), 50),
                "reports": rt.store.reports_of(int(b["band_id"]), 20),
            }
    return page(
        request,
        "case.html",
        c=case,
        band=band,
        presence=presence,
        act_forms=ACT_FORMS,
        forms=FORMS,
        suggestions=supervision.suggestions(rt, actor, case_id),
        grounds=pos_rules.GROUNDS,
        today=local_date(rt.now()).isoformat(),
        now=rt.now(),
        county_villages=_county_villages(rt, case["office_id"]),
        next_checkin=case_service.next_checkin(rt, case),
        unit_names={u["id"]: u["name"] for u in rt.store.units()},
    )


def _county_villages(rt: Any, office_id: int) -> list[dict[str, Any]]:
    """Villages of the case's county (a move within the county may cross 司法所 lines)."""
    county = rt.store.county_of(office_id)
    inside = rt.store.subtree(county) if county else frozenset()
    return [u for u in rt.store.units() if u["kind"] == "village" and u["id"] in inside]


@router.post("/ui/cases/{case_id}/act/{action}")
async def case_act(
    case_id: int,
    action: str,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("case.write"))],
) -> Response:
    model = case_service.ACT_MODELS.get(action)
    if model is None:
        return error_page(request, 422, f"unknown action {action}")
    case_service.act(
        rt_of(request), actor, case_id, action, parse(model, form_data(await request.form()))
    )
    return back_to(f"/cases/{case_id}")


@router.post("/ui/cases/{case_id}/checkin")
async def case_checkin(
    case_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("checkin.write"))]
) -> Response:
    case_service.checkin(
        rt_of(request), actor, case_id, parse(models.CheckinCreate, form_data(await request.form()))
    )
    return back_to(f"/cases/{case_id}")


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, actor: Annotated[Actor, Depends(auth.require("alert.read"))]
) -> Response:
    rows = [alert_service.public(r) for r in rt_of(request).store.alerts_in(actor.scope)]
    return page(request, "alerts.html", alerts=rows)


@router.post("/ui/alerts/{alert_id}/ack")
def alert_ack(
    alert_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("alert.act"))]
) -> Response:
    alert_service.acknowledge(rt_of(request), actor, alert_id)
    return back_to("/alerts")


@router.post("/ui/alerts/{alert_id}/resolve")
async def alert_resolve(
    alert_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("alert.act"))]
) -> Response:
    alert_service.resolve(
        rt_of(request), actor, alert_id, parse(models.AlertResolve, form_data(await request.form()))
    )
    return back_to("/alerts")


@router.get("/assessments", response_class=HTMLResponse)
def assessments_page(
    request: Request, actor: Annotated[Actor, Depends(auth.require("assessment.read"))]
) -> Response:
    rt = rt_of(request)
    rows = [
        assessment_service.get(rt, actor, r["id"]) for r in rt.store.assessments_in(actor.scope)
    ]
    units = [u for u in rt.store.units() if u["id"] in actor.scope]
    return page(request, "assessments.html", rows=rows, forms=FORMS, units=units)


@router.post("/ui/assessments")
async def new_assessment(
    request: Request, actor: Annotated[Actor, Depends(auth.require("assessment.write"))]
) -> Response:
    assessment_service.create(
        rt_of(request), actor, parse(models.AssessmentCreate, form_data(await request.form()))
    )
    return back_to("/assessments")


@router.post("/ui/assessments/{assessment_id}/visit")
async def assessment_visit(
    assessment_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("assessment.write"))],
) -> Response:
    assessment_service.visit(
        rt_of(request),
        actor,
        assessment_id,
        parse(models.VisitCreate, form_data(await request.form())),
    )
    return back_to("/assessments")


@router.post("/ui/assessments/{assessment_id}/opinion")
async def assessment_opinion(
    assessment_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("assessment.write"))],
) -> Response:
    assessment_service.return_opinion(
        rt_of(request),
        actor,
        assessment_id,
        parse(models.OpinionReturn, form_data(await request.form())),
    )
    return back_to("/assessments")


__all__ = ["check_case_scope", "sanction_rules", "stages"]
