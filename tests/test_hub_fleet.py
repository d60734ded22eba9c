"""A busy village: many load-test bands, few connection slots, downlinks from the cloud.

These bands are the CPython load-test band (simulators/ble/loadband.py): two dozen MicroPython
interpreters would not fit this test's budget. The firmware itself is exercised through the
same path in test_hub_bands.py and test_hub_crash.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from protocol import downlink, topics
from simulators.ble.loadband import LoadBand
from simulators.ble.world import BleWorld
from simulators.broker import Mosquitto
from simulators.hub_harness import (
    HUB,
    CloudSide,
    acked_frames,
    config_message,
    delivered_exactly,
    publish_retained,
    running_hub,
    until,
)


def test_two_dozen_bands_share_four_slots_and_every_frame_arrives(tmp_path: Path) -> None:
    fleet = [LoadBand(20_000 + i, activity_s=60) for i in range(24)]
    keys = {b.band_id: b.public_key for b in fleet}
    with Mosquitto() as broker:
        publish_retained(broker.port, topics.config(HUB), config_message(HUB, keys))
        cloud = CloudSide(broker.port, keys).start()

        async def scenario() -> int:
            world = BleWorld(speed=60)
            for b in fleet:
                await world.add_band(b)
            async with running_hub(tmp_path, broker.port, world, SQJZ_HUB_SCHEDULE_SLOTS=4) as hub:
                peak = 0
                real = hub.radio.scheduler.connected

                def counting(band_id: int, now: float) -> None:
                    nonlocal peak
                    real(band_id, now)
                    peak = max(peak, hub.radio.connected())

                hub.radio.scheduler.connected = counting  # type: ignore[method-assign]
                every = lambda: all(len(p.acked) >= 2 for p in world.peripherals.values())  # noqa: E731
                await until(every, 120, "two frames from every band")
                await until(lambda: delivered_exactly(cloud, world), 30, "delivery")
                assert len(acked_frames(world)) >= 48
            await world.close()
            return peak

        peak = asyncio.run(scenario())
        cloud.stop()
    assert 1 <= peak <= 4
    assert not cloud.refused


def test_a_downlink_reaches_its_band_once_and_the_hello_has_rssi_only_with_opt_in(
    tmp_path: Path,
) -> None:
    band = LoadBand(30_001, activity_s=600)
    other = LoadBand(30_002, activity_s=600)
    key = bytes(range(32))
    message = downlink.encode(
        key, "notify", band.band_id, 1, 1_764_460_800, {"pattern": 1, "reason": 2}
    )
    keys = {band.band_id: band.public_key, other.band_id: other.public_key}
    with Mosquitto() as broker:
        cfg = config_message(HUB, keys, sos_location={band.band_id})
        publish_retained(broker.port, topics.config(HUB), cfg)

        async def scenario() -> list[bytes]:
            world = BleWorld(speed=10)
            await world.add_band(band)
            await world.add_band(other)
            async with running_hub(tmp_path, broker.port, world) as hub:
                await until(lambda: hub.uplink_state == "connected", 10, "uplink")
                await asyncio.to_thread(
                    publish_retained,
                    broker.port,
                    topics.down(HUB, band.band_id),
                    message,
                    retain=False,
                )
                await until(lambda: bool(band.downlinks), 30, "the downlink at the band")
                await until(lambda: not hub.store.downlinks(band.band_id, hub.clock()), 10, "done")
                await until(lambda: bool(other.hellos), 30, "a visit to the other band")
                await asyncio.sleep(1.0)  # a later visit must not write it again
            await world.close()
            return band.downlinks

        got = asyncio.run(scenario())
    assert got == [message]
    # Opted in: once the config is in force the hello carries the RSSI (bumble reports -50).
    assert band.hellos[-1][0] == HUB and band.hellos[-1][2] == -50
    assert all(h[2] is None for h in other.hellos)  # not opted in: 8-byte hello
