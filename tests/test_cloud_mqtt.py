"""The cloud's MQTT worker on a real mosquitto: status and SOS do not wait behind a backlog."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import paho.mqtt.client as paho

from cloud.mqtt import MqttWorker
from protocol import topics
from simulators.broker import Mosquitto

BACKLOG = 4000


def _wait(cond: threading.Event | None, pred: object = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (cond is not None and cond.is_set()) or (callable(pred) and pred()):
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_status_and_sos_are_handled_while_a_backlog_of_frames_waits(mosquitto: Mosquitto) -> None:
    ups_done = 0
    seen: dict[str, int] = {}  # what was handled -> frames already handled by then
    lock = threading.Lock()
    backlog_queued = threading.Event()

    def on_up(batch: Sequence[tuple[str, bytes]]) -> None:
        nonlocal ups_done
        # The first batch is slow: meanwhile the hub queues its whole backlog at the broker,
        # then a status and an SOS behind it.
        backlog_queued.wait(60)
        with lock:
            for topic, _payload in batch:
                if topic.endswith("/urgent"):
                    seen["urgent"] = ups_done
            ups_done += sum(1 for topic, _ in batch if topic.endswith("/up"))

    def on_other(kind: str, _hub: int, _payload: bytes) -> None:
        with lock:
            seen[kind] = ups_done

    worker = MqttWorker("127.0.0.1", mosquitto.port, "sqjz-cloud-test", on_up, on_other)
    worker.start()
    try:
        _wait(worker.connected)
        _wait(worker.control_connected)
        hub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="hub-12")
        hub.connect("127.0.0.1", mosquitto.port)
        hub.loop_start()
        sent = [hub.publish(topics.up(12), i.to_bytes(4, "big"), qos=1) for i in range(BACKLOG)]
        for info in sent:  # all at the broker before the status (paho may send a new one early)
            info.wait_for_publish(30)
        hub.publish(topics.status(12), b'{"hub_id": 12, "online": true}', qos=1)
        hub.publish(topics.urgent(12), b"sos", qos=1).wait_for_publish(30)
        backlog_queued.set()  # everything is at the broker, the status and SOS last
        _wait(None, lambda: ups_done >= BACKLOG)
        hub.disconnect()
        hub.loop_stop()
    finally:
        backlog_queued.set()
        worker.stop()
    assert ups_done == BACKLOG
    # Published after the whole backlog, handled right after the batch in hand.
    assert seen["status"] < BACKLOG // 4, seen
    assert seen["urgent"] < BACKLOG // 4, seen
