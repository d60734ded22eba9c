"""Frame ingest on real SQLite and a real mosquitto: verify, replay CAS, dedupe, alerts, acks."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import paho.mqtt.client as paho
import pytest

from cloud import dispatch, jobs
from cloud.ingest import Ingestor
from cloud.store import Store
from cloud.testkit import BandSim, County, wrap
from protocol import downlink, topics
from protocol.frame import FLAG_QUEUED, FLAG_TIME_UNSYNCED
from simulators.broker import Mosquitto

BAND = 66051


def wait_for(cond: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until cond() is truthy (waiting for another thread, not timing it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


class Env:
    """A county with one supervised person wearing an enrolled band."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.county = County(settings)
        self.published: list[tuple[str, Any]] = []
        self.county.rt.publish = lambda t, p, retain=False: self.published.append((t, p))  # type: ignore[method-assign]
        self.case_id = self.county.open_case("supervising")
        self.band = BandSim(BAND)
        self.county.enrol(self.band)
        person = self.county.call("office", "GET", f"/api/v1/cases/{self.case_id}").json()[
            "person_id"
        ]
        self.county.call(
            "admin", "POST", f"/api/v1/bands/{BAND}/assign", json={"person_id": person}
        )
        self.ingestor = Ingestor(self.county.rt.store)
        self.store = self.county.rt.store

    def send(self, *frames: bytes, hub: int = 12, heard_at: float | None = None) -> Any:
        """Ingest now; the hub heard the frames at `heard_at` (default: now)."""
        heard_ms = int((self.county.now if heard_at is None else heard_at) * 1000)
        msgs = [(topics.up(hub), wrap(hub, f, heard_ms)) for f in frames]
        return self.ingestor.ingest(msgs, int(self.county.now))

    def reports(self, kind: str) -> list[dict[str, Any]]:
        return self.store.q("SELECT * FROM reports WHERE kind = ?", (kind,))

    def alerts(self, kind: str) -> list[dict[str, Any]]:
        return self.store.q("SELECT * FROM alerts WHERE kind = ?", (kind,))


@pytest.fixture()
def env() -> Iterator[Env]:
    e = Env()
    yield e
    e.county.close()


def test_frames_are_stored_as_received_with_hub_metadata(env: Env) -> None:
    f = env.band.frame("activity", {"steps": 321, "window_s": 300}, band_time=int(env.county.now))
    r = env.send(f)
    assert (r.accepted, r.duplicates, r.refused) == (1, 0, 0)
    row = env.store.one("SELECT * FROM frames WHERE band_id = ? AND type = 'activity'", (BAND,))
    assert (
        bytes(row["raw"]) == f and row["hub_id"] == 12 and json.loads(row["fields"])["steps"] == 321
    )
    assert env.store.band(BAND)["hi"] == 1  # the enrol frame used counter 0
    assert env.store.audit_verify()[0]


def test_same_frame_from_two_hubs_is_one_row(env: Env) -> None:
    f = env.band.frame("heartbeat", {"battery_pct": 80})
    assert env.send(f, hub=12).accepted == 1
    r = env.send(f, hub=13)
    assert (r.accepted, r.duplicates) == (0, 1)
    row = env.store.one(
        "SELECT hubs_heard, hub_id FROM frames WHERE band_id = ? AND type = 'heartbeat'", (BAND,)
    )
    assert row == {"hubs_heard": 2, "hub_id": 12}
    r = env.send(f, f)  # also within one batch
    assert r.duplicates == 2


def test_forged_and_unknown_frames_are_refused_and_reported(env: Env) -> None:
    good = env.band.frame("heartbeat", {"battery_pct": 80})
    forged = bytearray(env.band.frame("sos", {"sos_id": 1, "reason": 1}))
    forged[-1] ^= 1
    stranger = BandSim(777).frame("sos", {"sos_id": 1, "reason": 1})
    r = env.send(bytes(forged), stranger, good)
    assert (r.accepted, r.refused) == (1, 2)  # the good one in the same batch is kept
    assert [x["code"] for x in env.reports("forged")] == ["bad_signature"]
    assert len(env.reports("unknown_band")) == 1
    assert env.alerts("sos") == []
    sec = env.alerts("security")
    assert len(sec) == 1 and "forged" in json.loads(sec[0]["detail"])["what"]


