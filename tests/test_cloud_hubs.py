"""Hub offline alerts: the hub's real MQTT uplink and its last will through a real mosquitto,
silence, folding, the unit's staff, and resolution when the hub is back."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cloud import jobs
from cloud.domain import hub_health
from cloud.services import devices
from cloud.services.hub_health import check_hubs
from cloud.testkit import County
from hub.uplink import MqttSettings, Uplink
from protocol import topics
from simulators.broker import Mosquitto


def wait_for(cond: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until cond() is truthy (waiting for another thread, not timing it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def hub_alerts(c: County, user: str = "village", all: bool = False) -> list[dict[str, Any]]:
    rows = c.call(user, "GET", "/api/v1/alerts", params={"all": all}).json()
    return [a for a in rows if a["kind"] == "hub_offline"]


def test_when_a_hub_counts_as_offline() -> None:
    never = {"last_seen": None, "online": 0}
    up = {"last_seen": 1000, "online": 1, "offline_since": None}
    said_bye = {"last_seen": 1200, "online": 0, "offline_since": 1100}
    assert hub_health.down_since(never, 10**6, 300) is None  # not installed yet
    assert hub_health.down_since(up, 1299, 300) is None
    assert hub_health.down_since(up, 1300, 300) == 1000  # silent since its last status
    assert hub_health.down_since(said_bye, 1150, 300) == 1100
    assert not hub_health.offline_alert_due(said_bye, 1399, 300)  # a reboot stays quiet
    assert hub_health.offline_alert_due(said_bye, 1400, 300)


@pytest.fixture()
def county() -> Iterator[County]:
    c = County({"hub_offline_s": 300})
    yield c
    c.close()


def status(c: County, hub_id: int, online: bool) -> None:
    payload = json.dumps({"hub_id": hub_id, "online": online}).encode()
    devices.on_hub_message(c.rt, "status", hub_id, payload)


def test_silent_hub_raises_folds_and_resolves(county: County) -> None:
    status(county, 12, True)
    county.advance(299)
    assert check_hubs(county.rt, int(county.now)) == 0
    county.advance(1)
    assert check_hubs(county.rt, int(county.now)) == 1
    (alert,) = hub_alerts(county)
    assert alert["detail"]["why"].startswith("no status")
    assert alert["unit_id"] == county.ids["units"]["village"]
    county.advance(30)
    check_hubs(county.rt, int(county.now))
    assert [a["count"] for a in hub_alerts(county)] == [2]  # folded, not a second alert
    # Staff of the hub's unit and above see it; another 司法所 does not.
    assert len(hub_alerts(county, "office")) == len(hub_alerts(county, "county_head")) == 1
    assert hub_alerts(county, "office_b") == []
    status(county, 12, True)
    assert hub_alerts(county) == []
    (resolved,) = hub_alerts(county, all=True)
    assert resolved["status"] == "resolved" and "back online" in resolved["note"]
    r = county.call(
        "office",
        "POST",
        "/api/v1/alert-suspensions",
        json={"person_id": 1, "kind": "hub_offline", "reason": "检修", "hours": 2},
    )
    assert r.status_code == 422  # a hub alert is not suspended per person


def test_jobs_say_nothing_about_hubs_while_the_cloud_itself_hears_no_broker(
    county: County,
) -> None:
    status(county, 12, False)
    county.advance(3600)
    assert jobs.run_all(county.rt, int(county.now))["hubs_offline"] == 0  # no MQTT worker
    assert check_hubs(county.rt, int(county.now)) == 1


class RunningUplink:
    """The hub's own MQTT uplink (hub/uplink.py) on an asyncio loop in a thread."""

    def __init__(self, hub_id: int, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.uplink = Uplink(
            hub_id,
            MqttSettings(port=port, keepalive_s=5, reconnect_min_s=1, reconnect_max_s=2),
            self.loop,
            lambda _present: None,
            lambda _why: None,
            lambda _mid: None,
            lambda _topic, _payload: None,
        )
        self.loop.call_soon_threadsafe(self.uplink.start)  # the uplink lives on its loop
        wait_for(lambda: self.uplink.connected)

    def status(self, online: bool) -> None:
        body = json.dumps({"hub_id": self.uplink.hub_id, "online": online, "time": 0})
        topic = topics.status(self.uplink.hub_id)
        self.loop.call_soon_threadsafe(self.uplink.publish, topic, body.encode(), True)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.uplink.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def test_last_will_through_mosquitto_raises_and_return_resolves(mosquitto: Mosquitto) -> None:
    from cloud.app import start_workers

    county = County({"mqtt_enabled": True, "mqtt_port": mosquitto.port, "jobs_interval_s": 3600})
    hub = None
    try:
        start_workers(county.rt)
        wait_for(county.rt.mqtt.connected.is_set)
        hub = RunningUplink(12, mosquitto.port)
        hub.status(True)
        wait_for(lambda: county.rt.store.hub(12)["online"] == 1)
        # Power cut: the broker publishes the hub's retained last will.
        hub.uplink.crash()
        wait_for(lambda: county.rt.store.hub(12)["online"] == 0)
        went = county.rt.store.hub(12)["offline_since"]
        assert went == int(county.now)
        county.advance(county.rt.settings.hub_offline_s)
        assert jobs.run_all(county.rt, int(county.now))["hubs_offline"] == 1
        (alert,) = hub_alerts(county)
        assert alert["detail"]["since"] == went and "last will" in alert["detail"]["why"]
        # Back: paho reconnects by itself, the hub reports online, the alert resolves.
        wait_for(lambda: hub.uplink.connected)
        hub.status(True)
        wait_for(lambda: not hub_alerts(county))
        assert county.rt.store.hub(12)["offline_since"] is None
    finally:
        if hub is not None:
            hub.close()
        county.close()


def test_a_hub_event_sent_again_after_a_lost_receipt_is_stored_once(county: County) -> None:
    def event(seq: int, at: int, kind: str = "forged_frame") -> None:
        body = {"hub_id": 12, "time": at, "kind": kind, "band_id": 7, "seq": seq}
        devices.on_hub_message(county.rt, "events", 12, json.dumps(body).encode())

    def reports() -> list[tuple[Any, ...]]:
        rows = county.rt.store.q("SELECT kind, hub_seq, hub_time FROM reports WHERE hub_id = 12")
        return [(r["kind"], r["hub_seq"], r["hub_time"]) for r in rows]

    event(5, 1000)
    event(5, 1000)  # the hub's receipt timeout ran out: the same event again
    event(6, 1001)
    event(5, 2000)  # seq 5 again at another time: the hub's database was wiped, a new event
    devices.on_hub_message(county.rt, "events", 12, b'{"kind": "adapter_fault"}')  # no seq
    devices.on_hub_message(county.rt, "events", 12, b'{"kind": "adapter_fault"}')
    assert sorted(reports(), key=str) == sorted(
        [
            ("hub_forged_frame", 5, 1000),
            ("hub_forged_frame", 6, 1001),
            ("hub_forged_frame", 5, 2000),
            ("hub_adapter_fault", None, None),
            ("hub_adapter_fault", None, None),
        ],
        key=str,
    )
