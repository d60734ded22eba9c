"""Passwords (argon2), sessions that expire, lockout, and the permission dependency of routes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request

from cloud.domain.roles import Actor, allowed

COOKIE = "sqjz_session"
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password")  # verify against it for unknown users (same timing)


class AuthError(Exception):
    """Login refused; `reason` is a stable code, the message is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def hash_password(password: str) -> str:
    """An argon2id hash; refuses passwords too short to be one."""
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """At least 10 characters and not all of one kind."""
    if len(password) < 10:
        raise ValueError("password must have at least 10 characters / 密码至少 10 位")
    kinds = sum(
        any(f(c) for c in password) for f in (str.isdigit, str.isalpha, lambda c: not c.isalnum())
    )
    if kinds < 2:
        raise ValueError("password must mix letters, digits or symbols / 密码须包含至少两类字符")


def verify_password(stored: str, password: str) -> bool:
    """True if the password matches the stored hash."""
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    """Sessions and hub tokens are stored only as SHA-256 hashes."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random bearer token."""
    return secrets.token_urlsafe(32)


def login(
    store: Any, username: str, password: str, now: int, settings: Any
) -> tuple[str, dict[str, Any]]:
    """Check the password with lockout; return (session token, user row) or raise AuthError."""
    user = store.user_by_name(username)
    if user is None:
        verify_password(_DUMMY, password)
        raise AuthError("bad_credentials", "用户名或密码错误 / wrong user name or password")
    if user["disabled"]:
        raise AuthError("disabled", "账号已停用 / account disabled")
    if user["locked_until"] > now:
        raise AuthError("locked", "账号已锁定，请稍后再试 / account locked, try again later")
    actor = Actor(user["id"], user["username"], user["role"])
    if not verify_password(user["password_hash"], password):
        # Committed on its own: the refusal must not roll back the count.
        with store.tx():
            failures = store.get("users", user["id"])["failed_logins"] + 1
            locked = now + settings.lockout_s if failures >= settings.lockout_failures else 0
            store.record_login_failure(user["id"], 0 if locked else failures, locked)
            store.audit(actor, "login_failed", "user", user["id"], {"locked": bool(locked)}, at=now)
        raise AuthError("bad_credentials", "用户名或密码错误 / wrong user name or password")
    token = new_token()
    with store.tx():
        store.record_login_failure(user["id"], 0, 0)
        store.insert(
            "sessions",
            {
                "token_hash": token_hash(token),
                "user_id": user["id"],
                "created_at": now,
                "expires_at": now + settings.session_ttl_s,
                "last_seen_at": now,
            },
        )
        store.audit(actor, "login", "user", user["id"], at=now)
    return token, user


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def current_actor(request: Request) -> Actor:
    """The logged-in actor, or 401."""
    rt = request.app.state.rt
    token = _token_from(request)
    if not token:
        raise HTTPException(401, "请先登录 / login required")
    now = int(rt.clock())
    th = token_hash(token)
    s = rt.store.session_get(th)
    if s is None or s["disabled"]:
        raise HTTPException(401, "会话无效 / session invalid")
    if s["expires_at"] < now or s["last_seen_at"] + rt.settings.session_idle_s < now:
        with rt.store.tx():
            rt.store.session_delete(th)
        raise HTTPException(401, "会话已过期，请重新登录 / session expired")
    if now - s["last_seen_at"] > 30:
        rt.store.session_touch(th, now)
    return Actor(
        s["user_id"],
        s["username"],
        s["role"],
        s["unit_id"],
        s["person_id"],
        rt.scope(s["role"], s["unit_id"]),
        bool(s["must_change_password"]),
    )


class PasswordChangeRequired(HTTPException):
    """The account's password was reset by an administrator: change it before anything else."""

    def __init__(self) -> None:
        super().__init__(403, "请先修改临时密码 / change the temporary password first")


def require(permission: str) -> Callable[[Request], Actor]:
    """A route dependency: the actor if their role holds `permission`, else 403."""

    def dependency(request: Request) -> Actor:
        actor = current_actor(request)
        request.state.actor = actor
        if actor.must_change_password and permission != "session":
            raise PasswordChangeRequired()
        if not allowed(actor.role, permission):
            raise HTTPException(403, f"无权限 / your role ({actor.role}) may not {permission}")
        return actor

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def require_hub(request: Request) -> dict[str, Any]:
    """A route dependency for hubs: their API token, else 401."""
    token = _token_from(request)
    if not token:
        raise HTTPException(401, "hub API token required")
    hub = request.app.state.rt.store.hub_by_token(token_hash(token))
    if hub is None:
        raise HTTPException(401, "unknown hub API token")
    return dict(hub)


require_hub.permission = "hub.enrol"  # type: ignore[attr-defined]


def public(request: Request) -> None:
    """Marks a route that needs no login (login page, health)."""


public.permission = "public"  # type: ignore[attr-defined]
