"""Find devices and keep a link running for each: discovery by service UUID.

The scanner runs for as long as the gateway does (advertisements only come from devices
that are not connected, so it costs little once everyone is linked). Each new device
that passes the allow-list gets a :class:`~gateway.ble.link.DeviceLink`; links share one
connect slot because only one LE connection may be in flight on an adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from bleak import BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from gateway.ble.link import DeviceLink
from gateway.config import BleConfig
from gateway.ingest import Ingestor
from gateway.store import Store

logger = logging.getLogger(__name__)

#: Bounds on the way out (see :meth:`ConnectionManager.run`). Together with the store's
#: flush and checkpoint they keep a stop under 5 s.
SCANNER_STOP_TIMEOUT_S = 1.0
LINK_STOP_TIMEOUT_S = 2.5
LINK_CANCEL_TIMEOUT_S = 0.5


class ConnectionManager:
    """Discovers devices and runs one :class:`DeviceLink` per device.

    Parameters
    ----------
    config
        BLE settings.
    store, ingestor
        Where data goes.
    scanner_backend, client_backend
        bleak backend types; ``None`` uses the platform's Bluetooth adapter.
    seed
        Seeds the backoff jitter (deterministic tests).
    """

    def __init__(
        self,
        config: BleConfig,
        store: Store,
        ingestor: Ingestor,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        seed: int | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.ingestor = ingestor
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.links: dict[str, DeviceLink] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._connect_slot = asyncio.Lock()
        self._rng = random.Random(seed)
        self._stop = asyncio.Event()
        self.ignored: set[str] = set()

    def _allowed(self, device: BLEDevice, name: str) -> bool:
        allow = self.config.devices
        if allow and device.address not in allow and name not in allow:
            return False
        return len(self.links) < self.config.max_devices

    def _on_advertisement(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        if device.address in self.links or self._stop.is_set():
            return
        name = advertisement.local_name or device.name or ""
        if not self._allowed(device, name):
            if device.address not in self.ignored:
                self.ignored.add(device.address)
                logger.info(
                    "ignoring device", extra={"device": device.address, "device_name": name}
                )
            return
        link = DeviceLink(
            device,
            name,
            self.config,
            self.store,
            self.ingestor,
            self._connect_slot,
            client_backend=self.client_backend,
            rng=random.Random(self._rng.random()),
        )
        self.links[device.address] = link
        self.store.devices.upsert(device.address, name=name, connection_state="discovered")
        logger.info("discovered", extra={"device": device.address, "device_name": name})
        self._tasks[device.address] = asyncio.ensure_future(link.run(self._stop))

    async def run(self, stop: asyncio.Event) -> None:
        """Scan and serve until ``stop``; then stop every link, within a bounded time.

        Each link cancels its own pending connect or backfill when ``stop`` is set and
        disconnects (:meth:`DeviceLink.run`). A link still running after
        :data:`LINK_STOP_TIMEOUT_S` is cancelled, and waited for at most
        :data:`LINK_CANCEL_TIMEOUT_S` more: the service must stop well within systemd's
        ``TimeoutStopSec`` (30 s in the documented unit), whatever the radio does.
        """
        scanner = BleakScanner(
            self._on_advertisement,
            service_uuids=list(self.config.service_uuids),
            backend=self.scanner_backend,
        )
        await scanner.start()
        try:
            await stop.wait()
        finally:
            self._stop.set()
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                await asyncio.wait_for(scanner.stop(), SCANNER_STOP_TIMEOUT_S)
            await self._stop_links()

    async def _stop_links(self) -> None:
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=LINK_STOP_TIMEOUT_S)
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, stuck = await asyncio.wait(pending, timeout=LINK_CANCEL_TIMEOUT_S)
        logger.warning(
            "links did not stop in time; cancelled",
            extra={"cancelled": len(pending), "still_running": len(stuck)},
        )
