"""Fleet hubs: the real hub service (intake, SQLite outbox, paho uplink) without the BLE radio.

`FleetHub` is `hub.service.HubService` with one part replaced: the radio. `FleetRadio` hands a
band's queued frames to the service the way `hub.ble.Radio`'s sessions do (SOS first, through
`submit`, acknowledged to the band only after the outcome says the frame is durable; downlinks
written to the band and marked done), but without bleak: BLE itself is covered by the hub's own
tests with the real firmware over bumble. `Link` is a village's network connection to the county
broker (a TCP relay), so that a hub can lose its uplink for an hour while its bands keep talking.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from hub.config import HubSettings
from hub.intake import ACCEPTED, Heard, Outcome
from hub.schedule import Scheduler, Sighting
from hub.service import HubService
from simulators.fleet_band import FleetBand


class FleetRadio:
    """Stands in for hub.ble.Radio: bands in range hand their frames over directly."""

    def __init__(
        self, hub: HubService, rng: random.Random, ack_loss: float = 0.0, poll_s: float = 0.05
    ) -> None:
        self.hub = hub
        self.rng = rng
        self.ack_loss = ack_loss  # share of sessions whose link drops before the acks
        self.poll_s = poll_s
        self.scheduler = Scheduler()  # only its sightings are used (the kiosk's /bands)
        self.adapter_state = "ok"
        self.bands: dict[int, FleetBand] = {}
        self.sessions = 0
        self.acks_lost = 0
        self._busy: set[int] = set()
        self._again: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()

    # -- what the fleet does to the air --------------------------------------------------------

    def arrive(self, band: FleetBand) -> None:
        """A band comes within range (and is visited at once if it has something to send)."""
        self.bands[band.band_id] = band
        self._heard(band)
        if band.queue:
            self.visit(band)

    def leave(self, band_id: int) -> None:
        """A band goes out of range; a session in progress finishes what it handed over."""
        self.bands.pop(band_id, None)

    def visit(self, band: FleetBand) -> None:
        """Connect to a band now (it advertised frames queued or an SOS)."""
        if band.band_id in self._busy:
            self._again.add(band.band_id)
            return
        self._busy.add(band.band_id)
        task = asyncio.get_running_loop().create_task(self._session(band))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def hand_over(self, raw: bytes, address: str) -> asyncio.Future[Outcome]:
        """A notification from any device in range (an attacker's, too): judged by the intake."""
        now = self.hub.clock()
        return self.hub.submit(Heard(raw, int(now * 1000), -70, address))

    # -- the radio interface HubService uses -----------------------------------------------------

    async def run(self) -> None:
        """Visit bands that have a downlink waiting (an sos_ack must reach the band)."""
        while not self._stop.is_set():
            for band_id in self.hub.pending_downlinks() & self.bands.keys():
                if band_id not in self._busy:
                    self.visit(self.bands[band_id])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.poll_s)

    async def stop(self) -> None:
        """End every session."""
        self._stop.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def in_range(self) -> int:
        return len(self.bands)

    def connected(self) -> int:
        return len(self._busy)

    # -- one band --------------------------------------------------------------------------------

    def _heard(self, band: FleetBand) -> int:
        rssi = -55 - band.band_id % 30
        now = self.hub.clock()
        self.scheduler.heard(Sighting(band.band_id, f"fleet:{band.band_id}", rssi, 0, now))
        self.hub.advertised(band.band_id, rssi, now)
        return rssi

    async def _session(self, band: FleetBand) -> None:
        try:
            while True:
                self._again.discard(band.band_id)
                await self._exchange(band)
                if band.band_id not in self._again or band.band_id not in self.bands:
                    return
        finally:
            self._busy.discard(band.band_id)

    async def _exchange(self, band: FleetBand) -> None:
        self.sessions += 1
        hub = self.hub
        rssi = self._heard(band)
        for downlink_id, payload in hub.downlinks(band.band_id):
            band.deliver(payload)
            hub.downlink_written(downlink_id)
        queued = band.pending()
        if not queued:
            return
        now_ms = int(hub.clock() * 1000)
        futures = [
            hub.submit(Heard(raw, now_ms, rssi, f"fleet:{band.band_id}")) for _, raw in queued
        ]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        dropped = self.rng.random() < self.ack_loss
        for (counter, _raw), outcome in zip(queued, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                continue  # the outbox write failed: nothing acknowledged, the band keeps it
            if outcome.verdict == ACCEPTED:
                band.accepted_by.setdefault(counter, set()).add(hub.hub_id)
            if outcome.ack is not None and not dropped:
                band.acknowledge(outcome.ack)
        if dropped:
            # The link dropped before the acks were written: the band keeps the frames and
            # offers them again to whichever hub it meets next (a duplicate there).
            self.acks_lost += 1


class FleetHub(HubService):
    """A HubService whose radio is a FleetRadio; everything else is the real hub."""

    def __init__(
        self,
        settings: HubSettings,
        clock: Callable[[], float],
        rng: random.Random,
        ack_loss: float = 0.0,
    ) -> None:
        super().__init__(settings, clock=clock)
        self.radio: FleetRadio = FleetRadio(self, rng, ack_loss)

    async def _make_radio(self) -> FleetRadio:
        """HubService.run with the fleet's radio instead of bleak (the health server is off)."""
        return self.radio

    def has_config(self, bands: int) -> bool:
        """The cloud's config is applied and lists at least `bands` bands."""
        return self.cloud is not None and len(self.cloud.bands) >= bands

    def idle(self) -> bool:
        """Nothing waits in the outbox, for a PUBACK or for the cloud's receipt."""
        return self.store.depth() == 0 and not self.pump.inflight


class Link:
    """A village's network path to the broker: a TCP relay that can be cut and restored."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.port = 0
        self.up = True
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> Link:
        """Listen on a free local port (the hub's mqtt.port)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def cut(self) -> None:
        """The line goes dead: connections reset, new ones refused until restore()."""
        self.up = False
        self.cuts += 1
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def restore(self) -> None:
        """The line is back; the hub's own reconnect logic finds it."""
        self.up = True

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            b_reader, b_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, b_writer))
        try:
            await asyncio.gather(
                self._pipe(reader, b_writer), self._pipe(b_reader, writer), return_exceptions=True
            )
        except asyncio.CancelledError:
            pass  # the relay is shutting down with the run; the connection goes with it
        finally:
            for w in (writer, b_writer):
                self._open.discard(w)
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while self.up:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.transport.abort()


