"""The whole firmware under MicroPython: tamper, battery, sessions, presence, SOS location,
refused downlinks and dead parts, seen only through signed frames and the radio."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from protocol import downlink, frame, gatt, schema
from protocol.frame import Frame
from simulators.band import SimBand
from simulators.band_central import Central


def of(frames: list[Frame], name: str) -> list[Frame]:
    return [f for f in frames if f.type_name == name]


@pytest.fixture()
def band() -> Iterator[SimBand]:
    with SimBand(4711, bytes(range(32))) as b:
        yield b


@pytest.fixture()
def hub(band: SimBand) -> Central:
    c = Central(band, hub_id=31, rssi=-61)
    c.enrol()
    return c


def test_strap_opened_closed_and_bridged(band: SimBand, hub: Central) -> None:
    band.open_strap()
    band.advance(40)
    band.close_strap()
    band.advance(5)
    band.bridge_strap()  # shorting the loop keeps it "closed" to the digital input ...
    band.advance(61)  # ... until the next resistance check
    tamper = of(hub.drain(), "tamper")
    assert [(f.fields["event"], f.fields["strap_closed"]) for f in tamper] == [
        (schema.TAMPER_STRAP_OPEN, 0),
        (schema.TAMPER_STRAP_CLOSED, 1),
        (schema.TAMPER_STRAP_OPEN, 0),
    ]
    assert tamper[1].fields["duration_s"] == 40
    assert tamper[0].fields["battery_pct"] in (89, 90)  # the cell drains from 90 %


def test_off_skin_is_seen_by_the_ppg_and_stops_counting(band: SimBand, hub: Central) -> None:
    band.set_activity("walk")
    band.take_off()
    band.advance(300)  # the PPG duty cycle finds the empty wrist within one period
    band.put_on()
    band.advance(310)  # past the close of the second activity window
    frames = hub.drain()
    tamper = of(frames, "tamper")
    assert [f.fields["event"] for f in tamper] == [schema.TAMPER_OFF_SKIN, schema.TAMPER_ON_SKIN]
    assert tamper[0].fields["on_skin"] == 0 and tamper[0].fields["strap_closed"] == 1
    off_for = tamper[1].fields["duration_s"]
    assert 150 <= off_for <= 450
    windows = of(frames, "activity")
    worn = sum(f.fields["worn_s"] for f in windows)
    total = sum(f.fields["window_s"] for f in windows)
    assert total - worn == pytest.approx(off_for, abs=4)
    assert windows[0].fields["steps"] < 0.6 * windows[1].fields["steps"]


def test_case_opened(band: SimBand, hub: Central) -> None:
    band.open_case()
    band.advance(1)
    (t,) = of(hub.drain(), "tamper")
    assert t.fields["event"] == schema.TAMPER_CASE_OPEN


def test_low_then_critical_battery_once_each_and_charging(band: SimBand, hub: Central) -> None:
    band.set_battery(19.5)
    band.advance(130)
    band.set_battery(4.5)
    band.advance(300)
    band.set_charging("charging")
    band.advance(5)
    band.set_charging("done")
    band.advance(5)
    frames = hub.drain()
    events = [(f.fields["event"], f.fields["battery_pct"]) for f in of(frames, "battery")]
    assert events == [
        (schema.BATTERY_LOW, 19),
        (schema.BATTERY_CRITICAL, 4),
        (schema.BATTERY_CHARGING, 4),
        (schema.BATTERY_CHARGED, 4),
    ]
    low = of(frames, "battery")[0]
    assert 3500 <= low.fields["battery_mv"] <= 3800 and low.fields["temp_c"] == 31
    assert low.fields["est_hours"] == 19 * 400 * 10 // 1700  # 19 % of 400 mAh at 1.7 mA
    assert band.status()["ppg_on"] is False  # critical: the PPG stays off to save the cell


def test_session_records_evidence_and_ends(band: SimBand, hub: Central) -> None:
    band.set_activity("walk")
    hub.downlink("mode", {"mode": 1, "session_id": 77, "max_s": 3600})
    band.advance(600)
    assert band.status()["ppg_on"] is True  # continuous heart rate during a session
    hub.downlink("mode", {"mode": 0, "session_id": 77, "max_s": 0})
    frames = hub.drain()
    results = [(f.fields["downlink_type"], f.fields["result"]) for f in of(frames, "cmd_result")]
    assert results == [(0x83, 0), (0x83, 0)]
    start, end = of(frames, "session")
    assert (start.fields["event"], end.fields["event"]) == (1, 2)
    assert start.fields["session_id"] == end.fields["session_id"] == 77
    assert 598 <= end.fields["elapsed_s"] <= 602
    # 108 steps a minute of synthetic walking: the evidence is the firmware's own count.
    assert 0.9 * 1080 <= end.fields["steps"] <= 1.05 * 1080
    assert end.fields["hr_mean"] == pytest.approx(96, abs=4)
    assert end.fields["worn_s"] >= 598
    assert end.fields["kcal_x10"] > 0
    windows = of(frames, "activity")
    assert windows and all(f.fields["session_id"] == 77 for f in windows)
    assert all(f.flags & frame.FLAG_SESSION for f in [*windows, start])
    assert not end.flags & frame.FLAG_SESSION


def test_session_aborts_when_the_strap_opens_and_stops_at_max(band: SimBand, hub: Central) -> None:
    hub.downlink("mode", {"mode": 1, "session_id": 5, "max_s": 120})
    band.advance(130)
    hub.downlink("mode", {"mode": 1, "session_id": 6, "max_s": 3600})
    band.advance(30)
    band.open_strap()
    band.advance(2)
    sessions = of(hub.drain(), "session")
    assert [(f.fields["session_id"], f.fields["event"]) for f in sessions] == [
        (5, 1),
        (5, 2),
        (6, 1),
        (6, 3),
    ]
    assert sessions[1].fields["elapsed_s"] in (120, 121, 122, 123)


def test_presence_order_expires_on_the_band_itself(band: SimBand, hub: Central) -> None:
    until = int(band.now) + 600
    hub.downlink(
        "config",
        {"activity_s": 300, "heartbeat_s": 120, "config": 1, "presence_until": until},
    )
    band.advance(130)
    hub.drain()
    band.disconnect()
    band.advance(1)
    adv = band.advertisement()
    assert adv is not None and adv["interval_ms"] == 1000  # hubs may log presence now
    band.advance(600)  # no word from the cloud: the band ends it at presence_until
    adv = band.advertisement()
    assert adv is not None and adv["interval_ms"] == 2000
    beats = of(hub.drain(), "heartbeat")
    configs = [(f.band_time, f.fields["config"]) for f in beats]
    assert any(c == 1 for _, c in configs) and configs[-1][1] == 0
    assert all(c == 0 for t, c in configs if t > until)


def test_sos_carries_the_hub_only_with_opt_in(band: SimBand, hub: Central) -> None:
    band.press_button(3.2)
    band.advance(4)
    (plain,) = of(hub.drain(), "sos")
    assert (plain.fields["hub_id"], plain.fields["hub_rssi"]) == (0, 0)
    assert plain.fields["hub_age_s"] == 0xFFFF
    hub.downlink("sos_ack", {"sos_id": plain.fields["sos_id"], "status": 1})
    hub.downlink("config", {"activity_s": 300, "heartbeat_s": 900, "config": 2})
    band.disconnect()
    hub.connect()  # a hello after the opt-in: the band now keeps which hub it heard
    band.advance(20)
    band.press_button(3.2)
    band.advance(4)
    sos = of(hub.drain(), "sos")
    assert [(f.fields["hub_id"], f.fields["hub_rssi"]) for f in sos] == [(31, -61)]
    assert 20 <= sos[0].fields["hub_age_s"] <= 26
    assert sos[0].fields["sos_id"] == plain.fields["sos_id"] + 1


def test_notify_vibrates_and_bad_config_is_refused(band: SimBand, hub: Central) -> None:
    hub.downlink("notify", {"pattern": 3, "reason": 1})
    hub.downlink("config", {"activity_s": 10, "heartbeat_s": 900, "config": 0})
    assert hub.results() == [(1, schema.RESULT_OK), (2, schema.RESULT_BAD_VALUE)]
    band.advance(1)
    motor = band.status()["motor"]
    assert [v for _, _, v in motor[-2:]] == [52000, 0]
    assert motor[-1][0] - motor[-2][0] == 800


def test_unenrolled_band_answers_unsupported_and_re_enrolment_needs_the_charger() -> None:
    with SimBand(9, bytes(range(32))) as band:
        hub = Central(band)
        hub.downlink("notify", {"pattern": 1, "reason": 1})
        assert hub.results() == [(1, schema.RESULT_UNSUPPORTED)]
        first = hub.enrol()
        with pytest.raises(RuntimeError, match="did not answer"):
            hub.enrol(cloud_seed=bytes(32))  # someone in radio range tries to take over
        band.set_charging("charging")  # on the cradle at the office: allowed
        second = hub.enrol(cloud_seed=bytes(range(1, 33)))
        assert second.counter > first.counter
        assert "enrol refused" in " ".join(band.status()["log"])


def test_a_dead_ppg_leaves_the_rest_working() -> None:
    with SimBand(10, bytes(range(32)), profile={"missing_parts": ["ppg"]}) as band:
        hub = Central(band)
        enrol = hub.enrol()
        assert enrol.fields["capabilities"] == 2  # tamper loop only
        faults = band.status()["faults"]
        assert faults[0][0] == "ppg" and "not answering" in faults[0][1]
        band.press_button(3.5)
        band.advance(310)
        frames = hub.drain()
        assert of(frames, "sos") and of(frames, "activity")
        assert of(frames, "activity")[0].fields["hr_valid_s"] == 0


def test_queue_overflow_is_counted_in_heartbeats(band: SimBand, hub: Central) -> None:
    hub.downlink("config", {"activity_s": 60, "heartbeat_s": 60, "config": 0})
    hub.drain()  # counters 0-3 (boot heartbeat, enrol, cmd_result ...) are acknowledged
    acked = max(f.counter for f in hub.received)
    band.disconnect()
    band._exec("simhost.world.band.queue.max_frames = 64")  # a small flash for the test
    band.advance(40 * 60 + 5)  # about 80 frames with no hub in range
    adv = band.advertisement()
    assert adv is not None
    status = gatt.unpack_adv_status(adv["manufacturer_data"][gatt.MANUFACTURER_ID])[1]
    assert status & gatt.ADV_FRAMES_QUEUED
    frames = hub.drain()
    dropped = of(frames, "heartbeat")[-1].fields["dropped_total"]
    # The oldest 64-frame segment went (acknowledged frames had already left flash).
    assert dropped == 64
    assert frames[0].counter == acked + 1 + 64
    assert all(f.flags & frame.FLAG_QUEUED for f in frames)
    assert len(frames) + dropped == frames[-1].counter - acked


def test_routine_frames_call_a_hub_in_batches(band: SimBand) -> None:
    hub = Central(band)
    hub.drain()
    band.disconnect()

    def flagged() -> bool:
        adv = band.advertisement()
        assert adv is not None
        status = gatt.unpack_adv_status(adv["manufacturer_data"][gatt.MANUFACTURER_ID])[1]
        return bool(status & gatt.ADV_FRAMES_QUEUED)

    band.advance(610)
    assert band.status()["queue_depth"] == 2 and not flagged()  # two activity windows wait
    band.advance(300)  # a heartbeat and a third window: four routine frames
    assert band.status()["queue_depth"] == 4 and flagged()
    hub.drain()
    band.disconnect()
    band.advance(300)
    assert band.status()["queue_depth"] == 1 and not flagged()
    band.open_strap()  # anything that is not routine asks at once
    assert flagged()


def test_still_wrist_sleeps_the_accelerometer_and_motion_wakes_it(band: SimBand) -> None:
    band.set_activity("rest")
    band.advance(200)
    assert band.status()["still"] is True
    band.set_activity("walk")
    band.advance(2)
    status = band.status()
    assert status["still"] is False and status["accel_wakeups"] == 1
    band.advance(410)
    hub = Central(band)
    windows = of(hub.drain(), "activity")
    # The second window is all walking: nothing lost to the sleep before it.
    assert windows[1].fields["walk_s"] >= 295
    assert 0.95 * 540 <= windows[1].fields["steps"] <= 1.03 * 540


def test_profile_from_enrolment_drives_the_energy_estimate(band: SimBand, hub: Central) -> None:
    band.set_activity("walk")
    band.advance(305)
    hub.downlink("profile", {"sex": 2, "age": 30, "weight_kg": 50, "rest_hr": 60})
    hub.downlink("profile", {"sex": 1, "age": 30, "weight_kg": 5, "rest_hr": 60})
    band.advance(300)
    frames = hub.drain()
    results = [f.fields["result"] for f in of(frames, "cmd_result")]
    assert results == [schema.RESULT_OK, schema.RESULT_BAD_VALUE]
    before, after = (f.fields["kcal_x10"] for f in of(frames, "activity")[:2])
    # Same walk, same heart rate: a 50 kg woman spends less than the default 70 kg man.
    assert after < 0.85 * before


def test_a_delayed_time_sync_does_not_turn_a_synced_clock_back(band: SimBand, hub: Central) -> None:
    hub.downlink("time_sync", {"tz_offset_min": 480})
    band.advance(3600)
    old = hub.dl_counter + 1
    hub.send_raw(
        downlink.encode(hub.dl_key or b"", "time_sync", band.band_id, old, int(band.now) - 3000, {})
    )
    hub.dl_counter = old
    hub.downlink("time_sync", {"tz_offset_min": 480})  # a fresh one is fine
    assert hub.results()[-2:] == [(old, schema.RESULT_BAD_VALUE), (old + 1, schema.RESULT_OK)]


def test_a_failing_flash_loses_the_frame_counts_it_and_keeps_running(band: SimBand) -> None:
    band._exec(
        "def _full(raw, sos=False):\n"
        "    raise OSError(28)\n"
        "simhost.world.band.queue.append = _full\n"
    )
    band.open_strap()  # a tamper frame that cannot be stored
    band.advance(1)
    status = band.status()
    assert status["dropped_total"] == 1 and "queue write failed" in " ".join(status["log"])
    band._exec("del simhost.world.band.queue.append")  # the flash recovers
    band.advance(900)
    (beat,) = [f for f in Central(band).drain() if f.type_name == "heartbeat" and f.counter > 1]
    assert beat.fields["dropped_total"] == 1


def test_a_hub_that_never_acknowledges_is_hung_up_on(band: SimBand) -> None:
    band.connect()
    band.write(gatt.CONTROL_UUID, gatt.hub_hello(1, 0))
    assert band.take_notifications()  # frames went out, no OP_ACK comes back
    band.advance(35)
    assert band.advertisement() is not None  # the band dropped the link and advertises again