def test_malformed_envelopes_lose_nothing_else(env: Env) -> None:
    good = env.band.frame("heartbeat", {"battery_pct": 80})
    msgs = [
        (topics.up(12), b"\x02short"),
        (topics.up(12), wrap(13, good)),
        (topics.up(12), wrap(12, good)),
    ]
    r = env.ingestor.ingest(msgs, int(env.county.now))
    assert (r.accepted, r.refused) == (1, 2)
    assert {x["code"] for x in env.reports("malformed")} == {"envelope", "hub_mismatch"}


def test_replay_with_other_bytes_raises_a_security_alarm(env: Env) -> None:
    first = env.band.frame("activity", {"steps": 10}, counter=50)
    clone = env.band.frame("activity", {"steps": 99}, counter=50)  # same counter, other content
    env.send(first)
    r = env.send(clone)
    assert r.verdicts == ["conflict"] and r.accepted == 0
    assert len(env.reports("replay_conflict")) == 1
    assert "cloned" in json.loads(env.alerts("security")[0]["detail"])["what"]
    stored = env.store.one("SELECT raw FROM frames WHERE band_id = ? AND counter = 50", (BAND,))
    assert bytes(stored["raw"]) == first


def test_late_frames_from_history_and_the_retention_floor(env: Env) -> None:
    env.send(
        *[env.band.frame("activity", {"steps": i}, counter=i) for i in range(1, 200) if i != 5]
    )
    assert env.store.band(BAND)["hi"] == 199
    late = env.band.frame("activity", {"steps": 5}, counter=5)  # below the 64-frame window
    r = env.send(late)
    assert r.verdicts == ["accept"]
    assert env.send(late).verdicts == ["duplicate"]
    # Retention deleted counters up to 150: an absent counter below the floor proves nothing.
    with env.store.tx():
        env.store.x("UPDATE bands SET floor = 150 WHERE band_id = ?", (BAND,))
        env.store.x("DELETE FROM frames WHERE band_id = ? AND counter = 100", (BAND,))
    r = env.send(env.band.frame("activity", {"steps": 0}, counter=100))
    assert r.verdicts == ["replay"] and len(env.reports("replay")) == 1


def test_late_frames_in_the_clouds_wider_window_take_no_history_lookup(env: Env) -> None:
    lookups: list[str] = []
    env.store.conn.set_trace_callback(
        lambda sql: lookups.append(sql) if sql.startswith("SELECT raw FROM frames") else None
    )
    skipped = set(range(100, 140))  # a backlog held these back: up to 800 counters late
    env.send(
        *[env.band.frame("activity", {}, counter=i) for i in range(1, 900) if i not in skipped]
    )
    late = [env.band.frame("activity", {}, counter=i) for i in sorted(skipped)]
    assert env.send(*late).verdicts == ["accept"] * 40
    assert lookups == []
    assert env.send(late[0]).verdicts == ["duplicate"]  # a seen counter still goes to history
    assert len(lookups) == 1
    n = env.store.one("SELECT count(*) AS n FROM frames WHERE band_id = ?", (BAND,))["n"]
    assert n == 900  # the enrol frame and 1..899, each once


def test_the_wide_window_survives_a_restart_and_is_rebuilt_when_missing(env: Env) -> None:
    env.send(
        *[env.band.frame("activity", {}, counter=i) for i in range(1, 600) if i not in (300, 301)]
    )
    reads: list[str] = []
    for forget, counter, verdict in ((False, 300, "accept"), (True, 300, "duplicate")):
        if forget:  # as after migration 7, or after an enrolment wrote hi and seen alone
            with env.store.tx():
                env.store.x("UPDATE bands SET seen_wide = NULL WHERE band_id = ?", (BAND,))
        restarted = Ingestor(Store(env.store.path))
        reads.clear()
        restarted.store.conn.set_trace_callback(
            lambda sql: reads.append(sql) if sql.startswith("SELECT counter FROM frames") else None
        )
        frame = env.band.frame("activity", {}, counter=counter)
        r = restarted.ingest([(topics.up(12), wrap(12, frame))], int(env.county.now))
        assert r.verdicts == [verdict]
        assert len(reads) == forget  # the stored window is used; a missing one is rebuilt
        restarted.store.conn.close()
    # A counter never sent is still new after the rebuild: it left no bit and no row.
    assert env.send(env.band.frame("activity", {}, counter=301)).verdicts == ["accept"]
    n = env.store.one("SELECT count(*) AS n FROM frames WHERE band_id = ?", (BAND,))["n"]
    assert n == 600


