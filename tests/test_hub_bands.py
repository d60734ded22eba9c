"""Must-show: SimBand (the real firmware) -> bumble -> bleak -> hub -> mosquitto -> verifier.

Every band here is `simulators.band.SimBand`: the firmware's own main loop under MicroPython,
on the air as a bumble peripheral; the hub is `hub.service.HubService` using bleak's public
API over the bumble backend; the cloud side is a persistent-session subscriber that checks
every signature. The oracle is the band side: every counter the hub acknowledged (OP_ACK seen
at the band) must reach the subscriber, byte for byte, after dedupe by (band_id, counter).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.config import load
from protocol import envelope, frame, gatt, topics
from protocol.schema import TYPE_IDS
from simulators.ble.world import BleWorld
from simulators.broker import Mosquitto
from simulators.hub_harness import (
    HUB,
    CloudSide,
    acked_frames,
    config_message,
    delivered_exactly,
    hub_env,
    publish_retained,
    running_hub,
    until,
)

band_mod = pytest.importorskip("simulators.band", reason="SimBand (simulators/band.py) not there")
SimBand = band_mod.SimBand

SPEED = 60.0  # simulated seconds per real second: a band's 5-minute activity window in 5 s
SOS = TYPE_IDS["sos"]


@pytest.fixture()
def bands() -> Any:
    made: list[Any] = []

    def make(band_id: int, **kw: Any) -> Any:
        b = SimBand(band_id, seed=band_id.to_bytes(4, "big") * 8, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def _keys(bands: list[Any]) -> dict[int, bytes]:
    return {b.band_id: b.public_key for b in bands}


def test_firmware_bands_through_ble_hub_and_broker_every_signature_verified(
    tmp_path: Path, bands: Any
) -> None:
    fleet = [bands(66051), bands(66052), bands(66053)]
    with Mosquitto() as broker:
        publish_retained(broker.port, topics.config(HUB), config_message(HUB, _keys(fleet)))
        cloud = CloudSide(broker.port, _keys(fleet)).start()

        async def scenario() -> dict[str, Any]:
            world = BleWorld(speed=SPEED)
            peripherals = [await world.add_band(b) for b in fleet]
            async with running_hub(tmp_path, broker.port, world) as hub:
                await until(lambda: len(acked_frames(world)) >= 6, 90, "frames from every band")
                await peripherals[1].call("press_button", 4.0)
                await until(lambda: any(m.frame.type == SOS for m in cloud.messages), 60, "the SOS")
                await until(lambda: delivered_exactly(cloud, world), 30, "delivery")
                status = hub.status()
            await world.close()
            return status

        status = asyncio.run(scenario())
        assert cloud.wait_for(lambda c: c.status.get(HUB, {}).get("online") is False, 10)
        cloud.stop()
    assert not cloud.refused  # every message verified against the bands' real keys
    assert {m.frame.band_id for m in cloud.messages} == {66051, 66052, 66053}
    assert all(m.flags & envelope.FLAG_HUB_VERIFIED for m in cloud.messages)
    assert all(m.hub_id == HUB and m.rssi is None for m in cloud.messages)  # no presence order
    assert status["forged_total"] == 0 and status["malformed_total"] == 0
    assert status["frames_accepted"] >= 7


def test_broker_stopped_and_restarted_everything_arrives_once_sos_first(
    tmp_path: Path, bands: Any
) -> None:
    fleet = [bands(70001), bands(70002)]
    with Mosquitto() as broker:
        publish_retained(broker.port, topics.config(HUB), config_message(HUB, _keys(fleet)))
        cloud = CloudSide(broker.port, _keys(fleet)).start()

        async def scenario() -> set[tuple[int, int]]:
            world = BleWorld(speed=SPEED)
            ps = [await world.add_band(b) for b in fleet]
            async with running_hub(tmp_path, broker.port, world) as hub:
                await until(lambda: len(cloud.unique()) >= 2, 90, "first frames")
                broker.stop()
                await until(lambda: hub.uplink_state != "connected", 10, "uplink down")
                before_outage = set(acked_frames(world))
                await until(
                    lambda: len(acked_frames(world)) >= len(before_outage) + 4,
                    90,
                    "frames while offline",
                )
                await ps[0].call("press_button", 4.0)
                await until(
                    lambda: any(raw[1] == SOS for raw in acked_frames(world).values()),
                    60,
                    "SOS stored",
                )
                assert hub.store.depth() > 0  # held in the outbox, acknowledged to the bands
                during = set(acked_frames(world)) - before_outage
                await asyncio.to_thread(broker.start)
                await until(lambda: delivered_exactly(cloud, world), 60, "delivery after restart")
            await world.close()
            return during

        during = asyncio.run(scenario())
        cloud.stop()
    arrived = [(m.frame.band_id, m.frame.counter, m.frame.type) for m in cloud.messages]
    after = [a for a in arrived if (a[0], a[1]) in during]
    sos_at = next(i for i, a in enumerate(after) if a[2] == SOS)
    firsts = {(a[0], a[1]) for a in after[:sos_at]}
    assert not firsts, "frames received during the outage were published before the SOS"
    assert len(cloud.unique()) == len(set(cloud.unique()))
    held = [m for m in cloud.messages if (m.frame.band_id, m.frame.counter) in during]
    assert all(m.flags & envelope.FLAG_FROM_OUTBOX for m in held)


def test_band_disconnecting_mid_frame_loses_nothing(tmp_path: Path, bands: Any) -> None:
    band = bands(80001)
    with Mosquitto() as broker:
        publish_retained(broker.port, topics.config(HUB), config_message(HUB, _keys([band])))
        cloud = CloudSide(broker.port, _keys([band])).start()

        async def scenario() -> dict[str, Any]:
            world = BleWorld(speed=SPEED)
            # ATT MTU 23: a frame travels in 6 fragments; the link drops after the 3rd.
            p = await world.add_band(band, max_mtu=gatt.MIN_MTU)
            p.cut_after = 3
            async with running_hub(tmp_path, broker.port, world) as hub:
                await until(lambda: p.cut_after is None, 60, "the cut")
                await until(lambda: len(acked_frames(world)) >= 3, 90, "frames after the cut")
                await until(lambda: delivered_exactly(cloud, world), 30, "delivery")
                await until(lambda: hub.status()["malformed_total"] >= 1, 10, "the count")
                return hub.status()

        status = asyncio.run(scenario())
        cloud.stop()
    assert status["malformed_total"] >= 1  # the half frame was counted, not forwarded
    assert not cloud.refused
    counters = sorted(c for (_b, c) in cloud.unique())
    assert counters == sorted(set(counters))


def test_malformed_notifications_and_forged_frames_are_counted_refused_and_survived(
    tmp_path: Path, bands: Any
) -> None:
    band = bands(90001)
    with Mosquitto() as broker:
        publish_retained(broker.port, topics.config(HUB), config_message(HUB, _keys([band])))
        cloud = CloudSide(broker.port, _keys([band])).start()
        forged = frame.encode(
            "sos",
            band.band_id,
            4242,
            1_764_460_900,
            {"reason": 1},
            Ed25519PrivateKey.from_private_bytes(bytes(range(32))).sign,
        )
        garbage = [b"\x00", b"\x85" + bytes(30), b"\x00" + bytes(40), b"\x03abc"]

        async def scenario() -> dict[str, Any]:
            world = BleWorld(speed=SPEED)
            p = await world.add_band(band)
            async with running_hub(tmp_path, broker.port, world) as hub:
                await until(lambda: p.connection is not None and p._subscribed, 60, "a connection")
                await p.inject(garbage + gatt.fragments(forged, 247))
                await until(lambda: hub.status()["forged_total"] == 1, 20, "forged counted")
                await until(lambda: len(acked_frames(world)) >= 3, 90, "frames afterwards")
                await until(lambda: delivered_exactly(cloud, world), 30, "delivery")
                await until(
                    lambda: any(e["kind"] == "forged_frame" for e in cloud.events), 20, "alarm"
                )
                return hub.status()

        status = asyncio.run(scenario())
        cloud.stop()
    assert status["malformed_total"] >= 3
    assert all(m.frame.raw != forged for m in cloud.messages) and not cloud.refused
    alarm = next(e for e in cloud.events if e["kind"] == "forged_frame")
    assert alarm["frame_hex"] == forged.hex() and alarm["band_id"] == band.band_id
    assert any(e["kind"] == "malformed" for e in cloud.events)


def test_presence_and_rssi_only_under_an_order(tmp_path: Path, bands: Any) -> None:
    watched, free = bands(91001), bands(91002)
    keys = _keys([watched, free])
    with Mosquitto() as broker:
        until_ts = 4_000_000_000
        publish_retained(
            broker.port,
            topics.config(HUB),
            config_message(HUB, keys, presence_until={91001: until_ts}, presence_interval_s=10),
        )
        cloud = CloudSide(broker.port, keys).start()

        async def scenario() -> None:
            world = BleWorld(speed=SPEED)
            for b in (watched, free):
                await world.add_band(b)
            async with running_hub(tmp_path, broker.port, world):
                await until(
                    lambda: {m.frame.band_id for m in cloud.messages} == {91001, 91002}, 90, "both"
                )
                await until(lambda: bool(cloud.presence), 30, "a presence report")

        asyncio.run(scenario())
        cloud.stop()
    by_band = {m.frame.band_id: m for m in cloud.messages}
    assert by_band[91001].rssi is not None and by_band[91002].rssi is None
    reported = {s["band_id"] for p in cloud.presence for s in p["seen"]}
    assert reported == {91001}


def test_settings_reach_the_service(tmp_path: Path) -> None:
    s = load(None, hub_env(tmp_path, 1883))
    assert dataclasses.asdict(s)["ble"]["idle_disconnect_s"] == 1.5
