"""Administration: units, accounts, hubs, bands; and the hubs' enrolment endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from cloud import auth, models
from cloud.domain.roles import Actor
from cloud.routers.deps import rt_of
from cloud.services import admin, devices, oversight
from cloud.services import bands as band_service

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/units")
def units(
    request: Request, actor: Annotated[Actor, Depends(auth.require("session"))]
) -> list[dict[str, Any]]:
    """Units the caller may see (all of them for the administrator)."""
    rows = rt_of(request).store.units()
    return rows if actor.role == "admin" else [u for u in rows if u["id"] in actor.scope]


@router.post("/units", status_code=201)
def create_unit(
    body: models.UnitCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("admin.units"))],
) -> dict[str, int]:
    """Add a unit to the organisation tree."""
    return {"id": oversight.create_unit(rt_of(request), actor, body)}


@router.get("/users")
def users(
    request: Request, actor: Annotated[Actor, Depends(auth.require("admin.users"))]
) -> list[dict[str, Any]]:
    """Every account (no password hashes)."""
    return rt_of(request).store.users()


@router.post("/users", status_code=201)
def create_user(
    body: models.UserCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("admin.users"))],
) -> dict[str, int]:
    """Add a staff, procuratorate or administrator account."""
    return {"id": oversight.create_user(rt_of(request), actor, body)}


@router.post("/users/{user_id}/disable")
def disable_user(
    user_id: int,
    body: models.UserDisable,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("admin.users"))],
) -> dict[str, Any]:
    """Disable an account (with a reason) and end its sessions."""
    return admin.disable_user(rt_of(request), actor, user_id, body)


@router.post("/users/{user_id}/enable")
def enable_user(
    user_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("admin.users"))]
) -> dict[str, Any]:
    """Enable a disabled account."""
    return admin.enable_user(rt_of(request), actor, user_id)


@router.post("/users/{user_id}/password")
def reset_password(
    user_id: int,
    body: models.PasswordReset,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("admin.users"))],
) -> dict[str, Any]:
    """A temporary password (shown once in the answer), to be changed at the next login."""
    return admin.reset_password(rt_of(request), actor, user_id, body)


@router.post("/users/{user_id}/unlock")
def unlock_user(
    user_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("admin.users"))]
) -> dict[str, Any]:
    """Clear a lockout after failed logins."""
    return admin.unlock_user(rt_of(request), actor, user_id)


@router.get("/hubs")
def hubs(
    request: Request, actor: Annotated[Actor, Depends(auth.require("admin.hubs"))]
) -> list[dict[str, Any]]:
    """Registered hubs with their last status."""
    return rt_of(request).store.hubs()


@router.post("/hubs", status_code=201)
def create_hub(
    body: models.HubCreate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("admin.hubs"))],
) -> dict[str, Any]:
    """Register a hub; the answer carries its API token (shown once)."""
    return devices.create_hub(rt_of(request), actor, body)


@router.put("/hubs/{hub_id}")
def update_hub(
    hub_id: int,
    body: models.HubUpdate,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("admin.hubs"))],
) -> dict[str, Any]:
    """Name, unit and registered position of a hub."""
    return admin.update_hub(rt_of(request), actor, hub_id, body)


@router.post("/hubs/{hub_id}/token")
def rotate_token(
    hub_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("admin.hubs"))]
) -> dict[str, Any]:
    """A new API token for the hub (shown once); the old one stops working."""
    return admin.rotate_hub_token(rt_of(request), actor, hub_id)


@router.get("/bands")
def bands(
    request: Request, actor: Annotated[Actor, Depends(auth.require("band.manage"))]
) -> list[dict[str, Any]]:
    """Enrolled bands and who wears them."""
    rows = rt_of(request).store.bands(active_only=False)
    return [{**r, "public_key": bytes(r["public_key"]).hex()} for r in rows]


@router.post("/bands/{band_id}/assign")
def assign(
    band_id: int,
    body: models.BandAssign,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("band.manage"))],
) -> dict[str, Any]:
    """Give a band to a person (with the SOS-location opt-in) or take it back."""
    return devices.assign_band(rt_of(request), actor, band_id, body)


@router.post("/bands/{band_id}/revoke")
def revoke(
    band_id: int,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("band.manage"))],
    body: Annotated[models.BandRetire | None, Body()] = None,
) -> dict[str, bool]:
    """Retire a band: stop trusting its key (its stored frames stay verifiable)."""
    band_service.retire(rt_of(request), actor, band_id, body.reason if body else "")
    return {"ok": True}


@router.post("/bands/{band_id}/rekey", status_code=201)
def authorize_rekey(
    band_id: int,
    body: models.RekeyAuthorize,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("band.manage"))],
) -> dict[str, Any]:
    """Allow one enrolment of a new key for this band within a day (protocol §6.1)."""
    return band_service.authorize_rekey(rt_of(request), actor, band_id, body)


@router.get("/bands/{band_id}/keys")
def band_keys(
    band_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("band.manage"))]
) -> list[dict[str, Any]]:
    """Every key the band has had (its epochs), with frames signed under each."""
    return band_service.key_history(rt_of(request), band_id)


@router.get("/bands/{band_id}/verify")
def verify_band_frames(
    band_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("band.manage"))]
) -> dict[str, Any]:
    """Check every stored frame of the band against the key of its epoch."""
    return band_service.verify_frames(rt_of(request), band_id)


@router.post("/enrolments", status_code=201)
def start_enrolment(
    body: models.EnrolmentStart,
    request: Request,
    hub: Annotated[dict[str, Any], Depends(auth.require_hub)],
) -> dict[str, Any]:
    """Hub: a challenge for a band (docs/mqtt.md, Enrolment)."""
    return devices.start_enrolment(rt_of(request), hub, body)


@router.post("/enrolments/{enrolment_id}/complete")
def complete_enrolment(
    enrolment_id: int,
    body: models.EnrolmentComplete,
    request: Request,
    hub: Annotated[dict[str, Any], Depends(auth.require_hub)],
) -> dict[str, Any]:
    """Hub: the band's signed enrol frame; the cloud verifies and enrols."""
    return devices.complete_enrolment(rt_of(request), hub, enrolment_id, body)


@router.get("/healthz")
def health(request: Request, _: Annotated[None, Depends(auth.public)]) -> dict[str, Any]:
    """Liveness: database reachable, MQTT connected."""
    rt = rt_of(request)
    rt.store.one("SELECT 1")
    return {"ok": True, "mqtt": bool(rt.mqtt and rt.mqtt.connected.is_set())}