def test_gaps_and_clock_skew_are_reported(env: Env) -> None:
    now = int(env.county.now)
    env.send(env.band.frame("heartbeat", {}, counter=10, band_time=now))
    env.send(env.band.frame("heartbeat", {}, counter=20, band_time=now + 500))
    env.send(env.band.frame("heartbeat", {}, counter=21, band_time=5, flags=FLAG_TIME_UNSYNCED))
    assert [x["value"] for x in env.reports("gap")] == [
        9,
        9,
    ]  # 1..9 (after the enrol frame 0), 11..19
    assert [x["value"] for x in env.reports("skew")] == [500]


def test_skew_is_judged_by_when_the_hub_heard_the_frame(env: Env) -> None:
    heard = int(env.county.now)
    env.county.now += 3600  # the hub held everything an hour in its outbox
    held = env.band.frame("heartbeat", {}, counter=10, band_time=heard - 1)
    queued = env.band.frame("heartbeat", {}, counter=11, band_time=heard - 7200, flags=FLAG_QUEUED)
    off = env.band.frame("heartbeat", {}, counter=12, band_time=heard + 900)
    r = env.send(held, queued, off, heard_at=heard)
    assert r.verdicts == ["accept"] * 3  # kept whatever the clock says
    # Only the band whose clock really is off, by what it was off when the hub heard it.
    assert [x["value"] for x in env.reports("skew")] == [900]


def test_a_band_reporting_an_unsynced_clock_is_sent_the_time_once_per_period(env: Env) -> None:
    # After a reset the band counts seconds since boot until an authenticated time_sync.
    env.county.now += 3600  # well after the time_sync sent at enrolment and assignment
    unsynced = [
        env.band.frame("heartbeat", {}, band_time=5 + i, flags=FLAG_TIME_UNSYNCED) for i in range(3)
    ]
    r = env.send(*unsynced)
    syncs = [p for _t, p in r.publish]
    assert len(syncs) == 1
    state = env.store.one("SELECT MAX(counter) AS c FROM downlinks WHERE band_id = ?", (BAND,))
    msg, _ = downlink.accept(syncs[0], env.band.dl_key, BAND, (state["c"] - 1, 0))
    assert msg.type_name == "time_sync" and msg.cloud_time == int(env.county.now)
    again = env.send(env.band.frame("heartbeat", {}, band_time=9, flags=FLAG_TIME_UNSYNCED))
    assert again.publish == []  # not another one within the resync period
    synced = env.send(env.band.frame("heartbeat", {}, band_time=int(env.county.now)))
    assert synced.publish == []


def test_sos_alert_folds_repeats_and_is_acknowledged_to_the_band(env: Env) -> None:
    r = env.send(env.band.frame("sos", {"sos_id": 7, "reason": 2, "battery_pct": 60, "attempt": 0}))
    assert r.alerts[0][1] is True
    ack_topics = [t for t, _ in r.publish]
    assert ack_topics == ["sqjz/v1/hubs/12/down/66051"]
    msg, _state = downlink.accept(r.publish[0][1], env.band.dl_key, BAND, (-1, 0))
    assert msg.type_name == "sos_ack" and msg.fields == {"sos_id": 7, "status": 1}
    r2 = env.send(env.band.frame("sos", {"sos_id": 7, "reason": 2, "attempt": 1}))
    assert r2.alerts[0] == (r.alerts[0][0], False)
    sos = env.alerts("sos")
    assert len(sos) == 1 and sos[0]["count"] == 2 and sos[0]["priority"] == 0
    assert sos[0]["case_id"] == env.case_id
    msg2, _ = downlink.accept(r2.publish[0][1], env.band.dl_key, BAND, _state)
    assert msg2.counter > msg.counter


