"""The outbox on real SQLite: uniqueness, SOS-first order, bounds, disk full, crash survival."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub import outbox as ob
from hub import policy
from protocol.schema import TYPE_IDS

SOS, ACT, BEAT = TYPE_IDS["sos"], TYPE_IDS["activity"], TYPE_IDS["heartbeat"]


def _add(
    box: ob.Outbox, band: int, counter: int, ftype: int = ACT, raw: bytes | None = None
) -> str:
    with box.batch():
        return box.add_frame(
            band, counter, ftype, raw or bytes([ftype]) * 90, 1000 + counter, -60, 1, False
        )


def test_unique_on_band_and_counter_duplicate_and_conflict(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    assert _add(box, 7, 1, raw=b"a" * 90) == ob.STORED
    assert _add(box, 7, 1, raw=b"a" * 90) == ob.DUPLICATE
    assert _add(box, 7, 1, raw=b"b" * 90) == ob.CONFLICT
    assert _add(box, 8, 1, raw=b"a" * 90) == ob.STORED
    assert box.depth() == 2


def test_sos_first_then_priority_then_arrival(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    _add(box, 1, 1, BEAT)
    _add(box, 1, 2, ACT)
    _add(box, 2, 1, ACT)
    _add(box, 2, 2, SOS)
    _add(box, 1, 3, TYPE_IDS["tamper"])
    order = [(r.band_id, r.counter) for r in box.next_rows(10)]
    assert order == [(2, 2), (1, 3), (1, 2), (2, 1), (1, 1)]
    assert [r.counter for r in box.next_rows(2, skip={order[0] and box.next_rows(1)[0].id})] == [
        3,
        2,
    ]


def test_entries_survive_reopen_and_deletion_is_by_id_only(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = ob.Outbox(path)
    for c in range(5):
        _add(box, 3, c)
    rows = box.next_rows(5)
    assert box.delete([rows[1].id, rows[3].id]) == 2
    box.db.close()  # no clean close: as after SIGKILL
    again = ob.Outbox(path)
    assert [r.counter for r in again.next_rows(10)] == [0, 2, 4]
    assert again.depth() == 3
    assert again.stats["frames_published_total"] == 2


def test_full_outbox_evicts_heartbeats_refuses_routine_and_always_takes_sos(tmp_path: Path) -> None:
    limits = policy.Limits(max_frames=3, max_bytes=10**9, min_free_bytes=0)
    box = ob.Outbox(tmp_path / "o.db", limits)
    _add(box, 1, 1, BEAT)
    _add(box, 1, 2, ACT)
    _add(box, 1, 3, ACT)
    assert _add(box, 1, 4, ACT) == ob.STORED  # the heartbeat made room
    assert box.stats["dropped_heartbeats_total"] == 1
    assert _add(box, 1, 5, ACT) == ob.REFUSED  # nothing left to evict: the band keeps it
    assert box.stats["refused_full_total"] == 1
    for c in range(6, 10):
        assert _add(box, 1, c, SOS) == ob.STORED
    assert box.depth() == 7
    assert sorted(r.counter for r in box.next_rows(10)) == [2, 3, 4, 6, 7, 8, 9]


def test_admit_is_pure_and_says_why() -> None:
    lim = policy.Limits(max_frames=10, max_bytes=1000, min_free_bytes=100)
    roomy = policy.Usage(frames=1, bytes=100, heartbeats=0, free_bytes=10_000)
    assert policy.admit(policy.PRIORITY_ROUTINE, 100, roomy, lim) == policy.ACCEPT
    low_disk = policy.Usage(frames=1, bytes=100, heartbeats=2, free_bytes=150)
    assert policy.admit(policy.PRIORITY_ROUTINE, 100, low_disk, lim) == policy.EVICT_HEARTBEAT
    assert policy.admit(policy.PRIORITY_SOS, 100, low_disk, lim) == policy.ACCEPT
    no_beats = policy.Usage(frames=10, bytes=100, heartbeats=0, free_bytes=10_000)
    assert policy.admit(policy.PRIORITY_TAMPER, 100, no_beats, lim) == policy.REFUSE


def test_disk_full_refuses_cleanly_and_keeps_what_was_stored(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    stored = 0
    page_count = box.db.execute("PRAGMA page_count").fetchone()[0]
    box.db.execute(f"PRAGMA max_page_count = {page_count + 2}")  # a disk with 2 pages left
    results = []
    for c in range(50):
        try:
            results.append(_add(box, 9, c, raw=bytes(1000)))
        except ob.DiskFullError:
            results.append(_add(box, 9, c, raw=bytes(1000)))  # redone: refused while full
    stored = results.count(ob.STORED)
    assert ob.REFUSED in results and stored > 0
    assert box.depth() == stored == len(box.next_rows(100))
    assert box.stats["refused_full_total"] == results.count(ob.REFUSED)


def test_events_are_bounded_oldest_routine_first(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db", policy.Limits(max_events=3))
    with box.batch():
        box.add_event({"kind": "forged_frame"}, policy.PRIORITY_ALARM, 1)
        for i in range(4):
            box.add_event({"kind": "malformed", "i": i}, policy.PRIORITY_EVENT, 2 + i)
    kinds = [r.payload for r in box.next_rows(10)]
    assert len(kinds) == 3 and b"forged_frame" in kinds[0]
    assert box.stats["dropped_events_total"] == 2


def test_downlinks_kept_a_day_and_deduplicated(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    assert box.add_downlink(5, b"x", 1000.0)
    assert not box.add_downlink(5, b"x", 1001.0)
    box.add_downlink(5, b"y", 2000.0)
    assert [p for _, p in box.downlinks(5, 2000.0)] == [b"x", b"y"]
    assert box.bands_with_downlinks(1000.0 + ob.DOWNLINK_TTL_S) == {5}
    assert box.expire_downlinks(1000.0 + ob.DOWNLINK_TTL_S) == 1
    ((i, _p),) = box.downlinks(5, 2000.0)
    box.downlink_done(i)
    assert box.downlinks(5, 2000.0) == []


def test_a_failed_batch_rolls_back_everything(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    with pytest.raises(RuntimeError), box.batch():
        box.add_frame(1, 1, ACT, bytes(90), 0, 0, 0, False)
        raise RuntimeError("power cut")
    assert box.depth() == 0 and box.next_rows(5) == []


def test_a_failed_delete_leaves_frames_stored_and_full_fsync_back_on(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    _add(box, 1, 1)
    box.db.execute(
        "CREATE TRIGGER no_delete BEFORE DELETE ON outbox BEGIN SELECT RAISE(ABORT, 'disk'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        box.delete([r.id for r in box.next_rows(5)])
    assert box.depth() == 1 and len(box.next_rows(5)) == 1
    assert box.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again
