"""Administration on real SQLite: accounts (disable, reset, unlock), hubs (position, token) and
band keys as epochs (re-key under authorization, late frames of the old key, verification)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cloud import jobs
from cloud.domain import accounts
from cloud.ingest import Ingestor
from cloud.testkit import PASSWORD, BandSim, County, wrap
from protocol import topics

BAND = 70001


@pytest.fixture()
def county() -> Iterator[County]:
    c = County()
    c.published = []  # type: ignore[attr-defined]
    c.rt.publish = lambda t, p, retain=False: c.published.append((t, p))  # type: ignore[attr-defined]
    yield c
    c.close()


def login(c: County, user: str, password: str = PASSWORD) -> Any:
    return c.client.post("/api/v1/auth/login", json={"username": user, "password": password})


def user_id(c: County, name: str) -> int:
    return int(c.ids["users"][name])


# Accounts -----------------------------------------------------------------------------------


def test_disable_ends_sessions_and_refuses_login(county: County) -> None:
    office = county.headers("office")
    uid = user_id(county, "office")
    r = county.call("admin", "POST", f"/api/v1/users/{uid}/disable", json={"reason": "调离"})
    assert r.status_code == 200 and r.json()["disabled"] == 1
    assert county.client.get("/api/v1/auth/me", headers=office).status_code == 401
    assert login(county, "office").status_code == 401
    assert "disabled" in login(county, "office").json()["detail"]
    me = user_id(county, "admin")
    r = county.call("admin", "POST", f"/api/v1/users/{me}/disable", json={"reason": "x"})
    assert r.status_code == 422 and "your own" in r.json()["detail"]
    r = county.call("admin", "POST", f"/api/v1/users/{uid}/enable")
    assert r.status_code == 200 and login(county, "office").status_code == 200
    actions = [a["action"] for a in county.call("admin", "GET", "/api/v1/audit").json()]
    assert "user.disable" in actions and "user.enable" in actions


def test_the_last_administrator_stays() -> None:
    admin = {"id": 1, "role": "admin", "disabled": 0}
    with pytest.raises(accounts.AccountError, match="last administrator"):
        accounts.check_disable(2, admin, enabled_admins=1)
    accounts.check_disable(2, admin, enabled_admins=2)
    word = accounts.temporary_password()
    assert len(word) == 14 and not set(word) & set("0O1lI")


def test_password_reset_forces_a_change_before_anything_else(county: County) -> None:
    old = county.headers("village")
    uid = user_id(county, "village")
    r = county.call("admin", "POST", f"/api/v1/users/{uid}/password", json={})
    assert r.status_code == 200
    temporary = r.json()["temporary_password"]
    assert county.client.get("/api/v1/auth/me", headers=old).status_code == 401  # sessions ended
    assert login(county, "village").status_code == 401  # the old password is gone
    r = login(county, "village", temporary)
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    h = {"authorization": "Bearer " + r.json()["token"]}
    county.client.cookies.clear()
    r = county.client.get("/api/v1/cases", headers=h)
    assert r.status_code == 403 and "temporary" in r.json()["detail"]
    r = county.client.post(
        "/api/v1/auth/password",
        headers=h,
        json={"old_password": temporary, "new_password": "village-new-pass-9"},
    )
    assert r.status_code == 200
    assert county.client.get("/api/v1/cases", headers=h).status_code == 200


def test_unlock_after_failed_logins(county: County) -> None:
    for _ in range(county.rt.settings.lockout_failures):
        login(county, "procuratorate", "wrong-password-1")
    assert "locked" in login(county, "procuratorate").json()["detail"]
    r = county.call("admin", "POST", f"/api/v1/users/{user_id(county, 'procuratorate')}/unlock")
    assert r.status_code == 200 and r.json()["locked_until"] == 0
    assert login(county, "procuratorate").status_code == 200


# Hubs -----------------------------------------------------------------------------------------


def test_hub_position_and_token_rotation(county: County) -> None:
    body = {
        "name": "东关村委会基站",
        "unit_id": county.ids["units"]["village"],
        "lat": 34.27,
        "lon": 108.95,
        "address": "东关村委会二楼",
    }
    county.published.clear()  # type: ignore[attr-defined]
    r = county.call("admin", "PUT", "/api/v1/hubs/12", json=body)
    assert r.status_code == 200 and r.json()["address"] == "东关村委会二楼"
    assert "token_hash" not in r.json()
    configs = [p for t, p in county.published if t == topics.config(12)]  # type: ignore[attr-defined]
    assert configs and "东关村委会基站" in configs[-1]
    r = county.call("admin", "PUT", "/api/v1/hubs/12", json={**body, "lat": 95})
    assert r.status_code == 422
    old = {"authorization": "Bearer " + county.ids["hub_token"]}
    probe = {"band_id": 1, "public_key": BandSim(1).public.hex()}
    assert county.client.post("/api/v1/enrolments", headers=old, json=probe).status_code == 201
    r = county.call("admin", "POST", "/api/v1/hubs/12/token")
    new = {"authorization": "Bearer " + r.json()["api_token"]}
    assert county.client.post("/api/v1/enrolments", headers=old, json=probe).status_code == 401
    assert county.client.post("/api/v1/enrolments", headers=new, json=probe).status_code == 201


# Band keys as epochs --------------------------------------------------------------------------


def enrol(c: County, band: BandSim) -> Any:
    """Run the hub's two enrolment calls; the completion's response."""
    hub = {"authorization": "Bearer " + c.ids["hub_token"]}
    ch = c.client.post(
        "/api/v1/enrolments",
        headers=hub,
        json={"band_id": band.band_id, "public_key": band.public.hex()},
    ).json()
    answer = band.enrol_answer(bytes.fromhex(ch["nonce"]), bytes.fromhex(ch["cloud_public"]))
    return c.client.post(
        f"/api/v1/enrolments/{ch['enrolment_id']}/complete",
        headers=hub,
        json={"frame": answer.hex()},
    )


def send(c: County, ing: Ingestor, *frames: bytes, heard_ms: int | None = None) -> Any:
    ms = int(c.now * 1000) if heard_ms is None else heard_ms
    return ing.ingest([(topics.up(12), wrap(12, f, ms)) for f in frames], int(c.now))


def test_rekey_starts_a_new_epoch_and_keeps_the_old_one_verifiable(county: County) -> None:
    s = county.rt.store
    ing = Ingestor(s)
    old = BandSim(BAND)
    assert enrol(county, old).status_code == 200
    assert send(county, ing, *[old.frame("activity", {"steps": i}) for i in range(5)]).accepted == 5
    late = old.frame("activity", {"steps": 99})  # signed now, delivered after the re-key
    dup = old.frame("heartbeat", {"battery_pct": 70})
    assert send(county, ing, dup).accepted == 1
    heard_before = int(county.now * 1000)
    # The same key again (downlink re-key on the charger): same epoch, counter continues.
    r = enrol(county, old)
    assert r.status_code == 200, r.text
    assert (s.band(BAND)["epoch"], s.band(BAND)["hi"]) == (0, old.counter - 1)
    # A new key without an administrator's authorization is refused, and nothing changes.
    new = BandSim(BAND, seed=bytes([77]) * 32)
    r = enrol(county, new)
    assert r.status_code == 422 and "authorize" in r.json()["detail"]
    assert bytes(s.band(BAND)["public_key"]) == old.public
    county.advance(60)
    r = county.call(
        "admin", "POST", f"/api/v1/bands/{BAND}/rekey", json={"reason": "主板更换，重新生成密钥"}
    )
    assert r.status_code == 201
    assert enrol(county, new).status_code == 200
    band = s.band(BAND)
    # Its counter 0 went on the refused attempt: the new epoch starts at the enrol frame's 1.
    assert (band["epoch"], band["hi"], bytes(band["public_key"])) == (1, 1, new.public)
    assert enrol(county, BandSim(BAND, seed=bytes([78]) * 32)).status_code == 422  # used up
    # The new key's counter restarts at 0: its frames are new, not replays of the old epoch's.
    result = send(county, ing, *[new.frame("activity", {"steps": i}) for i in range(3)])
    assert (result.accepted, result.refused) == (3, 0)
    # Old-key frames heard before the re-key reach the cloud late: kept in their epoch.
    result = send(county, ing, late, dup, heard_ms=heard_before)
    assert (result.accepted, result.duplicates, result.refused) == (1, 1, 0)
    row = s.one("SELECT epoch FROM frames WHERE band_id = ? AND raw = ?", (BAND, late))
    assert row == {"epoch": 0}
    assert s.band(BAND)["hi"] == 4  # the old epoch's frame did not touch the new window
    # An old-key frame heard after the re-key: refused, and raised as a security alarm.
    county.advance(5)
    after = old.frame("sos", {"sos_id": 5, "reason": 1})
    result = send(county, ing, after)
    assert (result.accepted, result.refused) == (0, 1)
    report = s.one("SELECT code, detail FROM reports WHERE kind = 'retired_key'")
    assert report == {"code": "retired_key", "detail": "epoch 0, heard after retirement"}
    alerts = county.call("county_head", "GET", "/api/v1/alerts").json()
    assert [a["kind"] for a in alerts] == ["security"]
    keys = county.call("admin", "GET", f"/api/v1/bands/{BAND}/keys").json()
    assert [(k["epoch"], k["frames"], k["retired_reason"]) for k in keys] == [
        (1, 4, None),
        (0, old.counter - 1, "主板更换，重新生成密钥"),
    ]
    check = county.call("admin", "GET", f"/api/v1/bands/{BAND}/verify").json()
    assert check["ok"] and [(e["epoch"], e["checked"]) for e in check["epochs"]] == [
        (1, 4),
        (0, old.counter - 1),
    ]
    # A stored byte changed behind the application's back is found.
    bad = s.one("SELECT id, raw FROM frames WHERE band_id = ? AND epoch = 0 LIMIT 1", (BAND,))
    with s.tx():
        # Flip a bit: overwriting the last byte with 0 changed nothing when it was 0 already.
        raw = bytes(bad["raw"])
        s.x("UPDATE frames SET raw = ? WHERE id = ?", (raw[:-1] + bytes([raw[-1] ^ 1]), bad["id"]))
    check = county.call("admin", "GET", f"/api/v1/bands/{BAND}/verify").json()
    assert not check["ok"] and check["epochs"][1]["bad"] == [bad["id"]]
    actions = [a["action"] for a in county.call("admin", "GET", "/api/v1/audit").json()]
    assert {"band.enrol", "band.reenrol", "band.rekey_authorize", "band.rekey"} <= set(actions)


def test_a_compromised_key_is_refused_even_for_frames_heard_before(county: County) -> None:
    ing = Ingestor(county.rt.store)
    old = BandSim(BAND)
    enrol(county, old)
    early = old.frame("activity", {"steps": 1})
    heard = int(county.now * 1000)
    county.advance(60)
    county.call(
        "county_head",
        "POST",
        f"/api/v1/bands/{BAND}/rekey",
        json={"reason": "发现克隆腕带", "compromised": True},
    )
    assert enrol(county, BandSim(BAND, seed=bytes([79]) * 32)).status_code == 200
    result = send(county, ing, early, heard_ms=heard)
    assert (result.accepted, result.refused) == (0, 1)
    assert (
        "compromised"
        in county.rt.store.one("SELECT detail FROM reports WHERE kind = 'retired_key'")["detail"]
    )


def test_retired_band_comes_back_only_under_authorization(county: County) -> None:
    band = BandSim(BAND)
    enrol(county, band)
    r = county.call("admin", "POST", f"/api/v1/bands/{BAND}/revoke", json={"reason": "遗失"})
    assert r.status_code == 200
    r = enrol(county, band)
    assert r.status_code == 422 and "retired" in r.json()["detail"]
    county.call("admin", "POST", f"/api/v1/bands/{BAND}/rekey", json={"reason": "找回"})
    assert enrol(county, band).status_code == 200
    row = county.rt.store.band(BAND)
    assert (row["active"], row["epoch"]) == (1, 0)


def test_retention_keeps_a_floor_per_epoch(county: County) -> None:
    ing = Ingestor(county.rt.store)
    old = BandSim(BAND)
    enrol(county, old)
    send(county, ing, *[old.frame("activity", {"steps": i}) for i in range(4)])
    county.advance(60)
    county.call("admin", "POST", f"/api/v1/bands/{BAND}/rekey", json={"reason": "换芯片"})
    new = BandSim(BAND, seed=bytes([80]) * 32)
    enrol(county, new)
    county.advance(county.rt.settings.retain_frames_days * 86400 + 120)
    send(county, ing, new.frame("heartbeat", {"battery_pct": 60}))
    jobs.apply_retention(county.rt, int(county.now))
    s = county.rt.store
    assert s.one("SELECT floor FROM band_keys WHERE band_id = ? AND epoch = 0", (BAND,)) == {
        "floor": 4
    }
    assert s.band(BAND)["floor"] == 0  # the new epoch's enrol frame went too; its heartbeat stayed
    late = old.frame("activity", {"steps": 9}, counter=3)  # below the old epoch's floor
    assert send(county, ing, late, heard_ms=0).refused == 1
