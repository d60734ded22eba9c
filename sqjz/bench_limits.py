"""Benchmark group "limits": what this machine allows at best, measured here.

- Ed25519 verifications per second on one core: `openssl speed ed25519` and libsodium (PyNaCl)
  in a bare loop. Every frame is verified once by a hub and once by the cloud, so these bound
  the hub's and the cloud's frames/s.
- mosquitto QoS 1 messages per second per core: a raw-socket publisher and subscriber (MQTT
  3.1.1 written by hand, so the clients are cheap) on one core, the broker pinned to the other;
  the broker's own CPU time (/proc) turns the rate into messages per broker CPU-second.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import socket
import statistics
import struct
import subprocess
import time
from typing import Any

from protocol import topics

PAYLOAD = 15 + 111  # envelope header + the largest frame: an uplink message as hubs send it


def openssl_verify_per_s(seconds: int = 3) -> float | None:
    """`openssl speed ed25519` verify/s on one core (None if openssl is missing)."""
    if shutil.which("openssl") is None:
        return None
    out = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "ed25519"],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
    ).stdout
    for line in out.splitlines():
        if "Ed25519" in line:
            return float(line.split()[-1])
    return None


def sodium_verify_per_s(n: int = 20_000, repeats: int = 5) -> float:
    """libsodium (PyNaCl) bare verify of distinct 47-byte messages, median of repeats."""
    from nacl.signing import SigningKey

    from protocol.verify import verify_sodium

    key = SigningKey(bytes(range(32)))
    public = bytes(key.verify_key)
    signed = [key.sign(i.to_bytes(47, "big")) for i in range(n)]
    pairs = [(s.signature, s.message) for s in signed]
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for sig, msg in pairs:
            verify_sodium(public, sig, msg)
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


# -- a minimal MQTT 3.1.1 client over a raw socket --------------------------------------------


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _connect(port: int, client_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cid = client_id.encode()
    body = b"\x00\x04MQTT\x04\x00\x00\x3c" + struct.pack(">H", len(cid)) + cid  # clean session off
    sock.sendall(b"\x10" + _remaining(len(body)) + body)
    if sock.recv(4)[:1] != b"\x20":
        raise RuntimeError("no CONNACK")
    return sock


def _packets(sock: socket.socket, buf: bytearray) -> list[tuple[int, bytes]]:
    """Read at least one whole packet; return (type byte, body) of every whole packet read."""
    out: list[tuple[int, bytes]] = []
    while not out:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
        pos = 0
        while True:
            if len(buf) - pos < 2:
                break
            length, shift, i = 0, 0, pos + 1
            while i < len(buf):
                length |= (buf[i] & 0x7F) << shift
                shift += 7
                i += 1
                if not buf[i - 1] & 0x80:
                    break
            else:
                break
            if i + length > len(buf):
                break
            out.append((buf[pos], bytes(buf[i : i + length])))
            pos = i + length
        del buf[:pos]
    return out


def _subscriber(port: int, n: int, core: int, ready: Any, done: Any) -> None:
    os.sched_setaffinity(0, {core})
    sock = _connect(port, "bench-sub")
    flt = topics.CLOUD_UP_FILTER.encode()
    body = b"\x00\x01" + struct.pack(">H", len(flt)) + flt + b"\x01"
    sock.sendall(b"\x82" + _remaining(len(body)) + body)
    buf = bytearray()
    got = 0
    ready.set()
    while got < n:
        acks = bytearray()
        for ptype, body in _packets(sock, buf):
            if ptype >> 4 == 3:
                tlen = struct.unpack_from(">H", body)[0]
                acks += b"\x40\x02" + body[2 + tlen : 4 + tlen]
                got += 1
        if acks:
            sock.sendall(acks)
    done.set()
    sock.close()


def _publisher(port: int, n: int, core: int, go: Any, window: int = 2000) -> None:
    os.sched_setaffinity(0, {core})
    sock = _connect(port, "bench-pub")
    topic = topics.up(12).encode()
    head = (
        b"\x32" + _remaining(2 + len(topic) + 2 + PAYLOAD) + struct.pack(">H", len(topic)) + topic
    )
    payload = bytes(PAYLOAD)
    buf = bytearray()
    go.wait()
    sent = acked = 0
    while acked < n:
        batch = bytearray()
        while sent < n and sent - acked < window and len(batch) < 64_000:
            batch += head + struct.pack(">H", sent % 65535 + 1) + payload
            sent += 1
        if batch:
            sock.sendall(batch)
        acked += sum(1 for ptype, _ in _packets(sock, buf) if ptype >> 4 == 4)
    sock.close()


def mosquitto_rate(n: int = 200_000) -> dict[str, float]:
    """One publisher -> broker -> one subscriber, QoS 1 both ways, PAYLOAD-byte messages."""
    from simulators.broker import Mosquitto
    from simulators.fleet_cloud import process_cpu_s

    cores = sorted(os.sched_getaffinity(0))
    broker_core, client_core = cores[0], cores[-1]
    ctx = mp.get_context("fork")
    with Mosquitto() as broker:
        assert broker.pid is not None
        os.sched_setaffinity(broker.pid, {broker_core})
        ready, done = ctx.Event(), ctx.Event()
        sub = ctx.Process(target=_subscriber, args=(broker.port, n, client_core, ready, done))
        sub.start()
        ready.wait(10)
        time.sleep(0.2)  # the SUBACK
        pub = ctx.Process(target=_publisher, args=(broker.port, n, client_core, ready))
        cpu0, t0 = process_cpu_s(broker.pid), time.perf_counter()
        pub.start()
        finished = done.wait(120)
        wall, cpu = time.perf_counter() - t0, process_cpu_s(broker.pid) - cpu0
        pub.join(10)
        sub.join(10)
        if not finished:
            raise RuntimeError("the subscriber did not receive every message")
    return {"wall_rate": n / wall, "per_cpu_s": n / cpu, "broker_cpu_share": cpu / wall}


def bench_rows() -> list[dict[str, Any]]:
    """Rows for docs/benchmarks.md (group "limits")."""
    from sqjz.benchmarks import row

    openssl = openssl_verify_per_s()
    sodium = sodium_verify_per_s()
    runs = [mosquitto_rate() for _ in range(3)]
    per_cpu = statistics.median(r["per_cpu_s"] for r in runs)
    wall = statistics.median(r["wall_rate"] for r in runs)
    share = statistics.median(r["broker_cpu_share"] for r in runs)
    rows = [
        row(
            "limit: Ed25519 verify, libsodium (PyNaCl), 1 core",
            round(sodium),
            "verifications/s",
            "-",
            "20,000 distinct 47-byte messages, bare nacl verify in a Python loop, median of 5",
            key="ed25519",
        ),
        row(
            "limit: mosquitto QoS 1 messages per broker CPU-second",
            round(per_cpu),
            "msgs/s per core",
            "-",
            f"200,000 messages of {PAYLOAD} bytes, one raw-socket publisher and one subscriber "
            "(persistent session, PUBACK both ways) pinned to one core, mosquitto 2.0 from "
            "cloud/deploy/mosquitto.conf pinned to the other; broker CPU time from /proc; "
            "median of 3",
            limit=f"end to end {round(wall):,} msgs/s with the broker at {round(100 * share)} % "
            "of its core",
            key="mqtt",
        ),
    ]
    if openssl is not None:
        version = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout
        rows.insert(
            1,
            row(
                "limit: Ed25519 verify, `openssl speed ed25519`, 1 core",
                round(openssl),
                "verifications/s",
                "-",
                f"openssl speed -seconds 3 ed25519 pinned to one core ({version.strip()})",
                key="ed25519-openssl",
            ),
        )
    return rows
