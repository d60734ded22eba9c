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


def _subscriber(port: int, pattern: str) -> tuple[paho.Client, set[str]]:
    got: set[str] = set()
    ready = threading.Event()
    sub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="watcher")
    sub.on_message = lambda _c, _u, m: got.add(m.topic)
    sub.on_subscribe = lambda *_a: ready.set()
    sub.connect("127.0.0.1", port)
    sub.subscribe(pattern, qos=1)
    sub.loop_start()
    _wait(ready)
    return sub, got


def test_a_burst_of_more_publishes_than_paho_has_message_ids_arrives_whole(
    mosquitto: Mosquitto,
) -> None:
    # paho numbers messages 1..65535: unbounded, the 65,536th held message overwrote the first
    # and publishing stopped for good (a 6,000-band x 20-hub resync at a cloud connect).
    count = 70_000
    sub, got = _subscriber(mosquitto.port, topics.COUNTY_BANDS_FILTER)
    worker = MqttWorker("127.0.0.1", mosquitto.port, "sqjz-cloud-test", lambda _b: None, print)
    worker.start()
    try:
        _wait(worker.connected)
        for band in range(count):
            assert worker.publish(topics.band(band), b"x")
        _wait(None, lambda: len(got) == count, timeout=120)
    finally:
        worker.stop()
        sub.disconnect()
        sub.loop_stop()
    assert worker.most_outstanding <= worker.window
    assert worker.dropped == 0


def test_publish_waits_for_room_and_gives_up_with_a_clear_count() -> None:
    from simulators.broker import free_port

    # No broker: paho queues what it is handed; the window bounds how much.
    worker = MqttWorker("127.0.0.1", free_port(), "sqjz-cloud-test", print, print, window=5)
    worker.start()
    try:
        assert all(worker.publish(topics.band(b), b"x") for b in range(5))
        t0 = time.monotonic()
        assert not worker.publish(topics.band(5), b"x", timeout=0.3)
        assert time.monotonic() - t0 >= 0.3
        assert worker.dropped == 1
    finally:
        worker.stop()


def test_the_connect_hook_runs_off_paho_thread_so_it_may_publish_past_the_window(
    mosquitto: Mosquitto,
) -> None:
    sub, got = _subscriber(mosquitto.port, topics.COUNTY_BANDS_FILTER)
    worker: MqttWorker

    def resync() -> None:  # as Runtime.resync_configs: many records, from the hook
        for band in range(200):
            worker.publish(topics.band(band), b"x", retain=True, timeout=30)

    worker = MqttWorker(
        "127.0.0.1", mosquitto.port, "sqjz-cloud-test", print, print, on_connected=resync, window=8
    )
    worker.start()
    try:
        _wait(None, lambda: len(got) == 200)
    finally:
        worker.stop()
        sub.disconnect()
        sub.loop_stop()
    assert worker.dropped == 0 and worker.most_outstanding <= 8
