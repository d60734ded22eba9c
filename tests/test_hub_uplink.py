"""Outbox to a real mosquitto through paho: small window, delete on PUBACK, outages, SOS first."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub import outbox as ob
from hub.pump import Pump
from hub.uplink import MqttSettings, Uplink
from protocol import envelope, topics
from protocol.schema import TYPE_IDS
from simulators.ble.loadband import LoadBand
from simulators.broker import Mosquitto
from simulators.hub_harness import CloudSide

HUB = 12


def _store(box: ob.Outbox, raws: list[bytes], held: bool = False) -> None:
    with box.batch():
        for raw in raws:
            band_id = int.from_bytes(raw[3:7], "big")
            counter = int.from_bytes(raw[7:11], "big")
            box.add_frame(band_id, counter, raw[1], raw, 1000, 0, envelope.FLAG_HUB_VERIFIED, held)


class _Hub:
    """Just the uplink half of a hub: outbox, pump and paho."""

    def __init__(self, box: ob.Outbox, port: int, window: int) -> None:
        self.box = box
        self.port = port
        self.window = window
        self.max_inflight = 0

    async def __aenter__(self) -> _Hub:
        loop = asyncio.get_running_loop()
        self.connected = asyncio.Event()

        def publish(topic: str, payload: bytes) -> int | None:
            mid = self.uplink.publish(topic, payload)
            self.max_inflight = max(self.max_inflight, len(self.pump.inflight) + 1)
            return mid

        def up(_session: bool) -> None:
            self.connected.set()
            self.pump.up()

        def down(_reason: str) -> None:
            self.connected.clear()
            self.pump.down()

        settings = MqttSettings(port=self.port, inflight=self.window, reconnect_max_s=1)
        self.uplink = Uplink(
            HUB, settings, loop, up, down, lambda m: self.pump.published(m), lambda t, p: None
        )
        self.pump = Pump(HUB, self.box, publish, self.window, loop)
        self.uplink.start()
        await asyncio.wait_for(self.connected.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.uplink.stop)

    async def drained(self, timeout: float = 30) -> None:
        for _ in range(int(timeout / 0.05)):
            if self.box.depth() == 0 and not self.pump.inflight:
                return
            self.pump.fill()
            await asyncio.sleep(0.05)
        raise AssertionError(f"outbox still holds {self.box.depth()}")


def test_everything_arrives_once_window_stays_small_and_outbox_empties(tmp_path: Path) -> None:
    bands = [LoadBand(b) for b in range(1, 6)]
    raws = [b.make("activity", {"steps": i}) for i in range(400) for b in bands]
    box = ob.Outbox(tmp_path / "hub.db")
    _store(box, raws)
    with Mosquitto() as broker:
        cloud = CloudSide(broker.port, {b.band_id: b.public_key for b in bands}).start()

        async def scenario() -> int:
            async with _Hub(box, broker.port, window=8) as hub:
                hub.pump.fill()
                await hub.drained()
                return hub.max_inflight

        max_inflight = asyncio.run(scenario())
        assert cloud.wait_for(lambda c: len(c.messages) >= len(raws), 20)
        cloud.stop()
    assert max_inflight <= 8
    assert len(cloud.messages) == len(raws) and not cloud.refused
    assert set(cloud.unique().values()) == set(raws)
    assert box.depth() == 0 and box.stats["frames_published_total"] == len(raws)


def test_broker_outage_loses_nothing_and_the_sos_goes_first(tmp_path: Path) -> None:
    band = LoadBand(66051)
    box = ob.Outbox(tmp_path / "hub.db")
    before = [band.make("activity") for _ in range(50)]
    _store(box, before)
    with Mosquitto() as broker:
        cloud = CloudSide(broker.port, {band.band_id: band.public_key}).start()

        async def scenario() -> list[bytes]:
            async with _Hub(box, broker.port, window=4) as hub:
                hub.pump.fill()
                await hub.drained()
                broker.stop()
                for _ in range(100):
                    if not hub.connected.is_set():
                        break
                    await asyncio.sleep(0.05)
                # While the broker is away the bands keep talking; then someone presses SOS.
                later = [band.make("activity") for _ in range(30)]
                _store(box, later, held=True)
                band.press_button(5)
                sos = band.sent[-1]
                _store(box, [sos], held=True)
                hub.pump.fill()  # not connected: nothing may be handed to paho
                assert not hub.pump.inflight
                broker.start()
                await asyncio.wait_for(hub.connected.wait(), 20)
                await hub.drained()
                return [*later, sos]

        waiting = asyncio.run(scenario())
        assert cloud.wait_for(lambda c: len(c.unique()) == 81, 20), len(cloud.unique())
        cloud.stop()
    arrived = [m.frame.raw for m in cloud.messages]
    assert set(cloud.unique().values()) == set(before) | set(waiting)
    first_after = next(r for r in arrived if r in set(waiting))
    assert first_after[1] == TYPE_IDS["sos"]
    held = [m for m in cloud.messages if m.frame.raw in set(waiting)]
    assert all(m.flags & envelope.FLAG_FROM_OUTBOX for m in held)


def test_status_is_retained_and_the_last_will_says_offline(tmp_path: Path) -> None:
    with Mosquitto() as broker:
        box = ob.Outbox(tmp_path / "hub.db")

        async def scenario() -> None:
            async with _Hub(box, broker.port, window=4) as hub:
                hub.uplink.publish(
                    topics.status(HUB), b'{"hub_id": 12, "online": true}', retain=True
                )
                await asyncio.sleep(0.3)
                # A crash: the socket dies without DISCONNECT, so the broker sends the will.
                hub.uplink.crash()
                await asyncio.sleep(0.3)

        asyncio.run(scenario())
        late = CloudSide(broker.port, {}, client_id="late-reader").start()
        assert late.wait_for(lambda c: HUB in c.status, 10)
        assert late.status[HUB] == {"hub_id": HUB, "online": False}
        late.stop()


def test_a_puback_that_never_comes_frees_its_slot_and_the_entry_goes_again(
    tmp_path: Path,
) -> None:
    band = LoadBand(5)
    box = ob.Outbox(tmp_path / "hub.db")
    _store(box, [band.make("activity") for _ in range(3)])
    sent: list[bytes] = []
    now = [0.0]
    loop = asyncio.new_event_loop()
    try:
        pump = Pump(HUB, box, lambda t, p: sent.append(p) or len(sent), 2, loop, lambda: now[0])
        pump.up()
        assert len(sent) == 2 and len(pump.inflight) == 2  # the window is full
        now[0] = 60.0
        assert pump.expire(120.0) == 0
        now[0] = 121.0
        assert pump.expire(120.0) == 2
        assert len(sent) == 4 and sent[2:] == sent[:2]  # same entries, SOS-first order kept
        pump.published(3)
        loop.run_until_complete(asyncio.sleep(0))  # the coalesced delete runs
        assert box.depth() == 2 and len(sent) == 5  # the third entry went out in the freed slot
    finally:
        loop.close()
    assert box.stats["puback_timeouts_total"] == 2
