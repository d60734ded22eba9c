"""A bleak backend over Google's bumble stack: bleak's real API, a bumble central underneath.

`BumbleRadio` owns one bumble `Device` in the central role, either on an in-process
`LocalLink` (tests: bands are bumble peripherals on the same link) or on any bumble HCI
transport (`tcp-client:127.0.0.1:PORT` to a controller in another process, `usb:0` for a
real dongle driven without BlueZ). `radio.scanner_backend` and `radio.client_backend` are
the classes to pass as `backend=` to `bleak.BleakScanner` and `bleak.BleakClient`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink, Transport

from simulators.ble.controller import QuietController, QuietHost

log = logging.getLogger(__name__)

WANT_MTU = 247
_PROPERTY_NAMES = (
    (0x01, "broadcast"),
    (0x02, "read"),
    (0x04, "write-without-response"),
    (0x08, "write"),
    (0x10, "notify"),
    (0x20, "indicate"),
    (0x40, "authenticated-signed-writes"),
    (0x80, "extended-properties"),
)


def uuid_str(uuid: Any) -> str:
    """bleak's spelling of a UUID: 128-bit, lower case, with dashes."""
    text = str(uuid.to_hex_str("-") if hasattr(uuid, "to_hex_str") else uuid).lower()
    if len(text) == 4:  # 16-bit: expand on the Bluetooth base UUID
        text = f"0000{text}-0000-1000-8000-00805f9b34fb"
    return text


def advertisement_data(adv: Advertisement) -> AdvertisementData:
    """bleak's AdvertisementData from a bumble advertisement report."""
    name = None
    manufacturer: dict[int, bytes] = {}
    services: list[str] = []
    service_data: dict[str, bytes] = {}
    tx_power = None
    for ad_type, data in adv.data.ad_structures:
        if ad_type in (AdvertisingData.COMPLETE_LOCAL_NAME, AdvertisingData.SHORTENED_LOCAL_NAME):
            name = data.decode(errors="replace")
        elif ad_type == AdvertisingData.MANUFACTURER_SPECIFIC_DATA and len(data) >= 2:
            manufacturer[int.from_bytes(data[:2], "little")] = bytes(data[2:])
        elif ad_type in (
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        ):
            for i in range(0, len(data) - 15, 16):
                raw = bytes(reversed(data[i : i + 16]))  # over the air little-endian
                h = raw.hex()
                text = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
                if text not in services:
                    services.append(text)
        elif ad_type == AdvertisingData.SERVICE_DATA_16_BIT_UUID and len(data) >= 2:
            service_data[uuid_str(f"{int.from_bytes(data[:2], 'little'):04x}")] = bytes(data[2:])
        elif ad_type == AdvertisingData.TX_POWER_LEVEL and data:
            tx_power = int.from_bytes(data[:1], "little", signed=True)
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=services,
        tx_power=tx_power,
        rssi=adv.rssi,
        platform_data=(adv,),
    )


