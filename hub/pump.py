"""Feeds the outbox to MQTT a few messages at a time; deletes an entry only on its PUBACK."""

from __future__ import annotations

import asyncio
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
    ) -> None:
        self.hub_id = hub_id
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

    def published(self, mid: int) -> None:
        """PUBACK for a message id (on the loop's thread)."""
        row_id = self.inflight.pop(mid, None)
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

    def up(self) -> None:
        """The broker accepted us; paho resends its own unacknowledged messages itself."""
        self.connected = True
        self.fill()

    def down(self) -> None:
        """The uplink dropped: what waits is now held in the outbox."""
        self.connected = False
        self.store.mark_held()