def test_tamper_battery_alerts_and_suspension_with_reason(env: Env) -> None:
    env.send(
        env.band.frame("tamper", {"event": 1, "strap_closed": 0, "on_skin": 1, "battery_pct": 50})
    )
    assert len(env.alerts("tamper")) == 1
    person = env.store.band(BAND)["person_id"]
    r = env.county.call(
        "office",
        "POST",
        "/api/v1/alert-suspensions",
        json={"person_id": person, "kind": "low_battery", "reason": "", "hours": 24},
    )
    assert r.status_code == 422
    r = env.county.call(
        "office",
        "POST",
        "/api/v1/alert-suspensions",
        json={"person_id": person, "kind": "sos", "reason": "住院", "hours": 24},
    )
    assert r.status_code == 422 and "cannot be suspended" in r.json()["detail"]
    r = env.county.call(
        "office",
        "POST",
        "/api/v1/alert-suspensions",
        json={
            "person_id": person,
            "kind": "low_battery",
            "reason": "充电座损坏，已换新",
            "hours": 24,
        },
    )
    assert r.status_code == 201
    env.send(env.band.frame("battery", {"event": 1, "battery_pct": 18}))
    assert env.alerts("low_battery") == [] and len(env.reports("suppressed")) == 1


def test_alert_ack_escalate_resolve(env: Env) -> None:
    env.send(env.band.frame("sos", {"sos_id": 1, "reason": 1}))
    alert_id = env.alerts("sos")[0]["id"]
    env.county.advance(env.county.rt.settings.escalate_sos_s)
    jobs.run_all(env.county.rt, int(env.county.now))
    a = env.store.alert(alert_id)
    assert a["status"] == "escalated" and a["escalation_level"] == 1
    c = env.county
    r = c.call("village", "POST", f"/api/v1/alerts/{alert_id}/resolve", json={"note": " "})
    assert r.status_code == 422
    assert (
        c.call("village", "POST", f"/api/v1/alerts/{alert_id}/ack").json()["status"]
        == "acknowledged"
    )
    r = c.call(
        "village", "POST", f"/api/v1/alerts/{alert_id}/resolve", json={"note": "村干部已到场，误触"}
    )
    assert r.json()["status"] == "resolved"
    assert c.call("office_b", "POST", f"/api/v1/alerts/{alert_id}/ack").status_code == 404
    env.send(env.band.frame("sos", {"sos_id": 1, "reason": 1}))  # after resolution: a new alert
    assert len(env.alerts("sos")) == 2


def test_jobs_raise_silence_missed_checkin_out_of_contact_and_deadlines(env: Env) -> None:
    c = env.county
    c.advance(15 * 86400)  # normal class: check-in every 14 days; band never sent a frame
    result = jobs.run_all(c.rt, int(c.now))
    kinds = {a["kind"] for a in env.store.q("SELECT kind FROM alerts")}
    assert {"band_silent", "missed_checkin", "out_of_contact"} <= kinds
    assert result["silent"] == 1
    case = c.call("office", "GET", f"/api/v1/cases/{env.case_id}").json()
    assert case["missing_since"] is not None
    sugg = c.call("office", "GET", f"/api/v1/cases/{env.case_id}/suggestions").json()
    assert [s["kind"] for s in sugg] == [
        "warning"
    ]  # > 10 days out of contact: proposed, not applied
    jobs.run_all(c.rt, int(c.now))  # a second pass folds, it does not duplicate
    assert env.store.one("SELECT count(*) AS n FROM alerts WHERE kind = 'band_silent'")["n"] == 1


def test_overdue_report_raises_out_of_contact(env: Env) -> None:
    c = env.county
    late = c.open_case("notified", id_number="610102198001010015")
    c.set_date("2025-12-09")  # report was due 2025-12-08
    jobs.run_all(c.rt, int(c.now))
    rows = env.store.q(
        "SELECT * FROM alerts WHERE kind = 'out_of_contact' AND case_id = ?", (late,)
    )
    assert len(rows) == 1
    dl = env.store.q("SELECT * FROM alerts WHERE kind = 'deadline_due' AND case_id = ?", (late,))
    assert len(dl) == 1


