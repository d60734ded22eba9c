"""The outbox on real SQLite: uniqueness, SOS-first order, receipts, bounds, disk full, crashes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from hub import outbox as ob
from hub import policy
from hub.downlinks import DOWNLINK_TTL_S
from protocol import receipts
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


def test_frame_keys_name_every_frame_held_and_no_event(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    _add(box, 7, 1)
    _add(box, 7, 2, SOS)
    _add(box, 9, 4, BEAT)
    with box.batch():
        box.add_event({"kind": "forged"}, 1, 1000)
    assert box.frame_keys() == {(7, 1), (7, 2), (9, 4)}
    first = box.next_rows(1)[0]
    box.receipted([_receipt_of(first)], [])
    assert box.frame_keys() == {(7, 1), (9, 4)}


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


def _receipt_of(row: ob.Row) -> tuple[int, int, bytes]:
    assert row.band_id is not None and row.counter is not None
    return row.band_id, row.counter, receipts.tag(row.payload)


def test_an_entry_is_published_on_puback_and_goes_only_on_its_receipt(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = ob.Outbox(path)
    for c in range(5):
        _add(box, 3, c)
    rows = box.next_rows(5)
    assert box.mark_published([rows[1].id, rows[3].id], now=10.0) == 2
    # Published entries are not offered again, but the hub still holds them.
    assert [r.counter for r in box.next_rows(10)] == [0, 2, 4]
    assert box.depth() == 5 and box.awaiting() == 2 and box.oldest_ms() == 1000
    box.db.close()  # no clean close: as after SIGKILL
    box = ob.Outbox(path)
    assert box.depth() == 5 and box.awaiting() == 2
    assert box.receipted([_receipt_of(rows[1]), _receipt_of(rows[0])], []) == (2, 0)
    # A receipt deletes in any state: entry 0 was never acknowledged by the broker.
    assert [r.counter for r in box.next_rows(10)] == [2, 4]
    assert box.depth() == 3 and box.awaiting() == 1 and box.oldest_ms() == 1002
    assert box.receipted([_receipt_of(rows[1])], []) == (0, 0)  # a repeated receipt: nothing
    assert box.mark_published([rows[0].id], now=11.0) == 0  # PUBACK after the receipt
    assert box.awaiting() == 1
    assert box.stats["frames_published_total"] == 2
    assert box.stats["frames_receipted_total"] == 2


def test_a_receipt_for_other_bytes_under_the_same_counter_deletes_nothing(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    _add(box, 4, 9, raw=b"a" * 90)
    assert box.receipted([(4, 9, receipts.tag(b"b" * 90)), (4, 10, receipts.tag(b"a" * 90))], [])
    assert box.depth() == 1  # neither the cloned bytes' receipt nor another counter's
    assert box.receipted([(4, 9, receipts.tag(b"a" * 90))], []) == (1, 0)
    assert box.depth() == 0


def test_unreceipted_entries_are_requeued_after_a_time_or_all_at_once(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    for c in range(4):
        _add(box, 5, c)
    rows = box.next_rows(4)
    box.mark_published([rows[0].id, rows[1].id], now=100.0)
    box.mark_published([rows[2].id], now=150.0)
    assert box.next_rows(10) == [rows[3]]
    assert box.requeue(published_before=120.0) == 2
    assert [r.counter for r in box.next_rows(10)] == [0, 1, 3]  # priority order kept
    assert box.awaiting() == 1
    assert box.requeue() == 1 and box.awaiting() == 0
    assert len(box.next_rows(10)) == 4


def test_events_carry_a_seq_never_reused_and_go_on_their_receipt(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = ob.Outbox(path)
    with box.batch():
        first = box.add_event({"kind": "malformed"}, policy.PRIORITY_EVENT, 1)
        second = box.add_event({"kind": "adapter"}, policy.PRIORITY_EVENT, 2)
    payloads = [json.loads(r.payload) for r in box.next_rows(10)]
    assert [p["seq"] for p in payloads] == [first, second] and first != second
    box.mark_published([r.id for r in box.next_rows(10)], now=1.0)
    assert box.awaiting() == 2
    assert box.receipted([], [first, 999]) == (0, 1)
    assert box.awaiting() == 1
    box.close()
    box = ob.Outbox(path)
    with box.batch():
        third = box.add_event({"kind": "malformed"}, policy.PRIORITY_EVENT, 3)
    assert third not in (first, second)  # a late receipt for an old seq cannot hit it
    assert box.receipted([], [first]) == (0, 0)


def test_a_version_1_outbox_migrates_with_its_entries_waiting(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    old = sqlite3.connect(path)
    old.executescript(ob.MIGRATIONS[0] + "; PRAGMA user_version=1;")
    old.execute(
        "INSERT INTO outbox (kind, priority, band_id, counter, payload, received_at_ms)"
        " VALUES ('frame', 4, 1, 1, x'00', 5)"
    )
    old.execute(
        "INSERT INTO outbox (kind, priority, payload, received_at_ms)"
        """ VALUES ('event', 6, CAST('{"kind":"adapter"}' AS BLOB), 6)"""
    )
    old.commit()
    old.close()
    box = ob.Outbox(path)
    assert box.db.execute("PRAGMA user_version").fetchone()[0] == len(ob.MIGRATIONS)
    assert box.depth() == 1 and box.awaiting() == 0
    frame, event = box.next_rows(5)
    assert frame.counter == 1 and json.loads(event.payload) == {"kind": "adapter", "seq": 2}
    with box.batch():  # a new event's seq follows the ones the migration gave out
        assert box.add_event({"kind": "adapter"}, policy.PRIORITY_EVENT, 7) == 3
    assert box.receipted([], [2]) == (0, 1)


def test_an_id_is_never_reused_so_a_late_puback_marks_nothing_new(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    _add(box, 1, 1)
    (first,) = box.next_rows(5)
    assert box.receipted([_receipt_of(first)], []) == (1, 0)  # the receipt overtook the PUBACK
    _add(box, 1, 2)
    (second,) = box.next_rows(5)
    assert second.id != first.id
    assert box.mark_published([first.id], now=1.0) == 0  # the late PUBACK
    assert box.next_rows(5) == [second]


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
    assert box.bands_with_downlinks(1000.0 + DOWNLINK_TTL_S) == {5}
    assert box.expire_downlinks(1000.0 + DOWNLINK_TTL_S) == 1
    ((i, _p),) = box.downlinks(5, 2000.0)
    box.downlink_done(i)
    assert box.downlinks(5, 2000.0) == []


def test_a_failed_batch_rolls_back_everything(tmp_path: Path) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    with pytest.raises(RuntimeError), box.batch():
        box.add_frame(1, 1, ACT, bytes(90), 0, 0, 0, False)
        raise RuntimeError("power cut")
    assert box.depth() == 0 and box.next_rows(5) == []


def test_a_failed_receipt_deletion_leaves_frames_stored_and_full_fsync_back_on(
    tmp_path: Path,
) -> None:
    box = ob.Outbox(tmp_path / "o.db")
    _add(box, 1, 1)
    (row,) = box.next_rows(5)
    box.mark_published([row.id], now=1.0)
    box.db.execute(
        "CREATE TRIGGER no_delete BEFORE DELETE ON outbox BEGIN SELECT RAISE(ABORT, 'disk'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        box.receipted([_receipt_of(row)], [])
    assert box.depth() == 1 and box.awaiting() == 1
    assert box.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again
