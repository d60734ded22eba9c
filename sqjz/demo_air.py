"""The village in the demo: simulated bands (real firmware) on the bumble air and the hub.

Bands are `SimBand`s (the firmware's own main loop under MicroPython) running on real time
(speed 1.0, started at the current UTC second), so that the cloud sees no clock skew once they
are synchronised. The hub is `hub.service.HubService` with bleak over the bumble backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from bleak import BleakClient, BleakScanner

from hub.config import HubSettings, load
from hub.enrol import enrol_band
from hub.service import HubService
from protocol import downlink, gatt
from protocol.errors import FrameError
from protocol.frame import parse
from simulators.ble.backend import BumbleRadio
from simulators.ble.world import BleWorld
from sqjz.demo_procs import DemoError
from sqjz.demo_seed import HUB_ID

FIRST_BAND = 880001
TICK_S = 0.1  # real seconds between the bridge's band steps (clock, advertisement, notifications)
SYNC_TYPES = (downlink.DOWNLINK_IDS["time_sync"], downlink.DOWNLINK_IDS["config"])
PROFILE = downlink.DOWNLINK_IDS["profile"]


def hub_toml(folder: Path, mqtt_port: int, health_port: int) -> str:
    """The hub's own configuration file (hub/deploy/hub.toml.example keys); no password in it."""
    return "\n".join(
        [
            "# sqjz demo: the village hub (docs/hub.md); the MQTT password comes from the demo",
            f"id = {HUB_ID}",
            f'data_dir = "{folder}"',
            "status_interval_s = 10",
            "[mqtt]",
            'host = "127.0.0.1"',
            f"port = {mqtt_port}",
            "# [ble]: no adapter here; the demo hands the hub a bumble radio on the virtual air",
            "[schedule]",
            "visit_interval_s = 60",
            "[health]",
            'host = "127.0.0.1"',
            f"port = {health_port}",
            "",
        ]
    )


