"""The bleak scanner backend: advertisements heard by a ``BumbleAdapter``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.exc import BleakError
from bumble import hci

if TYPE_CHECKING:
    from bumble_radio.bleak_backend.adapter import BumbleAdapter


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend on a bumble central.

    Don't pass this class to ``BleakScanner`` directly: bleak instantiates backends
    itself, so use ``adapter.scanner_backend``, a subclass bound to one adapter.

    Every scanner on an adapter shares one bumble scan (active, duplicates reported), so
    ``scanning_mode="passive"`` is accepted but sees scan responses too. ``service_uuids``
    must be full 128-bit strings, as with bleak's other backends.
    """

    #: Set on the subclass ``BumbleAdapter.scanner_backend`` returns.
    _bound_adapter: ClassVar[BumbleAdapter | None] = None

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        adapter = type(self)._bound_adapter
        if adapter is None:
            raise BleakError("use BumbleAdapter.scanner_backend as the bleak backend")
        self._adapter = adapter
        self._active = False

    async def start(self) -> None:
        """Start receiving advertisements (clears ``seen_devices``, as bleak requires)."""
        self.seen_devices = {}
        if not self._active:
            await self._adapter._add_scanner(self)
            self._active = True

    async def stop(self) -> None:
        """Stop receiving advertisements; the bumble scan stops with the last scanner."""
        if self._active:
            self._active = False
            await self._adapter._remove_scanner(self)

    def _on_advertisement(
        self, address: str, details: hci.Address, advertisement: AdvertisementData
    ) -> None:
        """Called by the adapter for every advertisement while this scanner runs."""
        if not self.is_allowed_uuid(advertisement.service_uuids):
            return
        name = advertisement.local_name
        if name is None:
            # Keep a name heard earlier (e.g. in a scan response) rather than forgetting it.
            seen = self.seen_devices.get(address)
            if seen is not None:
                name = seen[0].name
        device = self.create_or_update_device(address, address, name, details, advertisement)
        self.call_detection_callbacks(device, advertisement)
