"""The MQTT adapter: subscribe to the hubs' topics, batch uplinks, ack and receipt after commit.

Two sessions. The bulk one reads `up`; the control one reads `urgent` (SOS and tamper frames),
`status`, `events` and `presence`. mosquitto delivers one session's messages in order, so with
one session a hub's status or an SOS waited behind every frame queued before it (false
hub_offline alerts under a backlog, docs/scaling.md). One thread handles both, control first.
"""

from __future__ import annotations

import itertools
import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as paho

from cloud.ingest import event_seq, receipts_for
from protocol import topics

log = logging.getLogger("sqjz.cloud.mqtt")

UpSink = Callable[[Sequence[tuple[str, bytes]]], Any]
Handler = Callable[[str, int, bytes], None]
CONTROL_FILTERS = (
    topics.CLOUD_URGENT_FILTER,
    topics.CLOUD_STATUS_FILTER,
    topics.CLOUD_EVENTS_FILTER,
    topics.CLOUD_PRESENCE_FILTER,
)
FRAMES = ("urgent", "up")  # topic kinds that carry frames, in the order they are ingested

Item = tuple[int, int, paho.Client, paho.MQTTMessage]  # (0 control | 1 bulk, arrival, client, msg)
# paho numbers messages 1..65535 and keys what it holds by that number: once more than that
# wait in it, a new message overwrites an old one and the inflight count goes wrong, so the
# publishing stops for good (seen: 120,000 retained band records at a cloud connect).
WINDOW = 8192


def _kind(topic: str) -> str:
    return topic.rsplit("/", 1)[-1]


