"""Administration pages (accounts, units, hubs, bands) and the own-password page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from cloud import auth, models
from cloud.domain.roles import Actor
from cloud.routers.deps import parse, rt_of
from cloud.routers.ui import back_to, page
from cloud.services import admin, devices, oversight
from cloud.services import bands as band_service
from cloud.services.common import RefusedError
from cloud.store import NotFoundError
from cloud.ui_forms import form_data
from cloud.ui_forms_admin import ADMIN_FORMS, UNIT_KINDS

router = APIRouter(include_in_schema=False)


def _units(request: Request) -> list[dict[str, Any]]:
    return rt_of(request).store.units()


def _names(request: Request) -> dict[int, str]:
    return {u["id"]: u["name"] for u in _units(request)}


def _secret(request: Request, title: str, subject: str, secret: str, back: str) -> Response:
    """A token or password shown once (only its hash is stored)."""
    response = page(request, "secret.html", title=title, subject=subject, secret=secret, back=back)
    response.headers["cache-control"] = "no-store"
    return response


# Accounts -------------------------------------------------------------------------------------


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, actor: Annotated[Actor, Depends(auth.require("admin.users"))]
) -> Response:
    rt = rt_of(request)
    return page(
        request,
        "admin_users.html",
        users=rt.store.users(),
        units=_units(request),
        unit_names=_names(request),
        forms=ADMIN_FORMS,
        now=rt.now(),
    )


@router.post("/ui/admin/users")
async def create_user(
    request: Request, actor: Annotated[Actor, Depends(auth.require("admin.users"))]
) -> Response:
    body = parse(models.UserCreate, form_data(await request.form()))
    oversight.create_user(rt_of(request), actor, body)
    return back_to("/admin/users")


@router.post("/ui/admin/users/{user_id}/disable")
async def disable_user(
    user_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("admin.users"))]
) -> Response:
    body = parse(models.UserDisable, form_data(await request.form()))
    admin.disable_user(rt_of(request), actor, user_id, body)
    return back_to("/admin/users")


@router.post("/ui/admin/users/{user_id}/enable")
def enable_user(
    user_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("admin.users"))]
) -> Response:
    admin.enable_user(rt_of(request), actor, user_id)
    return back_to("/admin/users")


@router.post("/ui/admin/users/{user_id}/password")
def reset_password(
    user_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("admin.users"))]
) -> Response:
    user = admin.reset_password(rt_of(request), actor, user_id, models.PasswordReset(password=None))
    return _secret(
        request,
        "重置密码 / Password reset",
        f"{user['username']} ({user['display_name']})",
        user["temporary_password"],
        "/admin/users",
    )


@router.post("/ui/admin/users/{user_id}/unlock")
def unlock_user(
    user_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("admin.users"))]
) -> Response:
    admin.unlock_user(rt_of(request), actor, user_id)
    return back_to("/admin/users")


# Units ----------------------------------------------------------------------------------------


def unit_tree(units: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Units in tree order with their depth (roots first, children under their parent)."""
    children: dict[int | None, list[dict[str, Any]]] = {}
    for u in units:
        children.setdefault(u["parent_id"], []).append(u)
    out: list[tuple[dict[str, Any], int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for u in children.get(parent, []):
            out.append((u, depth))
            walk(u["id"], depth + 1)

    walk(None, 0)
    return out


@router.get("/admin/units", response_class=HTMLResponse)
def units_page(
    request: Request, actor: Annotated[Actor, Depends(auth.require("admin.units"))]
) -> Response:
    units = _units(request)
    return page(
        request,
        "admin_units.html",
        tree=unit_tree(units),
        units=units,
        kinds=UNIT_KINDS,
        forms=ADMIN_FORMS,
    )


@router.post("/ui/admin/units")
async def create_unit(
    request: Request, actor: Annotated[Actor, Depends(auth.require("admin.units"))]
) -> Response:
    body = parse(models.UnitCreate, form_data(await request.form()))
    oversight.create_unit(rt_of(request), actor, body)
    return back_to("/admin/units")


# Hubs -----------------------------------------------------------------------------------------


@router.get("/admin/hubs", response_class=HTMLResponse)
def hubs_page(
    request: Request, actor: Annotated[Actor, Depends(auth.require("admin.hubs"))]
) -> Response:
    return page(
        request,
        "admin_hubs.html",
        hubs=rt_of(request).store.hubs(),
        units=_units(request),
        unit_names=_names(request),
        forms=ADMIN_FORMS,
    )


@router.post("/ui/admin/hubs")
async def create_hub(
    request: Request, actor: Annotated[Actor, Depends(auth.require("admin.hubs"))]
) -> Response:
    body = parse(models.HubCreate, form_data(await request.form()))
    hub = devices.create_hub(rt_of(request), actor, body)
    return _secret(
        request,
        "登记基站 / Hub registered",
        f"#{hub['hub_id']} {hub['name']}",
        hub["api_token"],
        "/admin/hubs",
    )


@router.post("/ui/admin/hubs/{hub_id}")
async def update_hub(
    hub_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("admin.hubs"))]
) -> Response:
    body = parse(models.HubUpdate, form_data(await request.form()))
    admin.update_hub(rt_of(request), actor, hub_id, body)
    return back_to("/admin/hubs")