class Air:
    """Bands on one virtual radio link, and the hub that listens to them."""

    def __init__(self, folder: Path, settings_file: Path, mqtt_password: str) -> None:
        self.folder = folder
        self.settings: HubSettings = load(settings_file, {"SQJZ_HUB_MQTT_PASSWORD": mqtt_password})
        self.world = BleWorld(speed=1.0, tick_s=TICK_S)
        self.bands: dict[int, Any] = {}
        self.away: dict[int, float] = {}  # band_id -> when it left the air (monotonic)
        self._booted = time.time()
        self.hub: HubService | None = None
        self._hub_task: asyncio.Task[None] | None = None
        self._hub_radio: BumbleRadio | None = None

    # -- bands ---------------------------------------------------------------------------------

    async def create(self, count: int) -> list[int]:
        """Boot `count` bands side by side (first boot: each draws its own key from its RNG)."""
        from simulators.band import SimBand

        start = int(time.time())
        ids = [FIRST_BAND + i for i in range(count)]

        def one(band_id: int) -> Any:
            # Real time and a real start: the firmware's clock runs with the world's.
            return SimBand(band_id, start_time=start, flash_dir=self.folder / f"band-{band_id}")

        for band in await asyncio.gather(*(asyncio.to_thread(one, b) for b in ids)):
            self.bands[band.band_id] = band
        self._booted = time.time()
        return ids

    async def on_air(self) -> None:
        """Put every band on the air, after living through the time since boot."""
        elapsed = time.time() - self._booted
        for band in self.bands.values():
            await asyncio.to_thread(band.advance, max(0.0, elapsed))
            await self.world.add_band(band)

    def peripheral(self, band_id: int) -> Any:
        """The band's presence on the air (None while it is away)."""
        return self.world.peripherals.get(band_id)

    async def leave(self, band_id: int) -> None:
        """The wearer walks out of every hub's range (the band keeps running, unheard)."""
        self.away[band_id] = time.monotonic()
        await self.world.remove_band(band_id)

    async def come_back(self, band_id: int) -> None:
        """Back in range: the band lived through the time away, then advertises again."""
        left = self.away.pop(band_id, None)
        if left is None:
            return
        await asyncio.to_thread(self.bands[band_id].advance, time.monotonic() - left)
        await self.world.add_band(self.bands[band_id])

    # -- the hub -------------------------------------------------------------------------------

    async def start_hub(self, timeout: float = 20) -> HubService:
        """HubService on its own radio; returns once its uplink session is up."""
        self._hub_radio = await BumbleRadio(
            link=self.world.link, address=f"C0:00:00:00:00:{HUB_ID:02X}"
        ).open()
        hub = HubService(
            self.settings, self._hub_radio.scanner_backend, self._hub_radio.client_backend
        )
        self.hub = hub
        self._hub_task = asyncio.create_task(hub.run(), name="hub")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while hub.uplink_state != "connected":
            if self._hub_task.done() or loop.time() > deadline:
                if self._hub_task.done() and self._hub_task.exception():
                    raise DemoError(f"the hub stopped: {self._hub_task.exception()!r}")
                raise DemoError("the hub did not reach the broker")
            await asyncio.sleep(0.05)
        return hub

    async def stop_hub(self) -> None:
        """Stop the hub cleanly (a final retained status says offline)."""
        if self.hub is not None and self._hub_task is not None:
            self.hub.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._hub_task, 20)
        if self._hub_radio is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._hub_radio.close(), 10)
        self.hub, self._hub_task, self._hub_radio = None, None, None

    # -- enrolment at the office ---------------------------------------------------------------

    async def enrol_all(self, cloud_url: str, token: str) -> int:
        """`sqjz hub enrol` for every band: IDENTITY, the cloud's challenge, the signed answer."""
        radio = await BumbleRadio(link=self.world.link, address="C0:00:00:00:00:E0").open()
        try:
            for band_id in self.bands:
                await self._enrol(radio, band_id, cloud_url, token)
        finally:
            await radio.close()
        return len(self.bands)

    async def _enrol(self, radio: BumbleRadio, band_id: int, url: str, token: str) -> None:
        def is_band(_d: Any, adv: Any) -> bool:
            got = gatt.unpack_adv_status(adv.manufacturer_data.get(gatt.MANUFACTURER_ID, b""))
            return got is not None and got[0] == band_id

        for attempt in range(3):  # the band may be busy ending a link; as staff would, retry
            device = await BleakScanner.find_device_by_filter(
                is_band, 20, backend=radio.scanner_backend
            )
            if device is None:
                raise DemoError(f"band {band_id} is not advertising")
            try:
                async with BleakClient(device, backend=radio.client_backend) as client:
                    await enrol_band(client, url, token, HUB_ID, int(time.time()), band_id)
                return
            except Exception as exc:
                if attempt == 2:
                    raise DemoError(f"enrolling band {band_id} failed: {exc}") from exc
                await asyncio.sleep(1)

    # -- what the bands answered ---------------------------------------------------------------

    def results(self, band_id: int) -> dict[int, int]:
        """Downlink type -> the band's latest cmd_result, from what it sent over the air."""
        p = self.peripheral(band_id)
        out: dict[int, int] = {}
        if p is None:
            return out
        for raw in sorted(p.frames_sent.items()):
            try:
                f = parse(raw[1])
            except FrameError:
                continue
            if f.type_name == "cmd_result":
                out[f.fields["downlink_type"]] = f.fields["result"]
        return out

    def synced(self, band_id: int, profile: bool) -> bool:
        """The band accepted the time, its reporting periods and (if sent) its wearer's profile."""
        got = self.results(band_id)
        want = (*SYNC_TYPES, PROFILE) if profile else SYNC_TYPES
        return all(got.get(t) == 0 for t in want)

    async def close(self) -> None:
        """Hub off, bands off the air, band interpreters closed (their flash kept on disk)."""
        await self.stop_hub()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.world.close(), 20)

        async def close(band: Any) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(band.close), 15)

        await asyncio.gather(*(close(b) for b in self.bands.values()))
