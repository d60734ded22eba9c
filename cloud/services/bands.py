"""Band keys as epochs: enrolment, re-key under an administrator's authorization, retirement,
key history and verification of every stored frame against the key of its epoch."""

from __future__ import annotations

from typing import Any

from cloud import models
from cloud.domain import frames as frame_rules
from cloud.domain.roles import Actor
from cloud.runtime import Runtime
from cloud.services.common import RefusedError
from cloud.store import NotFoundError, Store
from protocol import replay
from protocol.errors import FrameError
from protocol.frame import parse as parse_frame
from protocol.verify import Keyring, verify_frame

REKEY_TTL_S = 24 * 3600  # an authorization is used at the office the same day, or asked again


def store_enrolled_key(
    s: Store, enrolment: dict[str, Any], dl_key: bytes, hub_id: int, raw: bytes, now: int
) -> tuple[str, dict[str, Any]]:
    """Keep a verified enrolment: (audit action, detail). Inside the caller's transaction.

    A new band starts epoch 0. A known band enrolling the same key (the band re-derived its
    downlink key on its charger) stays in its epoch and keeps its counter. A new key, or a
    retired band coming back, needs an open re-key authorization: the new key starts a new
    epoch whose counter and replay window start afresh, while the old epoch's frames stay
    stored under their epoch and verifiable with the old key (protocol/README.md §6.1).
    """
    band_id, public_key = int(enrolment["band_id"]), bytes(enrolment["public_key"])
    first = parse_frame(raw)
    band = s.band_or_none(band_id)
    # The downlink counter keeps rising across keys: stored downlinks are unique per
    # (band, counter), and a band that re-derives K_dl starts an empty window, so any is new.
    common = {"dl_key": dl_key, "last_frame_at": now, "last_hub": hub_id}
    if band is None:
        s.insert(
            "bands",
            {
                "band_id": band_id,
                "public_key": public_key,
                "enrolled_at": now,
                "enrolled_hub": hub_id,
                "hi": first.counter,
                "seen": 1,
                **common,
            },
        )
        s.new_key_epoch(band_id, 0, public_key, hub_id, now)
        s.keep_enrol_frame(first, 0, hub_id, now)
        return "band.enrol", {"public_key": public_key.hex(), "epoch": 0}
    same = bytes(band["public_key"]) == public_key
    grant = None
    if not same or not band["active"]:
        grant = _use_grant(s, band_id, int(enrolment["id"]), now)
    epoch = int(band["epoch"])
    detail: dict[str, Any] = {"public_key": public_key.hex()}
    if same:
        verdict, (hi, seen), _gap = replay.check(
            (band["hi"], frame_rules.from_db(band["seen"])), first.counter
        )
        if verdict != replay.NEW:
            raise RefusedError("the enrol frame's counter is not new for this key (replayed?)")
        s.update(
            "bands",
            "band_id",
            band_id,
            {"active": 1, "hi": hi, "seen": frame_rules.to_db(seen), **common},
        )
        s.unretire_key(band_id, epoch)
        action = "band.reenrol" if grant is None else "band.reactivate"
    else:
        assert grant is not None
        s.retire_key(
            band_id, epoch, now, grant["reason"], bool(grant["compromised"]), band["floor"]
        )
        epoch += 1
        s.update(
            "bands",
            "band_id",
            band_id,
            {
                "public_key": public_key,
                "epoch": epoch,
                "hi": first.counter,
                "seen": 1,
                "floor": -1,
                "active": 1,
                "enrolled_at": now,
                "enrolled_hub": hub_id,
                **common,
            },
        )
        s.new_key_epoch(band_id, epoch, public_key, hub_id, now)
        action = "band.rekey"
        detail["old_public_key"] = bytes(band["public_key"]).hex()
    s.keep_enrol_frame(first, epoch, hub_id, now)
    detail.update(epoch=epoch, authorization=grant["id"] if grant else None)
    return action, detail


def _use_grant(s: Store, band_id: int, enrolment_id: int, now: int) -> dict[str, Any]:
    grant = s.open_rekey(band_id, now)
    if grant is None:
        raise RefusedError(
            f"band {band_id} is already enrolled: a new key or bringing a retired band back is "
            "an administrative act; ask an administrator to authorize the re-key first "
            "/ 该腕带已注册，更换密钥须先经管理员授权"
        )
    s.update("band_rekeys", "id", grant["id"], {"used_at": now, "enrolment_id": enrolment_id})
    return grant


def authorize_rekey(
    rt: Runtime, actor: Actor, band_id: int, body: models.RekeyAuthorize
) -> dict[str, Any]:
    """Allow one enrolment of a new key for a known band within a day (an audited act)."""
    s, now = rt.store, rt.now()
    with s.tx():
        s.band(band_id)
        s.expire_rekeys(band_id, now)  # one open authorization per band: the newest counts
        gid = s.insert(
            "band_rekeys",
            {
                "band_id": band_id,
                "reason": body.reason,
                "compromised": int(body.compromised),
                "authorized_by": actor.id,
                "authorized_at": now,
                "expires_at": now + REKEY_TTL_S,
            },
        )
        s.audit(
            actor,
            "band.rekey_authorize",
            "band",
            band_id,
            {"reason": body.reason, "compromised": body.compromised, "authorization": gid},
            at=now,
        )
    return s.get("band_rekeys", gid)


def retire(rt: Runtime, actor: Actor, band_id: int, reason: str) -> None:
    """Stop trusting a band's key (lost, broken, returned); its frames stay as evidence."""
    s, now = rt.store, rt.now()
    with s.tx():
        band = s.band(band_id)
        s.update("bands", "band_id", band_id, {"active": 0, "person_id": None})
        s.retire_key(band_id, int(band["epoch"]), now, reason or "retired")
        s.bump_keyring()
        s.audit(actor, "band.revoke", "band", band_id, {"reason": reason}, at=now)
    rt.publish_configs()


def key_history(rt: Runtime, band_id: int) -> list[dict[str, Any]]:
    """Every key a band has had, newest first, with how many frames each signed."""
    rt.store.band(band_id)
    rows = rt.store.key_history(band_id)
    return [{**r, "public_key": bytes(r["public_key"]).hex()} for r in rows]


def verify_frames(rt: Runtime, band_id: int, page: int = 5000) -> dict[str, Any]:
    """Check every stored frame's signature against the key of its epoch (about 15,000/s)."""
    s = rt.store
    keys = {int(r["epoch"]): bytes(r["public_key"]) for r in s.key_history(band_id)}
    if not keys:
        raise NotFoundError(f"band {band_id}")
    out: dict[int, dict[str, Any]] = {e: {"epoch": e, "checked": 0, "bad": []} for e in keys}
    after = 0
    while True:
        rows = s.frames_page(band_id, after, page)
        if not rows:
            break
        for r in rows:
            epoch = int(r["epoch"])
            entry = out.setdefault(epoch, {"epoch": epoch, "checked": 0, "bad": []})
            entry["checked"] += 1
            key = keys.get(epoch)
            try:
                if key is None:
                    raise FrameError("unknown_band", f"no key for epoch {epoch}")
                verify_frame(bytes(r["raw"]), Keyring({band_id: key}))
            except FrameError:
                entry["bad"].append(int(r["id"]))
        after = int(rows[-1]["id"])
    epochs = sorted(out.values(), key=lambda e: -int(e["epoch"]))
    return {"band_id": band_id, "ok": not any(e["bad"] for e in epochs), "epochs": epochs}
