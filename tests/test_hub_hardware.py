"""Opt-in (--run-hardware): the hub's BLE adapter code against a real adapter and real bands.

Run on a Raspberry Pi with BlueZ and at least one powered sqjz band nearby:
`.venv/bin/pytest --run-hardware tests/test_hub_hardware.py`. SQJZ_HUB_BLE_ADAPTER picks the
adapter (default hci0).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner

from protocol import gatt

pytestmark = pytest.mark.hardware
ADAPTER = os.environ.get("SQJZ_HUB_BLE_ADAPTER", "hci0")


def _is_band(_d: Any, adv: Any) -> bool:
    return gatt.unpack_adv_status(adv.manufacturer_data.get(gatt.MANUFACTURER_ID, b"")) is not None


def test_real_adapter_finds_a_band_reads_identity_and_receives_frames() -> None:
    async def scenario() -> tuple[tuple[Any, ...], list[bytes]]:
        device = await BleakScanner.find_device_by_filter(
            _is_band, 30, service_uuids=[gatt.SERVICE_UUID], bluez={"adapter": ADAPTER}
        )
        assert device is not None, "no sqjz band advertising within 30 s"
        frames: list[bytes] = []
        r = gatt.Reassembler()

        def on_note(_c: Any, data: bytearray) -> None:
            raw = r.feed(bytes(data))
            if raw is not None:
                frames.append(raw)

        async with BleakClient(device, bluez={"adapter": ADAPTER}) as client:
            identity = gatt.unpack_identity(bytes(await client.read_gatt_char(gatt.IDENTITY_UUID)))
            await client.start_notify(gatt.FRAMES_UUID, on_note)
            # Say hello but acknowledge nothing: the band keeps every frame for the real hub.
            await client.write_gatt_char(gatt.CONTROL_UUID, gatt.hub_hello(0, 0), response=True)
            await asyncio.sleep(5)
        return identity, frames

    identity, frames = asyncio.run(scenario())
    assert len(identity[1]) == 32
    assert all(int.from_bytes(f[3:7], "big") == identity[0] for f in frames)
