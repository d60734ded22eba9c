"""The shipped mosquitto configuration starts, authenticates, and keeps QoS 1 messages."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt

from simulators.broker import Mosquitto


def _client(port: int, name: str, password: str | None = None, clean: bool = True) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, clean_session=clean)
    if password is not None:
        c.username_pw_set(name, password)
    c.connect("127.0.0.1", port)
    return c


def test_more_than_1000_queued_qos1_messages_survive_an_absent_subscriber() -> None:
    with Mosquitto(users={"cloud": "s3cret", "12": "hubpw"}) as broker:
        sub = _client(broker.port, "cloud", "s3cret", clean=False)
        sub.loop_start()
        subscribed = threading.Event()
        sub.on_subscribe = lambda *a: subscribed.set()
        sub.subscribe("sqjz/v1/hubs/+/up", qos=1)
        assert subscribed.wait(5)
        sub.disconnect()
        sub.loop_stop()
        pub = _client(broker.port, "12", "hubpw")
        pub.loop_start()
        infos = [pub.publish("sqjz/v1/hubs/12/up", str(i).encode(), qos=1) for i in range(3000)]
        for info in infos:
            info.wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()
        got: list[int] = []
        done = threading.Event()

        def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
            got.append(int(msg.payload))
            if len(got) == 3000:
                done.set()

        again = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="cloud", clean_session=False
        )
        again.username_pw_set("cloud", "s3cret")
        again.on_message = on_message
        again.connect("127.0.0.1", broker.port)
        again.loop_start()
        assert done.wait(20), f"received {len(got)} of 3000"
        again.disconnect()
        again.loop_stop()
        assert sorted(got) == list(range(3000))


def test_anonymous_and_wrong_password_clients_are_refused() -> None:
    with Mosquitto(users={"cloud": "s3cret"}) as broker:
        for password in (None, "wrong"):
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="intruder")
            if password:
                c.username_pw_set("cloud", password)
            codes: list[mqtt.ReasonCode] = []
            answered = threading.Event()

            def on_connect(
                *args: object, codes: list[object] = codes, ev: threading.Event = answered
            ) -> None:
                codes.append(args[3])
                ev.set()

            c.on_connect = on_connect
            c.connect("127.0.0.1", broker.port)
            c.loop_start()
            assert answered.wait(5)
            c.loop_stop()
            c.disconnect()
            assert codes[0].is_failure