class BumbleRadio:
    """One bumble central device; shared by the scanner and every client made from it."""

    def __init__(
        self, link: LocalLink | None = None, transport: str | None = None, address: str = ""
    ) -> None:
        if (link is None) == (transport is None):
            raise ValueError("give either a LocalLink or a bumble transport name")
        self.link = link
        self.transport_name = transport
        self.address = address or "C0:00:00:00:00:01"
        self.device: Device | None = None
        self.controller: Controller | None = None
        self._transport: Transport | None = None
        self._scanners: set[BumbleScanner] = set()
        self._scanning = False
        radio = self
        self.scanner_backend: type[BumbleScanner] = type(
            "BumbleScanner", (BumbleScanner,), {"radio": radio}
        )
        self.client_backend: type[BumbleClient] = type(
            "BumbleClient", (BumbleClient,), {"radio": radio}
        )

    async def open(self) -> BumbleRadio:
        """Power the central on (controller on the link, or the transport's controller)."""
        if self.link is not None:
            self.controller = QuietController("hub", link=self.link)
            host = QuietHost(self.controller, AsyncPipeSink(self.controller))
        else:
            assert self.transport_name is not None
            self._transport = await open_transport(self.transport_name)
            host = QuietHost(self._transport.source, self._transport.sink)
        self.device = Device(address=hci.Address(self.address), host=host)
        self.device.on("advertisement", self._on_advertisement)
        await self.device.power_on()
        return self

    async def close(self) -> None:
        """Drop every connection and release the controller or transport."""
        if self.device is not None:
            for conn in list(self.device.connections.values()):
                with contextlib.suppress(Exception):
                    await conn.disconnect()
            with contextlib.suppress(Exception):
                await self.device.power_off()
        if self.link is not None and self.controller is not None:
            with contextlib.suppress(KeyError):
                self.link.remove_controller(self.controller)
        if self._transport is not None:
            with contextlib.suppress(Exception):
                await self._transport.close()

    def _on_advertisement(self, adv: Advertisement) -> None:
        for scanner in list(self._scanners):
            scanner.on_advertisement(adv)

    async def add_scanner(self, scanner: BumbleScanner) -> None:
        self._scanners.add(scanner)
        if not self._scanning:
            assert self.device is not None
            await self.device.start_scanning(filter_duplicates=False)
            self._scanning = True

    async def remove_scanner(self, scanner: BumbleScanner) -> None:
        self._scanners.discard(scanner)
        if self._scanning and not self._scanners and self.device is not None:
            self._scanning = False
            with contextlib.suppress(Exception):
                await self.device.stop_scanning()


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend: advertisement reports from the bumble central."""

    radio: BumbleRadio

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)

    def on_advertisement(self, adv: Advertisement) -> None:
        data = advertisement_data(adv)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = str(adv.address).split("/")[0]
        device = self.create_or_update_device(address, address, data.local_name, adv, data)
        self.call_detection_callbacks(device, data)

    async def start(self) -> None:
        self.seen_devices = {}
        await self.radio.add_scanner(self)

    async def stop(self) -> None:
        await self.radio.remove_scanner(self)


class BumbleClient(BaseBleakClient):
    """bleak client backend: a bumble connection, its GATT client, and bleak's service model."""

    radio: BumbleRadio

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        details = getattr(address_or_ble_device, "details", None)
        # The advertisement carries the address type; a bare string is taken as random static.
        self._target = (
            details.address
            if isinstance(details, Advertisement)
            else hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS)
        )
        # bleak passes `services=` through: discover only those (fewer round trips to connect).
        wanted = kwargs.get("services")
        self._wanted: list[str] = sorted(wanted) if wanted else []
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        device = self.radio.device
        if device is None:
            raise BleakError("the bumble radio is not open")
        try:
            conn = await device.connect(self._target, timeout=self._timeout)
        except asyncio.CancelledError:
            # bleak's own timeout: take back the pending connection, or it completes later.
            with contextlib.suppress(Exception):
                await device.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
            raise
        except TimeoutError:
            raise BleakDeviceNotFoundError(
                self.address, f"{self.address} not connectable"
            ) from None
        except Exception as exc:
            raise BleakError(f"connect to {self.address} failed: {exc}") from exc
        self._connection = conn
        conn.on("disconnection", self._on_disconnection)
        self._peer = Peer(conn)
        try:
            await self._peer.request_mtu(WANT_MTU)
            await self._discover()
        except BaseException:
            # Also when cancelled (bleak's connect timeout). On the virtual link a CONNECT_IND
            # that reached a band which had just stopped advertising leaves the central with a
            # half-open connection that no supervision timeout ever ends; left open, it blocks
            # every later connection to that band ("Connection ... already exists?").
            await self.disconnect()
            raise

    async def _discover(self) -> None:
        collection = BleakGATTServiceCollection()
        peer = self._require_peer()
        if self._wanted:
            found = [svc for uuid in self._wanted for svc in await peer.discover_service(uuid)]
        else:
            await peer.discover_services()
            found = list(peer.services)
        for service in found:
            await service.discover_characteristics()
            bs = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bs)
            for ch in service.characteristics:
                await ch.discover_descriptors()
                props = [name for bit, name in _PROPERTY_NAMES if ch.properties & bit]
                bc = BleakGATTCharacteristic(
                    ch,
                    ch.handle,
                    uuid_str(ch.uuid),
                    props,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    bs,
                )
                collection.add_characteristic(bc)
                for d in ch.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(d, d.handle, uuid_str(d.type), bc)
                    )
        self.services = collection

    def _on_disconnection(self, reason: int) -> None:
        was = self._connection is not None
        self._connection = None
        self._peer = None
        self._subscriptions.clear()
        if was and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        conn = self._connection
        if conn is None:
            return
        self._disconnected_callback = None  # only unsolicited disconnections are reported
        with contextlib.suppress(Exception):
            await conn.disconnect()
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("sqjz bands do not pair; frames are signed instead")

    async def unpair(self) -> None:
        raise NotImplementedError("sqjz bands do not pair")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kw: Any
    ) -> bytearray:
        return bytearray(await self._require_peer().read_value(characteristic.obj))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kw: Any
    ) -> bytearray:
        return bytearray(await self._require_peer().read_value(descriptor.obj))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        await self._require_peer().write_value(characteristic.obj, bytes(data), response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await self._require_peer().write_value(descriptor.obj, bytes(data), True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = deliver
        await self._require_peer().subscribe(characteristic.obj, deliver)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        deliver = self._subscriptions.pop(characteristic.handle, None)
        if deliver is not None:
            await self._require_peer().unsubscribe(characteristic.obj, deliver)
