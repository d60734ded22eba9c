"""BLE adapter (bleak): scan for bands, hold connection slots, move frames, acks and downlinks.

Only bleak's public API is used (BleakScanner, BleakClient). `scanner_backend` and
`client_backend` are passed as bleak's `backend=`: None selects the platform's (BlueZ on a
Raspberry Pi); tests pass the bumble backend of simulators/ble.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from hub.intake import Heard, Outcome
from hub.schedule import Scheduler, ScheduleSettings, Sighting
from protocol import gatt

log = logging.getLogger("sqjz.hub.ble")


@dataclass(frozen=True)
class BleSettings:
    """[ble] in hub.toml."""

    adapter: str = "hci0"
    backend: str = "bluez"  # or "bumble" with bumble_transport (e.g. "usb:0")
    bumble_transport: str = ""
    connect_timeout_s: float = 10.0
    idle_disconnect_s: float = 3.0  # leave a band that has gone quiet, freeing the slot
    session_max_s: float = 120.0  # and one that talks for ever
    stall_s: float = 120.0  # no advertisement for this long (no band connected): rescan
    reset_command: str = ""  # e.g. "btmgmt -i hci0 power off && ..." run on an adapter stall
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)


class FrameSink(Protocol):
    """What the radio needs from the rest of the hub."""

    def submit(self, heard: Heard) -> asyncio.Future[Outcome]: ...
    def advertised(self, band_id: int, rssi: int, now: float) -> None: ...
    def malformed(self, address: str, count: int) -> None: ...
    def downlinks(self, band_id: int) -> list[tuple[int, bytes]]: ...
    def downlink_written(self, downlink_id: int) -> None: ...
    def pending_downlinks(self) -> set[int]: ...
    def sos_location(self, band_id: int) -> bool: ...
    def event(self, kind: str, **fields: Any) -> None: ...


class Radio:
    """The scanner and a bounded set of band sessions, driven by a Scheduler."""

    def __init__(
        self,
        hub_id: int,
        settings: BleSettings,
        sink: FrameSink,
        scanner_backend: Any = None,
        client_backend: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hub_id = hub_id
        self.settings = settings
        self.sink = sink
        self.scheduler = Scheduler(settings.schedule)
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.clock = clock
        self.devices: dict[int, BLEDevice] = {}
        self.sessions: dict[int, asyncio.Task[None]] = {}
        self.adapter_state = "starting"
        self.connects = 0
        self._last_adv = clock()
        self._scanner: BleakScanner | None = None
        self._stop = asyncio.Event()

    # -- scanning ------------------------------------------------------------------------------

    def _on_advertisement(self, device: BLEDevice, adv: AdvertisementData) -> None:
        data = adv.manufacturer_data.get(gatt.MANUFACTURER_ID)
        status = gatt.unpack_adv_status(data) if data is not None else None
        if status is None:
            return  # advertises our service without our status: not a sqjz band
        band_id, flags = status
        now = self.clock()
        self._last_adv = now
        self.devices[band_id] = device
        self.scheduler.heard(Sighting(band_id, device.address, adv.rssi, flags, now))
        self.sink.advertised(band_id, adv.rssi, now)

    def _scanner_kwargs(self) -> dict[str, Any]:
        if self.scanner_backend is not None:
            return {"backend": self.scanner_backend}
        return {"bluez": {"adapter": self.settings.adapter}}

    async def _start_scanner(self) -> None:
        scanner = BleakScanner(
            self._on_advertisement, [gatt.SERVICE_UUID], **self._scanner_kwargs()
        )
        await scanner.start()
        self._scanner = scanner
        self._last_adv = self.clock()
        self.adapter_state = "ok"

    async def _stop_scanner(self) -> None:
        if self._scanner is not None:
            with contextlib.suppress(Exception):
                await self._scanner.stop()
            self._scanner = None

    async def _recover(self, why: str) -> None:
        """The adapter or BlueZ seems stuck: report, optionally reset it, restart scanning."""
        self.adapter_state = "recovering"
        log.warning("adapter recovery", extra={"why": why})
        self.sink.event("adapter", code="stall", detail=why)
        await self._stop_scanner()
        if self.settings.reset_command:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                self.settings.reset_command,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), 30)
            log.info(
                "adapter reset command ran",
                extra={"cmd": shlex.split(self.settings.reset_command)[0]},
            )

    async def run(self) -> None:
        """Scan and schedule until stop(); survives scanner and adapter failures."""
        failures = 0
        paused_seen = 0.0
        while not self._stop.is_set():
            if self._scanner is None:
                try:
                    await self._start_scanner()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    self.adapter_state = "error"
                    log.warning("scanning failed to start", extra={"error": str(exc)[:200]})
                    if failures & (failures - 1) == 0:  # 1st, 2nd, 4th, 8th ...: no flood
                        detail = f"{str(exc)[:200]} (failure {failures})"
                        self.sink.event("adapter", code="scan_start", detail=detail)
                    await self._sleep(min(60.0, 2.0**failures))
                    continue
            now = self.clock()
            if self.scheduler.paused_until > paused_seen:
                paused_seen = self.scheduler.paused_until
                await self._recover(
                    f"{self.settings.schedule.storm_failures} failed connects in a row"
                )
                continue
            if not self.sessions and now - self._last_adv > self.settings.stall_s:
                # Silence may be an empty village at night or a scan BlueZ quietly dropped:
                # restarting the scan is cheap and harmless, so do it without an alarm.
                log.info(
                    "no advertisement: restarting the scan",
                    extra={"silent_s": int(now - self._last_adv)},
                )
                await self._stop_scanner()
                continue
            for band_id in self.scheduler.due(now, self.sink.pending_downlinks()):
                self.scheduler.connecting(band_id)
                self.sessions[band_id] = asyncio.create_task(
                    self._session(band_id), name=f"band-session-{band_id}"
                )
            self.scheduler.forget_old(now)
            await self._sleep(0.05)
        await self._stop_scanner()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def stop(self) -> None:
        """End scanning and every session."""
        self._stop.set()
        for task in list(self.sessions.values()):
            task.cancel()
        for task in list(self.sessions.values()):
            with contextlib.suppress(BaseException):
                await task

    def in_range(self) -> int:
        """Bands heard within the scheduler's seen_ttl_s."""
        return len(self.scheduler.in_range(self.clock()))

    def connected(self) -> int:
        """Bands connected now."""
        return sum(1 for s in self.scheduler.links.values() if s.connected)

    # -- one band ----------------------------------------------------------------------------

    async def _session(self, band_id: int) -> None:
        try:
            await self._talk(band_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("band session ended", extra={"band_id": band_id, "error": repr(exc)[:200]})
        finally:
            self.sessions.pop(band_id, None)

    async def _talk(self, band_id: int) -> None:
        device = self.devices[band_id]
        lost = asyncio.Event()
        kwargs = (
            {"backend": self.client_backend}
            if self.client_backend is not None
            else {"bluez": {"adapter": self.settings.adapter}}
        )
        client = BleakClient(
            device,
            disconnected_callback=lambda _c: lost.set(),
            services=[gatt.SERVICE_UUID],
            timeout=self.settings.connect_timeout_s,
            **kwargs,
        )
        try:
            await asyncio.wait_for(client.connect(), self.settings.connect_timeout_s + 5)
        except (TimeoutError, Exception) as exc:
            delay = self.scheduler.failed(band_id, self.clock())
            log.info(
                "connect failed",
                extra={"band_id": band_id, "error": repr(exc)[:200], "retry_s": round(delay, 1)},
            )
            return
        self.connects += 1
        self.scheduler.connected(band_id, self.clock())
        session = _Session(self, band_id, client, lost)
        try:
            await session.run()
        finally:
            session.close()
            with contextlib.suppress(Exception):
                await client.disconnect()
            self.scheduler.disconnected(band_id, self.clock())


class _Session:
    """One connection: notifications in, acknowledgements and downlinks out."""

    def __init__(self, radio: Radio, band_id: int, client: BleakClient, lost: asyncio.Event):
        self.radio = radio
        self.band_id = band_id
        self.client = client
        self.lost = lost
        self.reassembler = gatt.Reassembler()
        self.acks: asyncio.Queue[asyncio.Future[Outcome]] = asyncio.Queue()
        self.last_activity = radio.clock()
        self._reported_malformed = 0

    def _on_notify(self, _char: Any, data: bytearray) -> None:
        self.last_activity = self.radio.clock()
        raw = self.reassembler.feed(bytes(data))
        self._report_malformed()
        if raw is None:
            return
        sighting = self.radio.scheduler.sightings.get(self.band_id)
        heard = Heard(
            raw,
            int(self.radio.clock() * 1000),
            sighting.rssi if sighting else 0,
            self.client.address,
        )
        self.acks.put_nowait(self.radio.sink.submit(heard))

    def _report_malformed(self) -> None:
        new = self.reassembler.malformed - self._reported_malformed
        if new > 0:
            self._reported_malformed = self.reassembler.malformed
            self.radio.sink.malformed(self.client.address, new)

    async def run(self) -> None:
        hub = self.radio
        await self.client.start_notify(gatt.FRAMES_UUID, self._on_notify)
        # The hello carries how loud we hear the band only for a wearer who opted in to SOS
        # location (the band would ignore it otherwise; we do not even send it).
        sighting = hub.scheduler.sightings.get(self.band_id)
        rssi = sighting.rssi if sighting and hub.sink.sos_location(self.band_id) else None
        await self.client.write_gatt_char(
            gatt.CONTROL_UUID, gatt.hub_hello(hub.hub_id, int(hub.clock()), rssi), response=True
        )
        for downlink_id, payload in hub.sink.downlinks(self.band_id):
            await self.client.write_gatt_char(
                gatt.CONTROL_UUID, gatt.control(gatt.OP_DOWNLINK, payload), response=True
            )
            hub.sink.downlink_written(downlink_id)
        started = hub.clock()
        settings = hub.settings
        while not self.lost.is_set():
            now = hub.clock()
            if now - started > settings.session_max_s:
                break
            if self.acks.empty() and now - self.last_activity > settings.idle_disconnect_s:
                break
            try:
                future = await asyncio.wait_for(self.acks.get(), 0.2)
            except TimeoutError:
                continue
            outcome = await future
            if outcome.ack is not None and not self.lost.is_set():
                # Only now is the frame durably in the outbox: the band may delete it.
                await self.client.write_gatt_char(
                    gatt.CONTROL_UUID, gatt.ack(outcome.ack), response=True
                )
                self.last_activity = hub.clock()

    def close(self) -> None:
        """Count a frame cut off by the disconnection."""
        self.reassembler.reset()
        self._report_malformed()
