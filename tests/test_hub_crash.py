"""Must-show: `sqjz hub` as a process, killed with SIGKILL mid-stream and restarted.

The hub runs as a real subprocess (`python -m sqjz.cli hub run`), configured only through
SQJZ_HUB_* variables. Its BLE controller sits on the test's LocalLink with the bands
(SimBand: the real firmware); the hub's own bumble host drives that controller over HCI on
TCP, as it would drive a USB dongle. After the SIGKILL the bands' links drop (the supervision
timeout a real band would see), a fresh controller is served and the hub is started again on
the same data directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.request
from pathlib import Path

import pytest

from protocol import topics
from simulators.ble.world import BleWorld
from simulators.broker import Mosquitto, free_port
from simulators.hub_harness import (
    HUB,
    CloudSide,
    acked_frames,
    config_message,
    delivered_exactly,
    hub_env,
    publish_retained,
    until,
)

band_mod = pytest.importorskip("simulators.band", reason="SimBand (simulators/band.py) not there")

REPO = Path(__file__).resolve().parent.parent
SPEED = 60.0


async def start_hub(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """`sqjz hub run` in its own process."""
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sqjz.cli",
            "hub",
            "run",
            cwd=REPO,
            env={**os.environ, **env},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )


def health(port: int) -> dict[str, object]:
    """GET /health from the hub process."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
        doc: dict[str, object] = json.loads(r.read())
        return doc


def test_hub_killed_mid_stream_and_restarted_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    fleet = [band_mod.SimBand(b, seed=b.to_bytes(4, "big") * 8) for b in (61001, 61002)]
    keys = {b.band_id: b.public_key for b in fleet}
    log = tmp_path / "hub.log"
    hport = free_port()
    try:
        with Mosquitto() as broker:
            publish_retained(broker.port, topics.config(HUB), config_message(HUB, keys))
            cloud = CloudSide(broker.port, keys).start()

            procs: list[asyncio.subprocess.Process] = []

            async def scenario() -> tuple[int, int]:
                try:
                    return await _scenario()
                finally:
                    for p in procs:  # never leave a hub running after a failed assertion
                        if p.returncode is None:
                            p.kill()
                            await p.wait()

            async def _scenario() -> tuple[int, int]:
                world = BleWorld(speed=SPEED)
                for b in fleet:
                    await world.add_band(b)
                env = hub_env(
                    tmp_path / "data",
                    broker.port,
                    SQJZ_HUB_BLE_BACKEND="bumble",
                    SQJZ_HUB_HEALTH_PORT=hport,
                    SQJZ_HUB_BLE_BUMBLE_TRANSPORT=await world.serve_controller(),
                )
                proc = await start_hub(env, log)
                procs.append(proc)
                await until(lambda: len(cloud.unique()) >= 4, 120, "frames through the first hub")
                # SIGKILL while frames are moving: some stored but not acked, some published
                # but not yet deleted, a notification or two half-received.
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                before = len(acked_frames(world))
                await world.central_lost()
                await until(
                    lambda: cloud.status.get(HUB, {}).get("online") is False, 30, "last will"
                )
                env["SQJZ_HUB_BLE_BUMBLE_TRANSPORT"] = await world.serve_controller()
                proc = await start_hub(env, log)
                procs.append(proc)
                await until(
                    lambda: len(acked_frames(world)) >= before + 4, 120, "frames after restart"
                )
                await until(lambda: delivered_exactly(cloud, world), 60, "delivery")
                status = await asyncio.to_thread(health, hport)
                proc.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(proc.wait(), 30)
                await world.close()
                assert status["uplink"] == "connected" and status["forged_total"] == 0
                return code, before

            code, before = asyncio.run(scenario())
            assert cloud.wait_for(lambda c: c.status.get(HUB, {}).get("online") is False, 10)
            cloud.stop()
    finally:
        for b in fleet:
            b.close()
    assert code == 0, log.read_text()[-3000:]
    assert before >= 4 and not cloud.refused
    unique = cloud.unique()  # raises if one (band, counter) arrived with two different bodies
    assert len(unique) >= before + 4
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert sum(1 for x in lines if x["message"] == "hub started") == 2
