"""A bleak backend on bumble: the gateway's bleak code talking to simulated watches.

The gateway only uses bleak's public ``BleakScanner`` and ``BleakClient``; pointing them
at a ``BumbleAdapter`` makes them run over bumble's host stack on the virtual radio
(in-process ``VirtualRadio`` or the ``wearable sim radio`` hub)::

    async with BumbleAdapter.open_hub("127.0.0.1:7000") as adapter:
        device = await BleakScanner.find_device_by_address(
            address, backend=adapter.scanner_backend
        )
        async with BleakClient(device, pair=True, backend=adapter.client_backend) as client:
            ...

See ``docs/ble_backend.md``. bleak's backend API is not stable: written against bleak
3.1.0 and bumble 0.0.236, both pinned.
"""

from bumble_radio.bleak_backend.adapter import (
    DEFAULT_ADDRESS,
    AdapterStats,
    BumbleAdapter,
    PasskeyProvider,
)
from bumble_radio.bleak_backend.client import BumbleClient
from bumble_radio.bleak_backend.scanner import BumbleScanner

__all__ = [
    "DEFAULT_ADDRESS",
    "AdapterStats",
    "BumbleAdapter",
    "BumbleClient",
    "BumbleScanner",
    "PasskeyProvider",
]
