"""Administration: units, accounts, hubs, bands; and the hubs' enrolment endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from cloud import auth, models
from cloud.domain.roles import Actor
from cloud.routers.deps import rt_of
from cloud.services import devices, oversight

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
    band_id: int, request: Request, actor: Annotated[Actor, Depends(auth.require("band.manage"))]
) -> dict[str, bool]:
    """Stop trusting a band's key."""
    devices.revoke_band(rt_of(request), actor, band_id)
    return {"ok": True}


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
