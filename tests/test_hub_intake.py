"""Judging frames at the hub: verified, forged, malformed, unknown band, replay, duplicate."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub import intake as it
from hub import outbox as ob
from hub import policy
from protocol import envelope, frame
from simulators.ble.loadband import LoadBand

NOW = 1_764_460_800.0


def _intake(tmp_path: Path, bands: list[LoadBand], presence: set[int] | None = None) -> it.Intake:
    box = ob.Outbox(tmp_path / "hub.db")
    allowed = presence or set()
    i = it.Intake(12, box, lambda b, now: b in allowed, lambda: False)
    i.set_keys({b.band_id: b.public_key for b in bands})
    return i


def _heard(raw: bytes, rssi: int = -61) -> it.Heard:
    return it.Heard(raw, int(NOW * 1000), rssi, "D5:0A:00:00:00:01")


def _events(i: it.Intake) -> list[dict[str, object]]:
    return [json.loads(r.payload) for r in i.store.next_rows(1000) if r.kind == "event"]


def test_good_frames_are_stored_and_acknowledged_forged_are_refused_with_an_alarm(
    tmp_path: Path,
) -> None:
    band = LoadBand(66051)
    i = _intake(tmp_path, [band])
    good = band.make("activity", {"steps": 10})
    forged = frame.encode(
        "sos",
        band.band_id,
        99,
        int(NOW),
        {"reason": 1},
        Ed25519PrivateKey.from_private_bytes(bytes(32)).sign,
    )
    after = band.make("heartbeat", {"battery_pct": 50})
    out = i.process([_heard(good), _heard(forged), _heard(after)], NOW)
    assert [o.verdict for o in out] == [it.ACCEPTED, it.FORGED, it.ACCEPTED]
    assert [o.ack for o in out] == [0, None, 1]
    assert i.store.stats["forged_total"] == 1
    rows = i.store.next_rows(10)
    alarm = [json.loads(r.payload) for r in rows if r.kind == "event"]
    assert alarm[0]["kind"] == "forged_frame" and alarm[0]["frame_hex"] == forged.hex()
    assert rows[0].kind == "event" and rows[0].priority == policy.PRIORITY_ALARM
    frames = [r for r in rows if r.kind == "frame"]
    assert [r.payload for r in frames] == [good, after]  # raw bytes, untouched
    assert all(r.flags & envelope.FLAG_HUB_VERIFIED for r in frames)


def test_malformed_frames_are_counted_reported_once_and_do_not_disturb_others(
    tmp_path: Path,
) -> None:
    band = LoadBand(5)
    i = _intake(tmp_path, [band])
    garbage = [b"", b"\x11", bytes(200), b"\x21" + bytes(100), band.make("activity")[:-1]]
    ok = band.make("activity")
    out = i.process([_heard(g) for g in garbage] + [_heard(ok)], NOW)
    assert [o.verdict for o in out[:-1]] == [it.MALFORMED] * 5
    assert out[-1].verdict == it.ACCEPTED
    assert i.store.stats["malformed_total"] == 5
    assert len(_events(i)) == 1  # rate-limited per source: one report, five counted


def test_unknown_band_is_forwarded_unverified_and_reported(tmp_path: Path) -> None:
    known, stranger = LoadBand(1), LoadBand(2)
    i = _intake(tmp_path, [known])
    out = i.process([_heard(stranger.make("activity")), _heard(stranger.make("activity"))], NOW)
    assert [o.verdict for o in out] == [it.ACCEPTED, it.ACCEPTED]
    frames = [r for r in i.store.next_rows(10) if r.kind == "frame"]
    assert all(not r.flags & envelope.FLAG_HUB_VERIFIED for r in frames)
    assert i.store.stats["unknown_band_total"] == 2
    assert [e["kind"] for e in _events(i)] == ["unknown_band"]


def test_duplicates_are_acknowledged_again_and_stale_counters_forwarded(tmp_path: Path) -> None:
    band = LoadBand(9)
    i = _intake(tmp_path, [band])
    frames = [band.make("activity") for _ in range(70)]
    assert all(o.verdict == it.ACCEPTED for o in i.process([_heard(f) for f in frames], NOW))
    out = i.process([_heard(frames[69]), _heard(frames[10]), _heard(frames[2])], NOW)
    # frames[2] is still in the outbox (no PUBACK yet): a duplicate there too.
    assert [o.verdict for o in out] == [it.DUPLICATE, it.DUPLICATE, it.DUPLICATE]
    assert [o.ack for o in out] == [69, 10, 2]
    assert i.store.depth() == 70


def test_a_stale_counter_is_forwarded_for_the_cloud_to_judge(tmp_path: Path) -> None:
    # A band that moved on to another hub comes back with a frame this hub never stored,
    # far below the hub's window: refusing it would leave the band resending it forever.
    band = LoadBand(9)
    i = _intake(tmp_path, [band])
    frames = [band.make("activity") for _ in range(100)]
    assert all(o.verdict == it.ACCEPTED for o in i.process([_heard(f) for f in frames[5:]], NOW))
    window = i.windows[9]
    out = i.process([_heard(frames[0])], NOW)
    assert [(o.verdict, o.ack) for o in out] == [(it.LATE, 0)]
    assert i.windows[9] == window  # the window does not move back
    assert i.store.stats["stale_forwarded_total"] == 1
    assert i.store.depth() == 96


def test_replay_window_survives_a_restart(tmp_path: Path) -> None:
    band = LoadBand(9)
    i = _intake(tmp_path, [band])
    frames = [band.make("activity") for _ in range(3)]
    i.process([_heard(f) for f in frames], NOW)
    i.store.db.close()
    again = _intake(tmp_path, [band])
    assert again.process([_heard(frames[1])], NOW)[0].verdict == it.DUPLICATE


def test_rssi_is_kept_only_where_presence_is_allowed(tmp_path: Path) -> None:
    watched, free = LoadBand(1), LoadBand(2)
    i = _intake(tmp_path, [watched, free], presence={1})
    i.process([_heard(watched.make("activity"), -55), _heard(free.make("activity"), -66)], NOW)
    rows = {r.band_id: r for r in i.store.next_rows(10) if r.kind == "frame"}
    assert rows[1].rssi == -55 and rows[1].flags & envelope.FLAG_PRESENCE_OK
    assert rows[2].rssi == 0 and not rows[2].flags & envelope.FLAG_PRESENCE_OK


def test_full_outbox_refuses_without_ack_but_never_an_sos(tmp_path: Path) -> None:
    band = LoadBand(4)
    box = ob.Outbox(tmp_path / "hub.db", policy.Limits(max_frames=2))
    i = it.Intake(12, box, lambda b, now: False, lambda: True)
    i.set_keys({4: band.public_key})
    out = i.process([_heard(band.make("activity")) for _ in range(3)], NOW)
    assert [o.verdict for o in out] == [it.ACCEPTED, it.ACCEPTED, it.REFUSED_FULL]
    assert out[2].ack is None
    band.press_button(4)
    sos = band.sent[-1]
    assert i.process([_heard(sos)], NOW)[0].verdict == it.ACCEPTED
    # The refused frame is not marked seen: when room returns, the band's retry is stored.
    box.limits = policy.Limits()
    assert i.process([_heard(band.sent[2])], NOW)[0].verdict == it.ACCEPTED
