"""TLS and per-hub credentials: the hub over TLS with its own password, held to its own topics."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub import outbox as ob
from hub.pump import Pump
from hub.uplink import MqttSettings, Uplink
from protocol import envelope, topics
from simulators.ble.loadband import LoadBand
from simulators.broker import Mosquitto
from simulators.hub_harness import CloudSide

DEPLOY = Path(__file__).resolve().parent.parent / "hub" / "deploy"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(folder: Path) -> tuple[Path, Path, Path]:
    """A county CA and a broker certificate for 127.0.0.1: (ca.crt, broker.crt, broker.key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("sqjz test county CA"))
        .issuer_name(_name("sqjz test county CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.crt", folder / "broker.crt", folder / "broker.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_hub_over_tls_with_its_password_reaches_only_its_own_topics(tmp_path: Path) -> None:
    ca, crt, key = make_pki(tmp_path)
    band = LoadBand(77)
    raw = band.make("sos", {"sos_id": 1, "reason": 1})
    users = {"12": "hub12-pw", "13": "hub13-pw", "cloud": "cloud-pw"}
    tls = f"cafile {ca}\ncertfile {crt}\nkeyfile {key}\n"
    with Mosquitto(
        users=users, acl=(DEPLOY / "sqjz.acl").read_text(), listener_extra=tls
    ) as broker:
        # The cloud's own client is a plain test subscriber; give it the CA too.
        cloud = CloudSide(broker.port, {77: band.public_key}, user="cloud", password="cloud-pw")
        cloud.client.tls_set(ca_certs=str(ca))
        cloud.start()

        async def hub(
            hub_id: int, password: str, forged_topic: str | None = None, wait_s: float = 10
        ) -> bool:
            loop = asyncio.get_running_loop()
            box = ob.Outbox(tmp_path / f"hub{hub_id}.db")
            with box.batch():
                box.add_frame(77, 0, raw[1], raw, 1, 0, envelope.FLAG_HUB_VERIFIED, False)
            up = asyncio.Event()
            settings = MqttSettings(port=broker.port, password=password, tls=True, ca_file=str(ca))
            uplink = Uplink(
                hub_id,
                settings,
                loop,
                lambda _s: up.set(),
                lambda _r: None,
                lambda m: pump.published(m),
                lambda t, p: pump.receipt(p) if t == topics.receipts(hub_id) else None,
            )
            pump = Pump(hub_id, box, uplink.publish, 8, loop)
            uplink.start()
            try:
                await asyncio.wait_for(up.wait(), wait_s)
            except TimeoutError:
                await uplink.stop()
                return False
            if forged_topic is not None:  # try to speak for another hub: the broker drops it
                uplink.publish(forged_topic, envelope.wrap(hub_id, 1, 0, raw, 0))
            pump.up()
            for _ in range(100):
                if box.depth() == 0:
                    break
                await asyncio.sleep(0.05)
            await uplink.stop(json.dumps({"hub_id": hub_id}).encode())
            return box.depth() == 0

        assert asyncio.run(hub(12, "hub12-pw", forged_topic=topics.up(13)))
        assert not asyncio.run(hub(12, "wrong-password", wait_s=3))  # refused, nothing sent
        assert cloud.wait_for(lambda c: len(c.messages) >= 1, 10)
        cloud.stop()
    hubs = {m.hub_id for m in cloud.messages}
    assert hubs == {12}  # the message forged onto hub 13's topic never arrived
    assert cloud.messages[0].frame.raw == raw
