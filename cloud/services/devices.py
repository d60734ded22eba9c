"""Hubs, band enrolment and assignment, and the hubs' status, event and presence messages."""

from __future__ import annotations

import json
import logging
from typing import Any

from cloud import auth, enrol, models
from cloud.domain import wearer
from cloud.domain.roles import SYSTEM, Actor
from cloud.ingest import seq_of
from cloud.runtime import Runtime
from cloud.services import bands, hub_health, positioning
from cloud.services.alerts import raise_and_broadcast
from cloud.services.common import RefusedError, local_date

log = logging.getLogger("sqjz.cloud.devices")
ENROL_TTL_S = 600


def create_hub(rt: Runtime, actor: Actor, body: models.HubCreate) -> dict[str, Any]:
    """Register a hub; its API token is shown once and stored only hashed."""
    s, now = rt.store, rt.now()
    token = auth.new_token()
    with s.tx():
        if s.one("SELECT 1 FROM hubs WHERE hub_id = ?", (body.hub_id,)):
            raise RefusedError(f"hub {body.hub_id} exists")
        s.unit(body.unit_id)
        s.insert("hubs", {**body.model_dump(), "token_hash": auth.token_hash(token)})
        s.audit(actor, "hub.create", "hub", body.hub_id, body.model_dump(), at=now)
    rt.publish_configs()
    return {**s.hub(body.hub_id), "api_token": token, "token_hash": None}


def start_enrolment(
    rt: Runtime, hub: dict[str, Any], body: models.EnrolmentStart
) -> dict[str, Any]:
    """Step 2 of §6.1: a nonce and a fresh cloud X25519 key for the band."""
    s, now = rt.store, rt.now()
    public_key = bytes.fromhex(body.public_key)
    try:
        enrol.check_public_key(public_key)
    except enrol.EnrolError as exc:
        raise RefusedError(str(exc)) from None
    ch = enrol.challenge()
    actor = Actor(None, f"hub:{hub['hub_id']}", "hub")
    with s.tx():
        eid = s.insert(
            "enrolments",
            {
                "band_id": body.band_id,
                "public_key": public_key,
                "nonce": ch.nonce,
                "cloud_private": ch.cloud_private,
                "cloud_public": ch.cloud_public,
                "hub_id": hub["hub_id"],
                "created_at": now,
                "expires_at": now + ENROL_TTL_S,
            },
        )
        s.audit(actor, "enrol.start", "band", body.band_id, {"enrolment_id": eid}, at=now)
    return {"enrolment_id": eid, "nonce": ch.nonce.hex(), "cloud_public": ch.cloud_public.hex()}


def complete_enrolment(
    rt: Runtime, hub: dict[str, Any], enrolment_id: int, body: models.EnrolmentComplete
) -> dict[str, Any]:
    """Step 4 of §6.1: verify the signed answer and the confirm tag; store key and K_dl."""
    s, now = rt.store, rt.now()
    actor = Actor(None, f"hub:{hub['hub_id']}", "hub")
    with s.tx():
        row = s.get("enrolments", enrolment_id)
        if row["hub_id"] != hub["hub_id"]:
            raise RefusedError("enrolment was started by another hub")
        if row["completed_at"] or row["cloud_private"] is None:
            raise RefusedError("enrolment already completed")
        if row["expires_at"] < now:
            raise RefusedError("enrolment expired; start again")
        ch = enrol.Challenge(
            bytes(row["nonce"]), bytes(row["cloud_private"]), bytes(row["cloud_public"])
        )
        try:
            key = enrol.complete(
                row["band_id"], bytes(row["public_key"]), ch, bytes.fromhex(body.frame)
            )
        except enrol.EnrolError as exc:
            raise RefusedError(str(exc)) from None
        # New band, same key again, or a new key epoch under an authorization (services/bands).
        action, detail = bands.store_enrolled_key(
            s, row, key, hub["hub_id"], bytes.fromhex(body.frame), now
        )
        s.update("enrolments", "id", enrolment_id, {"completed_at": now, "cloud_private": None})
        s.bump_keyring()
        s.audit(actor, action, "band", row["band_id"], detail, at=now)
    rt.publish_configs()
    # The band now holds K_dl: give it UTC at once, or every frame it signs is TIME_UNSYNCED.
    positioning.send_downlink(rt, int(row["band_id"]), "time_sync", wearer.time_sync_fields())
    return {"band_id": row["band_id"], "enrolled": True}


def assign_band(rt: Runtime, actor: Actor, band_id: int, body: models.BandAssign) -> dict[str, Any]:
    """Give a band to a person (or take it back); records the SOS-location opt-in."""
    s, now = rt.store, rt.now()
    profile = None
    with s.tx():
        s.band(band_id)
        if body.person_id is not None:
            person = s.person(body.person_id)
            if actor.role != "admin" and person["office_id"] not in actor.scope:
                raise RefusedError("person is outside your region")
            s.x(
                "UPDATE bands SET person_id = NULL WHERE person_id = ? AND band_id != ?",
                (body.person_id, band_id),
            )
            profile = wearer.profile_fields(person, body.weight_kg, body.rest_hr, local_date(now))
        s.update(
            "bands",
            "band_id",
            band_id,
            {"person_id": body.person_id, "sos_location": int(body.sos_location)},
        )
        # Weight and resting heart rate are health data: the audit log says only that they went.
        detail = body.model_dump(exclude={"weight_kg", "rest_hr"}) | {"profile": bool(profile)}
        s.audit(actor, "band.assign", "band", band_id, detail, at=now)
    if body.person_id is not None:
        positioning.push_permissions(rt, body.person_id)
        # Handed over, perhaps days after enrolment: the band may have restarted since.
        positioning.send_downlink(rt, band_id, "time_sync", wearer.time_sync_fields())
        if profile is not None:
            positioning.send_downlink(rt, band_id, "profile", profile)
    else:
        rt.publish_configs()
    return {k: v for k, v in s.band(band_id).items() if k not in ("public_key", "dl_key")} | {
        "public_key": bytes(s.band(band_id)["public_key"]).hex()
    }


