"""Login, logout, who am I, password change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from cloud import auth, models
from cloud.domain.roles import ROLES, Actor
from cloud.routers.deps import rt_of
from cloud.services import oversight

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login")
def login(
    body: models.Login,
    request: Request,
    response: Response,
    _: Annotated[None, Depends(auth.public)],
) -> dict[str, Any]:
    """Exchange user name (ID number for supervised persons) and password for a session token."""
    rt = rt_of(request)
    try:
        token, user = auth.login(rt.store, body.username, body.password, rt.now(), rt.settings)
    except auth.AuthError as exc:
        raise HTTPException(401, str(exc)) from None
    response.set_cookie(
        auth.COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=rt.settings.cookie_secure,
        max_age=rt.settings.session_ttl_s,
    )
    return {
        "token": token,
        "role": user["role"],
        "role_zh": ROLES[user["role"]],
        "expires_in": rt.settings.session_ttl_s,
        "must_change_password": bool(user["must_change_password"]),
    }


@router.post("/logout")
def logout(
    request: Request, response: Response, actor: Annotated[Actor, Depends(auth.require("session"))]
) -> dict[str, bool]:
    """End this session."""
    rt = rt_of(request)
    token = request.headers.get("authorization", "")[7:].strip() or request.cookies.get(
        auth.COOKIE, ""
    )
    with rt.store.tx():
        rt.store.session_delete(auth.token_hash(token))
        rt.store.audit(actor, "logout", "user", actor.id, at=rt.now())
    response.delete_cookie(auth.COOKIE)
    return {"ok": True}


@router.get("/me")
def me(actor: Annotated[Actor, Depends(auth.require("session"))]) -> dict[str, Any]:
    """The logged-in account."""
    return {
        "id": actor.id,
        "username": actor.name,
        "role": actor.role,
        "role_zh": ROLES.get(actor.role),
        "unit_id": actor.unit_id,
        "person_id": actor.person_id,
    }


@router.post("/password")
def password(
    body: models.PasswordChange,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("session"))],
) -> dict[str, bool]:
    """Change one's own password."""
    oversight.change_password(rt_of(request), actor, body)
    return {"ok": True}
