"""Per-band hub records through a real mosquitto with the county ACL and two real hub services.

A hub learns a newly enrolled band from one small message, forgets a retired one, catches up
from the broker's retained store after an absence that outlived its session, and stops
collecting presence the moment an Art. 29 order ends.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from cloud import models
from cloud.app import start_workers
from cloud.domain.roles import SYSTEM
from cloud.services import devices
from cloud.testkit import BandSim, County
from hub.cloudrecords import CONFIG_KEY
from protocol import topics
from simulators.broker import Mosquitto
from simulators.fleet_hub import FleetHub, hub_settings
from simulators.hub_harness import until

ACL = Path(__file__).resolve().parent.parent / "hub" / "deploy" / "sqjz.acl"
USERS = {"cloud": "c-pw", "12": "h12-pw", "13": "h13-pw"}
A, B, C = 71_001, 71_002, 71_003


def _forget_session(port: int, hub_id: int) -> None:
    """What a week offline does: the broker drops the hub's session and what it queued."""
    c = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=f"sqjz-hub-{hub_id}", clean_session=True
    )
    c.username_pw_set(str(hub_id), USERS[str(hub_id)])
    c.connect("127.0.0.1", port)
    c.loop_start()
    deadline = time.monotonic() + 10
    while not c.is_connected() and time.monotonic() < deadline:
        time.sleep(0.02)
    c.disconnect()
    c.loop_stop()


def _forge_record(port: int, hub_id: int, band_id: int) -> None:
    """A hub's stolen password writes a retained county record (the ACL must drop it)."""
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="thief")
    c.username_pw_set(str(hub_id), USERS[str(hub_id)])
    c.connect("127.0.0.1", port)
    c.loop_start()
    forged = {"band_id": band_id, "public_key": "ab" * 32, "generation": 2**40}
    c.publish(topics.band(band_id), json.dumps(forged), qos=1, retain=True).wait_for_publish(10)
    c.disconnect()
    c.loop_stop()


def _order(county: County, case_id: int) -> int:
    body = {
        "ground": 3,
        "reason": "被警告后仍拒不报告",
        "starts_on": "2025-11-30",
        "ends_on": "2026-02-28",
    }
    r = county.call("office", "POST", f"/api/v1/cases/{case_id}/positioning", json=body)
    order = int(r.json()["id"])
    r = county.call(
        "county_head", "POST", f"/api/v1/positioning/{order}/decision", json={"approve": True}
    )
    assert r.json()["status"] == "approved", r.text
    return order


def test_hubs_learn_forget_catch_up_and_stop_presence(tmp_path: Path) -> None:
    with Mosquitto(users=USERS, acl=ACL.read_text()) as broker:
        county = County(
            {
                "mqtt_enabled": True,
                "mqtt_port": broker.port,
                "mqtt_username": "cloud",
                "mqtt_password": USERS["cloud"],
                "jobs_interval_s": 3600,
            }
        )
        published: list[tuple[str, Any]] = []
        real = county.rt.publish

        def spy(topic: str, payload: Any, retain: bool = False) -> bool:
            published.append((topic, payload))
            return real(topic, payload, retain)

        county.rt.publish = spy
        try:
            devices.create_hub(
                county.rt,
                SYSTEM,
                models.HubCreate(
                    hub_id=13,
                    name="西关村委会",
                    unit_id=county.ids["units"]["village"],
                    lat=34.2,
                    lon=108.9,
                    address="西关村委会",
                ),
            )
            county.enrol(BandSim(A))
            start_workers(county.rt)
            asyncio.run(_scenario(county, broker.port, tmp_path, published))
        finally:
            county.close()


def _hub(hub_id: int, port: int, tmp: Path, county: County) -> FleetHub:
    settings = hub_settings(hub_id, str(tmp / f"hub{hub_id}"), port, USERS[str(hub_id)])
    return FleetHub(settings, clock=lambda: county.now, rng=random.Random(hub_id))


async def _scenario(county: County, port: int, tmp: Path, published: list[Any]) -> None:
    h12, h13 = _hub(12, port, tmp, county), _hub(13, port, tmp, county)
    tasks = {12: asyncio.create_task(h12.run()), 13: asyncio.create_task(h13.run())}
    for h in (h12, h13):
        await until(lambda h=h: h.cloud is not None and h.cloud.version > 0, 20, "settings")  # type: ignore[misc]
        await until(lambda h=h: set(h.cloud.bands) == {A}, 20, "the first band")  # type: ignore[misc]

    # Enrolment: one small record for the county, nothing else; every hub learns the band.
    published.clear()
    band_b = BandSim(B)
    county.enrol(band_b)
    records = [(t, p) for t, p in published if "/down/" not in t]
    assert [t for t, _ in records] == [topics.band(B)]
    assert all(len(p) < 200 for _, p in records)
    for h in (h12, h13):
        await until(lambda h=h: B in h.cloud.bands, 20, "band B")  # type: ignore[misc]
    assert h12.cloud is not None and h12.cloud.bands[B].public_key == band_b.public

    # Hub 13 goes away for longer than the broker keeps its session.
    h13.stop()
    await asyncio.wait_for(tasks.pop(13), 20)
    _forget_session(port, 13)

    # Every hub reads the county's records, none may write one: a stolen hub password
    # cannot slip a key in (the sets below hold no 71_999, here or after a reconnect).
    _forge_record(port, 12, 71_999)

    # Meanwhile C is enrolled and A retired: hub 12 forgets A at once and saves that.
    county.enrol(BandSim(C))
    r = county.call("admin", "POST", f"/api/v1/bands/{A}/revoke", json={"reason": "lost"})
    assert r.status_code == 200, r.text
    await until(lambda: h12.cloud is not None and set(h12.cloud.bands) == {B, C}, 20, "A gone")
    saved = json.loads(h12.store.get_meta(CONFIG_KEY) or "{}")
    assert A not in {b["band_id"] for b in saved["bands"]}

    # Hub 13 comes back with A still in its saved config, and a new session: what the
    # broker retained is the whole truth, so A goes and C arrives without a queued message.
    h13 = _hub(13, port, tmp, county)
    assert h13.cloud is not None and A in h13.cloud.bands
    tasks[13] = asyncio.create_task(h13.run())
    await until(lambda: h13.cloud is not None and set(h13.cloud.bands) == {B, C}, 20, "catch-up")

    # Art. 29: an order in force lets the hubs record B's presence; ending it stops that.
    case_id = county.open_case("supervising")
    person = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()["person_id"]
    county.call("admin", "POST", f"/api/v1/bands/{B}/assign", json={"person_id": person})
    order = _order(county, case_id)
    now = county.now
    for h in (h12, h13):
        await until(lambda h=h: h._presence_allowed(B, now), 20, "permission")  # type: ignore[misc]
    assert h12.presence.heard(B, -60, now)
    published.clear()
    r = county.call(
        "county_head", "POST", f"/api/v1/positioning/{order}/end", json={"reason": "不再需要"}
    )
    assert r.status_code == 200, r.text
    assert [t for t, _ in published if "/down/" not in t] == [topics.band(B)]
    for h in (h12, h13):
        await until(lambda h=h: not h._presence_allowed(B, now), 20, "permission ended")  # type: ignore[misc]
    assert not h12.presence.heard(B, -60, now) and h12.presence.report(12, now) is None

    for hub_id, h in ((12, h12), (13, h13)):
        h.stop()
        await asyncio.wait_for(tasks[hub_id], 20)