def revoke_band(rt: Runtime, actor: Actor, band_id: int) -> None:
    """Stop trusting a band's key (lost, broken, returned)."""
    s, now = rt.store, rt.now()
    with s.tx():
        s.update("bands", "band_id", band_id, {"active": 0, "person_id": None})
        s.bump_keyring()
        s.audit(actor, "band.revoke", "band", band_id, {}, at=now)
    rt.publish_configs()


def on_hub_message(rt: Runtime, kind: str, hub_id: int, payload: bytes) -> None:
    """status / events / presence JSON from a hub (docs/mqtt.md)."""
    s, now = rt.store, rt.now()
    try:
        msg = json.loads(payload)
        if not isinstance(msg, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        with s.tx():
            s.insert(
                "reports",
                {
                    "at": now,
                    "kind": "malformed",
                    "hub_id": hub_id,
                    "code": kind,
                    "detail": f"bad JSON: {exc}",
                },
            )
        return
    if kind == "status":
        with s.tx():
            known = s.hub_status(hub_id, msg, now)
            if not known:
                s.insert(
                    "reports",
                    {"at": now, "kind": "unknown_hub", "hub_id": hub_id, "code": "status"},
                )
        if known:
            hub_health.on_status(rt, hub_id, bool(msg.get("online")), now)
    elif kind == "events":
        _hub_event(rt, hub_id, msg, now)
    elif kind == "presence":
        _presence(rt, hub_id, msg, now)


def _hub_event(rt: Runtime, hub_id: int, msg: dict[str, Any], now: int) -> None:
    s = rt.store
    band_id = msg.get("band_id") if isinstance(msg.get("band_id"), int) else None
    # The hub republishes an event whose receipt it did not get; its seq and time name it
    # (a hub whose database was wiped counts seq from 1 again, at other times).
    seq, at_hub = seq_of(msg), msg.get("time")
    if seq is None or not isinstance(at_hub, int) or isinstance(at_hub, bool):
        seq = at_hub = None
    with s.tx():
        if seq is not None and s.one(
            "SELECT 1 FROM reports WHERE hub_id = ? AND hub_seq = ? AND hub_time = ?",
            (hub_id, seq, at_hub),
        ):
            return
        s.insert(
            "reports",
            {
                "at": now,
                "kind": f"hub_{msg.get('kind', 'event')}"[:40],
                "hub_id": hub_id,
                "band_id": band_id,
                "code": str(msg.get("code", ""))[:40],
                "detail": str(msg.get("detail", ""))[:500],
                "hub_seq": seq,
                "hub_time": at_hub,
            },
        )
        unit = s.one("SELECT unit_id FROM hubs WHERE hub_id = ?", (hub_id,))
    if msg.get("kind") == "forged_frame":
        raise_and_broadcast(
            rt,
            SYSTEM,
            "security",
            f"band:{band_id}",
            {"band_id": band_id, "hub_id": hub_id, "what": "hub saw a forged frame"},
            now,
            band_id=band_id,
            unit_id=unit["unit_id"] if unit else None,
        )


def _presence(rt: Runtime, hub_id: int, msg: dict[str, Any], now: int) -> None:
    """Keep presence only for bands whose person is under an order in force; drop the rest."""
    s = rt.store
    kept = dropped = 0
    rows = []
    for seen in msg.get("seen", []) if isinstance(msg.get("seen"), list) else []:
        try:
            band_id, first, last = (
                int(seen["band_id"]),
                int(seen["first_seen"]),
                int(seen["last_seen"]),
            )
            rssi = int(seen["rssi"]) if seen.get("rssi") is not None else None
        except (KeyError, TypeError, ValueError):
            dropped += 1
            continue
        band = s.one("SELECT person_id FROM bands WHERE band_id = ? AND active = 1", (band_id,))
        if (
            band is None
            or band["person_id"] is None
            or not positioning.presence_until_for(rt, band["person_id"])
        ):
            dropped += 1  # never trust the hub: no order in force, no record
            continue
        rows.append(
            {
                "band_id": band_id,
                "hub_id": hub_id,
                "first_seen": first,
                "last_seen": last,
                "rssi": rssi,
                "received_at": now,
            }
        )
        kept += 1
    with s.tx():
        for r in rows:
            s.insert("presence", r)
        if dropped:
            s.insert(
                "reports",
                {
                    "at": now,
                    "kind": "presence_refused",
                    "hub_id": hub_id,
                    "value": dropped,
                    "detail": "no Art. 29 order in force",
                },
            )
    if kept or dropped:
        log.debug("presence from hub %d: kept %d, dropped %d", hub_id, kept, dropped)
