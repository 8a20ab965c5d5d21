"""The radio hub: every TCP client gets its own virtual controller on one shared link.

Clients speak standard HCI with H4 framing over TCP, so any HCI host (our watch farm,
our gateway, bumble's own tools with a ``tcp-client:`` transport) can join. When a
client goes away, its peers see the link drop after a supervision timeout, as they
would if a real device vanished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from bumble import hci
from bumble.link import LocalLink
from bumble.transport.common import StreamPacketSink, StreamPacketSource

from bumble_radio.address import RadioListenError
from bumble_radio.quiet import QuietController

logger = logging.getLogger(__name__)


@dataclass
class HubStats:
    clients_connected: int = 0
    clients_total: int = 0
    bytes_from_clients: int = 0
    supervision_timeouts: int = 0
    names: list[str] = field(default_factory=list)


class _ClientProtocol(asyncio.Protocol):
    def __init__(self, hub: RadioHub) -> None:
        self.hub = hub
        self.source = StreamPacketSource()
        self.controller: QuietController | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self.controller = self.hub._attach(transport, self.source)

    def data_received(self, data: bytes) -> None:
        self.hub.stats.bytes_from_clients += len(data)
        self.source.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.controller is not None:
            self.hub._detach(self.controller)


class RadioHub:
    """Serve a shared virtual radio on ``host:port`` (port 0 picks a free one).

    Parameters
    ----------
    host, port
        Where to listen; keep it on loopback.
    supervision_timeout_s
        Wall-clock seconds after a client vanishes before its peers see the link drop.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, supervision_timeout_s: float = 2.0
    ) -> None:
        self.host = host
        self.port = port
        self.supervision_timeout_s = supervision_timeout_s
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.stats = HubStats()
        self._server: asyncio.Server | None = None
        self._serial = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _ClientProtocol(self), self.host, self.port
            )
        except OSError as error:
            # EADDRINUSE, EADDRNOTAVAIL (a host not on this machine), EACCES (port < 1024).
            raise RadioListenError(
                f"{self.host}:{self.port}", error.strerror or str(error)
            ) from error
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("radio hub listening on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    def _attach(
        self, transport: asyncio.WriteTransport, source: StreamPacketSource
    ) -> QuietController:
        self._serial += 1
        name = f"hub-{self._serial}"
        controller = QuietController(name, link=self.link)
        controller.host = StreamPacketSink(transport)
        source.set_packet_sink(controller)
        self.stats.clients_connected += 1
        self.stats.clients_total += 1
        self.stats.names.append(name)
        logger.debug("controller %s attached", name)
        return controller

    def _detach(self, controller: QuietController) -> None:
        self.stats.clients_connected -= 1
        controller.host = None
        with contextlib.suppress(KeyError):
            self.link.remove_controller(controller)
        peers = list(controller.le_connections.values())
        if peers:
            asyncio.get_running_loop().call_later(
                self.supervision_timeout_s, self._time_out_peers, controller, peers
            )

    def _time_out_peers(self, controller: QuietController, connections: list[Any]) -> None:
        for connection in connections:
            peer_address = getattr(connection, "peer_address", None)
            self_address = getattr(connection, "self_address", None)
            if peer_address is None or self_address is None:
                continue
            peer = self.link.find_le_controller(peer_address)
            if peer is None:
                continue
            peer_connection = peer.le_connections.get(self_address)
            if peer_connection is not None:
                self.stats.supervision_timeouts += 1
                peer.on_le_disconnected(peer_connection, hci.HCI_CONNECTION_TIMEOUT_ERROR)
