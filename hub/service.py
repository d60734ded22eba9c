"""The hub as a service: wires radio, intake, outbox, uplink, presence, config and health."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hub
from hub import cloudconfig
from hub.ble import Radio
from hub.cloudrecords import CloudRecords
from hub.config import HubSettings
from hub.health import HealthServer
from hub.intake import Heard, Intake, Outcome
from hub.outbox import Outbox
from hub.presence import Presence
from hub.pump import Pump
from hub.uplink import Uplink
from protocol import receipts, topics

log = logging.getLogger("sqjz.hub")


class HubService:
    """One hub. `run()` until `stop()`; state that matters lives in the outbox database."""

    def __init__(
        self,
        settings: HubSettings,
        scanner_backend: Any = None,
        client_backend: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.hub_id = settings.id
        self.clock = clock
        self._backends = (scanner_backend, client_backend)
        self.presence = Presence(self._presence_allowed)
        self._pending: list[tuple[Heard, asyncio.Future[Outcome]]] = []
        self._drain_scheduled = False
        self._downlink_bands: set[int] = set()
        self._bumble: Any = None
        self._last_presence = clock()
        self._stop = asyncio.Event()
        self.started = asyncio.Event()
        self.uplink_state = "connecting"
        self.health = HealthServer({"/health": self.status, "/bands": self.bands_report})
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        self.store = Outbox(settings.db_path, settings.outbox.limits(), settings.outbox.synchronous)
        self.intake = Intake(self.hub_id, self.store, self._presence_allowed, self._uplink_up)
        self.records = CloudRecords(self.hub_id, self.store, self.intake, clock)
        self.records.load_saved()

    @property
    def cloud(self) -> cloudconfig.CloudConfig | None:
        """The cloud's config in force (None until one arrived or was saved)."""
        return self.records.cloud

    def _presence_allowed(self, band_id: int, now: float) -> bool:
        return self.cloud is not None and self.cloud.presence_allowed(band_id, now)

    def _uplink_up(self) -> bool:
        return self.pump.connected if hasattr(self, "pump") else False

    # -- FrameSink (called by the radio) ------------------------------------------------------

    def submit(self, heard: Heard) -> asyncio.Future[Outcome]:
        """Queue a frame for the next group commit; the future resolves after it is durable."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((heard, future))
        if not self._drain_scheduled:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self._drain)
        return future

    def _drain(self) -> None:
        self._drain_scheduled = False
        batch, self._pending = self._pending, []
        try:
            outcomes = self.intake.process([h for h, _ in batch], self.clock())
        except Exception as exc:  # the disk failed: nothing is acknowledged, bands keep frames
            log.error("outbox write failed", extra={"error": repr(exc)})
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)
        self.pump.fill()

    def advertised(self, band_id: int, rssi: int, now: float) -> None:
        """An advertisement: presence is recorded only where an order allows it."""
        self.presence.heard(band_id, rssi, now)

    def malformed(self, address: str, count: int) -> None:
        """Notifications that did not reassemble."""
        self.intake.malformed_notification(address, count, self.clock())

    def downlinks(self, band_id: int) -> list[tuple[int, bytes]]:
        """Downlinks waiting for this band."""
        return self.store.downlinks(band_id, self.clock())

    def downlink_written(self, downlink_id: int) -> None:
        """A downlink reached the band."""
        self.store.downlink_done(downlink_id)

    def pending_downlinks(self) -> set[int]:
        """Bands with a downlink waiting (the scheduler visits them soon)."""
        return self._downlink_bands

    def sos_location(self, band_id: int) -> bool:
        """The wearer opted in to send the hub heard last (and its RSSI) with an SOS."""
        entry = self.cloud.bands.get(band_id) if self.cloud else None
        return entry is not None and entry.sos_location

    def event(self, kind: str, **fields: Any) -> None:
        """A hub event (adapter faults)."""
        self.intake.event(kind, self.clock(), **fields)

    # -- MQTT callbacks (on the loop's thread) -------------------------------------------------

    def _on_connect(self, session_present: bool) -> None:
        self.uplink_state = "connected"
        if not session_present:
            # A new session missed every removal queued for the old one: keep only what the
            # broker's retained records (sent again now) say. Unknown bands are forwarded.
            self.records.forget_bands()
        log.info("uplink connected", extra={"session_present": session_present})
        self._publish_status()
        self.pump.up()

    def _on_disconnect(self, reason: str) -> None:
        if self.uplink_state == "connected" and not self._stop.is_set():
            log.warning("uplink lost", extra={"reason": reason})
        self.uplink_state = "disconnected"
        self.pump.down()

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic == topics.receipts(self.hub_id):
            try:
                self.pump.receipt(payload)
            except receipts.ReceiptError as exc:
                log.warning("receipt refused", extra={"error": str(exc)})
            return
        if topic == topics.config(self.hub_id):
            self.records.settings_record(payload)
            return
        record_of = topics.band_of_record(topic)
        if record_of is not None:
            self.records.band_record(payload, record_of)
            return
        band_id = topics.band_of_down(topic)
        if band_id is None or not payload:
            return
        if self.store.add_downlink(band_id, payload, self.clock()):
            self._downlink_bands.add(band_id)

    # -- status ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The status document (docs/mqtt.md "status"), also served on /health."""
        now = self.clock()
        oldest = self.store.oldest_ms()
        stats = self.store.stats
        return {
            "hub_id": self.hub_id,
            "online": True,
            "time": int(now),
            "version": hub.__version__,
            "bands_in_range": self.radio.in_range(),
            "bands_connected": self.radio.connected(),
            "outbox_depth": self.store.depth(),
            "outbox_awaiting_receipt": self.store.awaiting(),
            "oldest_outbox_s": 0 if oldest is None else max(0, int(now - oldest / 1000)),
            "uplink": self.uplink_state,
            "adapter": self.radio.adapter_state,
            "config_version": self.cloud.version if self.cloud else None,
            "frames_forwarded": stats.get("frames_receipted_total", 0),
            "frames_accepted": stats.get("frames_accepted_total", 0),
            "duplicates_total": stats.get("duplicates_total", 0),
            "forged_total": stats.get("forged_total", 0),
            "malformed_total": stats.get("malformed_total", 0),
            "unknown_band_total": stats.get("unknown_band_total", 0),
            "replay_total": stats.get("replay_total", 0),
            "stale_forwarded_total": stats.get("stale_forwarded_total", 0),
            "refused_full_total": stats.get("refused_full_total", 0),
            "dropped_heartbeats_total": stats.get("dropped_heartbeats_total", 0),
            "dropped_events_total": stats.get("dropped_events_total", 0),
            "puback_timeouts_total": stats.get("puback_timeouts_total", 0),
            "receipt_timeouts_total": stats.get("receipt_timeouts_total", 0),
            "reconnect_requeued_total": stats.get("reconnect_requeued_total", 0),
        }

    def bands_report(self) -> dict[str, Any]:
        """Bands near the hub, only those whose presence collection is allowed (for the kiosk)."""
        now = self.clock()
        near = [
            {"band_id": s.band_id, "rssi": s.rssi, "last_seen": int(s.seen_at)}
            for s in self.radio.scheduler.in_range(now)
            if self._presence_allowed(s.band_id, now)
        ]
        return {"hub_id": self.hub_id, "time": int(now), "bands": near}

    def _publish_status(self) -> None:
        if self.uplink.connected:
            self.uplink.publish(
                topics.status(self.hub_id), json.dumps(self.status()).encode(), retain=True
            )

    async def _every(self, seconds: Callable[[], float], fn: Callable[[], None]) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds())
            if not self._stop.is_set():
                fn()

    def _presence_tick(self) -> None:
        now = self.clock()
        if now - self._last_presence < self._presence_interval():
            return
        self._last_presence = now
        report = self.presence.report(self.hub_id, now)
        if report is not None and self.uplink.connected:
            # Not queued while offline: stale whereabouts are not worth keeping (PIPL: minimum).
            self.uplink.publish(topics.presence(self.hub_id), json.dumps(report).encode())

    def _housekeeping(self) -> None:
        now = self.clock()
        self.store.expire_downlinks(now)
        self._downlink_bands = self.store.bands_with_downlinks(now)
        self.store.disk_free()
        self.pump.expire()
        self.pump.fill()

    # -- life cycle ------------------------------------------------------------------------------

    def _make_backends(self) -> tuple[Any, Any]:
        scanner, client = self._backends
        if scanner is not None or self.settings.ble.backend != "bumble":
            return scanner, client
        # A bumble-driven controller (USB dongle, or a controller over TCP in tests).
        module = importlib.import_module("simulators.ble.backend")
        self._bumble = module.BumbleRadio(transport=self.settings.ble.bumble_transport)
        return self._bumble.scanner_backend, self._bumble.client_backend

    async def _make_radio(self) -> Any:
        """The BLE radio (bleak, or bumble when configured); FleetHub hands in its own."""
        scanner, client = self._make_backends()
        if self._bumble is not None:
            await self._bumble.open()
        return Radio(self.hub_id, self.settings.ble, self, scanner, client, self.clock)

    async def run(self) -> None:
        """Run until stop() (or SIGTERM/SIGINT when installed by the CLI)."""
        loop = asyncio.get_running_loop()
        self._downlink_bands = self.store.bands_with_downlinks(self.clock())
        self.radio = await self._make_radio()
        mqtt = self.settings.mqtt
        self.uplink = Uplink(
            self.hub_id,
            mqtt,
            loop,
            self._on_connect,
            self._on_disconnect,
            self._on_published,
            self._on_message,
        )
        self.pump = Pump(
            self.hub_id,
            self.store,
            self.uplink.publish,
            mqtt.inflight,
            loop,
            unreceipted=mqtt.unreceipted,
            receipt_timeout_s=mqtt.receipt_timeout_s,
        )
        if self.settings.health.port:
            await self.health.start(self.settings.health.host, self.settings.health.port)
        self.uplink.start()
        tasks = [
            asyncio.create_task(self.radio.run(), name=f"radio-{self.hub_id}"),
            asyncio.create_task(
                self._every(lambda: self.settings.status_interval_s, self._publish_status)
            ),
            asyncio.create_task(self._every(lambda: 1.0, self._presence_tick)),
            asyncio.create_task(self._every(lambda: 5.0, self._housekeeping)),
        ]
        log.info("hub started", extra={"hub_id": self.hub_id, "outbox_depth": self.store.depth()})
        self.started.set()
        await self._stop.wait()
        await self.radio.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        final = dict(self.status(), online=False)
        await self.uplink.stop(json.dumps(final).encode())
        await self.health.stop()
        if self._bumble is not None:
            await self._bumble.close()
        self.store.close()
        log.info("hub stopped", extra={"hub_id": self.hub_id})

    def _on_published(self, mid: int) -> None:
        self.pump.published(mid)

    def _presence_interval(self) -> float:
        return float(self.cloud.presence_interval_s if self.cloud else 60)

    def stop(self) -> None:
        """Ask run() to finish."""
        self.records.flush()
        self._stop.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM (systemd stop) and SIGINT end the service cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
