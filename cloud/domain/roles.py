"""Roles and the permissions each holds; every route names exactly one permission."""

from __future__ import annotations

from typing import NamedTuple

ROLES = {
    "person": "社区矫正对象",
    "village": "村（居）委会工作人员",
    "office": "司法所工作人员",
    "county_head": "县级司法局负责人",
    "procuratorate": "人民检察院",
    "admin": "系统管理员",
}
STAFF_ROLES = ("village", "office", "county_head")

_READ = {"case.read", "alert.read", "dashboard", "assessment.read"}
PERMISSIONS: dict[str, frozenset[str]] = {
    "person": frozenset({"me", "leave.request"}),
    "village": frozenset(_READ | {"checkin.write", "alert.act"}),
    "office": frozenset(
        _READ
        | {
            "case.write",
            "assessment.write",
            "checkin.write",
            "leave.request",
            "leave.decide",
            "sanction.propose",
            "sanction.decide",
            "positioning.request",
            "positioning.end",
            "location.read",
            "alert.act",
            "alert.suspend",
        }
    ),
    "county_head": frozenset(
        _READ
        | {
            "case.write",
            "assessment.write",
            "checkin.write",
            "leave.request",
            "leave.decide",
            "sanction.propose",
            "sanction.decide",
            "positioning.request",
            "positioning.approve",
            "positioning.end",
            "location.read",
            "alert.act",
            "alert.suspend",
            "audit.read",
            "notice.read",
            "notice.answer",
            "band.manage",
            "residence.decide",
            "audit.anchor",
        }
    ),
    # Read-only oversight of its region (law Art. 8, 62), plus its correction notices.
    "procuratorate": frozenset(
        _READ | {"location.read", "audit.read", "audit.anchor", "notice.read", "notice.file"}
    ),
    # Administers accounts, units and hubs; sees no case data (least privilege).
    "admin": frozenset(
        {"admin.users", "admin.units", "admin.hubs", "audit.read", "audit.anchor", "band.manage"}
    ),
}
ALL_PERMISSIONS = frozenset().union(*PERMISSIONS.values()) | {"hub.enrol", "public", "session"}


def allowed(role: str, permission: str) -> bool:
    """True if the role holds the permission ('public' and 'session' are open to every login)."""
    if permission in ("public", "session"):
        return True
    return permission in PERMISSIONS.get(role, frozenset())


class Actor(NamedTuple):
    """Who acts: a user (or the system), with the unit ids their region covers."""

    id: int | None
    name: str
    role: str
    unit_id: int | None = None
    person_id: int | None = None
    scope: frozenset[int] = frozenset()
    must_change_password: bool = False  # after an administrator's reset: only 'session' routes


SYSTEM = Actor(None, "system", "system")
