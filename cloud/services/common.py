"""Helpers shared by the services: region checks, dates, the errors routes turn into HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cloud.domain.positioning import CN
from cloud.domain.roles import Actor
from cloud.store import NotFoundError


class RefusedError(ValueError):
    """A request the rules refuse (answered 422 with this message)."""


class ForbiddenError(PermissionError):
    """The actor's role or region does not allow this act on this object (403)."""


def local_date(now: int) -> dt.date:
    """Today's date in China Standard Time."""
    return dt.datetime.fromtimestamp(now, CN).date()


def check_case_scope(actor: Actor, case: Mapping[str, Any]) -> None:
    """A case outside the actor's region is reported as absent (no existence leak)."""
    if actor.role == "person":
        if case["person_id"] != actor.person_id:
            raise NotFoundError(f"case {case['id']}")
        return
    if case["office_id"] not in actor.scope and case["village_id"] not in actor.scope:
        raise NotFoundError(f"case {case['id']}")


def check_unit_scope(actor: Actor, unit_id: int | None) -> None:
    """A unit outside the actor's region."""
    if unit_id is None or unit_id not in actor.scope:
        raise NotFoundError(f"unit {unit_id}")
