"""Feeds the outbox to MQTT a window at a time; an entry goes only on the cloud's receipt.

Two windows: at most `window` messages handed to paho without a PUBACK (paho's own queue never
grows), and at most `unreceipted` entries published but not yet receipted by the cloud (the
backlog queued for the cloud stays bounded; a slow cloud slows the hub instead of burying it).
Urgent entries (SOS, forged-frame alarms, tamper) are outside the second window, and bulk
entries leave an eighth of paho's window free, so an SOS or the hub's status never waits
behind bulk frames on the hub's one socket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hub import policy
from hub.outbox import Outbox, Row
from protocol import envelope, receipts, topics


def urgent(row: Row) -> bool:
    """SOS, forged-frame alarms and tamper: never held back by the bulk window."""
    return row.priority <= policy.PRIORITY_TAMPER


def payload_of(row: Row, hub_id: int) -> tuple[str, bytes]:
    """(topic, payload) of an entry: envelope + frame on `up` (`urgent`: SOS, tamper), or JSON."""
    if row.kind == "event":
        return topics.events(hub_id), row.payload
    flags = row.flags | (envelope.FLAG_FROM_OUTBOX if row.held else 0)
    topic = topics.urgent(hub_id) if urgent(row) else topics.up(hub_id)
    return topic, envelope.wrap(hub_id, row.received_at_ms, row.rssi, row.payload, flags)


class Pump:
    """Keeps at most `window` entries with paho and `unreceipted` awaiting the cloud."""

    def __init__(
        self,
        hub_id: int,
        store: Outbox,
        publish: Callable[[str, bytes], int | None],
        window: int,
        loop: asyncio.AbstractEventLoop,
        clock: Callable[[], float] = time.monotonic,
        unreceipted: int = 512,
        receipt_timeout_s: float = 60.0,
    ) -> None:
        self.hub_id = hub_id
        self.clock = clock
        self._sent_at: dict[int, float] = {}  # message id -> when handed to paho
        self.store = store
        self._publish = publish
        self.window = window
        self.reserve = window // 8  # paho slots bulk entries leave free (status, SOS)
        self.unreceipted = unreceipted
        self.receipt_timeout_s = receipt_timeout_s
        self._receipt_wait = receipt_timeout_s  # grows while no receipt comes at all
        self._loop = loop
        self.inflight: dict[int, int] = {}  # paho message id -> outbox id
        self.connected = False
        self.forwarded = 0  # frames the cloud receipted
        self._acked: list[int] = []
        self._flush_scheduled = False

    def fill(self) -> None:
        """Publish waiting entries until a window is full (SOS first: outbox order)."""
        if not self.connected:
            return
        with_paho = len(self.inflight)
        room = self.window - with_paho
        if room <= 0:
            return
        unreceipted = with_paho + len(self._acked) + self.store.awaiting()
        bulk = min(room - self.reserve, self.unreceipted - unreceipted)
        skip = set(self.inflight.values()) | set(self._acked)
        for row in self.store.next_rows(room, skip):
            if not urgent(row):  # urgent entries come first (outbox order), bulk after them
                if bulk <= 0:
                    break
                bulk -= 1
            topic, payload = payload_of(row, self.hub_id)
            mid = self._publish(topic, payload)
            if mid is None:
                break
            self.inflight[mid] = row.id
            self._sent_at[mid] = self.clock()

    def published(self, mid: int) -> None:
        """PUBACK for a message id (on the loop's thread)."""
        row_id = self.inflight.pop(mid, None)
        self._sent_at.pop(mid, None)
        if row_id is None:
            return  # status, presence and other direct publishes
        self._acked.append(row_id)
        if not self._flush_scheduled:
            # Coalesce: one transaction for every PUBACK that arrives in this turn.
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _mark(self) -> None:
        acked, self._acked = self._acked, []
        self.store.mark_published(acked, self.clock())

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._mark()
        self.fill()

    def receipt(self, payload: bytes) -> int:
        """The cloud committed a batch: forget what it decided about; returns frames deleted."""
        frames, events = receipts.decode(payload)
        gone, _ = self.store.receipted(frames, events)
        self.forwarded += gone
        self._receipt_wait = self.receipt_timeout_s  # the cloud answers: back to the short wait
        self.fill()
        return gone

    def expire(self, max_age_s: float = 120.0) -> int:
        """Give up on PUBACKs older than max_age_s, and on receipts, while connected.

        A broker that silently drops a message (a full queue, a lost session) would otherwise
        shrink the window for ever; a broker that loses what it acknowledged (killed before its
        autosave) would never see it again. Republishing risks a duplicate, which the cloud
        removes; the wait doubles (up to 16 times) while no receipt comes, so a cloud that is
        away is not sent the same window over and over.
        """
        if not self.connected:
            return 0  # paho resends its own unacknowledged messages after a reconnect
        now = self.clock()
        old = [mid for mid, t in self._sent_at.items() if now - t > max_age_s]
        for mid in old:
            self._sent_at.pop(mid, None)
            self.inflight.pop(mid, None)
        if old:
            self.store.count("puback_timeouts_total", len(old))
        again = self.store.requeue(now - self._receipt_wait)
        if again:
            self.store.count("receipt_timeouts_total", again)
            self._receipt_wait = min(2 * self._receipt_wait, 16 * self.receipt_timeout_s)
        if old or again:
            self.fill()
        return len(old) + again

    def up(self) -> None:
        """The broker accepted us; paho resends its own unacknowledged messages itself.

        What the broker acknowledged but the cloud never receipted goes again: a broker that
        restarted may have lost it (mosquitto saves every autosave_interval).
        """
        self.connected = True
        now = self.clock()
        self._sent_at = {mid: now for mid in self._sent_at}  # their clocks restart now
        self._mark()
        self.store.count("reconnect_requeued_total", self.store.requeue())
        self.fill()

    def down(self) -> None:
        """The uplink dropped: what waits is now held in the outbox."""
        self.connected = False
        self.store.mark_held()
