"""Administration acts on accounts and hubs: disable, reset password, unlock, move, new token."""

from __future__ import annotations

from typing import Any

from cloud import auth, models
from cloud.domain import accounts
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.common import RefusedError


def _user(rt: Runtime, user_id: int) -> dict[str, Any]:
    user = rt.store.get("users", user_id)
    user.pop("password_hash", None)
    return user


def disable_user(
    rt: Runtime, actor: Actor, user_id: int, body: models.UserDisable
) -> dict[str, Any]:
    """Disable an account and end its sessions (the account and its history stay)."""
    s, now = rt.store, rt.now()
    with s.tx():
        user = s.get("users", user_id)
        try:
            accounts.check_disable(actor.id, user, s.count_enabled_admins())
        except accounts.AccountError as exc:
            raise RefusedError(str(exc)) from None
        s.update("users", "id", user_id, {"disabled": 1, "disabled_reason": body.reason})
        ended = s.end_sessions(user_id)
        s.audit(
            actor,
            "user.disable",
            "user",
            user_id,
            {"reason": body.reason, "sessions": ended},
            at=now,
        )
    return _user(rt, user_id)


def enable_user(rt: Runtime, actor: Actor, user_id: int) -> dict[str, Any]:
    """Enable a disabled account again."""
    s, now = rt.store, rt.now()
    with s.tx():
        user = s.get("users", user_id)
        if not user["disabled"]:
            raise RefusedError("the account is not disabled / 账号未停用")
        s.update("users", "id", user_id, {"disabled": 0, "disabled_reason": None})
        s.audit(actor, "user.enable", "user", user_id, {}, at=now)
    return _user(rt, user_id)


def reset_password(
    rt: Runtime, actor: Actor, user_id: int, body: models.PasswordReset
) -> dict[str, Any]:
    """Set a temporary password (shown once), end sessions; the user changes it at next login."""
    s, now = rt.store, rt.now()
    password = body.password or accounts.temporary_password()
    try:
        pw = auth.hash_password(password)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    with s.tx():
        s.get("users", user_id)
        s.set_password(user_id, pw)
        s.update("users", "id", user_id, {"must_change_password": 1})
        ended = s.end_sessions(user_id)
        s.audit(actor, "user.reset_password", "user", user_id, {"sessions": ended}, at=now)
    return {**_user(rt, user_id), "temporary_password": password}


def unlock_user(rt: Runtime, actor: Actor, user_id: int) -> dict[str, Any]:
    """Clear a lockout after failed logins."""
    s, now = rt.store, rt.now()
    with s.tx():
        user = s.get("users", user_id)
        s.record_login_failure(user_id, 0, 0)
        s.audit(
            actor,
            "user.unlock",
            "user",
            user_id,
            {"was_locked": user["locked_until"] > now, "failures": user["failed_logins"]},
            at=now,
        )
    return _user(rt, user_id)


def update_hub(rt: Runtime, actor: Actor, hub_id: int, body: models.HubUpdate) -> dict[str, Any]:
    """Rename or move a hub, or correct its registered position (used to locate an SOS)."""
    s, now = rt.store, rt.now()
    with s.tx():
        before = s.hub(hub_id)
        s.unit(body.unit_id)
        s.update("hubs", "hub_id", hub_id, body.model_dump())
        changed = {k: v for k, v in body.model_dump().items() if before.get(k) != v}
        s.audit(actor, "hub.update", "hub", hub_id, changed, at=now)
    rt.publish_configs()  # the hub's name is in its config
    return _hub(rt, hub_id)


def rotate_hub_token(rt: Runtime, actor: Actor, hub_id: int) -> dict[str, Any]:
    """A new API token for a hub (shown once); the old one stops working at once."""
    s, now = rt.store, rt.now()
    token = auth.new_token()
    with s.tx():
        s.hub(hub_id)
        s.update("hubs", "hub_id", hub_id, {"token_hash": auth.token_hash(token)})
        s.audit(actor, "hub.rotate_token", "hub", hub_id, {}, at=now)
    return {**_hub(rt, hub_id), "api_token": token}


def _hub(rt: Runtime, hub_id: int) -> dict[str, Any]:
    hub = rt.store.hub(hub_id)
    hub.pop("token_hash", None)
    return hub
