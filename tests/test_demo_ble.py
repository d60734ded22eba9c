"""The virtual radio under the demo: a band that leaves mid-connect leaves no half-open link."""

from __future__ import annotations

import asyncio
import signal
from types import FrameType

from bleak import BleakClient, BleakScanner

from protocol import gatt
from simulators.ble.backend import BumbleRadio
from simulators.ble.loadband import LoadBand
from simulators.ble.world import BleWorld


def test_a_connect_that_times_out_is_torn_down_and_the_band_is_reachable_again() -> None:
    async def scenario() -> tuple[int, bool]:
        world = BleWorld()
        await world.add_band(LoadBand(77001))
        radio = await BumbleRadio(link=world.link, address="C0:00:00:00:00:31").open()
        try:
            device = await BleakScanner.find_device_by_filter(
                lambda _d, adv: gatt.MANUFACTURER_ID in adv.manufacturer_data,
                10,
                backend=radio.scanner_backend,
            )
            assert device is not None
            # The wearer walks away between the scan and the connect: the central's
            # CONNECT_IND finds nobody, and its link is half-open until the attempt times out.
            await world.remove_band(77001)
            client = BleakClient(device, backend=radio.client_backend)
            try:
                await asyncio.wait_for(client.connect(), 1.0)
                raise AssertionError("connected to a band that had left")
            except TimeoutError:
                pass
            assert radio.controller is not None
            half_open = len(radio.controller.le_connections)
            await world.add_band(LoadBand(77001))  # back in range
            again = BleakClient(device, backend=radio.client_backend)
            await asyncio.wait_for(again.connect(), 10)
            reachable = again.is_connected
            await again.disconnect()
            return half_open, reachable
        finally:
            await radio.close()
            await world.close()

    def hung(_sig: int, _frame: FrameType | None) -> None:
        raise AssertionError("the radio hung: a stale connection blocks the band")

    # Without the fix the central waits for ever on its half-open link: fail, do not hang.
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        half_open, reachable = asyncio.run(scenario())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert half_open == 0  # the timed-out attempt was disconnected, not left dangling
    assert reachable