def hub_settings(hub_id: int, data_dir: str, port: int, password: str, **extra: Any) -> HubSettings:
    """Settings of a fleet hub: the real defaults, a private data folder, quick reconnects."""
    from hub.config import load

    env = {
        "SQJZ_HUB_ID": str(hub_id),
        "SQJZ_HUB_DATA_DIR": data_dir,
        "SQJZ_HUB_MQTT_PORT": str(port),
        "SQJZ_HUB_MQTT_PASSWORD": password,
        "SQJZ_HUB_MQTT_RECONNECT_MAX_S": "2",
        "SQJZ_HUB_HEALTH_PORT": "0",
        "SQJZ_HUB_STATUS_INTERVAL_S": "10",
    }
    env.update({f"SQJZ_HUB_{k.upper()}": str(v) for k, v in extra.items()})
    return load(None, env)


async def wait_for_config(hubs: Mapping[int, FleetHub], bands: int) -> float:
    """Wait until every hub holds every band's record; the seconds it took."""
    # Every hub reads every band's retained record (docs/mqtt.md): 200,000 deliveries for
    # 10,000 bands and 20 hubs, which one process of hubs takes a minute or so to apply.
    t0 = time.monotonic()
    deadline = t0 + 120 + bands * len(hubs) / 500
    while not all(h.has_config(bands) for h in hubs.values()):
        if time.monotonic() > deadline:
            missing = [h for h, hub in hubs.items() if not hub.has_config(bands)]
            held = {h: len(c.bands) if (c := hubs[h].cloud) else 0 for h in missing}
            raise RuntimeError(f"hubs did not receive the cloud's config (bands held: {held})")
        await asyncio.sleep(0.1)
    return time.monotonic() - t0


@contextlib.contextmanager
def logs_to(path: Path) -> Iterator[None]:
    """The hubs' log lines (uplink lost, ...) go to a file in the run's folder, not the screen."""
    logger = logging.getLogger("sqjz")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        handler.close()
