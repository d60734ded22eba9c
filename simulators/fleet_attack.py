"""What an attacker sends: frames forged or tampered with, garbage, replays (crafting is pure).

Two paths: a rogue BLE device in a village hands notifications to the hub (`radio_batch`), and
someone holding a stolen hub password publishes envelopes straight to the county broker
(`network_batch`, sent by `publish_as_hub`). Each item says what a correct receiver must answer,
so the fleet report can check every refusal by its code.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Mapping
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import envelope, frame, topics
from simulators.fleet_band import FleetBand

ATTACK_BAND_BASE = 90_000_001  # band ids no county enrolled


class Crafted(NamedTuple):
    """One malicious item and the answer a correct receiver gives."""

    kind: str  # forged, tampered, malformed, unknown_band, replay, hub_mismatch, other_topic
    payload: bytes  # a frame (radio) or an MQTT envelope (network)
    expect: str  # the refusal code, or "duplicate" for a replay of genuine bytes


def _stranger(i: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"attacker%d" % i).digest())


def forged_frame(band_id: int, counter: int, now: int, i: int) -> bytes:
    """An SOS claiming to be from an enrolled band, signed with the attacker's key."""
    return frame.encode(
        "sos", band_id, counter, now, {"sos_id": 900 + i, "reason": 1}, _stranger(i).sign
    )


def tampered(genuine: bytes) -> bytes:
    """A genuine frame with one payload byte changed (steps raised): the signature breaks."""
    raw = bytearray(genuine)
    raw[18] ^= 0x10
    return bytes(raw)


def malformed(genuine: bytes, i: int) -> tuple[bytes, str]:
    """Bytes that are not a frame, with the parse error a strict receiver reports."""
    choice = i % 3
    if choice == 0:
        return genuine[:40], "truncated"
    if choice == 1:
        return bytes([0x21]) + genuine[1:], "bad_version"
    return genuine[:2] + bytes([0x80]) + genuine[3:], "bad_flags"


def unknown_band(i: int, now: int) -> bytes:
    """A well-signed frame from a band no county enrolled."""
    return frame.encode(
        "activity", ATTACK_BAND_BASE + i, i, now, {"steps": 1}, _stranger(1000 + i).sign
    )


def radio_batch(victims: list[int], genuine: list[bytes], n: int, now: int) -> list[Crafted]:
    """What a rogue device hands a hub over BLE: n of each kind."""
    out: list[Crafted] = []
    for i in range(n):
        band = victims[i % len(victims)]
        out.append(Crafted("forged", forged_frame(band, 2**31 + i, now, i), "bad_signature"))
        out.append(Crafted("tampered", tampered(genuine[i % len(genuine)]), "bad_signature"))
        raw, code = malformed(genuine[i % len(genuine)], i)
        out.append(Crafted("malformed", raw, code))
        # The hub forwards a band it has no key for (flag 0x01 clear); the cloud refuses it.
        out.append(Crafted("unknown_band", unknown_band(i, now), "unknown_band"))
    return out


def network_batch(
    hub_id: int, other_hub: int, victims: list[int], genuine: list[bytes], n: int, now: int
) -> list[tuple[str, Crafted]]:
    """(topic, item) a stolen hub password publishes: n of each kind."""
    out: list[tuple[str, Crafted]] = []

    def send(
        kind: str, raw: bytes, expect: str, hub: int = hub_id, topic_hub: int = hub_id
    ) -> None:
        payload = envelope.wrap(hub, now * 1000, 0, raw, envelope.FLAG_HUB_VERIFIED)
        out.append((topics.up(topic_hub), Crafted(kind, payload, expect)))

    for i in range(n):
        band = victims[i % len(victims)]
        g = genuine[i % len(genuine)]
        send("forged", forged_frame(band, 2**30 + i, now, i), "bad_signature")
        send("tampered", tampered(g), "bad_signature")
        send("malformed", *malformed(g, i))
        send("unknown_band", unknown_band(n + i, now), "unknown_band")
        send("replay", g, "duplicate")  # genuine bytes again: harmless, folded as a duplicate
        send("hub_mismatch", g, "hub_mismatch", hub=other_hub)  # envelope names another hub
        if other_hub != hub_id:
            # The broker's ACL lets a hub write only its own topics: this never reaches the cloud.
            forged = forged_frame(band, 2**29 + i, now, i)
            send("other_topic", forged, "acl", hub=other_hub, topic_hub=other_hub)
    return out


def publish_as_hub(
    port: int, hub_id: int, password: str, items: list[tuple[str, Crafted]], host: str = "127.0.0.1"
) -> int:
    """Publish with the hub's stolen credentials (QoS 1, waits for each PUBACK); returns count."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"intruder-{hub_id}-{random.getrandbits(32)}"
    )
    client.username_pw_set(str(hub_id), password)
    client.connect(host, port)
    client.loop_start()
    try:
        infos = [client.publish(topic, item.payload, qos=1) for topic, item in items]
        deadline = time.monotonic() + 30
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        return sum(1 for info in infos if info.is_published())
    finally:
        client.disconnect()
        client.loop_stop()


def victims_at(bands: Mapping[int, FleetBand], hub_id: int) -> tuple[list[int], list[bytes]]:
    """Enrolled bands at the hub and genuine frames of theirs already acknowledged."""
    mine = [b for b in bands.values() if hub_id in b.reach] or list(bands.values())
    genuine = [b.sent[c] for b in mine for c in sorted(b.acked) if c > 0][:200]
    return [b.band_id for b in mine], genuine or [mine[0].sent[0]]
