"""bleak's public API over the bumble backend, and the hub's recovery from adapter faults."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from protocol import gatt, topics
from simulators.ble.loadband import LoadBand
from simulators.ble.world import BleWorld
from simulators.broker import Mosquitto
from simulators.hub_harness import (
    HUB,
    CloudSide,
    config_message,
    publish_retained,
    running_hub,
    until,
)


def test_scan_connect_mtu_read_write_and_notifications_in_order() -> None:
    band = LoadBand(4711)
    for i in range(500):
        band.make("activity", {"steps": i})

    async def scenario() -> tuple[Any, ...]:
        world = BleWorld(speed=0.0)
        await world.add_band(band)
        radio = await world.radio()
        async with BleakScanner(
            service_uuids=[gatt.SERVICE_UUID], backend=radio.scanner_backend
        ) as s:
            await asyncio.sleep(0.5)
            found = s.discovered_devices_and_advertisement_data
        ((device, adv),) = found.values()
        got: list[bytes] = []
        r = gatt.Reassembler()
        done = asyncio.Event()

        def on_note(_c: Any, data: bytearray) -> None:
            raw = r.feed(bytes(data))
            if raw is not None:
                got.append(raw)
                if len(got) == 500:
                    done.set()

        async with BleakClient(device, backend=radio.client_backend) as client:
            mtu = client.mtu_size
            uuids = {c.uuid for c in client.services.characteristics.values()}
            identity = gatt.unpack_identity(bytes(await client.read_gatt_char(gatt.IDENTITY_UUID)))
            await client.start_notify(gatt.FRAMES_UUID, on_note)
            await asyncio.wait_for(done.wait(), 30)
            await client.write_gatt_char(gatt.CONTROL_UUID, gatt.ack(0), response=True)
        await world.close()
        return adv, mtu, uuids, identity, got

    adv, mtu, uuids, identity, got = asyncio.run(scenario())
    assert adv.service_uuids == [gatt.SERVICE_UUID]
    assert gatt.unpack_adv_status(adv.manufacturer_data[gatt.MANUFACTURER_ID])[0] == 4711
    assert mtu == gatt.WANT_MTU
    assert {gatt.FRAMES_UUID, gatt.CONTROL_UUID, gatt.IDENTITY_UUID} <= uuids
    assert identity[:2] == (4711, band.public_key)
    assert got == band.sent  # every frame, in order, byte for byte
    assert 0 not in band.queue and len(band.queue) == 499


def test_scanner_that_will_not_start_is_retried_and_reported(tmp_path: Path) -> None:
    band = LoadBand(4712, activity_s=60)
    keys = {band.band_id: band.public_key}
    with Mosquitto() as broker:
        publish_retained(broker.port, topics.config(HUB), config_message(HUB, keys))
        cloud = CloudSide(broker.port, keys).start()

        async def scenario() -> None:
            world = BleWorld(speed=60)
            await world.add_band(band)
            radio = await world.radio()
            failures = {"left": 2}
            real = radio.scanner_backend

            class StuckAdapter(real):  # type: ignore[misc, valid-type]
                """BlueZ answering org.bluez.Error.InProgress: a hardware-edge fault."""

                async def start(self) -> None:
                    if failures["left"] > 0:
                        failures["left"] -= 1
                        raise BleakError("org.bluez.Error.InProgress")
                    await super().start()

            radio.scanner_backend = StuckAdapter
            async with running_hub(tmp_path, broker.port, world, radio=radio):
                await until(lambda: len(cloud.unique()) >= 2, 60, "frames after the faults")
                await until(lambda: any(e["kind"] == "adapter" for e in cloud.events), 20, "event")
            await world.close()

        asyncio.run(scenario())
        cloud.stop()
    faults = [e for e in cloud.events if e["kind"] == "adapter"]
    assert len(faults) == 2 and all(e["code"] == "scan_start" for e in faults)
    assert "InProgress" in json.dumps(faults)


def test_silent_air_restarts_scanning_without_raising_alarms(tmp_path: Path) -> None:
    with Mosquitto() as broker:
        cloud = CloudSide(broker.port, {}).start()

        async def scenario() -> int:
            world = BleWorld()  # nobody on the air: after stall_s the hub restarts scanning
            radio = await world.radio()
            starts = {"n": 0}
            real = radio.scanner_backend

            class CountingScanner(real):  # type: ignore[misc, valid-type]
                async def start(self) -> None:
                    starts["n"] += 1
                    await super().start()

            radio.scanner_backend = CountingScanner
            async with running_hub(
                tmp_path, broker.port, world, radio=radio, SQJZ_HUB_BLE_STALL_S=1
            ):
                await until(lambda: starts["n"] >= 3, 20, "scanner restarts")
                await asyncio.sleep(0.5)
            await world.close()
            return starts["n"]

        restarts = asyncio.run(scenario())
        cloud.stop()
    assert restarts >= 3
    assert not cloud.events  # an empty village at night is not an alarm
