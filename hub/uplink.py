"""MQTT uplink (paho) driven by the hub's asyncio loop: no network thread of paho's own.

paho's socket is watched with add_reader/add_writer and its housekeeping (keepalive) runs
once a second, so every callback, publish and outbox access happens on the loop's thread.
Only the TCP (and TLS) connect, which blocks, runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import socket
import ssl
import threading
import time
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
    """Items from paho's callbacks handed on in order, after them, one call per burst."""

    def __init__(self, call: Callable[..., None], handle: Callable[[T], None]) -> None:
        self._call, self._handle = call, handle
        self._items: collections.deque[T] = collections.deque()
        self._scheduled = False

    def put(self, item: T) -> None:
        """From a paho callback."""
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

    MISC_S = 1.0  # paho's keepalive check, as often as its own network thread would run it

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
        self._fd = -1  # the socket the loop watches, by number (paho closes the object)
        self._lost = asyncio.Event()
        self._stop_wanted = asyncio.Event()
        self._connack = False  # the current connection reached CONNACK
        self._urgent = topics.urgent(hub_id)
        self._task: asyncio.Task[None] | None = None
        self._loop_thread = 0
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
        self.client.on_socket_open = self._on_socket_open
        self.client.on_socket_close = self._on_socket_close
        self.client.on_socket_register_write = self._on_write_interest
        self.client.on_socket_unregister_write = self._on_write_interest
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def start(self) -> None:
        """Connect in the background (on the loop's thread); retries with growing delays."""
        self._loop_thread = threading.get_ident()
        s = self.settings
        self.client.connect_async(s.host, s.port, s.keepalive_s)  # stores them; no I/O
        self._task = self._loop.create_task(self._run(), name=f"uplink-{self.hub_id}")

    async def stop(self, final_status: bytes | None = None) -> None:
        """Publish a last retained status if connected, then disconnect cleanly."""
        self._stop_wanted.set()
        if final_status is not None and self.connected:
            info = self.client.publish(topics.status(self.hub_id), final_status, 1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and self.connected and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        self.client.disconnect()  # DISCONNECT goes out on the next write; paho then closes
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 2.0)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        self._unwatch()
        self.client._sock_close()  # private, but paho has no public close for an external loop

    def crash(self) -> None:
        """Drop the TCP connection without DISCONNECT, as a power cut would (tests, drills)."""
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int | None:
        """Hand one QoS 1 message to paho; its message id, or None if paho refused it."""
        info = self.client.publish(topic, payload, qos=topics.QOS, retain=retain)
        if topic == self._urgent and self._fd >= 0 and self._on_loop():
            # An SOS or tamper goes out now, not at the loop's next turn behind other work;
            # bulk frames wait for that turn and go out together. What a full socket buffer
            # keeps back stays with the writer paho asked for.
            self.client.loop_write()
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            # NO_CONN still queues a QoS 1 message inside paho; anything else dropped it.
            return None
        return int(info.mid)

    # -- the connection, on the loop -----------------------------------------------------------

    async def _run(self) -> None:
        """Connect, watch the socket until it closes, wait, connect again; until stop()."""
        s = self.settings
        delay = float(s.reconnect_min_s)
        misc = self._loop.create_task(self._misc())
        try:
            while not self._stop_wanted.is_set():
                self._lost.clear()
                try:
                    await asyncio.to_thread(self.client.reconnect)
                except (OSError, ssl.SSLError, ValueError) as exc:
                    log.warning(
                        "mqtt broker unreachable",
                        extra={"host": s.host, "port": s.port, "error": str(exc)},
                    )
                else:
                    if self._stop_wanted.is_set():
                        break
                    self._watch()
                    await self._lost.wait()
                    if self._connack:  # it was up: the next try starts at the shortest delay
                        self._connack = False
                        delay = float(s.reconnect_min_s)
                if self._stop_wanted.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_wanted.wait(), delay)
                delay = min(2 * delay, float(s.reconnect_max_s))
        finally:
            misc.cancel()

    async def _misc(self) -> None:
        while True:
            await asyncio.sleep(self.MISC_S)
            if self._fd >= 0:
                self.client.loop_misc()

    def _watch(self) -> None:
        sock = self.client.socket()
        if sock is None:  # closed already (refused at once)
            self._lost.set()
            return
        self._fd = sock.fileno()
        self._loop.add_reader(self._fd, self._readable)
        if self.client.want_write():
            self._loop.add_writer(self._fd, self._writable)

    def _unwatch(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
            self._fd = -1

    def _readable(self) -> None:
        self.client.loop_read()
        sock = self.client.socket()
        # TLS may hold decrypted bytes that the socket no longer signals: read them now.
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            self._loop.call_soon(self._readable)

    def _writable(self) -> None:
        self.client.loop_write()

    def _on_loop(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def _on_socket_open(self, _c: mqtt.Client, _u: Any, sock: Any) -> None:
        # paho leaves Nagle on: small QoS 1 publishes then wait for delayed ACKs (40 ms
        # stalls), which also delays an SOS. Frames are small and latency matters.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_socket_close(self, _c: mqtt.Client, _u: Any, _sock: Any) -> None:
        if self._on_loop():  # paho closes the socket right after this returns
            self._unwatch()
            self._lost.set()

    def _on_write_interest(self, _c: mqtt.Client, _u: Any, _sock: Any) -> None:
        """paho has something to send, or nothing any more."""
        if self._on_loop():
            self._write_wanted()
        else:  # the connect's worker thread (then _watch() looks too), or a caller's thread
            self._loop.call_soon_threadsafe(self._write_wanted)

    def _write_wanted(self) -> None:
        """Watch for room to write exactly while paho holds something to send."""
        if self._fd < 0:
            return
        if self.client.want_write():
            self._loop.add_writer(self._fd, self._writable)
        else:
            self._loop.remove_writer(self._fd)

    # -- paho's callbacks (on the loop's thread) -----------------------------------------------

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon(fn, *args)

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("mqtt connect refused", extra={"reason": str(reason)})
            return
        self.connected = True
        self._connack = True
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

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected = False
        self._call(self._cb[1], str(reason))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        self._acks.put(mid)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put((msg.topic, bytes(msg.payload)))
