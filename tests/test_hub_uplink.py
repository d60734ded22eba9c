"""Outbox to a real mosquitto through paho: windows, receipts, outages, SOS first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from hub import outbox as ob
from hub.pump import Pump
from hub.uplink import MqttSettings, Uplink
from protocol import envelope, receipts, topics
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

    def __init__(
        self, box: ob.Outbox, port: int, window: int, receipt_timeout_s: float = 60.0
    ) -> None:
        self.box = box
        self.port = port
        self.window = window
        self.receipt_timeout_s = receipt_timeout_s
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

        def message(topic: str, payload: bytes) -> None:
            if topic == topics.receipts(HUB):
                self.pump.receipt(payload)

        settings = MqttSettings(port=self.port, inflight=self.window, reconnect_max_s=1)
        self.uplink = Uplink(
            HUB, settings, loop, up, down, lambda m: self.pump.published(m), message
        )
        self.pump = Pump(
            HUB, self.box, publish, self.window, loop, receipt_timeout_s=self.receipt_timeout_s
        )
        self.uplink.start()
        await asyncio.wait_for(self.connected.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.uplink.stop()

    async def drained(self, timeout: float = 30) -> None:
        for _ in range(int(timeout / 0.05)):
            if self.box.depth() == 0 and not self.pump.inflight:
                return
            self.pump.expire()  # as the service's housekeeping does
            self.pump.fill()
            await asyncio.sleep(0.05)
        raise AssertionError(f"outbox still holds {self.box.depth()}")


async def _until(cond: Callable[[], object], what: str, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


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
    assert box.depth() == 0 and box.stats["frames_receipted_total"] == len(raws)


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
        loop.run_until_complete(asyncio.sleep(0))  # the coalesced mark runs
        assert box.awaiting() == 1 and len(sent) == 5  # the third entry went out in the freed slot
    finally:
        loop.close()
    assert box.stats["puback_timeouts_total"] == 2


class _FakePaho:
    """Records what the pump hands to paho; message ids count up."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def __call__(self, topic: str, payload: bytes) -> int:
        self.sent.append((topic, payload))
        return len(self.sent)

    def keys(self, start: int = 0) -> list[tuple[int, int, bytes]]:
        """Receipt entries for what was sent from `start` on."""
        out = []
        for _t, payload in self.sent[start:]:
            key = receipts.frame_key(envelope.unwrap(payload)[4])
            assert key is not None
            out.append(key)
        return out


def _fake_pump(
    tmp_path: Path, band: LoadBand, frames: int, window: int, **kw: float
) -> tuple[ob.Outbox, _FakePaho, asyncio.AbstractEventLoop, Pump]:
    """An outbox with a band's activity frames and a pump onto a fake paho (close the loop)."""
    box = ob.Outbox(tmp_path / "hub.db")
    _store(box, [band.make("activity") for _ in range(frames)])
    paho = _FakePaho()
    loop = asyncio.new_event_loop()
    return box, paho, loop, Pump(HUB, box, paho, window, loop, **kw)  # type: ignore[arg-type]


def test_the_receipt_window_bounds_what_awaits_the_cloud_and_receipts_open_it(
    tmp_path: Path,
) -> None:
    box, paho, loop, pump = _fake_pump(tmp_path, LoadBand(6), 20, 4, unreceipted=6)
    try:
        pump.up()
        assert len(paho.sent) == 4  # the paho window
        for mid in range(1, 5):
            pump.published(mid)
        loop.run_until_complete(asyncio.sleep(0))
        assert box.awaiting() == 4 and len(paho.sent) == 6  # 4 awaiting + 2 with paho = 6
        pump.published(5)
        pump.published(6)
        loop.run_until_complete(asyncio.sleep(0))
        assert box.awaiting() == 6 and len(paho.sent) == 6  # nothing more until a receipt
        gone = pump.receipt(receipts.encode(paho.keys()[:3], []))
        assert gone == 3 and pump.forwarded == 3 and box.depth() == 17
        assert len(paho.sent) == 9  # three slots opened, three new entries went
        assert len(set(paho.sent)) == 9  # and none of them a repeat
    finally:
        loop.close()


