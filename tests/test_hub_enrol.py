"""Enrolment at a hub: SimBand (real firmware) over bleak/bumble, the real cloud app over HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner

from hub.enrol import EnrolmentError, enrol_band, post_json
from protocol import gatt
from simulators.ble.world import BleWorld

band_mod = pytest.importorskip("simulators.band", reason="SimBand (simulators/band.py) not there")
testkit = pytest.importorskip("cloud.testkit", reason="the cloud app is not there")


async def _connect(world: BleWorld, band_id: int) -> tuple[Any, BleakClient]:
    radio = await world.radio()

    def is_band(_d: Any, adv: Any) -> bool:
        got = gatt.unpack_adv_status(adv.manufacturer_data.get(gatt.MANUFACTURER_ID, b""))
        return got is not None and got[0] == band_id

    device = await BleakScanner.find_device_by_filter(is_band, 10, backend=radio.scanner_backend)
    assert device is not None
    client = BleakClient(device, backend=radio.client_backend)
    await client.connect()
    return radio, client


def test_band_enrols_through_the_hub_and_the_cloud_stores_its_key() -> None:
    band = band_mod.SimBand(55001, seed=bytes(range(1, 33)))
    try:
        with testkit.LiveCloud({"mqtt_enabled": False}) as cloud:
            token = cloud.ids["hub_token"]

            async def scenario() -> tuple[dict[str, Any], int]:
                world = BleWorld(speed=4.0)
                await world.add_band(band)
                _radio, client = await _connect(world, 55001)
                result = await enrol_band(client, cloud.url, token, 12, int(time.time()), 55001)
                await client.disconnect()
                await asyncio.sleep(0.3)
                adv = await world.peripherals[55001].call("advertisement")
                await world.close()
                status = gatt.unpack_adv_status(adv["manufacturer_data"][gatt.MANUFACTURER_ID])
                return result, status[1]

            result, adv_status = asyncio.run(scenario())
            row = cloud.rt.store.one("SELECT public_key FROM bands WHERE band_id = ?", (55001,))
    finally:
        band.close()
    assert bytes(row["public_key"]) == band.public_key
    assert result["public_key"] == band.public_key.hex() and result["band_id"] == 55001
    assert not adv_status & gatt.ADV_UNENROLLED  # the band keeps its downlink key now


def test_a_wrong_token_and_a_dead_cloud_give_clear_errors() -> None:
    with testkit.LiveCloud({"mqtt_enabled": False}) as cloud:
        with pytest.raises(EnrolmentError, match="cloud refused \\(401\\)"):
            post_json(
                f"{cloud.url}/api/v1/enrolments", {"band_id": 1, "public_key": "00" * 32}, "x"
            )
        dead = cloud.url
    with pytest.raises(EnrolmentError, match="unreachable"):
        post_json(f"{dead}/api/v1/enrolments", {}, "x", timeout=2)
