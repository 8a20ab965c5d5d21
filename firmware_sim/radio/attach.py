"""Attach a bumble host to a radio: the in-process link or a hub over TCP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bumble.host import Host
from bumble.transport import open_transport

from firmware_sim.radio.local import VirtualRadio
from firmware_sim.radio.quiet import QuietHost


def parse_radio_address(text: str, *, listening: bool = False) -> tuple[str, int]:
    """Split ``HOST:PORT``; raise ``ValueError`` naming the fix if malformed.

    Port 0 ("pick a free port") is only meaningful when ``listening``.

    Examples
    --------
    >>> parse_radio_address("127.0.0.1:7000")
    ('127.0.0.1', 7000)
    """
    host, sep, port = text.rpartition(":")
    lowest = 0 if listening else 1
    if not sep or not host or not port.isdigit() or not lowest <= int(port) < 65536:
        raise ValueError(f"radio address {text!r} is not HOST:PORT (e.g. 127.0.0.1:7000)")
    return host, int(port)


@contextlib.asynccontextmanager
async def open_hub_host(address: str) -> AsyncIterator[Host]:
    """A host whose controller lives in a ``wearable sim radio`` hub at ``HOST:PORT``."""
    host_name, port = parse_radio_address(address)
    async with await open_transport(f"tcp-client:{host_name}:{port}") as transport:
        yield QuietHost(transport.source, transport.sink)


def new_local_host(radio: VirtualRadio, name: str) -> Host:
    """A host on the in-process radio."""
    return radio.new_host(name)