def test_unreceipted_entries_go_again_after_the_timeout_and_on_reconnect(tmp_path: Path) -> None:
    band = LoadBand(7)
    box = ob.Outbox(tmp_path / "hub.db")
    _store(box, [band.make("activity") for _ in range(2)])
    paho = _FakePaho()
    now = [0.0]
    loop = asyncio.new_event_loop()
    try:
        pump = Pump(HUB, box, paho, 8, loop, lambda: now[0], receipt_timeout_s=60.0)
        pump.up()
        pump.published(1)
        pump.published(2)
        loop.run_until_complete(asyncio.sleep(0))
        assert box.awaiting() == 2 and len(paho.sent) == 2
        now[0] = 59.0
        assert pump.expire() == 0 and len(paho.sent) == 2
        now[0] = 61.0
        assert pump.expire() == 2  # the cloud never receipted them: the broker may have lost them
        assert paho.sent[2:] == paho.sent[:2] and box.awaiting() == 0
        pump.published(3)
        pump.published(4)
        loop.run_until_complete(asyncio.sleep(0))
        now[0] = 61.0 + 61.0
        assert pump.expire() == 0  # no receipt at all: the wait doubled (120 s)
        now[0] = 61.0 + 121.0
        assert pump.expire() == 2 and len(paho.sent) == 6
        assert box.stats["receipt_timeouts_total"] == 4
        pump.published(5)
        loop.run_until_complete(asyncio.sleep(0))
        pump.down()
        pump.up()  # a broker back from a crash may have lost what it acknowledged
        assert len(paho.sent) == 7 and paho.keys(6) == paho.keys(0)[:1]
        pump.receipt(receipts.encode(paho.keys(), []))
        assert box.depth() == 0 and box.awaiting() == 0
    finally:
        loop.close()


def test_a_broker_killed_before_its_autosave_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    """The broker PUBACKs frames it holds only in memory, then dies (SIGKILL) before saving."""
    from cloud.app import start_workers
    from cloud.testkit import BandSim, County

    band = BandSim(4242)
    with Mosquitto() as broker:
        county = County({"mqtt_enabled": True, "mqtt_port": broker.port, "jobs_interval_s": 3600})
        try:
            county.enrol(band)  # counter 0
            raws = [band.frame("activity", {"steps": i}) for i in range(40)]
            start_workers(county.rt)
            assert county.rt.mqtt.connected.wait(10)
            # The cloud goes away; the broker queues for its persistent session, in memory.
            county.rt.mqtt.stop()
            county.rt.mqtt = None
            box = ob.Outbox(tmp_path / "hub.db")
            _store(box, raws)

            async def scenario() -> int:
                async with _Hub(box, broker.port, window=8, receipt_timeout_s=2) as hub:
                    hub.pump.fill()
                    await _until(lambda: box.awaiting() == len(raws), "every PUBACK")
                    before = box.depth()
                    broker.kill()  # well inside the 30 s autosave_interval: all of it is gone
                    broker.start()
                    await asyncio.to_thread(start_workers, county.rt)
                    await hub.drained(60)  # every entry receipted by the real cloud
                    return before

            held = asyncio.run(scenario())
            rows = county.rt.store.q(
                "SELECT counter, raw, hubs_heard FROM frames WHERE band_id = ? AND counter > 0"
                " ORDER BY counter",
                (band.band_id,),
            )
        finally:
            county.close()
    assert held == len(raws)  # acknowledged by the broker, still held for want of a receipt
    # Every entry went again after the crash. (frames_published_total counts PUBACKs of entries
    # still held, so a receipt that overtakes its PUBACK leaves it short of 2 x 40.)
    assert box.stats["reconnect_requeued_total"] >= len(raws)
    lost = set(raws) - {bytes(r["raw"]) for r in rows}
    assert not lost
    assert [r["counter"] for r in rows] == list(range(1, len(raws) + 1))  # each stored once
    assert box.depth() == 0 and box.awaiting() == 0


