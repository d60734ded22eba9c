"""MQTT uplink (paho): one client in its own thread; events reach the asyncio loop as calls.

No lock of ours is ever held across a paho call: paho's network thread only hands events to
the loop with `call_soon_threadsafe`, and every outbox access happens on the loop's thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import paho.mqtt.client as mqtt

from protocol import topics

log = logging.getLogger("sqjz.hub.uplink")
T = TypeVar("T")


@dataclass(frozen=True)
class MqttSettings:
    """How the hub reaches the county broker ([mqtt] in hub.toml)."""

    host: str = "127.0.0.1"
    port: int = 1883
    password: str = ""  # the user name is the hub id (docs/mqtt.md)
    keepalive_s: int = 30
    inflight: int = 64  # our publish window: small, far from paho's 65535 message ids
    unreceipted: int = 512  # published, not yet receipted by the cloud (bounds its backlog)
    receipt_timeout_s: float = 60.0  # publish again what the cloud has not receipted by then
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    reconnect_min_s: int = 1
    reconnect_max_s: int = 60


class Burst(Generic[T]):
    """Items from paho's thread handed to the loop in order, one wake-up per burst."""

    def __init__(self, call: Callable[..., None], handle: Callable[[T], None]) -> None:
        self._call, self._handle = call, handle
        self._items: collections.deque[T] = collections.deque()
        self._scheduled = False

    def put(self, item: T) -> None:
        """On paho's thread."""
        self._items.append(item)
        if not self._scheduled:
            self._scheduled = True
            self._call(self._drain)

    def _drain(self) -> None:
        # The flag goes down before draining: an item put after this line schedules anew,
        # one put before it is drained here.
        self._scheduled = False
        while self._items:
            self._handle(self._items.popleft())


class Uplink:
    """The paho client: persistent session, QoS 1, retained status with a last will."""

    def __init__(
        self,
        hub_id: int,
        settings: MqttSettings,
        loop: asyncio.AbstractEventLoop,
        on_connect: Callable[[bool], None],
        on_disconnect: Callable[[str], None],
        on_published: Callable[[int], None],
        on_message: Callable[[str, bytes], None],
    ) -> None:
        self.hub_id = hub_id
        self.settings = settings
        self._loop = loop
        self._cb = (on_connect, on_disconnect, on_published, on_message)
        self.connected = False
        # PUBACKs come in bursts, retained records by the thousand after a subscribe.
        self._acks: Burst[int] = Burst(self._call, on_published)
        self._inbox: Burst[tuple[str, bytes]] = Burst(self._call, lambda m: on_message(*m))
        self._subscribed = False  # this process's SUBSCRIBE was acknowledged by the broker
        self._subscribe_mid: int | None = None
        self.subscribes = 0
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"sqjz-hub-{hub_id}",
            clean_session=False,  # the broker keeps our subscriptions and QoS 1 state
            protocol=mqtt.MQTTv311,
        )
        self.client.username_pw_set(str(hub_id), settings.password or None)
        if settings.tls:
            self.client.tls_set(
                ca_certs=settings.ca_file or None,
                certfile=settings.cert_file or None,
                keyfile=settings.key_file or None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        self.client.will_set(
            topics.status(hub_id),
            json.dumps({"hub_id": hub_id, "online": False}),
            qos=topics.QOS,
            retain=True,
        )
        self.client.max_inflight_messages_set(settings.inflight)
        self.client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)
        self.client.on_socket_open = self._on_socket_open
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def start(self) -> None:
        """Connect in the background; paho retries with growing delays on its own."""
        self.client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        self.client.loop_start()

    def stop(self, final_status: bytes | None = None) -> None:
        """Publish a last retained status if connected, then disconnect cleanly."""
        if final_status is not None and self.connected:
            info = self.client.publish(topics.status(self.hub_id), final_status, 1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    def crash(self) -> None:
        """Drop the TCP connection without DISCONNECT, as a power cut would (tests, drills)."""
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int | None:
        """Hand one QoS 1 message to paho; its message id, or None if paho refused it."""
        info = self.client.publish(topic, payload, qos=topics.QOS, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            # NO_CONN still queues a QoS 1 message inside paho; anything else dropped it.
            return None
        return int(info.mid)

    def _on_socket_open(self, _c: mqtt.Client, _u: Any, sock: Any) -> None:
        # paho leaves Nagle on: small QoS 1 publishes then wait for delayed ACKs (40 ms
        # stalls), which also delays an SOS. Frames are small and latency matters.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- paho's thread -> the loop ------------------------------------------------------------

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(fn, *args)

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("mqtt connect refused", extra={"reason": str(reason)})
            return
        self.connected = True
        # A kept session keeps our subscriptions, and what was published meanwhile is queued
        # in it. Subscribing again would make the broker send every retained county record
        # once more (MQTT 3.1.1): a county's 2,000 records, 350 KB, at every reconnect of a
        # village's link, and from every hub at once after a county-wide outage. A new process
        # subscribes once all the same: its saved config may miss what came just before a
        # crash.
        if not (flags.session_present and self._subscribed):
            self._subscribed = False
            self.subscribes += 1
            _rc, self._subscribe_mid = client.subscribe(
                [
                    (topics.HUB_DOWN_FILTER % self.hub_id, topics.QOS),
                    (topics.COUNTY_BANDS_FILTER, topics.QOS),
                    (topics.config(self.hub_id), topics.QOS),
                    (topics.HUB_RECEIPTS_FILTER % self.hub_id, topics.QOS),
                ]
            )
        self._call(self._cb[0], bool(flags.session_present))

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, codes: Any, _p: Any) -> None:
        if mid == self._subscribe_mid and not any(c.is_failure for c in codes):
            self._subscribed = True

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        s = self.settings
        log.warning("mqtt broker unreachable", extra={"host": s.host, "port": s.port})

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected = False
        self._call(self._cb[1], str(reason))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        self._acks.put(mid)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put((msg.topic, bytes(msg.payload)))
