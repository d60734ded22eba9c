"""The fleet simulator: thousands of bands, tens of real hubs, a real broker, the real cloud.

One asyncio loop in this process runs the bands (simulators/fleet_band.py) and the hubs
(hub.service.HubService with the radio replaced: simulators/fleet_hub.py). mosquitto runs from
the shipped configuration with per-hub passwords and the county ACL; the cloud runs in its own
process on a SQLite file (simulators/fleet_cloud.py). Everything reads one simulated clock, so
a day can pass in minutes. A scenario (simulators/fleet_scenarios.py) is a timeline of actions
on the fleet. The report (simulators/fleet_report.py) compares, byte for byte, what the bands
signed and the hubs acknowledged with what the cloud stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulators.broker import REPO, Mosquitto, free_port
from simulators.fleet_attack import (
    Crafted,
    network_batch,
    publish_as_hub,
    radio_batch,
    victims_at,
)
from simulators.fleet_band import FleetBand
from simulators.fleet_cloud import (
    CLOUD_USER,
    CloudProcess,
    CommitWatcher,
    EventStream,
    SimClock,
    login,
    process_cpu_s,
    seed,
    status_interval_s,
)
from simulators.fleet_hub import FleetHub, Link, hub_settings, logs_to, wait_for_config
from simulators.fleet_report import Observed, build_report
from simulators.fleet_scenarios import (
    Options,
    Plan,
    Step,
    check,
    make_plan,
    start_time,
    timeline,
)

PASSWORD = "fleet-pass-2026"  # the sample county's staff accounts in this private run
TICK_S = 0.02  # real seconds between looks at the clock
ACL = REPO / "hub" / "deploy" / "sqjz.acl"


class Fleet:
    """One run of one scenario; `await run()` returns the report (a dict)."""

    def __init__(
        self, opts: Options, folder: Path, progress: Callable[[str], None] = lambda _m: None
    ) -> None:
        self.opts, self.folder, self.say = check(opts), folder, progress
        self.plan: Plan = make_plan(opts)
        self.steps: list[Step] = timeline(self.plan, opts)
        self.rng = random.Random(opts.seed)
        self.bands: dict[int, FleetBand] = {}
        self.hubs: dict[int, FleetHub] = {}
        self.links: dict[int, Link] = {}
        self.broker: Mosquitto | None = None
        self.broker_port = 0
        self.passwords: dict[str, str] = {}
        self.events: list[tuple[float, str]] = []  # (simulated s after start, what happened)
        self.attacks: list[tuple[str, Crafted, str]] = []  # (path, item, what the hub answered)
        self._due: dict[int, float] = {}
        self._heap: list[tuple[float, int]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._start = 0.0
        self._broker_pid = 0

    # -- the run ---------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Set up, play the timeline, drain, stop everything, and report."""
        opts = self.opts
        if opts.broker and any(s.action.startswith("broker_") for s in self.steps):
            raise ValueError("broker-outage needs the private mosquitto (leave out --broker)")
        self.clock = SimClock(start_time(opts, time.time()), time.monotonic(), opts.speed)
        setup_t0 = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(logs_to(self.folder / "fleet.log"))
            await self._start_broker(stack)
            self.say(f"注册手环 / enrolling {opts.bands} bands at {opts.hubs} hubs ...")
            now = self.clock()
            for band_id in self.plan.bands:
                band = FleetBand(
                    band_id, now, activity_s=opts.activity_s, heartbeat_s=opts.heartbeat_s
                )
                band.reach = self.plan.home[band_id]
                self.bands[band_id] = band
            data = self.folder / "cloud"
            await asyncio.to_thread(
                seed, data, PASSWORD, self.plan.units, list(self.bands.values()), now
            )
            self.say("启动云端 / starting the cloud process ...")
            cloud = CloudProcess(
                data,
                free_port(),
                self.broker_port,
                self.passwords[CLOUD_USER],
                self.clock,
                client_id=f"sqjz-cloud-fleet-{secrets.token_hex(4)}",
            )
            await asyncio.to_thread(cloud.start)
            stack.callback(cloud.stop)
            await self._start_hubs(stack)
            watcher = CommitWatcher(data / "sqjz.db").start()
            stack.callback(watcher.stop)
            streams = []
            for user in ("office", "office_b"):
                stream = EventStream(cloud.url, login(cloud.url, user, PASSWORD), user)
                streams.append(await asyncio.to_thread(stream.start))
                stack.callback(stream.stop)
            setup_s = time.monotonic() - setup_t0
            hours = opts.duration_s / 3600
            self.say(f"运行 / running {opts.scenario}: {hours:.2f} h simulated at {opts.speed:g}x")
            real_t0 = time.monotonic()
            cpu0 = self._cpu(cloud)
            await self._play()
            play_s = time.monotonic() - real_t0
            self.say("排空 / draining: waiting for every frame to reach the cloud ...")
            drained = await self._drain(watcher)
            drain_s = time.monotonic() - real_t0 - play_s
            cpu = {k: round(v - cpu0[k], 1) for k, v in self._cpu(cloud).items() if k in cpu0}
            for stream in streams:
                stream.stop()
            watcher.stop()
            at_hubs = {k for hub in self.hubs.values() for k in hub.store.frame_keys()}
            await self._stop_hubs()
            cloud.stop()
            observed = Observed(
                opts=opts,
                plan=self.plan,
                bands=self.bands,
                hub_stats={h: dict(hub.store.stats) for h, hub in self.hubs.items()},
                at_hubs=at_hubs,
                acks_lost=sum(h.radio.acks_lost for h in self.hubs.values()),
                db_path=data / "sqjz.db",
                committed=watcher.seen,
                sos_seen=EventStream.merged(streams),
                attacks=self.attacks,
                events=self.events,
                timing={
                    "setup_s": setup_s,
                    "play_s": play_s,
                    "drain_s": drain_s,
                    "drained": drained,
                    "cpu_s": cpu,
                },
                cloud_log=cloud.log(),
            )
            return build_report(observed)
        raise AssertionError("unreachable")

    def _cpu(self, cloud: CloudProcess) -> dict[str, float]:
        """CPU seconds so far of this process (bands and hubs), the cloud and mosquitto."""
        out = {"bands_and_hubs": time.process_time()}
        if cloud.proc is not None:
            out["cloud"] = process_cpu_s(cloud.proc.pid)
        pid = self.broker.pid if self.broker is not None else None
        if pid is not None and self._broker_pid in (0, pid):  # not across a restart
            self._broker_pid = pid
            out["mosquitto"] = process_cpu_s(pid)
        return out

    async def _start_broker(self, stack: contextlib.AsyncExitStack) -> None:
        self.passwords = {CLOUD_USER: secrets.token_urlsafe(12)}
        self.passwords.update({str(h): secrets.token_urlsafe(12) for h in self.plan.hubs})
        if self.opts.broker:
            host, _, port = self.opts.broker.rpartition(":")
            if host not in ("127.0.0.1", "localhost"):
                raise ValueError("--broker must be on this machine (127.0.0.1:PORT)")
            self.broker_port = int(port)
            self.say(f"使用已运行的 MQTT / using the broker at {self.opts.broker} (anonymous)")
            self.passwords = dict.fromkeys(self.passwords, "")
            return
        self.broker = Mosquitto(users=self.passwords, acl=ACL.read_text())
        self.broker.start()
        stack.callback(self.broker.close)
        self.broker_port = self.broker.port
        self.say(
            f"启动 mosquitto / mosquitto on port {self.broker_port} (county ACL, per-hub passwords)"
        )

    async def _start_hubs(self, stack: contextlib.AsyncExitStack) -> None:
        cut = {s.args[0] for s in self.steps if s.action == "cut_line"}
        for hub_id in self.plan.hubs:
            port = self.broker_port
            if hub_id in cut:
                self.links[hub_id] = link = await Link(self.broker_port).start()
                stack.push_async_callback(link.close)
                port = link.port
            folder = self.folder / f"hub-{hub_id}"
            # A hub reports its status every 30 s of its own time; on the compressed clock the
            # cloud would otherwise see every hub as silent (hub_offline after 300 s).
            # Past 60x the reports stay twice a second and the cloud waits for three missed.
            settings = hub_settings(
                hub_id,
                str(folder),
                port,
                self.passwords[str(hub_id)],
                status_interval_s=status_interval_s(self.opts.speed),
            )
            hub = FleetHub(
                settings,
                self.clock,
                random.Random(hub_id * 31 + self.opts.seed),
                self.opts.ack_loss,
            )
            self.hubs[hub_id] = hub
            task = asyncio.create_task(hub.run(), name=f"fleet-hub-{hub_id}")
            self._tasks.add(task)
        stack.push_async_callback(self._stop_hubs)  # also on Ctrl-C: hubs stop before the broker
        self.say(f"启动网关 / {len(self.hubs)} hubs connecting, waiting for the cloud's config")
        waited = await wait_for_config(self.hubs, len(self.bands))
        self.say(f"网关配置 / config at every hub after {waited:.0f} s")
        for band in self.bands.values():
            for hub_id in band.reach:
                self.hubs[hub_id].radio.arrive(band)

    async def _stop_hubs(self) -> None:
        for hub in self.hubs.values():
            hub.stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- playing the timeline ----------------------------------------------------------------------

    async def _play(self) -> None:
        self._start = self.clock()
        for band in self.bands.values():
            band.rebase(self._start, self.rng.random())
            self._schedule(band)
        end = self._start + self.opts.duration_s
        steps = list(self.steps)
        while True:
            now = self.clock()
            while steps and self._start + steps[0].at_s <= now:
                step = steps.pop(0)
                self._apply(step, now)
            if now >= end:
                break
            while self._heap and self._heap[0][0] <= now:
                due, band_id = heapq.heappop(self._heap)
                if self._due.get(band_id) != due:
                    continue  # rescheduled since
                band = self.bands[band_id]
                if band.advance_to(now):
                    self._offer(band)
                self._schedule(band)
            await asyncio.sleep(TICK_S)

    def _schedule(self, band: FleetBand) -> None:
        due = band.next_due()
        self._due[band.band_id] = due
        heapq.heappush(self._heap, (due, band.band_id))

    def _offer(self, band: FleetBand) -> None:
        """The band advertises 'frames queued': one hub in range connects."""
        if band.reach and band.queue:
            self.hubs[self.rng.choice(band.reach)].radio.visit(band)

    def _apply(self, step: Step, now: float) -> None:
        self.events.append((now - self._start, f"{step.action}{step.args}"))
        result = getattr(self, step.action)(*step.args)
        if asyncio.iscoroutine(result):
            task = asyncio.create_task(result)
            self._tasks.add(task)

    def _band(self, band_id: int) -> FleetBand:
        band = self.bands[band_id]
        band.advance_to(self.clock())
        return band

    # -- actions (named by scenario steps) -----------------------------------------------------

    def move(self, band_id: int, reach: tuple[int, ...]) -> None:
        """The band walks: out of some hubs' range, into others'."""
        band = self._band(band_id)
        for hub_id in set(band.reach) - set(reach):
            self.hubs[hub_id].radio.leave(band_id)
        old, band.reach = band.reach, tuple(reach)
        for hub_id in set(reach) - set(old):
            self.hubs[hub_id].radio.arrive(band)

    def go_home(self, band_id: int) -> None:
        self.move(band_id, self.plan.home[band_id])

    def press_sos(self, band_id: int) -> None:
        band = self._band(band_id)
        band.press_sos()
        self._offer(band)
        self._schedule(band)

    def open_strap(self, band_id: int) -> None:
        band = self._band(band_id)
        band.open_strap()
        self._offer(band)

    def set_drift(self, band_id: int, offset_s: float, drift: float) -> None:
        self._band(band_id).set_drift(offset_s, drift)

    def lose_clock(self, band_id: int) -> None:
        self._band(band_id).lose_clock()

    def cut_line(self, hub_id: int) -> None:
        self.links[hub_id].cut()
        self.say(f"  网关 {hub_id} 断网 / hub {hub_id}'s line is down")

    def restore_line(self, hub_id: int) -> None:
        self.links[hub_id].restore()
        self.say(f"  网关 {hub_id} 恢复 / hub {hub_id}'s line is back")

    def broker_down(self, kill: bool = False) -> None:
        assert self.broker is not None
        self.broker.kill() if kill else self.broker.stop()
        self.say(f"  MQTT 中断 / broker {'killed' if kill else 'stopped'}")

    def broker_up(self) -> None:
        assert self.broker is not None
        self.broker.start()
        self.say("  MQTT 恢复 / broker back")

    async def attack_radio(self, hub_id: int, n: int) -> None:
        """A rogue device at the hub hands it forged, tampered, malformed and unknown frames."""
        hub = self.hubs[hub_id]
        victims, genuine = victims_at(self.bands, hub_id)
        items = radio_batch(victims, genuine, n, int(self.clock()))
        futures = [hub.radio.hand_over(item.payload, "rogue:00:11") for item in items]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        for item, outcome in zip(items, outcomes, strict=True):
            verdict = (
                outcome.code or outcome.verdict
                if not isinstance(outcome, BaseException)
                else "error"
            )
            self.attacks.append(("radio", item, verdict))
        self.say(f"  伪造帧 / {len(items)} crafted notifications handed to hub {hub_id}")

    async def attack_network(self, hub_id: int, other: int, n: int) -> None:
        """Hub `hub_id`'s stolen password, used on the broker directly."""
        victims, genuine = victims_at(self.bands, hub_id)
        items = network_batch(hub_id, other, victims, genuine, n, int(self.clock()))
        sent = await asyncio.to_thread(
            publish_as_hub, self.broker_port, hub_id, self.passwords[str(hub_id)], items
        )
        for _topic, item in items:
            self.attacks.append(("network", item, ""))
        self.say(f"  盗用网关口令 / {sent} messages published with hub {hub_id}'s password")

    # -- draining --------------------------------------------------------------------------------

    async def _drain(self, watcher: CommitWatcher) -> bool:
        """Lines and broker back, bands home and quiet: wait until every frame is at the cloud."""
        for hub_id, link in self.links.items():
            if not link.up:
                self.restore_line(hub_id)
        if self.broker is not None and not self.broker.running:
            self.broker_up()
        for band in self.bands.values():
            if not band.reach:
                self.go_home(band.band_id)
        expected = sum(b.counter - 1 for b in self.bands.values())  # counter 0: enrolment
        deadline = time.monotonic() + self.opts.drain_timeout_s
        while time.monotonic() < deadline:
            waiting = [b for b in self.bands.values() if b.queue]
            for band in waiting:
                self._offer(band)
            open_sos = any(b.sos_open for b in self.bands.values())
            if (
                not waiting
                and not open_sos
                and all(h.idle() for h in self.hubs.values())
                and len(watcher.seen) >= expected
            ):
                return True
            await asyncio.sleep(0.5)
        return False


def run(
    opts: Options, folder: Path, progress: Callable[[str], None] = lambda _m: None
) -> dict[str, Any]:
    """Run one scenario to its report (blocking)."""
    return asyncio.run(Fleet(opts, folder, progress).run())