class _Hook(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        _Hook.bodies.append(json.loads(body))
        self.send_response(_Hook.answers.pop(0) if _Hook.answers else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_sos_is_dispatched_to_110_until_delivered() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.answers, _Hook.bodies = [503, 500], []
    e = Env({"dispatch_url": f"http://127.0.0.1:{server.server_port}/110", "dispatch_retry_s": 2})
    try:
        # The band names hub 99, but the person has not opted in: the relaying hub is used.
        e.send(e.band.frame("sos", {"sos_id": 3, "reason": 1, "hub_id": 99}))
        now = int(e.county.now)
        assert dispatch.deliver_due(e.county.rt, now) == 0
        assert dispatch.deliver_due(e.county.rt, now) == 0  # not due yet: backoff
        assert dispatch.deliver_due(e.county.rt, now + 2) == 0  # second failure
        assert dispatch.deliver_due(e.county.rt, now + 6) == 1
        row = e.store.one("SELECT * FROM dispatches")
        assert row["attempts"] == 3 and row["delivered_at"] == now + 6
        sent = _Hook.bodies[-1]
        assert sent["type"] == "sqjz.sos" and sent["location"]["hub"]["lat"] == pytest.approx(
            34.2658
        )
        assert sent["location"]["hub"]["hub_id"] == 12
        assert sent["person"]["name"] == "张三" and len(_Hook.bodies) == 3
    finally:
        server.shutdown()
        e.county.close()


def test_end_to_end_through_mosquitto(mosquitto: Mosquitto) -> None:
    """A hub publishes an SOS; the cloud worker stores it, acks through the hub, keeps config."""
    from cloud.app import start_workers

    county = County({"mqtt_enabled": True, "mqtt_port": mosquitto.port, "jobs_interval_s": 3600})
    try:
        case_id = county.open_case("supervising")
        band = BandSim(BAND)
        county.enrol(band)
        person = county.call("office", "GET", f"/api/v1/cases/{case_id}").json()["person_id"]
        county.call("admin", "POST", f"/api/v1/bands/{BAND}/assign", json={"person_id": person})
        start_workers(county.rt)
        wait_for(county.rt.mqtt.connected.is_set)
        got: dict[str, list[bytes]] = {}
        hub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="hub-12")
        hub.on_message = lambda _c, _u, m: got.setdefault(m.topic, []).append(bytes(m.payload))
        hub.connect("127.0.0.1", mosquitto.port)
        hub.subscribe([(topics.COUNTY_BANDS_FILTER, 1), (topics.HUB_DOWN_FILTER % 12, 1)])
        hub.loop_start()
        record = json.loads(wait_for(lambda: got.get(topics.band(BAND)))[-1])
        assert record["public_key"] == band.public.hex()
        sos = band.frame("sos", {"sos_id": 9, "reason": 1})
        hub.publish(topics.up(12), wrap(12, sos), qos=1).wait_for_publish()
        hub.publish(
            topics.status(12), json.dumps({"hub_id": 12, "online": True}), qos=1, retain=True
        )
        ack = wait_for(lambda: got.get(topics.down(12, BAND)))[0]
        msg, _ = downlink.accept(ack, band.dl_key, BAND, (-1, 0))
        assert msg.type_name == "sos_ack" and msg.fields["sos_id"] == 9
        row = county.rt.store.one(
            "SELECT raw FROM frames WHERE band_id = ? AND type = 'sos'", (BAND,)
        )
        assert bytes(row["raw"]) == sos
        wait_for(lambda: county.rt.store.hub(12)["online"] == 1)
        hub.loop_stop()
        hub.disconnect()
    finally:
        county.close()


def test_retention_job_deletes_old_data_and_raises_the_floor(env: Env) -> None:
    env.send(*[env.band.frame("activity", {"steps": i}, counter=i) for i in range(1, 11)])
    with env.store.tx():
        env.store.insert(
            "presence",
            {
                "band_id": BAND,
                "hub_id": 12,
                "first_seen": 1,
                "last_seen": 2,
                "rssi": -60,
                "received_at": int(env.county.now),
            },
        )
    days = env.county.rt.settings.retain_frames_days
    env.county.advance(days * 86400 + 1)
    newer = env.band.frame("activity", {"steps": 11}, counter=11)
    env.send(newer)
    out = jobs.apply_retention(env.county.rt, int(env.county.now))
    assert out["frames"] == 11 and out["presence"] == 1  # counters 0 (enrol) .. 10; not 11
    assert env.store.band(BAND)["floor"] == 10
    late = env.band.frame("activity", {"steps": 5}, counter=5)  # absent now, but below the floor
    assert env.send(late).verdicts == ["replay"]
    actions = [r["action"] for r in env.store.audit_rows(0, 5000)]
    assert "retention.expire" in actions and env.store.audit_verify()[0]
