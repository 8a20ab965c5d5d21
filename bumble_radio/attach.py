"""Attach a bumble host to a radio: the in-process link or a hub over TCP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bumble.host import Host
from bumble.transport import open_transport

from bumble_radio.address import RadioUnreachableError, radio_address_parse
from bumble_radio.local import VirtualRadio
from bumble_radio.quiet import QuietHost


@contextlib.asynccontextmanager
async def hub_host_open(address: str) -> AsyncIterator[Host]:
    """A host whose controller lives in a ``wearable sim radio`` hub at ``HOST:PORT``.

    Raises :class:`~bumble_radio.address.RadioUnreachableError` (naming the fix) when
    nothing listens there; only the connect is translated, not errors of the body.
    """
    host_name, port = radio_address_parse(address)
    try:
        transport = await open_transport(f"tcp-client:{host_name}:{port}")
    except OSError as error:
        raise RadioUnreachableError(address, error.strerror or str(error)) from error
    async with transport:
        yield QuietHost(transport.source, transport.sink)


def new_local_host(radio: VirtualRadio, name: str) -> Host:
    """A host on the in-process radio."""
    return radio.new_host(name)