@router.post("/ui/admin/hubs/{hub_id}/token")
def rotate_token(
    hub_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("admin.hubs"))]
) -> Response:
    hub = admin.rotate_hub_token(rt_of(request), actor, hub_id)
    return _secret(
        request,
        "更换接口令牌 / New API token",
        f"#{hub['hub_id']} {hub['name']}",
        hub["api_token"],
        "/admin/hubs",
    )


# Bands ----------------------------------------------------------------------------------------


@router.get("/admin/bands", response_class=HTMLResponse)
def bands_page(
    request: Request, actor: Annotated[Actor, Depends(auth.require("band.manage"))]
) -> Response:
    rt = rt_of(request)
    rows = rt.store.bands_overview()
    if actor.role != "admin":  # the county head sees wearers of the county only
        for r in rows:
            if r["person_id"] and r["office_id"] not in actor.scope:
                r["person_name"] = "—"
    open_rekeys = rt.store.bands_with_open_rekeys(rt.now())
    return page(request, "admin_bands.html", bands=rows, forms=ADMIN_FORMS, open_rekeys=open_rekeys)


@router.get("/admin/bands/{band_id}", response_class=HTMLResponse)
def band_page(
    band_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("band.manage"))],
    verify: bool = False,
) -> Response:
    rt = rt_of(request)
    keys = band_service.key_history(rt, band_id)
    check = band_service.verify_frames(rt, band_id) if verify else None
    return page(request, "admin_band.html", band_id=band_id, keys=keys, check=check)


@router.post("/ui/admin/bands/{band_id}/assign")
async def assign_band(
    band_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("band.manage"))]
) -> Response:
    rt = rt_of(request)
    data = form_data(await request.form())
    # Handed over at the desk: the wearer is named by the ID card in front of the staff.
    try:
        id_number = models.check_id_number(str(data.pop("id_number", "")))
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    person = rt.store.person_by_id_number(id_number)
    if person is None:
        raise NotFoundError(f"person with ID number {id_number}")
    body = parse(models.BandAssign, {**data, "person_id": person["id"]})
    devices.assign_band(rt, actor, band_id, body)
    return back_to("/admin/bands")


@router.post("/ui/admin/bands/{band_id}/unassign")
def unassign_band(
    band_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("band.manage"))]
) -> Response:
    body = models.BandAssign.model_validate({"person_id": None})
    devices.assign_band(rt_of(request), actor, band_id, body)
    return back_to("/admin/bands")


@router.post("/ui/admin/bands/{band_id}/retire")
async def retire_band(
    band_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("band.manage"))]
) -> Response:
    body = parse(models.BandRetire, form_data(await request.form()))
    band_service.retire(rt_of(request), actor, band_id, body.reason)
    return back_to("/admin/bands")


@router.post("/ui/admin/bands/{band_id}/rekey")
async def authorize_rekey(
    band_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("band.manage"))]
) -> Response:
    body = parse(models.RekeyAuthorize, form_data(await request.form()))
    band_service.authorize_rekey(rt_of(request), actor, band_id, body)
    return back_to("/admin/bands")


# Own account ----------------------------------------------------------------------------------


@router.get("/account/password", response_class=HTMLResponse)
def password_page(
    request: Request, actor: Annotated[Actor, Depends(auth.require("session"))]
) -> Response:
    done = bool(request.query_params.get("done"))
    return page(request, "account_password.html", forms=ADMIN_FORMS, done=done)


@router.post("/account/password")
async def change_password(
    request: Request, actor: Annotated[Actor, Depends(auth.require("session"))]
) -> Response:
    body = parse(models.PasswordChange, form_data(await request.form()))
    oversight.change_password(rt_of(request), actor, body)
    return back_to("/account/password?done=1")
