"""The uplink runs paho on the hub's asyncio loop: keepalive, reconnects and stop, on mosquitto."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt import subscribe

from hub.uplink import MqttSettings, Uplink
from protocol import topics
from simulators.broker import Mosquitto, free_port
from simulators.hub_harness import until

HUB = 31


class _Seen:
    """What the uplink's callbacks reported, and on which thread."""

    def __init__(self) -> None:
        self.connects: list[bool] = []
        self.drops: list[str] = []
        self.acks: list[int] = []
        self.threads: set[int] = set()

    def uplink(self, settings: MqttSettings) -> Uplink:
        loop = asyncio.get_running_loop()

        def on(fn: Callable[[object], None]) -> Callable[[object], None]:
            def call(value: object) -> None:
                self.threads.add(threading.get_ident())
                fn(value)

            return call

        return Uplink(
            HUB,
            settings,
            loop,
            on(lambda v: self.connects.append(bool(v))),
            on(lambda v: self.drops.append(str(v))),
            on(lambda v: self.acks.append(int(str(v)))),
            lambda _t, _p: None,
        )


def test_an_idle_link_stays_up_past_its_keepalive_and_callbacks_run_on_the_loop() -> None:
    # mosquitto drops a client that sends nothing for 1.5 keepalives: only the uplink's own
    # housekeeping (PINGREQ) keeps this one connection alive for 8 s at a 1 s keepalive (mosquitto
    # checks every few seconds: without the PINGREQs it drops the link after about 6 s).
    with Mosquitto() as broker:

        async def scenario() -> tuple[_Seen, int, list[str], list[str]]:
            seen = _Seen()
            up = seen.uplink(MqttSettings(port=broker.port, keepalive_s=1, reconnect_max_s=1))
            up.start()
            await until(lambda: up.connected, 20, "the connection")
            await asyncio.sleep(8.0)
            mid = up.publish(topics.status(HUB), b'{"online": true}', retain=True)
            await until(lambda: mid in seen.acks, 20, "the PUBACK")
            names = [t.name for t in threading.enumerate()]
            drops = list(seen.drops)
            await up.stop()
            return seen, threading.get_ident(), names, drops

        seen, loop_thread, names, drops = asyncio.run(scenario())
    assert seen.connects == [False] and drops == []
    assert seen.threads == {loop_thread}
    assert not any(name.startswith("paho") for name in names)  # no network thread of paho's


def test_a_broker_down_at_start_is_tried_again_until_it_comes() -> None:
    port = free_port()

    async def scenario() -> tuple[_Seen, bool]:
        seen = _Seen()
        up = seen.uplink(MqttSettings(port=port, reconnect_min_s=1, reconnect_max_s=1))
        up.start()
        await asyncio.sleep(1.5)  # refused at least once
        before = up.connected
        with Mosquitto(port=port):
            await until(lambda: up.connected, 20, "the connection once the broker is up")
            mid = up.publish(topics.status(HUB), b"{}")
            await until(lambda: mid in seen.acks, 20, "the PUBACK")
            await up.stop()
        return seen, before

    seen, connected_before = asyncio.run(scenario())
    assert not connected_before
    assert seen.connects == [False]


def test_stop_while_the_broker_is_unreachable_returns_and_closes_everything() -> None:
    port = free_port()

    async def scenario() -> tuple[bool, object]:
        up = _Seen().uplink(MqttSettings(port=port, reconnect_min_s=30, reconnect_max_s=60))
        up.start()
        await asyncio.sleep(0.5)  # refused; now waiting 30 s before the next try
        await asyncio.wait_for(up.stop(b'{"online": false}'), 10)
        return up.connected, up.client.socket()

    connected, sock = asyncio.run(scenario())
    assert not connected and sock is None


def test_a_dropped_link_reconnects_and_stop_sends_the_final_status() -> None:
    with Mosquitto() as broker:

        async def scenario() -> tuple[_Seen, int]:
            seen = _Seen()
            up = seen.uplink(MqttSettings(port=broker.port, reconnect_min_s=1, reconnect_max_s=1))
            up.start()
            await until(lambda: up.connected, 20, "the connection")
            up.crash()
            await until(lambda: len(seen.connects) == 2 and up.connected, 20, "the reconnect")
            await up.stop(b'{"hub_id": 31, "online": false}')
            return seen, len(seen.drops)

        seen, drops = asyncio.run(scenario())
        retained = subscribe.simple(
            topics.status(HUB), hostname="127.0.0.1", port=broker.port, keepalive=5
        )
    assert seen.connects == [False, True] and drops == 2  # the crash, then the clean stop
    assert isinstance(retained, mqtt.MQTTMessage) and retained.retain
    assert retained.payload == b'{"hub_id": 31, "online": false}'


def test_an_urgent_message_is_written_at_once_and_bulk_waits_for_the_loop() -> None:
    with Mosquitto() as broker:

        async def scenario() -> tuple[bool, bool, int]:
            seen = _Seen()
            up = seen.uplink(MqttSettings(port=broker.port))
            up.start()
            await until(lambda: up.connected, 20, "the connection")
            up.publish(topics.up(HUB), b"bulk")
            bulk_waits = up.client.want_write()  # for the writer, at the loop's next turn
            up.publish(topics.urgent(HUB), b"sos")
            urgent_left = not up.client.want_write()  # written with the bulk one, at once
            await until(lambda: len(seen.acks) == 2, 20, "both PUBACKs")
            await up.stop()
            return bulk_waits, urgent_left, len(seen.acks)

        bulk_waits, urgent_left, acks = asyncio.run(scenario())
    assert bulk_waits and urgent_left and acks == 2
