"""Live events to supervisors' browsers (server-sent events), scoped by region."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any


class Live:
    """Thread-safe fan-out: ingest and jobs publish, each SSE connection has its own queue."""

    def __init__(self) -> None:
        self._subs: list[
            tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]], frozenset[int]]
        ] = []
        self._lock = threading.Lock()

    def publish(self, event: dict[str, Any], unit_id: int | None) -> None:
        """Send an event to every subscriber whose region holds unit_id (None: everyone)."""
        with self._lock:
            subs = list(self._subs)
        for loop, q, scope in subs:
            if unit_id is None or unit_id in scope:
                loop.call_soon_threadsafe(q.put_nowait, event)

    @property
    def subscribers(self) -> int:
        """Connections listening now."""
        with self._lock:
            return len(self._subs)

    async def stream(self, scope: frozenset[int], heartbeat_s: float = 15.0) -> AsyncIterator[str]:
        """SSE text for one connection until it is closed."""
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        entry = (asyncio.get_running_loop(), q, scope)
        with self._lock:
            self._subs.append(entry)
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(q.get(), heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                data = json.dumps(event, ensure_ascii=False)
                yield f"event: {event.get('type', 'message')}\ndata: {data}\n\n"
        finally:
            with self._lock:
                self._subs.remove(entry)
