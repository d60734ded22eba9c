"""Downlinks and dispatch decided inside the ingest transaction: SOS ack, clock resync, 110."""

from __future__ import annotations

import json
from typing import Any

from cloud.domain import wearer
from cloud.store.alerts import AlertStore
from cloud.store.devices import DeviceStore
from protocol import downlink
from protocol.frame import FLAG_TIME_UNSYNCED, Frame

RESYNC_EVERY_S = 600  # at most one clock resync per band per 10 minutes, however many frames


class SosStore(AlertStore, DeviceStore):
    """The acknowledgement to the band and the queued 110 dispatch of a new SOS."""

    def _sos_ack(self, f: Frame, now: int, topic_for: Any) -> list[tuple[str, bytes]]:
        counter, key = self.next_downlink_counter(f.band_id)
        raw = downlink.encode(
            key,
            "sos_ack",
            f.band_id,
            counter,
            now,
            {"sos_id": f.fields["sos_id"], "status": downlink.SOS_RECEIVED},
        )
        self.x(
            "INSERT INTO downlinks (band_id, counter, type, raw, created_at, published_at) "
            "VALUES (?, ?, 'sos_ack', ?, ?, ?)",
            (f.band_id, counter, raw, now, now),
        )
        return [(topic_for(h, f.band_id), raw) for h in self.downlink_hubs(f.band_id, now)]

    def _resync_clock(self, f: Frame, now: int, topic_for: Any) -> list[tuple[str, bytes]]:
        """A time_sync for a band whose frames say its clock is unsynced (e.g. after a reset)."""
        if not f.flags & FLAG_TIME_UNSYNCED:
            return []
        last = self.one(
            "SELECT MAX(created_at) AS at FROM downlinks WHERE band_id = ? AND type = 'time_sync'",
            (f.band_id,),
        )
        if last and last["at"] is not None and now - int(last["at"]) < RESYNC_EVERY_S:
            return []
        counter, key = self.next_downlink_counter(f.band_id)
        raw = downlink.encode(key, "time_sync", f.band_id, counter, now, wearer.time_sync_fields())
        self.x(
            "INSERT INTO downlinks (band_id, counter, type, raw, created_at, published_at) "
            "VALUES (?, ?, 'time_sync', ?, ?, ?)",
            (f.band_id, counter, raw, now, now),
        )
        return [(topic_for(h, f.band_id), raw) for h in self.downlink_hubs(f.band_id, now)]

    def _queue_dispatch(
        self, alert_id: int, f: Frame, v: Any, st: dict[str, Any], now: int
    ) -> None:
        if self.meta_get("dispatch_enabled", "0") != "1":
            return
        payload = sos_payload(self, alert_id, f, v, st, now)
        self.x(
            "INSERT INTO dispatches (alert_id, payload, next_at, created_at) VALUES (?, ?, ?, ?)",
            (alert_id, json.dumps(payload, ensure_ascii=False), now, now),
        )


def sos_payload(
    store: SosStore, alert_id: int, f: Frame, v: Any, st: dict[str, Any], now: int
) -> dict[str, Any]:
    """The 110 dispatch message: who, what, and the best location known."""
    person = (
        store.one(
            "SELECT name, gender, phone, address FROM persons WHERE id = ?", (st.get("person_id"),)
        )
        if st.get("person_id")
        else None
    )
    # Best location: the hub the band itself names (only if the person opted in to SOS location),
    # else the hub that relayed the frame; both are fixed, registered positions.
    opted_in = bool(st.get("sos_location"))
    hub_id = (f.fields["hub_id"] if opted_in else 0) or v.hub_id
    hub = store.one("SELECT hub_id, name, lat, lon, address FROM hubs WHERE hub_id = ?", (hub_id,))
    return {
        "type": "sqjz.sos",
        "alert_id": alert_id,
        "time": now,
        "band_id": f.band_id,
        "sos_id": f.fields["sos_id"],
        "reason": {1: "button", 2: "fall", 3: "heart_rate"}[f.fields["reason"]],
        "person": person,
        "location": {
            "source": "hub" if hub else "address",
            "hub": hub,
            "address": person["address"] if person else None,
        },
    }