def test_sos_and_tamper_pass_a_full_receipt_window_on_their_own_topic(tmp_path: Path) -> None:
    band = LoadBand(8)
    box, paho, loop, pump = _fake_pump(tmp_path, band, 30, 16, unreceipted=16)
    try:
        pump.up()
        assert len(paho.sent) == 14  # bulk leaves an eighth of paho's window free
        for mid in range(1, 15):
            pump.published(mid)
        loop.run_until_complete(asyncio.sleep(0))
        assert len(paho.sent) == 16  # 14 awaiting receipts + 2: the receipt window is full
        for mid in (15, 16):
            pump.published(mid)
        loop.run_until_complete(asyncio.sleep(0))
        assert box.awaiting() == 16 and len(paho.sent) == 16
        # The cloud is behind; a wearer presses SOS and another opens the strap.
        urgent = [
            band.make("sos", {"sos_id": 1, "reason": 1}),
            band.make("tamper", {"event": 1, "strap_closed": 0, "on_skin": 1}),
        ]
        _store(box, urgent)
        pump.fill()
        assert len(paho.sent) == 18
        assert [t for t, _p in paho.sent[16:]] == [topics.urgent(HUB)] * 2
        assert [envelope.unwrap(p)[4] for _t, p in paho.sent[16:]] == urgent
        assert all(t == topics.up(HUB) for t, _p in paho.sent[:16])
    finally:
        loop.close()


def test_a_reconnect_with_the_session_kept_does_not_fetch_the_county_records_again(
    mosquitto: Mosquitto,
) -> None:
    import paho.mqtt.client as paho

    cloud = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="cloud")
    cloud.connect("127.0.0.1", mosquitto.port)
    cloud.loop_start()

    def record(band: int) -> None:
        cloud.publish(topics.band(band), b'{"x": 1}', qos=1, retain=True).wait_for_publish(10)

    for band in range(50):
        record(band)

    async def scenario() -> tuple[dict[str, int], list[int]]:
        loop = asyncio.get_running_loop()
        got: dict[str, int] = {}
        connects: list[bool] = []
        settings = MqttSettings(port=mosquitto.port, reconnect_min_s=1, reconnect_max_s=1)

        def message(topic: str, _payload: bytes) -> None:
            got[topic] = got.get(topic, 0) + 1

        async def until(cond: Callable[[], bool]) -> None:
            for _ in range(400):
                if cond():
                    return
                await asyncio.sleep(0.05)
            raise AssertionError("condition not met in time")

        def uplink() -> Uplink:
            return Uplink(HUB, settings, loop, connects.append, print, print, message)

        first = uplink()
        first.start()
        await until(lambda: len(got) == 50)
        first.crash()  # a village link drops; paho reconnects into the kept session
        await until(lambda: len(connects) == 2 and first.connected)
        assert connects == [False, True]
        await asyncio.to_thread(record, 50)  # published while it was away, or just after
        await until(lambda: topics.band(50) in got)
        counts = [first.subscribes, sum(got.values())]
        await first.stop()
        # A new process (restarted hub) subscribes again: its saved config may be behind.
        second = uplink()
        second.start()
        await until(lambda: got[topics.band(0)] == 2 and topics.band(50) in got)
        await until(lambda: sum(got.values()) == 51 + 51)
        counts.append(second.subscribes)
        await second.stop()
        return got, counts

    got, (subscribes, deliveries, second_subscribes) = asyncio.run(scenario())
    cloud.disconnect()
    cloud.loop_stop()
    assert subscribes == 1 and deliveries == 51  # each old record once, the new one once
    assert second_subscribes == 1
    assert all(n == 2 for n in got.values())
