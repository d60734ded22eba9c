"""Benchmark group "hub": frames/s through verify + outbox + publish, and the BLE path."""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hub import outbox as ob
from hub.intake import Heard, Intake
from hub.pump import Pump
from hub.uplink import MqttSettings, Uplink
from protocol import gatt
from protocol.verify import Keyring, verify_frame
from simulators.ble.loadband import LoadBand
from simulators.broker import Mosquitto
from sqjz.benchmarks import row

HUB = 12
BATCH = 64  # frames per group commit, as the service collects them in one loop turn


def make_frames(n: int, bands: int = 200) -> tuple[list[bytes], dict[int, bytes]]:
    """n distinct signed activity frames from `bands` load-test bands, interleaved."""
    fleet = [LoadBand(10_000 + i) for i in range(bands)]
    frames = [fleet[i % bands].make("activity", {"steps": i % 900}) for i in range(n)]
    return frames, {b.band_id: b.public_key for b in fleet}


@contextmanager
def one_core(broker: Mosquitto | None = None) -> Iterator[None]:
    """Pin this process to one CPU and the broker (if given) to the others."""
    before = os.sched_getaffinity(0)
    core = min(before)
    os.sched_setaffinity(0, {core})
    pid = broker.pid if broker is not None else None
    if pid is not None and len(before) > 1:
        os.sched_setaffinity(pid, before - {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


async def _through_hub(
    frames: list[bytes], keys: dict[int, bytes], port: int, folder: Path
) -> float:
    """Seconds from the first frame handed to the intake to the last PUBACK marking it.

    No cloud sends receipts here: the receipt window is opened wide, so this is the hub's side.
    """
    loop = asyncio.get_running_loop()
    box = ob.Outbox(folder / "hub.db")
    connected = asyncio.Event()
    pump: Pump

    def up(_session: bool) -> None:
        connected.set()
        pump.up()

    uplink = Uplink(
        HUB,
        MqttSettings(port=port),
        loop,
        up,
        lambda _r: pump.down(),
        lambda mid: pump.published(mid),
        lambda _t, _p: None,
    )
    pump = Pump(HUB, box, uplink.publish, uplink.settings.inflight, loop, unreceipted=len(frames))
    intake = Intake(HUB, box, lambda _b, _n: False, lambda: True)
    intake.set_keys(keys)
    uplink.start()
    await asyncio.wait_for(connected.wait(), 10)
    now = time.time()
    t0 = time.perf_counter()
    for i in range(0, len(frames), BATCH):
        intake.process([Heard(f, int(now * 1000), -60) for f in frames[i : i + BATCH]], now)
        pump.fill()
        await asyncio.sleep(0)  # PUBACKs are handled between batches, as in the service
    while box.depth() > box.awaiting() or pump.inflight:
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - t0
    await uplink.stop()
    box.close()
    return elapsed


def _verify_only(frames: list[bytes], keys: dict[int, bytes]) -> float:
    keyring = Keyring(keys)
    t0 = time.perf_counter()
    for f in frames:
        verify_frame(f, keyring)
    return time.perf_counter() - t0


def _intake_only(frames: list[bytes], keys: dict[int, bytes], folder: Path) -> float:
    box = ob.Outbox(folder / "intake.db")
    intake = Intake(HUB, box, lambda _b, _n: False, lambda: True)
    intake.set_keys(keys)
    now = time.time()
    t0 = time.perf_counter()
    for i in range(0, len(frames), BATCH):
        intake.process([Heard(f, int(now * 1000), -60) for f in frames[i : i + BATCH]], now)
    elapsed = time.perf_counter() - t0
    box.close()
    return elapsed


def profile_hub(n: int = 20_000) -> str:
    """cProfile of one run through the hub: the top functions by own time."""
    frames, keys = make_frames(n)
    prof = cProfile.Profile()
    with Mosquitto() as broker, tempfile.TemporaryDirectory() as tmp, one_core(broker):
        prof.enable()
        asyncio.run(_through_hub(frames, keys, broker.port, Path(tmp)))
        prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime")
    lines = []
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    for func, v in sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:15]:  # type: ignore[attr-defined]
        lines.append(f"{100 * v[2] / total:5.1f} %  {func[2]} ({Path(func[0]).name}:{func[1]})")
    return "\n".join(lines)


async def _ble_rate(frames_n: int) -> tuple[float, float]:
    """(connect seconds, notifications/s) bleak over bumble, from one load-test band."""
    from bleak import BleakClient, BleakScanner

    from simulators.ble.world import BleWorld

    world = BleWorld(speed=0.0)
    band = LoadBand(1)
    for _ in range(frames_n):
        band.make("activity")
    # A central can only connect at the band's next advertising event: advertise at the BLE
    # minimum (20 ms) so the figure is the software's time, not the advertising interval's.
    await world.add_band(band, adv_interval_ms=20.0)
    radio = await world.radio()
    device = await BleakScanner.find_device_by_filter(
        lambda d, a: gatt.MANUFACTURER_ID in a.manufacturer_data, 10, backend=radio.scanner_backend
    )
    assert device is not None
    got = asyncio.Event()
    count = 0

    def on_note(_c: Any, _d: bytearray) -> None:
        nonlocal count
        count += 1
        if count == frames_n:
            got.set()

    t0 = time.perf_counter()
    client = BleakClient(device, services=[gatt.SERVICE_UUID], backend=radio.client_backend)
    await client.connect()
    connect_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    await client.start_notify(gatt.FRAMES_UUID, on_note)
    await asyncio.wait_for(got.wait(), 60)
    rate = frames_n / (time.perf_counter() - t0)
    await client.disconnect()
    await world.close()
    return connect_s, rate


def bench_rows(n: int = 20_000, repeats: int = 5) -> list[dict[str, Any]]:
    """The hub group: end-to-end rate on one core, its parts, and the BLE path."""
    frames, keys = make_frames(n)
    full: list[float] = []
    parts: list[tuple[float, float]] = []
    with Mosquitto() as broker, one_core(broker):
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                full.append(n / asyncio.run(_through_hub(frames, keys, broker.port, Path(tmp))))
                parts.append(
                    (n / _verify_only(frames, keys), n / _intake_only(frames, keys, Path(tmp)))
                )
    ble = [asyncio.run(_ble_rate(2000)) for _ in range(repeats)]
    med = statistics.median(full)
    verify = statistics.median(p[0] for p in parts)
    intake = statistics.median(p[1] for p in parts)
    method = (
        f"{n:,} distinct activity frames from 200 bands, hub code pinned to one core and "
        f"mosquitto to the other (sched_setaffinity), group commit of {BATCH} frames "
        f"(SQLite WAL, synchronous=FULL), "
        f"paho window 64 to a local mosquitto 2.0 from cloud/deploy/mosquitto.conf; timed from "
        f"the first frame handed in to the last PUBACK deleting it; median of {repeats}"
    )
    return [
        row(
            "hub: frames/s verify + outbox + publish (1 core)",
            round(med),
            "frames/s",
            ">= 5,000/s",
            method,
            limit=f"verify alone {round(verify):,}/s; verify + outbox {round(intake):,}/s",
        ),
        row(
            "hub: share of time in verify + outbox",
            round(100 * med / intake, 1),
            "%",
            "-",
            "same runs: end-to-end rate / (verify + outbox) rate; the rest is paho publish, "
            "PUBACK handling and deletes",
        ),
        row(
            "hub: BLE connect (bleak over bumble, LocalLink)",
            round(1000 * statistics.median(b[0] for b in ble), 1),
            "ms",
            "~40 ms measured here before",
            f"BleakClient.connect incl. MTU 247 exchange and discovery of the sqjz service, "
            f"band advertising every 20 ms (a connection starts at the band's next advertising "
            f"event: the firmware advertises every 2 s, 200 ms during an SOS); median of {repeats}",
        ),
        row(
            "hub: BLE notifications/s (bleak over bumble)",
            round(statistics.median(b[1] for b in ble)),
            "notifications/s",
            "~9,500/s measured here before",
            "2,000 queued frames from one load-test band, MTU 247, counted in the bleak callback",
        ),
    ]
