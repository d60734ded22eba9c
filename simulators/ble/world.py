"""A virtual radio neighbourhood: bands on a bumble LocalLink and the hub's way onto it.

A hub in the same process gets a `BumbleRadio` on the link. A hub in another process (the
crash tests run `sqjz hub` as a subprocess) gets a controller on the link whose HCI is served
over TCP: the hub's own bumble host drives it through `tcp-client:127.0.0.1:PORT`, exactly as
it would drive a USB dongle.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from simulators.ble.backend import BumbleRadio
from simulators.ble.controller import QuietController
from simulators.ble.peripheral import BandModel, BandPeripheral


class BleWorld:
    """Bands as peripherals on one LocalLink, plus hub-side access to the same air."""

    def __init__(self, speed: float = 1.0, tick_s: float = 0.05) -> None:
        self.link = LocalLink()
        self.speed = speed
        self.tick_s = tick_s
        self.peripherals: dict[int, BandPeripheral] = {}
        self._radios: list[BumbleRadio] = []
        self._served: list[tuple[Controller, Any]] = []

    async def add_band(self, band: BandModel, **kwargs: Any) -> BandPeripheral:
        """Put a band on the air."""
        kwargs.setdefault("speed", self.speed)
        kwargs.setdefault("tick_s", self.tick_s)
        p = await BandPeripheral(band, self.link, **kwargs).start()
        self.peripherals[band.band_id] = p
        return p

    async def remove_band(self, band_id: int) -> None:
        """Take a band off the air (walked away)."""
        p = self.peripherals.pop(band_id, None)
        if p is not None:
            await p.stop()

    async def radio(self) -> BumbleRadio:
        """A central on this link for a hub in this process."""
        r = await BumbleRadio(
            link=self.link, address=f"C0:00:00:00:00:{len(self._radios) + 1:02X}"
        ).open()
        self._radios.append(r)
        return r

    async def serve_controller(self) -> str:
        """A central controller on this link with its HCI on a TCP port; returns the transport."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        transport = await open_tcp_server_transport_with_socket(sock)
        controller = QuietController(
            f"hub-hci-{port}",
            host_source=transport.source,
            host_sink=transport.sink,
            link=self.link,
        )
        self._served.append((controller, transport))
        return f"tcp-client:127.0.0.1:{port}"

    async def central_lost(self) -> None:
        """The hub behind the served controllers died: its links drop (supervision timeout).

        Every band's link drops, so use it where the served hub is the only central.
        """
        await asyncio.gather(*(p.drop_link() for p in self.peripherals.values()))
        for controller, transport in self._served:
            with contextlib.suppress(KeyError):
                self.link.remove_controller(controller)
            with contextlib.suppress(Exception):
                await transport.close()
        self._served.clear()

    async def close(self) -> None:
        """Everything off the air."""
        for r in self._radios:
            await r.close()
        await self.central_lost()
        for band_id in list(self.peripherals):
            await self.remove_band(band_id)
