"""The MQTT adapter: subscribe to the hubs' topics, batch uplinks, ack after commit, publish."""

from __future__ import annotations

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


class MqttWorker:
    """One persistent MQTT session; uplinks are acknowledged only once their batch committed."""

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
    ) -> None:
        self.on_up, self.on_other, self.on_connected = on_up, on_other, on_connected
        self.batch, self.linger_s = batch, linger_s
        self.host, self.port = host, port
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            manual_ack=True,
        )
        if username:
            self.client.username_pw_set(username, password)
        if tls_ca:
            self.client.tls_set(ca_certs=tls_ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._queue: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.errors = 0

    def start(self) -> None:
        """Connect in the background (retrying) and start the batching thread."""
        self.client.reconnect_delay_set(1, 30)
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="sqjz-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the batch in hand."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        """QoS 1 publish; paho keeps it queued while the broker is away."""
        self.client.publish(topic, payload, qos=topics.QOS, retain=retain)

    def _on_connect(self, client: paho.Client, _ud: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        for flt in (
            topics.CLOUD_UP_FILTER,
            topics.CLOUD_STATUS_FILTER,
            topics.CLOUD_EVENTS_FILTER,
            topics.CLOUD_PRESENCE_FILTER,
        ):
            client.subscribe(flt, qos=topics.QOS)
        self.connected.set()
        if self.on_connected:
            try:
                self.on_connected()
            except Exception:
                log.exception("on_connected hook failed")

    def _on_message(self, _c: paho.Client, _ud: Any, msg: paho.MQTTMessage) -> None:
        self._queue.put(msg)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            msgs = [first]
            deadline = time.monotonic() + self.linger_s
            while len(msgs) < self.batch:
                try:
                    msgs.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            self._handle(msgs)

    def _handle(self, msgs: list[paho.MQTTMessage]) -> None:
        ups = [(m.topic, bytes(m.payload)) for m in msgs if m.topic.endswith("/up")]
        others = [m for m in msgs if not m.topic.endswith("/up")]
        if ups:
            try:
                self.on_up(ups)
            except Exception:
                # Not acknowledged, no receipt: the broker redelivers after a reconnect and the
                # hubs publish again after their receipt timeout. Count and carry on.
                self.errors += 1
                log.exception("ingest batch of %d failed", len(ups))
                return
        events: list[tuple[int, int]] = []
        for m in others:
            hub = topics.hub_of(m.topic)
            kind = m.topic.rsplit("/", 1)[-1]
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
        # After the commit, never before: a receipt lets the hub delete its copy.
        for topic, payload in receipts_for(ups, events):
            self.publish(topic, payload)
        for m in msgs:
            self.client.ack(m.mid, m.qos)
