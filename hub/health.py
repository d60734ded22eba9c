"""A tiny HTTP status endpoint on localhost: GET /health (JSON), for the kiosk and technicians."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

_MAX_REQUEST = 4096


class HealthServer:
    """Answers GET /health with the hub's status and GET /bands with permitted presence."""

    def __init__(self, routes: dict[str, Callable[[], dict[str, Any]]]) -> None:
        self.routes = routes
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen (port 0 picks a free one; see .port)."""
        self._server = await asyncio.start_server(self._handle, host, port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            parts = head[:_MAX_REQUEST].split(b"\r\n", 1)[0].decode("latin-1").split()
            status, body = self._answer(parts)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, body = "400 Bad Request", {"error": "bad request"}
        data = json.dumps(body, ensure_ascii=False).encode()
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    def _answer(self, parts: list[str]) -> tuple[str, dict[str, Any]]:
        if len(parts) < 2 or parts[0] != "GET":
            return "405 Method Not Allowed", {"error": "GET only"}
        route = self.routes.get(parts[1].split("?", 1)[0])
        if route is None:
            return "404 Not Found", {"error": "not found", "routes": sorted(self.routes)}
        return "200 OK", route()
