"""A band as a bumble peripheral: the sqjz GATT service over the air, the band model behind it.

The band behind it is any object with SimBand's interface (simulators/band.py: the real
firmware under MicroPython), or the CPython load-test band (simulators/ble/loadband.py).
The bridge owns the band's simulated clock: every `tick_s` of real time it advances the band
by `tick_s * speed` simulated seconds (`link_speed` while a central is connected), refreshes
the advertisement and sends the band's notifications. Band calls run in a worker thread
(SimBand waits on its interpreter), one at a time per band.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from bumble import att, hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, Service
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from protocol import gatt
from simulators.ble.controller import QuietController, QuietHost

log = logging.getLogger(__name__)


class BandModel(Protocol):
    """What the bridge needs of a band (SimBand's interface)."""

    band_id: int

    def advance(self, seconds: float) -> None: ...
    def advertisement(self) -> dict[str, Any] | None: ...
    def connect(self, mtu: int = 247) -> None: ...
    def disconnect(self) -> None: ...
    def read(self, uuid: str) -> bytes: ...
    def write(self, uuid: str, data: bytes) -> None: ...
    def take_notifications(self) -> list[bytes]: ...


def band_address(band_id: int) -> str:
    """A random static address derived from the band id (top two bits set, as required)."""
    b = band_id.to_bytes(4, "big")
    return f"D5:{0x0A:02X}:{b[0]:02X}:{b[1]:02X}:{b[2]:02X}:{b[3]:02X}"


def advertising_bytes(adv: dict[str, Any]) -> tuple[bytes, bytes]:
    """(advertising data, scan response) for the band's advertisement dict."""
    structures: list[tuple[int, bytes]] = [(AdvertisingData.FLAGS, bytes([0x06]))]
    for uuid in adv.get("service_uuids", []):
        structures.append(
            (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, bytes(UUID(uuid)))
        )
    for company, data in adv.get("manufacturer_data", {}).items():
        structures.append(
            (AdvertisingData.MANUFACTURER_SPECIFIC_DATA, company.to_bytes(2, "little") + data)
        )
    name = adv.get("name") or ""
    scan = [(AdvertisingData.COMPLETE_LOCAL_NAME, name.encode())] if name else []
    return bytes(AdvertisingData(structures)), bytes(AdvertisingData(scan))


class BandPeripheral:
    """One band on a bumble LocalLink, advertising and serving the sqjz GATT service."""

    def __init__(
        self,
        band: BandModel,
        link: LocalLink,
        *,
        speed: float = 1.0,
        tick_s: float = 0.05,
        address: str | None = None,
        adv_interval_ms: float = 100.0,
        max_mtu: int = gatt.WANT_MTU,
        link_speed: float | None = None,
    ) -> None:
        self.band = band
        self.link = link
        self.speed = speed
        self.link_speed = min(speed, 4.0) if link_speed is None else link_speed
        self.tick_s = tick_s
        self.address = address or band_address(band.band_id)
        self.adv_interval_ms = adv_interval_ms
        self.device: Device | None = None
        self.controller: Controller | None = None
        self.connection: Connection | None = None
        self.max_mtu = max_mtu
        self.notified = 0  # notifications sent over the air
        self.frames_sent: dict[int, bytes] = {}  # counter -> frame, rebuilt from our own air
        self.acked: set[int] = set()  # counters the hub acknowledged (OP_ACK)
        self._own = gatt.Reassembler()
        self.cut_after: int | None = None  # fault injection: drop the link after N more
        self._lock = asyncio.Lock()
        self._subscribed = False
        self._band_connected = asyncio.Event()
        self._pending: list[bytes] = []
        self._adv: tuple[bytes, bytes] | None = None
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._frames: Characteristic[bytes] | None = None

    async def call(self, name: str, *args: Any) -> Any:
        """Call the band model in a worker thread, one call at a time."""
        async with self._lock:
            return await asyncio.to_thread(getattr(self.band, name), *args)

    async def start(self) -> BandPeripheral:
        """Power on, register the GATT service, start the clock and advertising."""
        self.controller = QuietController(f"band-{self.band.band_id}", link=self.link)
        self.device = Device(
            address=hci.Address(self.address),
            host=QuietHost(self.controller, AsyncPipeSink(self.controller)),
        )
        self._frames = Characteristic(
            gatt.FRAMES_UUID, Characteristic.Properties.NOTIFY, att.Attribute.READABLE, b""
        )
        self._frames.on("subscription", self._on_subscription)
        control: Characteristic[bytes] = Characteristic(
            gatt.CONTROL_UUID,
            Characteristic.Properties.WRITE,
            att.Attribute.WRITEABLE,
            att.AttributeValue[bytes](write=self._on_control),
        )
        identity: Characteristic[bytes] = Characteristic(
            gatt.IDENTITY_UUID,
            Characteristic.Properties.READ,
            att.Attribute.READABLE,
            att.AttributeValue[bytes](read=self._on_identity),
        )
        self.device.add_service(Service(gatt.SERVICE_UUID, [self._frames, control, identity]))
        self.device.on("connection", self._on_connection)
        self.device.gatt_server.max_mtu = self.max_mtu
        await self.device.power_on()
        await self._refresh_advertising()
        self._task = asyncio.create_task(self._clock(), name=f"band-{self.band.band_id}")
        return self

    async def stop(self) -> None:
        """Stop the clock, drop the link and leave the air."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.drop_link()
        if self.device is not None:
            with contextlib.suppress(Exception):
                await self.device.stop_advertising()
            with contextlib.suppress(Exception):
                await self.device.power_off()
        if self.controller is not None:
            with contextlib.suppress(KeyError):
                self.link.remove_controller(self.controller)

    async def drop_link(self) -> None:
        """End the connection from the band's side (walked out of range, supervision timeout)."""
        conn = self.connection
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect()

    # -- connection events ---------------------------------------------------------------------

    def _on_connection(self, conn: Connection) -> None:
        self.connection = conn
        self._subscribed = False
        self._band_connected.clear()
        mtu_done = asyncio.Event()
        # Registered at once: over a TCP HCI transport the MTU request can beat our task.
        conn.on("connection_att_mtu_update", mtu_done.set)
        conn.on("disconnection", lambda reason: self._on_disconnection(conn))
        self._spawn(asyncio.get_running_loop(), self._connect_band(conn, mtu_done))

    async def _connect_band(self, conn: Connection, mtu_done: asyncio.Event) -> None:
        # Give the central a moment to exchange the MTU first (BlueZ and our backend do).
        if conn.att_mtu == gatt.MIN_MTU:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(mtu_done.wait(), 0.5)
        if self.connection is not conn:
            return
        try:
            await self.call("connect", conn.att_mtu)
        except Exception:
            log.info("band refused the connection", exc_info=True)
            await self.drop_link()
            return
        self._band_connected.set()

    def _on_disconnection(self, conn: Connection) -> None:
        if self.connection is not conn:
            return
        self.connection = None
        self._subscribed = False
        self._pending.clear()  # lost with the link, as on real radio
        self._own.reset()
        was = self._band_connected.is_set()
        self._band_connected.clear()
        loop = asyncio.get_running_loop()
        if was:
            self._spawn(loop, self.call("disconnect"))
        self._spawn(loop, self._refresh_advertising(force=True))

    def _spawn(self, loop: asyncio.AbstractEventLoop, coro: Any) -> None:
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_subscription(self, _bearer: Any, notify: bool, _indicate: bool) -> None:
        self._subscribed = notify

    async def _on_identity(self, _conn: Connection) -> bytes:
        await self._band_connected.wait()
        try:
            value: bytes = await self.call("read", gatt.IDENTITY_UUID)
        except Exception as exc:  # the band dropped the link meanwhile: an ATT error, not a hang
            raise att.ATT_Error(att.ErrorCode.UNLIKELY_ERROR, message=str(exc)) from None
        return value

    async def _on_control(self, _conn: Connection, value: bytes) -> None:
        await self._band_connected.wait()
        try:
            await self.call("write", gatt.CONTROL_UUID, bytes(value))
        except Exception as exc:
            raise att.ATT_Error(att.ErrorCode.UNLIKELY_ERROR, message=str(exc)) from None
        if len(value) == 5 and value[0] == gatt.OP_ACK:
            self.acked.add(int.from_bytes(value[1:5], "big"))

    async def inject(self, notifications: list[bytes]) -> None:
        """Send raw notifications as if from this band (radio garbage, an attacker's frames)."""
        if self.device is None or self._frames is None:
            return
        for value in notifications:
            await self.device.notify_subscribers(self._frames, value)

    # -- the band's clock ----------------------------------------------------------------------

    async def _clock(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self.tick_s)
            now = loop.time()
            # While a hub holds the link the band's clock runs slower, so that the hub's
            # real latencies (discovery, acks) stay as short in band time as on real radio
            # and the firmware's 10 s idle rule does not see a slow-motion hub.
            speed = self.link_speed if self.connection is not None else self.speed
            await self.call("advance", (now - last) * speed)
            last = now
            await self._band_left()
            await self._refresh_advertising()
            await self._flush()

    async def _band_left(self) -> None:
        """The firmware ends idle links itself (it advertises again): drop ours to match."""
        if self.connection is None or not self._band_connected.is_set():
            return
        if await self.call("advertisement") is not None:
            self._band_connected.clear()  # already disconnected at the band: do not tell it
            await self._flush_final()
            await self.drop_link()

    async def _flush_final(self) -> None:
        # Notifications the band queued before it dropped the link are lost with it.
        await self.call("take_notifications")

    async def _flush(self) -> None:
        if not self._band_connected.is_set():
            return
        self._pending += await self.call("take_notifications")
        if not self._subscribed or self.device is None or self._frames is None:
            return  # held until the central enables notifications
        while self._pending and self.connection is not None:
            value = self._pending.pop(0)
            await self.device.notify_subscribers(self._frames, value)
            self.notified += 1
            raw = self._own.feed(value)
            if raw is not None and len(raw) >= 11:
                self.frames_sent[int.from_bytes(raw[7:11], "big")] = raw
            if self.cut_after is not None:
                self.cut_after -= 1
                if self.cut_after <= 0:
                    self.cut_after = None
                    await self.drop_link()
                    return

    async def _refresh_advertising(self, force: bool = False) -> None:
        if self.device is None or self.connection is not None:
            return
        adv = await self.call("advertisement")
        data = advertising_bytes(adv) if adv else None
        if data == self._adv and not force:
            return
        self._adv = data
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        if data is not None:
            await self.device.start_advertising(
                advertising_data=data[0],
                scan_response_data=data[1],
                auto_restart=False,
                advertising_interval_min=self.adv_interval_ms,
                advertising_interval_max=self.adv_interval_ms,
            )
