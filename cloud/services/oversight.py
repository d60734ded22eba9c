"""Procuratorate correction notices (law Art. 62) and accounts, units, hubs (administration)."""

from __future__ import annotations

from typing import Any

from cloud import auth, models
from cloud.domain import deadlines as dl
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.cases import add_deadline
from cloud.services.common import RefusedError, check_case_scope, local_date


def file_notice(rt: Runtime, actor: Actor, body: models.NoticeFile) -> dict[str, Any]:
    """A correction notice to the county bureau, which must answer in writing."""
    s, now = rt.store, rt.now()
    county = s.county_of(actor.unit_id) if actor.unit_id else None
    if county is None:
        raise RefusedError("the procuratorate account has no county")
    with s.tx():
        if body.case_id is not None:
            check_case_scope(actor, s.case(body.case_id))
        due = dl.correction_reply_due(
            local_date(now), rt.settings.correction_reply_days, rt.calendar
        )
        nid = s.insert(
            "correction_notices",
            {
                "county_id": county,
                "case_id": body.case_id,
                "filed_by": actor.id,
                "filed_at": now,
                "text": body.text,
                "due_on": due.due.isoformat(),
            },
        )
        add_deadline(rt, due, county, case_id=body.case_id)
        s.audit(actor, "notice.file", "correction_notice", nid, {"case_id": body.case_id}, at=now)
    return s.get("correction_notices", nid)


def answer_notice(
    rt: Runtime, actor: Actor, notice_id: int, body: models.NoticeAnswer
) -> dict[str, Any]:
    """The bureau's written answer: adopted, or why not (Art. 62)."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = s.get("correction_notices", notice_id)
        if row["county_id"] not in actor.scope:
            raise RefusedError("notice belongs to another county")
        if row["responded_at"]:
            raise RefusedError("already answered")
        if not body.adopted and len(body.response) < 10:
            raise RefusedError(
                "not adopting a notice needs the reasons (Art. 62: 没有采纳的应当说明理由)"
            )
        s.update(
            "correction_notices",
            "id",
            notice_id,
            {
                "response": body.response,
                "adopted": int(body.adopted),
                "responded_by": actor.id,
                "responded_at": now,
            },
        )
        s.x(
            "UPDATE deadlines SET done_at = ? WHERE kind = 'correction_reply' AND unit_id = ? AND "
            "done_at IS NULL AND due_on = ?",
            (now, row["county_id"], row["due_on"]),
        )
        s.audit(
            actor,
            "notice.answer",
            "correction_notice",
            notice_id,
            {"adopted": body.adopted},
            at=now,
        )
    return s.get("correction_notices", notice_id)


def create_unit(rt: Runtime, actor: Actor, body: models.UnitCreate) -> int:
    """Add a county, office, village, procuratorate, police station or court."""
    s, now = rt.store, rt.now()
    parents = {
        "county": (None,),
        "office": ("county",),
        "village": ("office",),
        "procuratorate": ("county",),
        "police": ("county", "office"),
        "court": ("county",),
        "other": ("county", "office", "village"),
    }
    with s.tx():
        parent_kind = s.unit(body.parent_id)["kind"] if body.parent_id is not None else None
        if parent_kind not in parents[body.kind]:
            raise RefusedError(
                f"a {body.kind} sits under {' or '.join(str(k) for k in parents[body.kind])}"
            )
        uid = s.insert("units", body.model_dump())
        s.meta_set("units_version", str(int(s.meta_get("units_version", "0")) + 1))
        s.audit(actor, "unit.create", "unit", uid, body.model_dump(), at=now)
    return uid


def create_user(rt: Runtime, actor: Actor, body: models.UserCreate) -> int:
    """A staff, procuratorate or admin account (password hashed with argon2id)."""
    s, now = rt.store, rt.now()
    if body.role != "admin" and body.unit_id is None:
        raise RefusedError("staff accounts belong to a unit")
    try:
        pw = auth.hash_password(body.password)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    want = {
        "village": "village",
        "office": "office",
        "county_head": "county",
        "procuratorate": "procuratorate",
    }
    with s.tx():
        if (
            body.unit_id is not None
            and body.role in want
            and s.unit(body.unit_id)["kind"] != want[body.role]
        ):
            raise RefusedError(f"a {body.role} account belongs to a {want[body.role]} unit")
        if s.user_by_name(body.username):
            raise RefusedError("user name taken")
        uid = s.insert(
            "users",
            {
                "username": body.username,
                "display_name": body.display_name,
                "role": body.role,
                "unit_id": body.unit_id,
                "password_hash": pw,
                "created_at": now,
            },
        )
        s.audit(
            actor, "user.create", "user", uid, {"role": body.role, "unit_id": body.unit_id}, at=now
        )
    return uid


def create_person_account(
    rt: Runtime, actor: Actor, case_id: int, body: models.PersonAccount
) -> int:
    """A login for the supervised person: user name = ID number."""
    s, now = rt.store, rt.now()
    try:
        pw = auth.hash_password(body.password)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    with s.tx():
        case = s.case(case_id)
        check_case_scope(actor, case)
        if s.user_by_name(case["id_number"]):
            raise RefusedError("the person already has an account")
        uid = s.insert(
            "users",
            {
                "username": case["id_number"],
                "display_name": case["person_name"],
                "role": "person",
                "unit_id": case["village_id"],
                "person_id": case["person_id"],
                "password_hash": pw,
                "created_at": now,
            },
        )
        s.audit(actor, "user.create", "user", uid, {"role": "person", "case_id": case_id}, at=now)
    return uid


def change_password(rt: Runtime, actor: Actor, body: models.PasswordChange) -> None:
    """Change one's own password (old one required)."""
    s, now = rt.store, rt.now()
    user = s.get("users", actor.id)
    if not auth.verify_password(user["password_hash"], body.old_password):
        raise RefusedError("old password is wrong / 原密码错误")
    try:
        pw = auth.hash_password(body.new_password)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    with s.tx():
        s.set_password(user["id"], pw)
        s.update("users", "id", user["id"], {"must_change_password": 0})
        s.audit(actor, "user.password", "user", user["id"], {}, at=now)


def ensure_admin(rt: Runtime, username: str, password: str) -> int | None:
    """Create the first administrator if none exists (from the CLI or SQJZ_ADMIN_*)."""
    from cloud.domain.roles import SYSTEM

    if rt.store.count_users("admin"):
        return None
    return create_user(
        rt,
        SYSTEM,
        models.UserCreate(
            username=username, display_name=username, role="admin", password=password
        ),
    )
