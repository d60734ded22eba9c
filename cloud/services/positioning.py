"""Art. 29 electronic positioning orders and the presence data they alone permit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cloud import models
from cloud.domain import positioning as rules
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.common import ForbiddenError, RefusedError, check_case_scope, local_date
from protocol import downlink, topics
from protocol.schema import CONFIG_PRESENCE, CONFIG_SOS_LOCATION

OPEN_FOR_ORDERS = ("received", "announced", "supervising")


def request(rt: Runtime, actor: Actor, case_id: int, body: models.OrderCreate) -> dict[str, Any]:
    """File an order (or a renewal) for the bureau head's approval."""
    s, now = rt.store, rt.now()
    with s.tx():
        case = s.case(case_id)
        check_case_scope(actor, case)
        if case["stage"] not in OPEN_FOR_ORDERS:
            raise RefusedError(f"no positioning order in stage {case['stage']}")
        try:
            rules.check_request(body.ground, body.reason, body.starts_on, body.ends_on)
            if body.renewal_of is not None:
                prev = s.get("positioning_orders", body.renewal_of)
                if prev["case_id"] != case_id:
                    raise rules.OrderError("the renewed order belongs to another case")
                rules.check_renewal(prev, body.assessment, body.starts_on)
        except rules.OrderError as exc:
            raise RefusedError(str(exc)) from None
        if body.ends_on <= local_date(now):
            raise RefusedError("the requested period is already over")
        oid = s.insert(
            "positioning_orders",
            {
                **body.model_dump(mode="json"),
                "case_id": case_id,
                "requested_by": actor.id,
                "requested_at": now,
            },
        )
        s.audit(
            actor,
            "positioning.request",
            "positioning_order",
            oid,
            {"case_id": case_id, "ground": body.ground, "renewal_of": body.renewal_of},
            at=now,
        )
    return s.get("positioning_orders", oid)


def decide(rt: Runtime, actor: Actor, order_id: int, body: models.OrderDecision) -> dict[str, Any]:
    """The county bureau head approves or refuses; approval tells the hubs and the band."""
    s, now = rt.store, rt.now()
    with s.tx():
        order = s.get("positioning_orders", order_id)
        case = s.case(order["case_id"])
        check_case_scope(actor, case)
        if body.approve:
            try:
                rules.check_approval(order, actor.role, local_date(now))
            except rules.OrderError as exc:
                if actor.role != rules.APPROVER_ROLE:
                    raise ForbiddenError(str(exc)) from None
                raise RefusedError(str(exc)) from None
        elif order["status"] != "requested":
            raise RefusedError(f"order is {order['status']}")
        status = "approved" if body.approve else "refused"
        s.update(
            "positioning_orders",
            "id",
            order_id,
            {"status": status, "approved_by": actor.id, "approved_at": now},
        )
        if body.approve and order["renewal_of"]:
            # The renewal takes over; the old order ends where the new one starts.
            s.update(
                "positioning_orders",
                "id",
                order["renewal_of"],
                {"status": "ended", "ended_at": now, "ended_by": actor.id, "end_reason": "renewed"},
            )
        s.audit(
            actor,
            f"positioning.{status}",
            "positioning_order",
            order_id,
            {"note": body.note},
            at=now,
        )
    if body.approve:
        push_permissions(rt, case["person_id"])
    return s.get("positioning_orders", order_id)


def end(rt: Runtime, actor: Actor, order_id: int, body: models.OrderEnd) -> dict[str, Any]:
    """End an order early (no longer needed: Art. 29 要求及时解除)."""
    s, now = rt.store, rt.now()
    with s.tx():
        order = s.get("positioning_orders", order_id)
        case = s.case(order["case_id"])
        check_case_scope(actor, case)
        if order["status"] not in ("approved", "requested"):
            raise RefusedError(f"order is {order['status']}")
        s.update(
            "positioning_orders",
            "id",
            order_id,
            {"status": "ended", "ended_by": actor.id, "ended_at": now, "end_reason": body.reason},
        )
        s.audit(
            actor, "positioning.end", "positioning_order", order_id, {"reason": body.reason}, at=now
        )
    push_permissions(rt, case["person_id"])
    return s.get("positioning_orders", order_id)


def expire(rt: Runtime, actor: Actor, now: int) -> int:
    """The job: approved orders whose period is over become expired; hubs are told."""
    s = rt.store
    moment = dt.datetime.fromtimestamp(now, rules.CN)
    persons = set()
    with s.tx():
        for order in s.orders_to_expire(local_date(now).isoformat()):
            if rules.expired(order, moment):
                s.update(
                    "positioning_orders",
                    "id",
                    order["id"],
                    {"status": "expired", "ended_at": now, "end_reason": "period over"},
                )
                s.audit(actor, "positioning.expire", "positioning_order", order["id"], {}, at=now)
                persons.add(s.case(order["case_id"])["person_id"])
    for person_id in persons:
        push_permissions(rt, person_id)
    return len(persons)


def presence_until_for(rt: Runtime, person_id: int) -> int:
    """UTC seconds until which collection is allowed for this person now (0 = not allowed)."""
    moment = dt.datetime.fromtimestamp(rt.now(), rules.CN)
    return rules.presence_until(rt.store.orders_of_person(person_id), moment)


def push_permissions(rt: Runtime, person_id: int) -> None:
    """Republish every hub's config and send the person's band a config downlink."""
    rt.publish_configs()
    band = rt.store.band_of_person(person_id)
    if band is None:
        return
    until = presence_until_for(rt, person_id)
    bits = (CONFIG_PRESENCE if until else 0) | (CONFIG_SOS_LOCATION if band["sos_location"] else 0)
    send_downlink(
        rt,
        int(band["band_id"]),
        "config",
        {
            "activity_s": rt.settings.band_activity_s,
            "heartbeat_s": rt.settings.band_heartbeat_s,
            "config": bits,
            "presence_until": until,
        },
    )


def send_downlink(rt: Runtime, band_id: int, kind: str, fields: dict[str, Any]) -> bytes:
    """Authenticate a downlink with the band's key and publish it to its hubs."""
    s, now = rt.store, rt.now()
    with s.tx():
        counter, key = s.next_downlink_counter(band_id)
        raw = downlink.encode(key, kind, band_id, counter, now, fields)
        s.insert(
            "downlinks",
            {
                "band_id": band_id,
                "counter": counter,
                "type": kind,
                "raw": raw,
                "created_at": now,
                "published_at": now,
            },
        )
        hubs = s.downlink_hubs(band_id, now)
    for hub_id in hubs:
        rt.publish(topics.down(hub_id, band_id), raw)
    return bytes(raw)


def presence(rt: Runtime, actor: Actor, case_id: int, hours: int = 24) -> dict[str, Any]:
    """Presence of the person's band, shown only while an order is in force; the read is audited."""
    s, now = rt.store, rt.now()
    case = s.case(case_id)
    check_case_scope(actor, case)
    until = presence_until_for(rt, case["person_id"])
    band = s.band_of_person(case["person_id"])
    with s.tx():
        s.audit(actor, "read.location", "case", case_id, {"in_force": bool(until)}, at=now)
    if not until or band is None:
        return {"in_force": False, "until": 0, "seen": []}
    rows = s.presence_of(int(band["band_id"]), now - hours * 3600)
    return {"in_force": True, "until": until, "seen": rows}
