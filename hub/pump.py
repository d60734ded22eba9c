"""Feeds the outbox to MQTT a few messages at a time; deletes an entry only on its PUBACK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hub.outbox import Outbox, Row
from protocol import envelope, topics


def payload_of(row: Row, hub_id: int) -> tuple[str, bytes]:
    """(topic, payload) for an outbox entry: envelope + frame, or the event's JSON."""
    if row.kind == "event":
        return topics.events(hub_id), row.payload
    flags = row.flags | (envelope.FLAG_FROM_OUTBOX if row.held else 0)
    return topics.up(hub_id), envelope.wrap(
        hub_id, row.received_at_ms, row.rssi, row.payload, flags
    )


class Pump:
    """Keeps at most `window` entries with paho; never more, so paho's queue never grows."""

    def __init__(
        self,
        hub_id: int,
        store: Outbox,
        publish: Callable[[str, bytes], int | None],
        window: int,
        loop: asyncio.AbstractEventLoop,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hub_id = hub_id
        self.clock = clock
        self._sent_at: dict[int, float] = {}  # message id -> when handed to paho
        self.store = store
        self._publish = publish
        self.window = window
        self._loop = loop
        self.inflight: dict[int, int] = {}  # paho message id -> outbox id
        self.connected = False
        self.forwarded = 0
        self._acked: list[int] = []
        self._flush_scheduled = False

    def fill(self) -> None:
        """Publish waiting entries until the window is full (SOS first: outbox order)."""
        if not self.connected:
            return
        room = self.window - len(self.inflight)
        if room <= 0:
            return
        skip = set(self.inflight.values()) | set(self._acked)
        for row in self.store.next_rows(room, skip):
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
            # Coalesce: one delete transaction for every PUBACK that arrives in this turn.
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        acked, self._acked = self._acked, []
        self.forwarded += self.store.delete(acked)
        self.fill()

    def expire(self, max_age_s: float = 120.0) -> int:
        """Give up on PUBACKs older than max_age_s while connected; their entries go again.

        A broker that silently drops a message (a full queue, a lost session) would otherwise
        shrink the window for ever. Republishing risks a duplicate, which the cloud removes.
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
            self.fill()
        return len(old)

    def up(self) -> None:
        """The broker accepted us; paho resends its own unacknowledged messages itself."""
        self.connected = True
        now = self.clock()
        self._sent_at = {mid: now for mid in self._sent_at}  # their clocks restart now
        self.fill()

    def down(self) -> None:
        """The uplink dropped: what waits is now held in the outbox."""
        self.connected = False
        self.store.mark_held()
