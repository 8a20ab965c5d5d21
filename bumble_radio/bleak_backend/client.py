"""The bleak client backend: one GATT connection through a ``BumbleAdapter``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bumble import att, gatt_client, hci
from bumble.device import Connection

from bumble_radio.bleak_backend.errors import bleak_errors
from bumble_radio.bleak_backend.gatt import (
    CCCD_INDICATE,
    CCCD_NOTIFY,
    CCCD_OFF,
    CCCD_UUID,
    DEVICE_NAME_UUID,
    discover,
    quiet_client_install,
    service_collection,
)

if TYPE_CHECKING:
    from bumble_radio.bleak_backend.adapter import BumbleAdapter

_T = TypeVar("_T")

#: ATT MTU we ask for: bumble's maximum, and what an accelerometer record (~177 bytes)
#: needs to fit in one notification.
PREFERRED_MTU: Final = 247
#: How long cleaning up a half-set-up link may take before we give up on it.
_ABANDON_TIMEOUT_S: Final = 2.0

#: bumble's per-handle subscriber sets (``Client.notification_subscribers`` and
#: ``indication_subscribers``).
_SubscriberSets = dict[int, set[gatt_client.CharacteristicProxy[Any] | Callable[[bytes], Any]]]


class BumbleClient(BaseBleakClient):
    """bleak client backend on a bumble central.

    Don't pass this class to ``BleakClient`` directly: bleak instantiates backends
    itself, so use ``adapter.client_backend``, a subclass bound to one adapter.

    ``address_or_ble_device`` is a ``BLEDevice`` from a ``BumbleScanner`` (its
    ``details`` is the bumble address, with its type) or an address string, taken as a
    random address (``"…/P"`` for a public one).
    """

    #: Set on the subclass ``BumbleAdapter.client_backend`` returns.
    _bound_adapter: ClassVar[BumbleAdapter | None] = None

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        services: Collection[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        adapter = type(self)._bound_adapter
        if adapter is None:
            raise BleakError("use BumbleAdapter.client_backend as the bleak backend")
        self._adapter = adapter
        peer: hci.Address | None = None
        self._name: str | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            self._name = address_or_ble_device.name
            if isinstance(address_or_ble_device.details, hci.Address):
                peer = address_or_ble_device.details
        if peer is None:
            try:
                peer = hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS)
            except ValueError as error:
                raise BleakError(f"{self.address!r} is not a Bluetooth address") from error
        self._peer = peer
        self._key = peer.to_string(with_type_qualifier=False)
        #: bleak passes the ``services=`` filter normalized to 128-bit strings.
        self._service_filter = services
        self._connection: Connection | None = None
        self._gatt: gatt_client.Client | None = None
        #: characteristic value handle -> (bumble's subscriber sets, our subscriber).
        self._subscriptions: dict[int, tuple[_SubscriberSets, Callable[[bytes], None]]] = {}
        self._established = False
        self._disconnecting = False

    # ----------------------------------------------------------------- properties
    @property
    def name(self) -> str:
        """Advertised name, else the GAP Device Name, else the address with dashes."""
        return self._name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU (23 when not connected)."""
        connection = self._connection
        return att.ATT_DEFAULT_MTU if connection is None else connection.att_mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    def _max_write_without_response(self) -> int:
        return self.mtu_size - 3

    # --------------------------------------------------------------- connection
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU, secure the link and discover services.

        With ``pair`` the link is encrypted with the stored bond, or paired and bonded if
        there is none. Without it, a stored bond is still used (never a new pairing).

        The whole procedure must finish within the client's ``timeout``. A device that is
        not advertising (or not connectable) in that time raises
        ``BleakDeviceNotFoundError``; every other failure a ``BleakError``.
        """
        if self._connection is not None:
            return
        timeout = float(kwargs.get("timeout", self._timeout))
        deadline = asyncio.get_running_loop().time() + timeout
        connection = await self._adapter._connect(self._peer, deadline)
        try:
            async with asyncio.timeout_at(deadline):
                await self._set_up(connection, pair)
        except TimeoutError:
            await self._abandon(connection)
            raise BleakError(
                f"{self._key}: connection set-up did not finish within {timeout:g} s"
            ) from None
        except BaseException:
            await self._abandon(connection)
            raise

    async def _set_up(self, connection: Connection, pair: bool) -> None:
        self._connection = connection
        connection.on(
            connection.EVENT_DISCONNECTION,
            lambda reason: self._on_disconnection(connection, reason),
        )
        if self._adapter.device.connections.get(connection.handle) is not connection:
            # The link went down before we were listening.
            self._reset()
            raise BleakError(f"{self._key}: disconnected during connect")
        gatt = quiet_client_install(connection)
        self._gatt = gatt
        await self._run("MTU exchange", connection, lambda: gatt.request_mtu(PREFERRED_MTU))
        if pair:
            await self._secure(connection)
        elif await self._adapter._has_bond(connection.peer_address):
            # OS stacks encrypt a bonded peer's link without being asked; so do we. That
            # is not pairing: with a stale bond (the device forgot us) the link stays up,
            # unencrypted, as if there were no bond.
            try:
                await self._encrypt_with_bond(connection)
            except BleakError:
                self._live()
        found = await self._run(
            "service discovery", connection, lambda: discover(gatt, self._service_filter)
        )
        services = service_collection(found, self._max_write_without_response)
        if self._name is None:
            self._name = self._adapter._advertised_name(self._key)
        if self._name is None:
            device_name = services.get_characteristic(DEVICE_NAME_UUID)
            if device_name is not None:
                with contextlib.suppress(BleakError):
                    raw = await self.read_gatt_char(device_name)
                    self._name = raw.decode("utf-8", "replace") or None
        self._live()  # the link may have dropped between two requests
        self.services = services
        self._established = True
        self._adapter.stats.connections += 1

    async def _abandon(self, connection: Connection) -> None:
        """Drop a link whose set-up failed; nobody else will use it."""
        self._disconnecting = True
        try:
            if self._adapter.device.connections.get(connection.handle) is connection:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(_ABANDON_TIMEOUT_S):
                        await connection.disconnect()
        finally:
            self._disconnecting = False
            self._reset()

    def _reset(self) -> None:
        self._connection = None
        self._gatt = None
        self._subscriptions.clear()
        self._established = False
        self.services = None

    def _on_disconnection(self, connection: Connection, _reason: int) -> None:
        if self._connection is not connection:
            return
        established = self._established
        self._reset()
        if established and not self._disconnecting:
            self._adapter.stats.drops += 1
            callback = self._disconnected_callback
            if callback is not None:
                # Scheduled, as bleak documents, so a failing callback can't break
                # bumble's event dispatch.
                asyncio.get_running_loop().call_soon(callback)

    async def disconnect(self) -> None:
        """Disconnect; does not call the disconnected callback (it was solicited)."""
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            with bleak_errors("disconnect", self._key):
                await connection.disconnect()
        except BleakError:
            if self._connection is connection:
                raise
        finally:
            self._disconnecting = False

    # ------------------------------------------------------------------ security
    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Encrypt with the stored bond, or pair and bond (LE Secure Connections).

        A no-op on an encrypted link. A bond the device no longer has raises a
        ``BleakError``; ``unpair()`` then connect again to pair afresh.
        """
        connection, _ = self._live()
        await self._secure(connection)

    async def _secure(self, connection: Connection) -> None:
        if connection.is_encrypted:
            return
        if await self._adapter._has_bond(connection.peer_address):
            try:
                await self._encrypt_with_bond(connection)
            except BleakError as error:
                if self._connection is not connection:
                    raise
                raise BleakError(
                    f"{self._key}: the stored bond was refused ({error}); the device may have"
                    " forgotten it: unpair() and connect again to pair afresh"
                ) from error
        else:
            await self._run("pairing", connection, connection.pair)
            self._adapter.stats.pairings += 1

    async def _encrypt_with_bond(self, connection: Connection) -> None:
        await self._run("encryption with the stored bond", connection, connection.encrypt)
        self._adapter.stats.bond_encryptions += 1

    async def unpair(self) -> None:
        """Disconnect and forget the bond (the next ``pair`` pairs afresh)."""
        await self.disconnect()
        await self._adapter._forget(self._peer)

    # ----------------------------------------------------------------------- I/O
    def _live(self) -> tuple[Connection, gatt_client.Client]:
        connection, gatt = self._connection, self._gatt
        if connection is None or gatt is None:
            raise BleakError(f"{self._key}: not connected")
        return connection, gatt

    async def _run(
        self, operation: str, connection: Connection, start: Callable[[], Awaitable[_T]]
    ) -> _T:
        """Run one bumble procedure on ``connection``, aborted if the link drops.

        bumble sends on a vanished link without complaint and then waits 30 s for a
        response, so the procedure only starts if the link is still up and is cancelled
        by the disconnection; either way the caller gets a bleak error at once.
        """
        if self._connection is not connection:
            raise BleakError(f"{self._key}: disconnected before {operation}")
        with bleak_errors(operation, self._key):
            return await connection.cancel_on_disconnection(start())

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        connection, gatt = self._live()
        handle = characteristic.handle
        if use_cached:
            cached = gatt.cached_values.get(handle)
            if cached is not None:
                return bytearray(cached[1])
        return bytearray(await self._run("read", connection, lambda: gatt.read_value(handle)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        connection, gatt = self._live()
        handle = descriptor.handle
        if use_cached:
            cached = gatt.cached_values.get(handle)
            if cached is not None:
                return bytearray(cached[1])
        return bytearray(
            await self._run("descriptor read", connection, lambda: gatt.read_value(handle))
        )

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        connection, gatt = self._live()
        handle = characteristic.handle
        value = bytes(data)
        if not response and len(value) > connection.att_mtu - 3:
            # A Write Command can't be split; bumble would send an oversized PDU.
            raise BleakError(
                f"{self._key}: {len(value)} bytes exceed the {connection.att_mtu - 3}-byte"
                " limit of a write without response"
            )
        await self._run(
            "write", connection, lambda: gatt.write_value(handle, value, with_response=response)
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        connection, gatt = self._live()
        handle = descriptor.handle
        value = bytes(data)
        await self._run(
            "descriptor write",
            connection,
            lambda: gatt.write_value(handle, value, with_response=True),
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Subscribe: notifications when the characteristic has them, else indications.

        ``callback`` gets a fresh ``bytearray`` per value (the only allocation per
        notification on our side). A second ``start_notify`` replaces the callback.
        """
        connection, gatt = self._live()
        cccd = characteristic.get_descriptor(CCCD_UUID)
        if cccd is None:
            raise BleakError(
                f"{self._key}: {characteristic.uuid} has no Client Characteristic"
                " Configuration descriptor"
            )
        cccd_handle = cccd.handle
        properties = characteristic.properties
        subscribers: _SubscriberSets
        if "notify" in properties:
            subscribers, enable = gatt.notification_subscribers, CCCD_NOTIFY
        elif "indicate" in properties:
            subscribers, enable = gatt.indication_subscribers, CCCD_INDICATE
        else:
            raise BleakError(f"{self._key}: {characteristic.uuid} neither notifies nor indicates")

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        # Registered with bumble directly rather than through Client.subscribe, which
        # leaves its subscriber behind when the CCCD write fails and also makes every
        # notification emit an event on the characteristic proxy.
        handle = characteristic.handle
        self._unsubscribe_locally(handle)
        subscribers.setdefault(handle, set()).add(on_value)
        self._subscriptions[handle] = (subscribers, on_value)
        try:
            await self._run(
                "start_notify",
                connection,
                lambda: gatt.write_value(cccd_handle, enable, with_response=True),
            )
        except BaseException:
            self._unsubscribe_locally(handle)
            raise

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        connection, gatt = self._live()
        cccd = characteristic.get_descriptor(CCCD_UUID)
        try:
            if cccd is not None:
                cccd_handle = cccd.handle
                await self._run(
                    "stop_notify",
                    connection,
                    lambda: gatt.write_value(cccd_handle, CCCD_OFF, with_response=True),
                )
        finally:
            # After the CCCD write, so values still in flight reach the callback rather
            # than bumble's "notification with no subscriber" warning.
            self._unsubscribe_locally(characteristic.handle)

    def _unsubscribe_locally(self, handle: int) -> None:
        entry = self._subscriptions.pop(handle, None)
        if entry is None:
            return
        subscribers, subscriber = entry
        registered = subscribers.get(handle)
        if registered is not None:
            registered.discard(subscriber)
            if not registered:
                del subscribers[handle]
