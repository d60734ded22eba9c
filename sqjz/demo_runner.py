"""`sqjz demo` start to finish: start everything in order, run, stop everything in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud.domain.calendar import load_calendar
from cloud.domain.deadlines import report_due
from cloud.services.common import local_date
from sqjz import demo_procs as procs
from sqjz import selftest
from sqjz.demo_air import Air, hub_toml
from sqjz.demo_console import KEYS, Console, KeyReader
from sqjz.demo_procs import DemoError
from sqjz.demo_scenarios import AlertWatcher, Village
from sqjz.demo_seed import (
    ACCOUNTS,
    HUB_ID,
    PEOPLE,
    ROLE_NAMES,
    UNITS,
    Api,
    County,
    Person,
    seed,
)

log = logging.getLogger("sqjz.demo")
STEPS = 9


@dataclass
class Options:
    """What `sqjz demo` was asked to do."""

    data_dir: Path
    port: int = 8080
    bands: int = 5
    broker: str = "auto"  # auto, mosquitto, embedded
    password: str | None = None
    scenarios: tuple[str, ...] = ()
    exit_after: float | None = None
    silent_s: int = 90
    keys: bool = True


class Demo:
    """Everything the demo started, so that it can be stopped in reverse order."""

    def __init__(self, opts: Options, console: Console) -> None:
        self.opts = opts
        self.console = console
        self.folder = procs.DataFolder(opts.data_dir)
        self.password = opts.password or procs.password()
        self.stack = contextlib.AsyncExitStack()
        self.stopping = asyncio.Event()
        self.summary: dict[str, Any] = {}
        self.children: list[procs.Child] = []
        self.village: Any = None
        self.on_quit: Callable[[], None] = self.stopping.set
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- start-up ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Every step in order; each registers how it is undone."""
        self.console.total = STEPS
        broker, cloud = await self._servers()
        api = Api(cloud.url, self.password)
        self.stack.push_async_callback(api.close)
        with self.console.step("演示数据", "demo data, entered through the API") as note:
            county = await seed(api, local_date(int(time.time())))
            kinds = [u[1] for u in UNITS]
            note["text"] = (
                f"{kinds.count('office')} 司法所, {kinds.count('village')} villages, "
                f"{len(ACCOUNTS) + 2} logins, {len(county.cases)} cases, "
                f"{county.assessments} assessment"
            )
        air, wearers = await self._village(broker, cloud, api, county)
        with self.console.step("实时告警", "live alert stream (as the county head)"):
            watcher = AlertWatcher(api, self.console)
            watcher.start()
            self.stack.push_async_callback(watcher.stop)
            await asyncio.wait_for(watcher.connected.wait(), 20)
        calendar = load_calendar()
        self.village = Village(
            air,
            api,
            county,
            watcher,
            self.console,
            {b: p.name for b, p in wearers.items()},
            self.opts.silent_s,
            lambda day: report_due(day, calendar),
            lambda: local_date(int(time.time())),
        )
        self.summary = {
            "state": "ready",
            "pid": os.getpid(),
            "web": cloud.url + "/",
            "api_docs": cloud.url + "/docs",
            "hub_health": f"http://127.0.0.1:{air.settings.health.port}/health",
            "broker": {"kind": broker.kind, "host": "127.0.0.1", "port": broker.port},
            "pids": {"cloud": cloud.child.pid, "broker": broker.pid},
            "cloud": {"db": str(cloud.db), "settings": cloud.settings},
            "logins": [{"username": "admin", "role": "admin"}]
            + [{"username": a[0], "role": a[1]} for a in ACCOUNTS]
            + [{"username": county.person_login, "role": "person"}],
            "bands": [
                {"band_id": b, "person": p.name, "case_id": county.cases[p.key]}
                for b, p in wearers.items()
            ],
            "silent_s": self.opts.silent_s,
        }
        self.folder.write_summary(self.summary)

    async def _servers(self) -> tuple[procs.Broker, procs.Cloud]:
        """Self-test, broker, cloud."""
        c, o, folder = self.console, self.opts, self.folder.path
        with c.step("协议自检", "protocol self-test") as note:
            result = await asyncio.to_thread(selftest.check)
            if not result["ok"]:
                raise DemoError(f"protocol self-test failed: {result}")
            note["text"] = (
                f"{result['vectors']} vectors; MicroPython signs "
                f"{result['micropython_signed_identical']}/{result['micropython_signed_total']}"
            )
        with c.step("消息代理", "MQTT broker") as note:
            kind = procs.choose_broker(o.broker)
            users = {"cloud": procs.password(), str(HUB_ID): procs.password()}
            broker = await procs.start_broker(
                kind, folder / "broker", users, folder / "logs" / "broker.log"
            )
            self.stack.push_async_callback(broker.stop)
            if broker.child is not None:
                self.children.append(broker.child)
            note["text"] = f"{kind} 127.0.0.1:{broker.port} (logins: cloud, hub {HUB_ID})"
        with c.step("县级云平台", "county cloud (sqjz cloud)") as note:
            port = o.port or procs.free_port()
            if not procs.port_free(port):
                raise DemoError(f"端口 {port} 已被占用 / port {port} is taken (give --port N or 0)")
            admin = ("admin", self.password)
            cloud = await procs.start_cloud(folder, port, broker, admin, o.silent_s)
            # uvicorn gives open event streams 5 s (cloud/cli.py) before it stops anyway.
            self.stack.push_async_callback(cloud.child.stop, 14.0)
            self.children.append(cloud.child)
            note["text"] = f"{cloud.url} (pid {cloud.child.pid}, {cloud.db})"
        return broker, cloud

    async def _village(
        self, broker: procs.Broker, cloud: procs.Cloud, api: Api, county: County
    ) -> tuple[Air, dict[int, Person]]:
        """Bands, the hub, enrolment at the office, hand-over; returns band_id -> wearer."""
        c, folder = self.console, self.folder.path
        hub_conf = folder / "hub.toml"
        hub_conf.write_text(hub_toml(folder / "hub", broker.port, procs.free_port()))
        air = Air(folder / "hub", hub_conf, broker.users[str(HUB_ID)])
        self.stack.push_async_callback(air.close)
        people = [p for p in PEOPLE if p.band][: self.opts.bands]
        with c.step("手环", "bands: real firmware under MicroPython") as note:
            ids = await air.create(len(people))
            note["text"] = f"{len(ids)} bands {ids[0]}…{ids[-1]}, real time"
        wearers = dict(zip(ids, people, strict=True))
        with c.step("村级网关", f"hub {HUB_ID} opens its broker session") as note:
            await air.start_hub()
            await air.stop_hub()  # as at the office: the hub stops while bands are enrolled
            note["text"] = "session kept by the broker while the hub is stopped"
        with c.step("登记手环", "enrol bands (IDENTITY, challenge, signed enrol frame)") as note:
            await air.on_air()
            n = await air.enrol_all(cloud.url, county.hub_token)
            note["text"] = f"{n}/{len(ids)} enrolled by the cloud"
        with c.step("分配手环", "hand bands over; hub delivers time, config, profile") as note:
            await air.start_hub()
            for band_id, p in wearers.items():
                weight, rest_hr = p.band or (None, None)
                body: dict[str, Any] = {
                    "person_id": county.persons[p.key],
                    "sos_location": p.sos_location,
                    "weight_kg": weight,
                    "rest_hr": rest_hr,
                }
                await api.call("county_head", "POST", f"/api/v1/bands/{band_id}/assign", body)
            done = await _until(lambda: all(air.synced(b, True) for b in ids), 120)
            ok = sum(air.synced(b, True) for b in ids)
            note["text"] = f"{ok}/{len(ids)} bands answered ok (cmd_result)" + (
                "" if done else " — the rest later"
            )
        return air, wearers

    def show_ready(self) -> None:
        """URLs, logins and what to try."""
        c, s = self.console, self.summary
        c.line()
        c.line("  ━━ sqjz 社区矫正演示已就绪 / demo ready ━━")
        c.line(f"  监督端网页 Supervisor web UI  {s['web']}")
        c.line(f"  接口文档 API docs             {s['api_docs']}")
        c.line(f"  网关状态 Hub health           {s['hub_health']}")
        broker = f"{s['broker']['kind']} 127.0.0.1:{s['broker']['port']}"
        c.line(f"  消息代理 MQTT broker          {broker}")
        c.line(f"  数据目录 Data folder          {self.folder.path}")
        c.line(f"  登录 Logins — 密码 password: {self.password}")
        for login in s["logins"]:
            name = ROLE_NAMES.get(login["username"]) or ROLE_NAMES[login["role"]]
            c.line(f"    {login['username']:<18} {name}")
        c.line("  手环 Bands:")
        for b in s["bands"]:
            c.line(f"    {b['band_id']}  {b['person']}  (case #{b['case_id']})")
        if self.opts.keys:
            self.console.help()
        else:
            c.line("  停止 Stop: Ctrl-C (SIGINT) 或 or SIGTERM")

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> bool:
        """Scripted scenarios in order, then keys until asked to stop; True if all arrived."""
        ok = True
        self._spawn(self._watch_children())
        for name in self.opts.scenarios:
            if self.stopping.is_set():
                break
            ok = await self.village.run(name) and ok
        if self.opts.exit_after is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.opts.exit_after)
        else:
            await self.stopping.wait()
        return ok

    def on_key(self, key: str) -> None:
        """A key from the terminal (read from the very start, so Ctrl-C is always a key)."""
        action = KEYS.get(key, ("help", "", ""))[0]
        if action == "quit":
            self.on_quit()
        elif self.village is None:
            self.console.line("  · 还在启动 still starting …")
        elif action == "help":
            self.console.help()
        else:
            self._spawn(self._happen(action))

    async def _happen(self, action: str) -> None:
        try:
            await self.village.run(action)
        except Exception as exc:  # shown, and the demo runs on
            log.exception("scenario %s", action)
            self.console.line(f"  ✘ {action}: {exc}")

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch_children(self) -> None:
        while not self.stopping.is_set():
            for child in self.children:
                if not child.running():
                    self.console.line(
                        f"  ✘ {child.name} 意外退出 exited unexpectedly "
                        f"(code {child.proc.returncode}); see logs/ in the data folder"
                    )
                    self.stopping.set()
            await asyncio.sleep(1)

    async def stop(self) -> None:
        """Undo every step in reverse: alerts, keys, hub, bands, cloud, broker."""
        self.stopping.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.stack.aclose()
        if self.summary:
            self.folder.write_summary({**self.summary, "state": "stopped"})
        self.folder.close()

    def kill_children(self) -> None:
        """Second Ctrl-C: no more waiting."""
        for child in self.children:
            with contextlib.suppress(ProcessLookupError):
                child.proc.kill()


