"""The hub's durable store: outbox (SQLite, WAL), band replay windows, downlinks, settings."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from hub import policy
from hub.downlinks import Downlinks
from hub.outbox_schema import MIGRATIONS
from protocol import receipts

STORED = "stored"
DUPLICATE = "duplicate"  # same band, counter and bytes already waiting
CONFLICT = "conflict"  # same band and counter, other bytes: a cloned key or a broken band
REFUSED = "refused"  # the outbox is full (policy.admit): not stored, not acknowledged


class Row(NamedTuple):
    """One outbox entry ready to publish."""

    id: int
    kind: str
    priority: int
    band_id: int | None
    counter: int | None
    payload: bytes
    received_at_ms: int
    rssi: int
    flags: int
    held: bool


class DiskFullError(RuntimeError):
    """SQLite ran out of space and rolled the batch back; redo it (everything is refused)."""


def _chunks(values: Sequence[int], size: int = 500) -> Iterator[tuple[list[int], str]]:
    """Slices under SQLite's bound-parameter limit, each with its `?,?,...` marks."""
    for start in range(0, len(values), size):
        chunk = list(values[start : start + size])
        yield chunk, ",".join("?" * len(chunk))


class Outbox(Downlinks):
    """All hub state that must survive a crash; one connection, used from one thread."""

    def __init__(
        self,
        path: Path | str,
        limits: policy.Limits | None = None,
        synchronous: str = "FULL",
    ) -> None:
        self.path = str(path)
        self.limits = limits or policy.Limits()
        # check_same_thread off: the service opens it in one thread and runs it in another.
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: a frame acknowledged to a band survives a power cut, not only a crash.
        self.synchronous = synchronous.upper()
        self.db.execute(f"PRAGMA synchronous={self.synchronous}")
        self.db.execute("PRAGMA busy_timeout=5000")
        self._migrate()
        self.stats: dict[str, int] = dict(self.db.execute("SELECT name, value FROM stat"))
        self._dirty_stats: set[str] = set()
        self._frames, self._bytes, self._heartbeats, self._events, self._awaiting = self._count()
        self.disk_full = False
        self._free_bytes = self.disk_free()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for i, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.executescript(f"BEGIN; {script}; PRAGMA user_version={i}; COMMIT;")

    def _count(self) -> tuple[int, int, int, int, int]:
        frames, size, beats = self.db.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0), coalesce(sum(priority = ?), 0)"
            " FROM outbox WHERE kind = 'frame'",
            (policy.PRIORITY_HEARTBEAT,),
        ).fetchone()
        events = self.db.execute("SELECT count(*) FROM outbox WHERE kind = 'event'").fetchone()[0]
        awaiting = self.db.execute(
            "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"
        ).fetchone()[0]
        return frames, size, beats, events, awaiting

    def close(self) -> None:
        """Write pending statistics and close the database."""
        with contextlib.suppress(sqlite3.Error):
            with self.batch():
                pass
            self.db.close()

    # -- transactions and statistics --------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction (one fsync) around many changes; statistics are saved with it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            for name in self._dirty_stats:
                self.db.execute(
                    "INSERT INTO stat (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (name, self.stats[name]),
                )
            self.db.execute("COMMIT")
            self._dirty_stats.clear()
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already (SQLITE_FULL)
                self.db.execute("ROLLBACK")
            self._frames, self._bytes, self._heartbeats, self._events, self._awaiting = (
                self._count()
            )
            self.stats = dict(self.db.execute("SELECT name, value FROM stat"))
            self._dirty_stats.clear()
            raise

    def count(self, name: str, n: int = 1) -> None:
        """Add to a statistic; saved with the next batch."""
        self.stats[name] = self.stats.get(name, 0) + n
        self._dirty_stats.add(name)

    # -- frames and events ------------------------------------------------------------------

    def disk_free(self) -> int:
        """Free bytes on the outbox's file system (refreshed by the service)."""
        folder = Path(self.path).parent if self.path != ":memory:" else Path(".")
        self._free_bytes = shutil.disk_usage(folder).free
        self.disk_full = False  # try again; a failing insert sets it back at once
        return self._free_bytes

    def usage(self) -> policy.Usage:
        """What the outbox holds, for policy.admit."""
        return policy.Usage(self._frames, self._bytes, self._heartbeats, self._free_bytes)

    def add_frame(
        self,
        band_id: int,
        counter: int,
        frame_type: int,
        raw: bytes,
        received_at_ms: int,
        rssi: int,
        flags: int,
        held: bool,
    ) -> str:
        """Store one frame (inside a batch); returns STORED, DUPLICATE, CONFLICT or REFUSED."""
        priority = policy.frame_priority(frame_type)
        decision = policy.admit(priority, len(raw), self.usage(), self.limits)
        if decision == policy.REFUSE or self.disk_full:
            self.count("refused_full_total")
            return REFUSED
        if decision == policy.EVICT_HEARTBEAT:
            self._evict_heartbeat()
        try:
            cur = self.db.execute(
                "INSERT INTO outbox (kind, priority, band_id, counter, frame_type, payload,"
                " received_at_ms, rssi, flags, held) VALUES ('frame', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (band_id, counter) WHERE kind = 'frame' DO NOTHING",
                (priority, band_id, counter, frame_type, raw, received_at_ms, rssi, flags, held),
            )
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            # The disk is full. SQLite rolls the whole batch back, so the caller redoes it
            # with every frame refused (not acknowledged: the bands keep them) until
            # disk_free() sees room again.
            self.disk_full = True
            raise DiskFullError(str(exc)) from None
        if cur.rowcount == 0:  # one query in the common case; a second only for a repeat
            old = self.db.execute(
                "SELECT payload FROM outbox WHERE kind = 'frame' AND band_id = ? AND counter = ?",
                (band_id, counter),
            ).fetchone()
            return DUPLICATE if bytes(old[0]) == raw else CONFLICT
        self._frames += 1
        self._bytes += len(raw)
        self._heartbeats += priority == policy.PRIORITY_HEARTBEAT
        self._free_bytes -= len(raw)
        return STORED

    def _evict_heartbeat(self) -> None:
        row = self.db.execute(
            "SELECT id, length(payload), published_at IS NOT NULL FROM outbox"
            " WHERE kind = 'frame' AND priority = ? ORDER BY id LIMIT 1",
            (policy.PRIORITY_HEARTBEAT,),
        ).fetchone()
        self.db.execute("DELETE FROM outbox WHERE id = ?", (row[0],))
        self._frames -= 1
        self._bytes -= row[1]
        self._heartbeats -= 1
        self._awaiting -= row[2]
        self.count("dropped_heartbeats_total")

    def add_event(self, event: dict[str, Any], priority: int, received_at_ms: int) -> int:
        """Queue a JSON event (inside a batch) under a new seq (returned); bounded, oldest out."""
        if self._events >= self.limits.max_events:
            row = self.db.execute(
                "DELETE FROM outbox WHERE id = (SELECT id FROM outbox WHERE kind = 'event'"
                " ORDER BY priority DESC, id LIMIT 1) RETURNING published_at IS NOT NULL"
            ).fetchone()
            self._events -= 1
            self._awaiting -= row[0]
            self.count("dropped_events_total")
        # Never reused (kept with the statistics), so a late receipt cannot delete a newer event.
        self.count("event_seq")
        seq = self.stats["event_seq"] % 2**32
        payload = json.dumps(
            {**event, "seq": seq}, ensure_ascii=False, separators=(",", ":")
        ).encode()
        self.db.execute(
            "INSERT INTO outbox (kind, priority, band_id, counter, payload, received_at_ms)"
            " VALUES ('event', ?, ?, ?, ?, ?)",
            (priority, event.get("band_id"), seq, payload, received_at_ms),
        )
        self._events += 1
        return seq

    def next_rows(self, limit: int, skip: set[int] | frozenset[int] = frozenset()) -> list[Row]:
        """Up to `limit` unpublished entries, SOS first, leaving out `skip` (with paho now)."""
        out: list[Row] = []
        cur = self.db.execute(
            "SELECT id, kind, priority, band_id, counter, payload, received_at_ms, rssi, flags,"
            " held FROM outbox WHERE published_at IS NULL ORDER BY priority, id LIMIT ?",
            (limit + len(skip),),
        )
        for r in cur:
            if r[0] in skip:
                continue
            out.append(Row(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), r[6], r[7], r[8], bool(r[9])))
            if len(out) == limit:
                break
        return out

    @contextlib.contextmanager
    def _unsynced(self) -> Iterator[None]:
        # A PUBACK mark or a receipt's deletion lost in a power cut only republishes an entry
        # the cloud deduplicates, so it need not wait for an fsync (WAL + NORMAL); storing a
        # frame always does.
        self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self.batch():
                yield
        finally:  # never leave stored frames without their fsync
            self.db.execute(f"PRAGMA synchronous={self.synchronous}")

    def mark_published(self, ids: list[int], now: float) -> int:
        """The broker acknowledged these entries: keep them, awaiting the cloud's receipt.

        Entries already receipted (or dropped) are gone and stay gone. Returns frames marked.
        """
        if not ids:
            return 0
        frames = events = 0
        with self._unsynced():
            for chunk, marks in _chunks(ids):
                for (kind,) in self.db.execute(
                    f"UPDATE outbox SET published_at = ? WHERE id IN ({marks})"
                    " AND published_at IS NULL RETURNING kind",
                    (now, *chunk),
                ).fetchall():
                    frames += kind == "frame"
                    events += kind == "event"
            self._awaiting += frames + events
            self.count("frames_published_total", frames)
            self.count("events_published_total", events)
        return frames

    def receipted(self, frames: list[tuple[int, int, bytes]], events: list[int]) -> tuple[int, int]:
        """Forget what the cloud has decided about, in any state; (frames, events) deleted.

        A frame goes only if its bytes carry the receipt's tag: a receipt for other bytes under
        the same band and counter (a cloned band) leaves it for the cloud to see.
        """
        ids: list[int] = []
        find = "SELECT id, payload FROM outbox WHERE kind = 'frame' AND band_id = ? AND counter = ?"
        for band_id, counter, tag in frames:  # one index lookup each; the delete is batched
            row = self.db.execute(find, (band_id, counter)).fetchone()
            if row is not None and receipts.tag(row[1]) == tag:
                ids.append(row[0])
        for chunk, marks in _chunks(events):
            ids += [
                r[0]
                for r in self.db.execute(
                    f"SELECT id FROM outbox WHERE kind = 'event' AND counter IN ({marks})", chunk
                )
            ]
        gone_frames = gone_events = 0
        with self._unsynced():
            for chunk, marks in _chunks(ids):
                for kind, priority, size, published in self.db.execute(
                    f"DELETE FROM outbox WHERE id IN ({marks}) RETURNING kind, priority,"
                    " length(payload), published_at IS NOT NULL",
                    chunk,
                ).fetchall():
                    self._awaiting -= published
                    if kind == "event":
                        gone_events += 1
                        self._events -= 1
                        continue
                    gone_frames += 1
                    self._frames -= 1
                    self._bytes -= size
                    self._heartbeats -= priority == policy.PRIORITY_HEARTBEAT
            self.count("frames_receipted_total", gone_frames)
            self.count("events_receipted_total", gone_events)
        return gone_frames, gone_events

    def requeue(self, published_before: float | None = None) -> int:
        """Unreceipted entries the broker acknowledged before a time (all if None) go again."""
        if not self._awaiting:
            return 0
        if published_before is None:
            cur = self.db.execute(
                "UPDATE outbox SET published_at = NULL WHERE published_at IS NOT NULL"
            )
        else:
            cur = self.db.execute(
                "UPDATE outbox SET published_at = NULL WHERE published_at < ?",
                (published_before,),
            )
        self._awaiting -= cur.rowcount
        return cur.rowcount

    def mark_held(self) -> None:
        """The uplink went down: whatever waits now is flagged as held in the outbox."""
        self.db.execute("UPDATE outbox SET held = 1 WHERE held = 0")

    def depth(self) -> int:
        """Frames the hub still holds, waiting or awaiting a receipt (events not counted)."""
        return self._frames

    def frame_keys(self) -> set[tuple[int, int]]:
        """(band_id, counter) of every frame still held, for a final account."""
        rows = self.db.execute("SELECT band_id, counter FROM outbox WHERE kind = 'frame'")
        return {(int(b), int(c)) for b, c in rows}

    def awaiting(self) -> int:
        """Entries (frames and events) the broker acknowledged and the cloud has not receipted."""
        return self._awaiting

    def oldest_ms(self) -> int | None:
        """received_at_ms of the oldest frame the cloud has not receipted."""
        # The first stored (ids only grow), not min(): that read every row of a deep outbox
        # for each status report.
        row = self.db.execute(
            "SELECT received_at_ms FROM outbox WHERE kind = 'frame' ORDER BY id LIMIT 1"
        ).fetchone()
        return None if row is None else int(row[0])

    # -- replay windows ---------------------------------------------------------------------

    def windows(self) -> dict[int, tuple[int, int]]:
        """Saved (hi, seen) replay state of every band."""
        return {
            b: (hi, int.from_bytes(seen, "big"))
            for b, hi, seen in self.db.execute("SELECT band_id, hi, seen FROM band_window")
        }

    def save_windows(self, states: dict[int, tuple[int, int]]) -> None:
        """Store bands' replay states (inside the batch that stored their frames)."""
        self.db.executemany(
            "INSERT INTO band_window (band_id, hi, seen) VALUES (?, ?, ?) ON CONFLICT (band_id)"
            " DO UPDATE SET hi = excluded.hi, seen = excluded.seen",
            [(b, st[0], st[1].to_bytes(8, "big")) for b, st in states.items()],
        )