class MqttWorker:
    """Persistent MQTT sessions; uplinks are acknowledged only once their batch committed."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        on_up: UpSink,
        on_other: Handler,
        on_connected: Callable[[], object] | None = None,
        username: str | None = None,
        password: str | None = None,
        tls_ca: str | None = None,
        batch: int = 500,
        linger_s: float = 0.005,
        window: int = WINDOW,
    ) -> None:
        self.on_up, self.on_other, self.on_connected = on_up, on_other, on_connected
        self.batch, self.linger_s = batch, linger_s
        self.host, self.port = host, port
        self.client = self._client(client_id, username, password, tls_ca)  # bulk; publishes
        self.control = self._client(client_id + "-control", username, password, tls_ca)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.control.on_connect = self._on_control_connect
        self._queue: queue.PriorityQueue[Item] = queue.PriorityQueue()
        self._arrival = itertools.count()
        self.client.on_message = lambda c, _u, m: self._queue.put((1, next(self._arrival), c, m))
        self.control.on_message = lambda c, _u, m: self._queue.put((0, next(self._arrival), c, m))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._resync_thread: threading.Thread | None = None
        self._resync = threading.Event()  # a bulk connect happened: on_connected is due
        self.window = window
        self._held = 0  # messages handed (or being handed) to paho, PUBACK not yet in
        self._room = threading.Condition()
        self.most_outstanding = 0
        self.dropped = 0  # publishes given up when the window stayed full
        self.connected = threading.Event()  # both sessions subscribed
        self.bulk_connected = threading.Event()
        self.control_connected = threading.Event()
        self.errors = 0

    @staticmethod
    def _client(
        client_id: str, username: str | None, password: str | None, tls_ca: str | None
    ) -> paho.Client:
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            manual_ack=True,
        )
        if username:
            client.username_pw_set(username, password)
        if tls_ca:
            client.tls_set(ca_certs=tls_ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.max_inflight_messages_set(200)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, 30)
        return client

    def start(self) -> None:
        """Connect in the background (retrying) and start the batching thread."""
        for client in (self.control, self.client):
            client.connect_async(self.host, self.port, keepalive=30)
            client.loop_start()
        self._thread = threading.Thread(target=self._run, name="sqjz-ingest", daemon=True)
        self._thread.start()
        self._resync_thread = threading.Thread(
            target=self._resyncs, name="sqjz-resync", daemon=True
        )
        self._resync_thread.start()

    def stop(self) -> None:
        """Stop after the batch in hand."""
        self._stop.set()
        with self._room:
            self._room.notify_all()
        for thread in (self._thread, self._resync_thread):
            if thread:
                thread.join(timeout=10)
        for client in (self.client, self.control):
            client.disconnect()
            client.loop_stop()

    def publish(
        self, topic: str, payload: bytes | str, retain: bool = False, timeout: float = 60.0
    ) -> bool:
        """QoS 1 publish, waiting while `window` messages await their PUBACK (paho keeps them
        queued while the broker is away); False if it was given up after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._room:
            while self._held >= self.window and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    self.dropped += 1
                    log.warning("MQTT publish to %s given up: %d await PUBACK", topic, self._held)
                    return False
                self._room.wait(min(left, 1.0))
            self._held += 1
            self.most_outstanding = max(self.most_outstanding, self._held)
        # Not under the lock: paho calls on_publish holding its own lock, which publish takes.
        info = self.client.publish(topic, payload, qos=topics.QOS, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            self._release()  # paho holds nothing
            self.dropped += 1
            return False
        return True

    def _on_publish(self, _c: paho.Client, _u: Any, _mid: int, _r: Any, _p: Any) -> None:
        # Every message of this client comes from publish(): one PUBACK frees one place.
        self._release()

    def _release(self) -> None:
        with self._room:
            self._held -= 1
            self._room.notify()

    def _on_connect(self, client: paho.Client, _ud: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        client.subscribe(topics.CLOUD_UP_FILTER, qos=topics.QOS)
        self.bulk_connected.set()
        if self.control_connected.is_set():
            self.connected.set()
        # Not here: the hook publishes (a resync is one record per band and per hub), and waiting
        # for PUBACKs on paho's own thread would wait forever.
        self._resync.set()

    def _resyncs(self) -> None:
        while not self._stop.is_set():
            if not self._resync.wait(0.2):
                continue
            self._resync.clear()
            if self.on_connected:
                try:
                    self.on_connected()
                except Exception:
                    log.exception("on_connected hook failed")

    def _on_control_connect(
        self, client: paho.Client, _ud: Any, _flags: Any, reason: Any, _p: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused (control): %s", reason)
            return
        client.subscribe([(flt, topics.QOS) for flt in CONTROL_FILTERS])
        self.control_connected.set()
        if self.bulk_connected.is_set():
            self.connected.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            items = [first]
            deadline = time.monotonic() + self.linger_s
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            self._handle(items)

    def _handle(self, items: list[Item]) -> None:
        msgs = [(client, m) for _p, _n, client, m in sorted(items)]  # control first
        done = [(c, m) for c, m in msgs if _kind(m.topic) not in FRAMES]
        events = self._others([m for _c, m in done])
        committed: list[tuple[str, bytes]] = []
        for kind in FRAMES:  # SOS and tamper in their own transaction, before the bulk
            part = [(c, m) for c, m in msgs if _kind(m.topic) == kind]
            batch = [(m.topic, bytes(m.payload)) for _c, m in part]
            if not batch:
                continue
            try:
                self.on_up(batch)
            except Exception:
                # Not acknowledged, no receipt: the broker redelivers after a reconnect and the
                # hubs publish again after their receipt timeout. Count and carry on.
                self.errors += 1
                log.exception("ingest batch of %d failed", len(batch))
                continue
            committed += batch
            done += part
        # After the commit, never before: a receipt lets the hub delete its copy.
        for topic, payload in receipts_for(committed, events):
            self.publish(topic, payload)
        for client, m in done:
            client.ack(m.mid, m.qos)

    def _others(self, msgs: list[paho.MQTTMessage]) -> list[tuple[int, int]]:
        """Handle status, events and presence; (hub, seq) of the events handled."""
        events: list[tuple[int, int]] = []
        for m in msgs:
            hub = topics.hub_of(m.topic)
            kind = _kind(m.topic)
            if hub is None:
                continue
            try:
                self.on_other(kind, hub, bytes(m.payload))
            except Exception:
                self.errors += 1
                log.exception("handling %s failed", m.topic)
                continue
            seq = event_seq(bytes(m.payload)) if kind == "events" else None
            if seq is not None:
                events.append((hub, seq))
        return events