async def _until(predicate: Callable[[], bool], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


async def main(opts: Options, console: Console) -> int:
    """Start, run until asked to stop, stop; the exit status says whether all went well."""
    demo = Demo(opts, console)
    try:
        demo.folder.open()
    except DemoError as exc:
        console.line(f"  ✘ {exc}")
        return 2
    if demo.folder.replaced:
        console.line(
            f"  · 已清除上次的演示数据 / previous demo data in {demo.folder.path} replaced"
        )
    _log_to(demo.folder.path / "logs" / "demo.log")
    loop = asyncio.get_running_loop()
    signals = 0
    work = asyncio.current_task()

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            console.line("  · 正在停止 stopping …")
            demo.stopping.set()
            if not demo.summary and work is not None:
                work.cancel()  # still starting: abandon start-up, then undo what was done
        else:  # a second Ctrl-C: no more waiting; a third leaves at once
            console.line("  · 强制停止 forcing the stop …")
            demo.kill_children()
            if signals > 2:
                os._exit(130)
            loop.call_later(5, os._exit, 130)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    demo.on_quit = on_signal
    reader = KeyReader(demo.on_key) if opts.keys else None
    if reader is not None:
        reader.start(loop)
    code = 0
    try:
        try:
            await demo.start()
            demo.show_ready()
            code = 0 if await demo.run() else 1
        except DemoError as exc:
            console.line(f"  ✘ {exc}")
            code = 1
        except asyncio.CancelledError:
            code = 0 if signals else 1
        except Exception as exc:
            log.exception("demo failed")
            console.line(f"  ✘ 意外错误 unexpected error: {exc!r} (logs/demo.log)")
            code = 1
    finally:
        started = time.monotonic()
        await asyncio.shield(demo.stop())
        console.line(f"  ■ 已全部停止 everything stopped ({time.monotonic() - started:.1f} s)")
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if reader is not None:
            reader.stop()  # the terminal as it was
    return code


def _log_to(path: Path) -> None:
    """Everything the parts log goes to the data folder, not over the progress display."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("bumble", "bleak", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
