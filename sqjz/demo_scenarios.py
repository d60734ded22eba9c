"""Scripted happenings in the demo village, and the alert each should raise at the cloud.

The demo watches the cloud's own live event stream (`/api/v1/events`, server-sent events) as
the county head, so what it reports is what a supervisor's browser receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from sqjz.demo_air import Air
from sqjz.demo_console import Console
from sqjz.demo_seed import Api, County, open_late_case

SCENARIOS = ("sos", "tamper", "silent", "deadline")
WATCHER = "county_head"  # sees the whole county


def parse_scenarios(text: str) -> list[str]:
    """'sos,tamper' -> ['sos', 'tamper']; an unknown name is an error that lists the known."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(
            f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    return names


@dataclass
class Seen:
    """One alert event as the stream delivered it."""

    at: float  # monotonic
    event: str
    alert: dict[str, Any]


@dataclass
class AlertWatcher:
    """Reads the cloud's SSE stream in the background; scenarios wait on what it has seen."""

    api: Api
    console: Console
    seen: list[Seen] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alert-watcher")

    async def _run(self) -> None:
        while True:
            try:
                headers = await self.api.headers(WATCHER)
                async with self.api.http.stream(
                    "GET", "/api/v1/events", headers=headers, timeout=None
                ) as r:
                    self.connected.set()
                    event = ""
                    async for line in r.aiter_lines():
                        if line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("data:") and event == "alert":
                            await self._got(json.loads(line[5:]))
            except asyncio.CancelledError:
                raise
            except (httpx.HTTPError, ValueError):
                pass  # the cloud restarts or the session expired: log in again and resubscribe
            self.connected.clear()
            self.api.forget(WATCHER)
            await asyncio.sleep(1)

    async def _got(self, doc: dict[str, Any]) -> None:
        seen = Seen(time.monotonic(), str(doc.get("event")), doc.get("alert") or {})
        if seen.event in ("raised", "escalated"):
            self.console.alert(seen.event, seen.alert, time.time())
        async with self._changed:
            self.seen.append(seen)
            self._changed.notify_all()

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], since: float, timeout: float
    ) -> Seen | None:
        """The first newly raised alert after `since` that matches, or None after timeout."""

        def found() -> Seen | None:
            for s in self.seen:
                if s.at >= since and s.event == "raised" and match(s.alert):
                    return s
            return None

        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
        return found()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


@dataclass
class Village:
    """What scenarios act on: the air, the API, who wears which band."""

    air: Air
    api: Api
    county: County
    watcher: AlertWatcher
    console: Console
    wearers: dict[int, str]  # band_id -> person name
    silent_s: int
    report_due: Callable[[dt.date], Any]
    today: Callable[[], dt.date]
    opened: set[int] = field(default_factory=set)  # straps the demo has cut (once is enough)
    _turn: int = 0

    def _next_band(self, usable: Callable[[int], bool]) -> int | None:
        """Each happening befalls the next wearer in turn, so alerts name different people."""
        order = list(self.wearers)
        for i in range(len(order)):
            band = order[(self._turn + i) % len(order)]
            if usable(band):
                self._turn += i + 1
                return band
        return None

    async def run(self, name: str) -> bool:
        """Make it happen and wait for the cloud's alert; True when it arrived."""
        since = time.monotonic()
        if name == "back":
            for band_id in list(self.air.away):
                await self.air.come_back(band_id)
                self.console.line(f"  ↩ 手环 band {band_id} 回到范围内 back in range")
            return True
        step = await self._trigger(name)
        if step is None:
            self.console.line(f"  · 没有可用的手环 no band is available for {name}")
            return False
        what, match, timeout = step
        self.console.line(f"  ▶ {what}")
        got = await self.watcher.wait_for(match, since, timeout)
        if got is None:
            self.console.line(f"  ✘ {timeout:.0f} 秒内未收到告警 no alert within {timeout:.0f} s")
            return False
        self.console.line(
            f"  ✔ 云平台已告警 the cloud raised it after {got.at - since:.1f} s "
            f"(alert #{got.alert.get('id')})"
        )
        return True

    async def _trigger(
        self, name: str
    ) -> tuple[str, Callable[[dict[str, Any]], bool], float] | None:
        def on_air(b: int) -> bool:
            return self.air.peripheral(b) is not None

        if name == "deadline":
            case_id = await open_late_case(self.api, self.county, self.today(), self.report_due)
            return (
                f"司法所登记新案件 #{case_id}，报到期限（第二十一条）将至 / a new case whose "
                "reporting deadline (Art. 21) falls due",
                lambda a: a.get("kind") == "deadline_due" and a.get("case_id") == case_id,
                60.0,
            )
        if name == "sos":
            band = self._next_band(on_air)
            if band is None:
                return None
            await self.air.peripheral(band).call("press_button", 4.0)
            who = f"{self.wearers[band]} (band {band})"
            return (
                f"{who} 按住 SOS 按钮 4 秒 / holds the SOS button for 4 s",
                lambda a: a.get("kind") == "sos" and a.get("band_id") == band,
                60.0,
            )
        if name == "tamper":
            strap_closed = {b for b in self.wearers if on_air(b) and b not in self.opened}
            band = self._next_band(lambda b: b in strap_closed)
            if band is None:
                return None
            self.opened.add(band)
            await self.air.peripheral(band).call("open_strap")
            return (
                f"{self.wearers[band]} (band {band}) 的表带被剪开 / strap cut open",
                lambda a: a.get("kind") == "tamper" and a.get("band_id") == band,
                60.0,
            )
        if name == "silent":
            band = self._next_band(on_air)
            if band is None:
                return None
            await self.air.leave(band)
            return (
                f"{self.wearers[band]} (band {band}) 离开网关范围；{self.silent_s} 秒无数据即告警 "
                f"/ out of range; alert after {self.silent_s} s without frames",
                lambda a: a.get("kind") == "band_silent" and a.get("band_id") == band,
                self.silent_s + 120.0,
            )
        raise ValueError(name)
