"""Pieces for running hubs in tests, the demo and benchmarks: a verifying subscriber, configs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from hub.config import load
from hub.service import HubService
from protocol import envelope, receipts, topics
from protocol.errors import FrameError
from protocol.frame import Frame
from protocol.verify import Keyring, verify_frame

HUB = 12  # the hub id tests use


def config_message(
    hub_id: int,
    keys: dict[int, bytes],
    version: int = 1,
    presence_until: dict[int, int] | None = None,
    presence_interval_s: int = 60,
    sos_location: set[int] | frozenset[int] = frozenset(),
) -> bytes:
    """A cloud config message (docs/mqtt.md "config") for a hub."""
    until = presence_until or {}
    return json.dumps(
        {
            "version": version,
            "issued_at": int(time.time()),
            "hub_id": hub_id,
            "name": "测试司法所",
            "presence_interval_s": presence_interval_s,
            "bands": [
                {
                    "band_id": b,
                    "public_key": k.hex(),
                    "presence_until": until.get(b, 0),
                    "sos_location": b in sos_location,
                }
                for b, k in sorted(keys.items())
            ],
        }
    ).encode()


def publish_retained(
    port: int,
    topic: str,
    payload: bytes,
    user: str = "cloud",
    password: str | None = None,
    retain: bool = True,
) -> None:
    """Publish one QoS 1 message (retained unless told) and wait for the broker's PUBACK."""
    c = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"sqjz-test-pub-{time.monotonic_ns()}"
    )
    if password is not None:
        c.username_pw_set(user, password)
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    c.disconnect()
    c.loop_stop()


@dataclass
class Received:
    """One uplink message as the cloud side saw it."""

    hub_id: int
    received_at_ms: int
    rssi: int | None
    flags: int
    frame: Frame


@dataclass
class CloudSide:
    """A persistent-session subscriber that verifies every signature, as the cloud would."""

    port: int
    keys: dict[int, bytes]
    client_id: str = "sqjz-test-cloud"
    user: str | None = None
    password: str | None = None
    messages: list[Received] = field(default_factory=list)
    refused: list[tuple[str, bytes]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    status: dict[int, dict[str, Any]] = field(default_factory=dict)
    presence: list[dict[str, Any]] = field(default_factory=list)
    send_receipts: bool = True  # as the cloud does after its commit (docs/mqtt.md "receipts")

    def __post_init__(self) -> None:
        self.keyring = Keyring(self.keys)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False
        )
        if self.user is not None:
            self.client.username_pw_set(self.user, self.password)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe(
            [
                (topics.CLOUD_UP_FILTER, 1),
                (topics.CLOUD_URGENT_FILTER, 1),
                (topics.CLOUD_STATUS_FILTER, 1),
                (topics.CLOUD_EVENTS_FILTER, 1),
                (topics.CLOUD_PRESENCE_FILTER, 1),
            ]
        )

    def start(self) -> CloudSide:
        """Connect and subscribe (persistent session: messages wait while we are away)."""
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("subscriber did not subscribe")
        return self

    def stop(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._changed:
            if msg.topic.endswith(("/up", "/urgent")):
                try:
                    hub_id, at, rssi, flags, raw = envelope.unwrap(msg.payload)
                    self._receipt(msg.topic, [receipts.frame_key(raw)], [])
                    frame = verify_frame(raw, self.keyring)
                    self.messages.append(Received(hub_id, at, rssi, flags, frame))
                except (envelope.EnvelopeError, FrameError) as exc:
                    self.refused.append((str(exc), bytes(msg.payload)))
            elif msg.topic.endswith("/events"):
                self.events.append(json.loads(msg.payload))
                self._receipt(msg.topic, [], [self.events[-1].get("seq")])
            elif msg.topic.endswith("/status"):
                doc = json.loads(msg.payload)
                self.status[int(doc["hub_id"])] = doc
            elif msg.topic.endswith("/presence"):
                self.presence.append(json.loads(msg.payload))
            self._changed.notify_all()

    def _receipt(self, topic: str, frames: list[Any], events: list[Any]) -> None:
        hub_id = topics.hub_of(topic)
        frames, events = [f for f in frames if f], [e for e in events if e is not None]
        if self.send_receipts and hub_id is not None and (frames or events):
            self.client.publish(topics.receipts(hub_id), receipts.encode(frames, events), qos=1)

    def unique(self) -> dict[tuple[int, int], bytes]:
        """Accepted frames after dedupe by (band_id, counter); a conflict raises."""
        out: dict[tuple[int, int], bytes] = {}
        with self._lock:
            for m in self.messages:
                key = (m.frame.band_id, m.frame.counter)
                if key in out and out[key] != m.frame.raw:
                    raise AssertionError(f"two different frames for {key}")
                out[key] = m.frame.raw
        return out

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> bool:
        """Wait until predicate(self) is true (checked whenever a message arrives)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
        return True

    def frames_in_order(self) -> list[Frame]:
        """Every verified frame in arrival order (duplicates included)."""
        with self._lock:
            return [m.frame for m in self.messages]


def expect_all(cloud: CloudSide, bands: Iterable[Any]) -> set[tuple[int, int]]:
    """(band_id, counter) the bands signed that the cloud has not (yet) received."""
    got = set(cloud.unique())
    want = {
        (int.from_bytes(raw[3:7], "big"), int.from_bytes(raw[7:11], "big"))
        for b in bands
        for raw in b.sent
    }
    return want - got


def hub_env(tmp: Path, port: int, **extra: Any) -> dict[str, str]:
    """Environment for a test hub: short idle and visit times, a free health port."""
    env = {
        "SQJZ_HUB_ID": str(HUB),
        "SQJZ_HUB_DATA_DIR": str(tmp),
        "SQJZ_HUB_MQTT_PORT": str(port),
        "SQJZ_HUB_MQTT_RECONNECT_MAX_S": "1",
        "SQJZ_HUB_HEALTH_PORT": "0",
        "SQJZ_HUB_STATUS_INTERVAL_S": "1",
        "SQJZ_HUB_BLE_IDLE_DISCONNECT_S": "1.5",
        "SQJZ_HUB_SCHEDULE_VISIT_INTERVAL_S": "4",
        "SQJZ_HUB_SCHEDULE_SEEN_TTL_S": "10",
        "SQJZ_HUB_SCHEDULE_BACKOFF_BASE_S": "0.5",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait (in real time) for a condition the test needs before its next step."""
    for _ in range(int(timeout / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def acked_frames(world: Any) -> dict[tuple[int, int], bytes]:
    """Band side oracle: every frame the hub acknowledged, by (band_id, counter)."""
    out = {}
    for band_id, p in world.peripherals.items():
        for counter in p.acked:
            out[(band_id, counter)] = p.frames_sent[counter]
    return out


def delivered_exactly(cloud: CloudSide, world: Any) -> bool:
    """Every acknowledged frame is at the cloud with the bytes the band sent."""
    got = cloud.unique()
    return all(got.get(k) == raw for k, raw in acked_frames(world).items())


@contextlib.asynccontextmanager
async def running_hub(
    tmp: Path, port: int, world: Any, radio: Any = None, **extra: Any
) -> AsyncIterator[HubService]:
    """A HubService on the world's air (through `radio` if given) until the block ends."""
    radio = radio or await world.radio()
    service = HubService(
        load(None, hub_env(tmp, port, **extra)), radio.scanner_backend, radio.client_backend
    )
    task = asyncio.create_task(service.run())
    await asyncio.wait_for(service.started.wait(), 10)
    try:
        yield service
    finally:
        service.stop()
        await asyncio.wait_for(task, 20)
        await radio.close()
