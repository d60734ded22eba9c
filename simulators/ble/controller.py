"""bumble's virtual controller without the per-packet debug text on the data path.

bumble's `Controller` builds a coloured description of every HCI packet for `logger.debug`
before the logger decides to drop it; on a virtual link that formatting costs more than the
radio itself (most of the CPU of a notification burst in a profile here). Data packets skip
it unless debug logging is on; commands and events keep bumble's own handling.
"""

from __future__ import annotations

import asyncio
import logging

from bumble import hci
from bumble.controller import Controller

_bumble_log = logging.getLogger("bumble.controller")


class QuietController(Controller):
    """A bumble Controller whose ACL data path does not format packets for a disabled log."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _bumble_log.isEnabledFor(logging.DEBUG):
            super().send_hci_packet(packet)
        elif self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if isinstance(packet, hci.HCI_AclDataPacket) and not _bumble_log.isEnabledFor(
            logging.DEBUG
        ):
            self.on_hci_acl_data_packet(packet)
            return
        super().on_hci_packet(packet)
