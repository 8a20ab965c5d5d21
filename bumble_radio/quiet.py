"""bumble Controller and Host without per-packet debug formatting, with full-size ACL.

bumble formats every HCI packet into a debug f-string before ``logger.debug`` sees it,
which dominates CPU once dozens of watches notify every second. These subclasses skip
that work unless DEBUG logging is actually enabled, and raise the virtual controller's
27-byte LE ACL buffers to the 251-byte maximum of LE Data Length Extension, so one
notification is one ACL packet instead of ten.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bumble import hci
from bumble.controller import Controller
from bumble.host import Host

_controller_logger = logging.getLogger("bumble.controller")
_host_logger = logging.getLogger("bumble.host")

#: Largest LE ACL payload a controller may use (LE Data Length Extension).
LE_MAX_ACL_OCTETS = 251


class QuietController(Controller):
    """A bumble virtual controller tuned for throughput."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.le_acl_data_packet_length = LE_MAX_ACL_OCTETS
        self.acl_data_packet_length = LE_MAX_ACL_OCTETS
        self.supported_max_tx_octets = LE_MAX_ACL_OCTETS
        self.supported_max_rx_octets = LE_MAX_ACL_OCTETS
        self.suggested_max_tx_octets = LE_MAX_ACL_OCTETS

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _controller_logger.isEnabledFor(logging.DEBUG):
            super().on_hci_packet(packet)
            return
        match packet:
            case hci.HCI_Command():
                self.on_hci_command_packet(packet)
            case hci.HCI_AclDataPacket():
                self.on_hci_acl_data_packet(packet)
            case hci.HCI_Event():
                self.on_hci_event_packet(packet)
            case _:
                _controller_logger.warning("unknown HCI packet type %s", packet.hci_packet_type)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _controller_logger.isEnabledFor(logging.DEBUG):
            super().send_hci_packet(packet)
            return
        if self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        """Cancel a pending LE connect, as Vol 4, Part E, 7.8.13 requires.

        bumble's virtual controller acknowledges the cancel but keeps the connect pending,
        so the next connect is refused and the old one completes later, when the device
        comes back, on a link nobody asked for. A real controller drops the attempt and
        reports an LE Connection Complete with "Unknown Connection Identifier".
        """
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        loop = asyncio.get_running_loop()
        # The Command Complete for the cancel is queued after this returns; the failed
        # connection event must follow it.
        loop.call_soon(loop.call_soon, self._report_cancelled_connect, pending.peer_address)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def _report_cancelled_connect(self, peer_address: hci.Address) -> None:
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=peer_address.address_type,
                peer_address=peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
        )


class QuietHost(Host):
    """A bumble Host that skips per-packet debug formatting."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _host_logger.isEnabledFor(logging.DEBUG) or self.snooper:
            super().send_hci_packet(packet)
            return
        if self.hci_sink:
            self.hci_sink.on_packet(bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _host_logger.isEnabledFor(logging.DEBUG) or self.snooper:
            super().on_hci_packet(packet)
            return
        match packet:
            case hci.HCI_Event():
                self.on_hci_event_packet(packet)
            case hci.HCI_AclDataPacket():
                self.on_hci_acl_data_packet(packet)
            case _:
                # Commands, SCO and ISO are rare here: let bumble handle (and log) them.
                super().on_hci_packet(packet)
