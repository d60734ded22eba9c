"""Acknowledge, escalate, resolve and suspend alerts; broadcast changes live."""

from __future__ import annotations

import json
from typing import Any

from cloud import models
from cloud.domain import alerts as rules
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.common import RefusedError, check_unit_scope
from cloud.store import NotFoundError


def public(row: dict[str, Any]) -> dict[str, Any]:
    """An alert as the API and the live stream show it."""
    out = dict(row)
    out["detail"] = json.loads(row["detail"]) if isinstance(row["detail"], str) else row["detail"]
    kind = rules.KINDS.get(row["kind"])
    out["label_zh"], out["label_en"] = (kind[1], kind[2]) if kind else (row["kind"], row["kind"])
    out.pop("fold_key", None)
    return out


def broadcast(rt: Runtime, alert_id: int, event: str) -> None:
    """Push an alert's current state to the supervisors whose region holds it."""
    row = public(rt.store.alert(alert_id))
    rt.live.publish({"type": "alert", "event": event, "alert": row}, row["unit_id"])


def _get(rt: Runtime, actor: Actor, alert_id: int) -> dict[str, Any]:
    row = rt.store.alert(alert_id)
    try:
        check_unit_scope(actor, row["unit_id"])
    except NotFoundError:
        raise NotFoundError(f"alert {alert_id}") from None
    return row


def acknowledge(rt: Runtime, actor: Actor, alert_id: int) -> dict[str, Any]:
    """Someone has taken the alert in hand."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = _get(rt, actor, alert_id)
        try:
            rules.check_ack(row)
        except rules.AlertError as exc:
            raise RefusedError(str(exc)) from None
        s.update(
            "alerts",
            "id",
            alert_id,
            {"status": "acknowledged", "acked_by": actor.id, "acked_at": now},
        )
        s.audit(actor, "alert.ack", "alert", alert_id, {}, at=now)
    broadcast(rt, alert_id, "acknowledged")
    return public(s.alert(alert_id))


def resolve(rt: Runtime, actor: Actor, alert_id: int, body: models.AlertResolve) -> dict[str, Any]:
    """Close the alert with a note saying what was done."""
    s, now = rt.store, rt.now()
    with s.tx():
        row = _get(rt, actor, alert_id)
        try:
            rules.check_resolve(row, body.note)
        except rules.AlertError as exc:
            raise RefusedError(str(exc)) from None
        s.update(
            "alerts",
            "id",
            alert_id,
            {"status": "resolved", "resolved_by": actor.id, "resolved_at": now, "note": body.note},
        )
        s.audit(actor, "alert.resolve", "alert", alert_id, {"note": body.note}, at=now)
    broadcast(rt, alert_id, "resolved")
    return public(s.alert(alert_id))


def suspend(rt: Runtime, actor: Actor, body: models.AlertSuspend) -> int:
    """Suspend one alert kind for one person, with a reason and an end."""
    s, now = rt.store, rt.now()
    try:
        rules.check_suspension(body.kind, body.reason, body.hours)
    except rules.AlertError as exc:
        raise RefusedError(str(exc)) from None
    with s.tx():
        person = s.person(body.person_id)
        if person["office_id"] not in actor.scope and person["village_id"] not in actor.scope:
            raise NotFoundError(f"person {body.person_id}")
        sid = s.insert(
            "alert_suspensions",
            {
                "person_id": body.person_id,
                "kind": body.kind,
                "reason": body.reason,
                "by_user": actor.id,
                "from_at": now,
                "until_at": now + body.hours * 3600,
            },
        )
        s.audit(
            actor,
            "alert.suspend",
            "person",
            body.person_id,
            {"kind": body.kind, "reason": body.reason, "hours": body.hours},
            at=now,
        )
    return sid


def escalate_due(rt: Runtime, actor: Actor, now: int) -> list[int]:
    """The job: unacknowledged alerts past their limit escalate to the county head."""
    s = rt.store
    policy = rules.EscalationPolicy(rt.settings.escalate_sos_s, rt.settings.escalate_other_s)
    done = []
    with s.tx():
        for row in s.open_alerts():
            if rules.escalation_due(row, now, policy):
                s.update(
                    "alerts",
                    "id",
                    row["id"],
                    {
                        "status": "escalated",
                        "escalated_at": now,
                        "escalation_level": row["escalation_level"] + 1,
                    },
                )
                s.audit(actor, "alert.escalate", "alert", row["id"], {}, at=now)
                done.append(int(row["id"]))
    for alert_id in done:
        broadcast(rt, alert_id, "escalated")
    return done


def raise_and_broadcast(
    rt: Runtime,
    actor: Actor,
    kind: str,
    subject: str,
    detail: dict[str, Any],
    now: int,
    **where: Any,
) -> int | None:
    """Open (or fold) an alert from a job, then broadcast it."""
    with rt.store.tx():
        got = rt.store.raise_alert(kind, subject, detail, now, **where)
        if got and got[1]:
            rt.store.audit(actor, "alert.raise", "alert", got[0], {"kind": kind}, at=now)
    if got:
        broadcast(rt, got[0], "raised" if got[1] else "folded")
        return got[0]
    return None
