"""SimBand: the real firmware under MicroPython, driven as a hub would drive a band over GATT."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import downlink, frame, gatt
from simulators.band import SimBand
from simulators.band_central import Central as Hub

BAND = 66051
SEED = bytes(range(1, 33))


@pytest.fixture()
def band() -> Iterator[SimBand]:
    with SimBand(BAND, SEED) as b:
        yield b


def test_key_comes_from_the_rng_and_identity_and_advert_say_so(band: SimBand) -> None:
    want = Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw()
    assert band.public_key == want
    adv = band.advertisement()
    assert adv is not None
    assert adv["name"] == f"SQJZ-{BAND}"
    assert adv["service_uuids"] == [gatt.SERVICE_UUID]
    band_id, status = gatt.unpack_adv_status(adv["manufacturer_data"][gatt.MANUFACTURER_ID])
    assert band_id == BAND
    assert status == gatt.ADV_UNENROLLED | gatt.ADV_FRAMES_QUEUED  # boot heartbeat waits
    band.connect()
    assert band.advertisement() is None  # connected: not advertising
    assert gatt.unpack_identity(band.read(gatt.IDENTITY_UUID)) == (BAND, want, 0x0100, 1, False)


def test_frames_verify_are_acked_and_leave_the_queue(band: SimBand) -> None:
    band.advance(610)
    hub = Hub(band)
    hub.connect(mtu=23)  # the smallest MTU: every frame travels in fragments
    got = hub.frames()
    assert [f.type_name for f in got] == ["heartbeat", "activity", "activity"]
    assert [f.counter for f in got] == [0, 1, 2]
    assert all(f.flags & frame.FLAG_QUEUED and f.flags & frame.FLAG_TIME_UNSYNCED for f in got)
    # Windows close at the first sensor drain (every 1-4 s) at or after 300 s.
    windows = [f.fields["window_s"] for f in got[1:]]
    assert all(300 <= w <= 304 for w in windows) and sum(windows) <= 610
    assert [f.band_time for f in got[1:]] == [windows[0], windows[0] + windows[1]]
    assert band.status()["queue_depth"] == 0
    assert band.take_notifications() == []  # nothing sent twice on this link


def test_unacked_frames_are_sent_again_on_the_next_link(band: SimBand) -> None:
    hub = Hub(band)
    hub.connect()
    first = hub.frames(ack=False)
    band.disconnect()
    other = Hub(band)  # another hub (or the same after a restart) gets the same bytes
    other.connect()
    again = other.frames()
    assert [f.raw for f in again] == [f.raw for f in first]  # the same signed bytes


def test_enrolment_then_time_sync_and_refused_downlinks(band: SimBand) -> None:
    hub = Hub(band)
    hub.connect()
    hub.frames()
    hub.enrol()
    assert gatt.unpack_identity(band.read(gatt.IDENTITY_UUID))[4] is True
    sync = hub.downlink("time_sync", {"tz_offset_min": 480})
    assert hub.results() == [(1, 0)]
    hub.send_raw(sync)  # replayed
    band.advance(11)  # refusals are answered at most every 10 s
    forged = hub.downlink("time_sync", {}, key=bytes(32))
    band.advance(11)
    tampered = bytearray(
        downlink.encode(hub.dl_key or b"", "notify", BAND, 9, 0, {"pattern": 1, "reason": 1})
    )
    tampered[-1] ^= 1  # one bit of the tag
    hub.send_raw(bytes(tampered))
    assert forged[7:11] == (2).to_bytes(4, "big")
    assert hub.results() == [(1, 2), (2, 1), (9, 1)]
    band.advance(300)
    adv = band.advertisement()  # the band hung up the idle link
    assert adv is not None
    # One routine frame waits: not worth calling a hub over (batches of 4 or 20 minutes).
    assert gatt.unpack_adv_status(adv["manufacturer_data"][gatt.MANUFACTURER_ID])[1] == 0
    hub.connect()  # a routine visit collects it anyway
    (activity,) = [f for f in hub.frames() if f.type_name == "activity"]
    assert not activity.flags & frame.FLAG_TIME_UNSYNCED
    assert band.now - 25 <= activity.band_time <= band.now  # UTC, made about 20 s ago


def test_sos_repeats_with_one_id_until_acknowledged(band: SimBand) -> None:
    hub = Hub(band)
    hub.connect()
    hub.frames()
    hub.enrol()
    band.press_button(1.0)  # a short press is not an alarm
    band.advance(5)
    assert [f for f in hub.frames() if f.type_name == "sos"] == []
    band.press_button(3.5)
    sos = []
    for _ in range(8):  # a hub that comes back (the advert says SOS) and acknowledges
        band.advance(10)
        sos += [f for f in hub.drain() if f.type_name == "sos"]
    assert len(sos) == 4  # at 3.5 s, then after 10, 20 and 40 s
    assert {f.fields["sos_id"] for f in sos} == {1}
    assert [f.fields["attempt"] for f in sos] == list(range(1, len(sos) + 1))
    assert len({f.counter for f in sos}) == len(sos)
    adv_status = band.status()
    assert adv_status["sos"] == [1, len(sos)]
    hub.downlink("sos_ack", {"sos_id": 1, "status": 1})
    assert (hub.dl_counter, 0) in hub.results()
    band.advance(600)
    assert [f for f in hub.drain() if f.type_name == "sos"] == []
    assert band.status()["sos"] is None


def test_restart_keeps_key_queue_and_never_reuses_a_counter(tmp_path: Path) -> None:
    flash = tmp_path / "flash"
    with SimBand(BAND, SEED, flash_dir=flash) as b:
        b.advance(320)
        hub = Hub(b)
        hub.connect()
        before = hub.frames(ack=False)
        public = b.public_key
    with SimBand(BAND, bytes(32), flash_dir=flash) as b:  # another RNG: the key is in flash
        assert b.public_key == public
        hub = Hub(b)
        hub.connect()
        after = hub.frames()
    old = {f.counter for f in before}
    resent = [f for f in after if f.counter in old]
    new = [f for f in after if f.counter not in old]
    assert [f.raw for f in resent] == [f.raw for f in before]  # kept in flash, same bytes
    assert new and min(f.counter for f in new) >= 256  # resumed at the stored ceiling


def test_sqjz_band_prints_verified_frames_as_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from protocol.verify import Keyring, verify_frame
    from sqjz.cli import main

    argv = ["band", "--band-id", "7", "--seed", SEED.hex(), "--seconds", "310", "--enrol"]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["type"] for x in lines] == ["heartbeat", "enrol", "cmd_result", "activity"]
    public = Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw()
    keyring = Keyring({7: public})
    for x in lines:
        assert verify_frame(bytes.fromhex(x["raw"]), keyring).counter == x["counter"]
    assert lines[-1]["band_time"] > 1_764_460_800  # UTC after the enrolment's time sync


def test_a_recorded_wrist_plays_through_the_real_sensors(tmp_path: Path) -> None:
    # TROIKA subject 1 (wrist PPG + accelerometer on a treadmill, ECG reference), 25 Hz.
    from simulators import recordings

    source = recordings.DATA / "hr-troika" / "DATA_01_TYPE01_25hz.csv"
    if not source.exists():
        pytest.skip(f"evaluation data not at {source}")
    rec = recordings.read_troika(source)
    csv_path = recordings.write(rec, tmp_path)
    ref = [bpm for end_s, bpm in rec.truth["hr_windows"] if end_s <= 300]
    with SimBand(BAND, SEED, recording=csv_path) as band:
        hub = Hub(band)
        hub.enrol()
        hub.downlink("mode", {"mode": 1, "session_id": 5, "max_s": 0})  # continuous PPG
        band.advance(300)
        hub.downlink("mode", {"mode": 0, "session_id": 5, "max_s": 0})
        (end,) = [f for f in hub.drain() if f.type_name == "session" and f.fields["event"] == 2]
    # Running on a treadmill: many steps; the band's heart rate follows the ECG's.
    assert end.fields["steps"] > 400
    assert abs(end.fields["hr_mean"] - sum(ref) / len(ref)) <= 15
    assert end.fields["hr_max"] <= max(ref) + 15


def test_a_bad_recording_is_a_clear_error(tmp_path: Path) -> None:
    bad_header = tmp_path / "a.csv"
    bad_header.write_text("time,x,y,z\n0,0,0,1\n")
    with pytest.raises(ValueError, match="header must start t_ms,ax,ay,az"):
        SimBand(BAND, recording=bad_header)
    bad_row = tmp_path / "b.csv"
    bad_row.write_text(
        "t_ms,ax,ay,az\n" + "".join(f"{i * 40},0,0,1\n" for i in range(30)) + "x,1\n"
    )
    with pytest.raises(ValueError, match=r"b.csv:32: bad row"):
        SimBand(BAND, recording=bad_row)
