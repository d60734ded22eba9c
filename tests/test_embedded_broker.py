"""The embedded amqtt broker authenticates and keeps QoS 1 messages for an offline session."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from simulators.embedded_broker import EmbeddedBroker


def _connect(
    port: int, user: str, password: str, clean: bool, client_id: str
) -> tuple[mqtt.Client, list[object]]:
    c = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean,
        protocol=mqtt.MQTTv311,
    )
    c.username_pw_set(user, password)
    codes: list[object] = []
    connected = threading.Event()

    def on_connect(*args: object) -> None:
        codes.append(args[3])
        connected.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert connected.wait(10)
    return c, codes


@pytest.fixture(scope="module")
def broker() -> EmbeddedBroker:
    with EmbeddedBroker(users={"cloud": "pw-cloud", "7": "pw-hub"}) as b:
        yield b


def test_wrong_password_is_refused(broker: EmbeddedBroker) -> None:
    c, codes = _connect(broker.port, "cloud", "nope", clean=True, client_id="intruder")
    c.loop_stop()
    c.disconnect()
    assert getattr(codes[0], "is_failure", False)


def test_offline_persistent_session_receives_queued_messages(broker: EmbeddedBroker) -> None:
    sub, codes = _connect(broker.port, "cloud", "pw-cloud", clean=False, client_id="cloud-worker")
    assert not getattr(codes[0], "is_failure", True)
    done = threading.Event()
    sub.on_subscribe = lambda *a: done.set()
    sub.subscribe("sqjz/v1/hubs/+/up", qos=1)
    assert done.wait(10)
    gone = threading.Event()
    sub.on_disconnect = lambda *a: gone.set()
    sub.disconnect()
    assert gone.wait(10)
    sub.loop_stop()
    pub, _ = _connect(broker.port, "7", "pw-hub", clean=True, client_id="hub-7")
    for i in range(50):
        pub.publish("sqjz/v1/hubs/7/up", str(i).encode(), qos=1).wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()
    got: list[int] = []
    all_in = threading.Event()
    again = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id="cloud-worker",
        clean_session=False,
        protocol=mqtt.MQTTv311,
    )
    again.username_pw_set("cloud", "pw-cloud")

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        got.append(int(msg.payload))
        if len(got) >= 50:
            all_in.set()

    again.on_message = on_message
    again.connect("127.0.0.1", broker.port)
    again.loop_start()
    all_in.wait(15)
    again.disconnect()
    again.loop_stop()
    assert sorted(got) == list(range(50))
