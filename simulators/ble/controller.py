"""bumble's virtual controller and host without the per-packet debug text on the data path.

bumble's `Controller` builds a coloured description of every HCI packet for `logger.debug`
before the logger decides to drop it; on a virtual link that formatting costs more than the
radio itself (most of the CPU of a notification burst in a profile here). Data packets skip
it unless debug logging is on; commands and events keep bumble's own handling.
"""

from __future__ import annotations

import asyncio
import logging

from bumble import core, hci
from bumble.controller import Controller
from bumble.host import Host

_bumble_log = logging.getLogger("bumble.controller")
_host_log = logging.getLogger("bumble.host")


class QuietHost(Host):
    """A bumble Host that does not format every ACL packet for a disabled debug log."""

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        # Events and ACL data are most of a burst (a Number_Of_Completed_Packets event per
        # notification); bumble's own dispatch runs when debugging or snooping.
        if self.snooper is not None or _host_log.isEnabledFor(logging.DEBUG):
            super().on_hci_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        elif isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)
        else:
            super().on_hci_packet(packet)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if (
            isinstance(packet, hci.HCI_AclDataPacket)
            and self.snooper is None
            and self.hci_sink is not None
            and not _host_log.isEnabledFor(logging.DEBUG)
        ):
            self.hci_sink.on_packet(bytes(packet))
            return
        super().send_hci_packet(packet)


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

    def on_hci_disconnect_command(self, command: hci.HCI_Disconnect_Command) -> None:
        # A real controller ends a link whose peer has gone (supervision timeout). bumble's link
        # raises when the peer's controller has left the air, before the link is closed here,
        # so the host would wait for ever and every later connect would find it "already exists".
        try:
            super().on_hci_disconnect_command(command)
        except core.InvalidArgumentError:
            connection = self.find_le_connection_by_handle(command.connection_handle)
            if connection is not None:
                self.on_le_disconnected(connection, hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        # bumble's controller acknowledges the cancel but keeps the pending connection, which
        # then fires the next time the band advertises: a link its host never asked for, and
        # every later attempt refused (COMMAND_DISALLOWED). A real controller drops it and
        # reports the attempt ended (Vol 4, Part E, 7.8.13).
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
        )
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)
