"""Attach a bumble host to a radio: the in-process link or a hub over TCP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bumble.host import Host
from bumble.transport import open_transport

from bumble_radio.address import parse_radio_address
from bumble_radio.local import VirtualRadio
from bumble_radio.quiet import QuietHost


@contextlib.asynccontextmanager
async def open_hub_host(address: str) -> AsyncIterator[Host]:
    """A host whose controller lives in a ``wearable sim radio`` hub at ``HOST:PORT``."""
    host_name, port = parse_radio_address(address)
    async with await open_transport(f"tcp-client:{host_name}:{port}") as transport:
        yield QuietHost(transport.source, transport.sink)


def new_local_host(radio: VirtualRadio, name: str) -> Host:
    """A host on the in-process radio."""
    return radio.new_host(name)
