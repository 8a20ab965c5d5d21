"""``BumbleAdapter``: the gateway's radio as one bumble central shared by bleak backends."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import hci, pairing
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.device import Advertisement, Connection, Device, DeviceConfiguration
from bumble.host import Host
from bumble.keys import KeyStore, MemoryKeyStore

from bumble_radio.attach import hub_host_open
from bumble_radio.bleak_backend.advertising import advertisement_data
from bumble_radio.bleak_backend.client import BumbleClient
from bumble_radio.bleak_backend.errors import bleak_errors
from bumble_radio.bleak_backend.keystore import PrivateJsonKeyStore
from bumble_radio.bleak_backend.scanner import BumbleScanner
from bumble_radio.local import VirtualRadio

#: The gateway's default random static address (two top bits set).
DEFAULT_ADDRESS: Final = "F0:57:A7:E0:00:01"
#: An advertisement this recent means the device is there to connect to.
_FRESH_S: Final = 0.5
#: Forget advertisers not heard for this long once the table grows past _SEEN_PRUNE_AT.
_SEEN_FORGET_S: Final = 60.0
_SEEN_PRUNE_AT: Final = 4096
#: Cap on tidying up a link during ``close``.
_CLOSE_DISCONNECT_TIMEOUT_S: Final = 2.0

PasskeyProvider = Callable[[str], int | None]


@dataclass
class AdapterStats:
    """Counters for observability and tests."""

    #: Connections fully set up (connected, secured if asked, services discovered).
    connections: int = 0
    #: Links secured by pairing afresh.
    pairings: int = 0
    #: Links secured by re-encrypting with a stored bond.
    bond_encryptions: int = 0
    #: Established links that went down without ``disconnect()`` (drops, timeouts).
    drops: int = 0
    #: Connects given up at their deadline that the controller completed later (closed).
    late_connections: int = 0


class _PasskeyEntry(pairing.PairingDelegate):
    """A phone keyboard: types the passkey the watch displays."""

    def __init__(self, passkey: int) -> None:
        super().__init__(io_capability=pairing.PairingDelegate.IoCapability.KEYBOARD_INPUT_ONLY)
        self._passkey = passkey

    async def get_number(self) -> int | None:
        return self._passkey


class _GatewayDevice(Device):
    """A bumble Device that doesn't scan on its own before connecting to a bonded peer.

    bumble's ``connect`` looks for a bonded peer's current address by starting and
    stopping a scan itself, behind the back of any ``BleakScanner`` running on the same
    controller. The adapter has always just heard the peer advertise when it connects,
    so it answers from its own table and only falls back to bumble's search (while
    holding a scan session, so bumble leaves the scan state alone) for a peer it can't
    place.
    """

    adapter: BumbleAdapter

    async def find_peer_by_identity_address(self, identity_address: hci.Address) -> hci.Address:
        seen = self.adapter._recently_advertised(
            identity_address.to_string(with_type_qualifier=False)
        )
        if seen is not None:
            return seen
        async with self.adapter._scan_session():
            return await super().find_peer_by_identity_address(identity_address)


def _identity_resolving_key(address: str) -> bytes:
    # Derived from the address so it survives restarts together with the keystore: a
    # bonded watch keeps recognizing us. Privacy is out of scope for the simulation; a
    # phone would keep a random IRK next to its bonds.
    return hashlib.sha256(b"wearable-gateway-irk/" + address.upper().encode()).digest()[:16]


class BumbleAdapter:
    """One bumble Device (the gateway's radio) shared by every scanner and client.

    bleak instantiates backend classes itself, so the adapter hands out subclasses bound
    to it: ``BleakScanner(..., backend=adapter.scanner_backend)`` and
    ``BleakClient(..., backend=adapter.client_backend)``.

    Parameters
    ----------
    host
        A bumble host attached to a controller (a ``VirtualRadio`` host, a hub
        connection, or real HCI).
    address
        Our random static identity address.
    keystore_path
        A bumble ``JsonKeyStore`` file so bonds survive restarts, written mode 0600
        (:class:`PrivateJsonKeyStore`); in memory when None.
    passkey
        The passkey to type for a device address (``"AA:BB:…"``); None (or a provider
        returning None) pairs with Just Works. MITM protection is requested only when a
        passkey is provided.
    """

    def __init__(
        self,
        host: Host,
        *,
        address: str = DEFAULT_ADDRESS,
        keystore_path: Path | None = None,
        passkey: PasskeyProvider | None = None,
    ) -> None:
        config = DeviceConfiguration(
            name="wearable-gateway",
            address=hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS),
        )
        config.irk = _identity_resolving_key(address)
        device = _GatewayDevice(config=config, host=host)
        device.adapter = self
        keystore: KeyStore = (
            MemoryKeyStore()
            if keystore_path is None
            else PrivateJsonKeyStore(namespace=address.upper(), filename=str(keystore_path))
        )
        device.keystore = keystore
        device.pairing_config_factory = self._pairing_config
        device.on(device.EVENT_ADVERTISEMENT, self._on_advertisement)
        #: The bumble device; for diagnostics, not needed to use the backends.
        self.device: Device = device
        self.address = address.upper()
        self.stats = AdapterStats()
        self._keystore = keystore
        self._passkey = passkey
        self._scanners: list[BumbleScanner] = []
        self._scan_users = 0
        self._scan_lock = asyncio.Lock()
        #: Only one LE connect may be in flight on a controller.
        self._connect_lock = asyncio.Lock()
        #: A connect given up at its deadline that the controller has not finished yet.
        self._abandoned: str | None = None
        #: address -> (loop time heard, advertised address) for every advertiser heard.
        self._seen: dict[str, tuple[float, hci.Address]] = {}
        self._names: dict[str, str] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_close: list[Callable[[], None]] = []
        self._closed = False
        self._scanner_backend: type[BumbleScanner] = _bind(BumbleScanner, self)
        self._client_backend: type[BumbleClient] = _bind(BumbleClient, self)

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def on_local(
        cls,
        radio: VirtualRadio,
        *,
        name: str = "gateway",
        address: str = DEFAULT_ADDRESS,
        keystore_path: Path | None = None,
        passkey: PasskeyProvider | None = None,
    ) -> BumbleAdapter:
        """An adapter with a fresh controller on the in-process radio (``await start()``).

        ``close`` takes the controller off the radio again, like a phone switching
        Bluetooth off, so a later adapter may reuse the address.
        """
        host = radio.new_host(name)
        adapter = cls(host, address=address, keystore_path=keystore_path, passkey=passkey)
        controller = getattr(host.hci_sink, "sink", None)
        if isinstance(controller, Controller):

            def detach() -> None:
                with contextlib.suppress(KeyError):
                    radio.link.remove_controller(controller)

            adapter._on_close.append(detach)
        return adapter

    @classmethod
    @contextlib.asynccontextmanager
    async def open_hub(
        cls,
        hub_address: str,
        *,
        address: str = DEFAULT_ADDRESS,
        keystore_path: Path | None = None,
        passkey: PasskeyProvider | None = None,
    ) -> AsyncIterator[BumbleAdapter]:
        """A started adapter on a ``wearable sim radio`` hub at ``HOST:PORT``."""
        async with hub_host_open(hub_address) as host:
            adapter = cls(host, address=address, keystore_path=keystore_path, passkey=passkey)
            await adapter.start()
            try:
                yield adapter
            finally:
                await adapter.close()

    async def start(self) -> None:
        """Power the radio on."""
        if not self.device.powered_on:
            await self.device.power_on()

    async def close(self) -> None:
        """Disconnect every link, stop scanning and power off.

        Clients still connected see an unsolicited disconnect (their callback runs).
        """
        if self._closed:
            return
        self._closed = True
        for connection in list(self.device.connections.values()):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_DISCONNECT_TIMEOUT_S):
                    await connection.disconnect()
        with contextlib.suppress(Exception):
            if self.device.is_scanning:
                await self.device.stop_scanning()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.device.power_off()
        for hook in self._on_close:
            hook()

    # ------------------------------------------------------------ bleak backends
    @property
    def scanner_backend(self) -> type[BaseBleakScanner]:
        """``BleakScanner(..., backend=adapter.scanner_backend)``."""
        return self._scanner_backend

    @property
    def client_backend(self) -> type[BaseBleakClient]:
        """``BleakClient(..., backend=adapter.client_backend)``."""
        return self._client_backend

    # ------------------------------------------------------------------ pairing
    def _pairing_config(self, connection: Connection) -> pairing.PairingConfig:
        passkey = None
        if self._passkey is not None:
            passkey = self._passkey(connection.peer_address.to_string(with_type_qualifier=False))
        delegate = _PasskeyEntry(passkey) if passkey is not None else pairing.PairingDelegate()
        return pairing.PairingConfig(
            sc=True,
            mitm=passkey is not None,
            bonding=True,
            delegate=delegate,
            identity_address_type=pairing.PairingConfig.AddressType.RANDOM,
        )

    async def _has_bond(self, address: hci.Address) -> bool:
        keys = await self._keystore.get(str(address))
        return keys is not None and (keys.ltk is not None or keys.ltk_central is not None)

    async def _forget(self, address: hci.Address) -> None:
        with bleak_errors("unpair", str(address)):
            if await self._keystore.get(str(address)) is not None:
                await self._keystore.delete(str(address))
            await self.device.refresh_resolving_list()

    # ---------------------------------------------------------------- scanning
    async def _add_scanner(self, scanner: BumbleScanner) -> None:
        self._scanners.append(scanner)
        try:
            await self._acquire_scan()
        except BaseException:
            self._scanners.remove(scanner)
            raise

    async def _remove_scanner(self, scanner: BumbleScanner) -> None:
        with contextlib.suppress(ValueError):
            self._scanners.remove(scanner)
        await self._release_scan()

    async def _acquire_scan(self) -> None:
        """Count one more user of the bumble scan, starting it for the first."""
        self._scan_users += 1
        try:
            async with self._scan_lock:
                if self._scan_users > 0 and not self.device.is_scanning:
                    with bleak_errors("start scanning", self.address):
                        await self.device.start_scanning(filter_duplicates=False)
        except BaseException:
            await self._release_scan()
            raise

    async def _release_scan(self) -> None:
        """One user fewer; the last one stops the bumble scan."""
        self._scan_users -= 1
        if self._scan_users > 0:
            return
        async with self._scan_lock:
            if self._scan_users == 0 and self.device.is_scanning and self.device.powered_on:
                with bleak_errors("stop scanning", self.address):
                    await self.device.stop_scanning()

    @contextlib.asynccontextmanager
    async def _scan_session(self) -> AsyncIterator[None]:
        await self._acquire_scan()
        try:
            yield
        finally:
            await self._release_scan()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        address = advertisement.address
        key = address.to_string(with_type_qualifier=False)
        now = asyncio.get_running_loop().time()
        seen = self._seen
        if len(seen) >= _SEEN_PRUNE_AT and key not in seen:
            for stale in [k for k, (t, _) in seen.items() if now - t > _SEEN_FORGET_S]:
                del seen[stale]
                self._names.pop(stale, None)
        seen[key] = (now, address)
        waiters = self._waiters.pop(key, None)
        if waiters is not None:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        if not self._scanners:
            return
        # Mapped once, shared by every scanner (AdvertisementData is immutable).
        data = advertisement_data(advertisement)
        if data.local_name:
            self._names[key] = data.local_name
        for scanner in tuple(self._scanners):
            scanner._on_advertisement(key, address, data)

    def _recently_advertised(self, key: str) -> hci.Address | None:
        """The address ``key`` advertised with in the last ``_FRESH_S``, if it did."""
        entry = self._seen.get(key)
        if entry is None or asyncio.get_running_loop().time() - entry[0] > _FRESH_S:
            return None
        return entry[1]

    def _advertised_name(self, key: str) -> str | None:
        return self._names.get(key)

    async def _wait_advertising(self, key: str, deadline: float) -> None:
        """Return once ``key`` has advertised recently (needs a scan session)."""
        if self._recently_advertised(key) is not None:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(waiter)
        try:
            async with asyncio.timeout_at(deadline):
                await waiter
        except TimeoutError:
            raise BleakDeviceNotFoundError(key, f"{key} is not advertising") from None
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[key]

    # -------------------------------------------------------------- connecting
    async def _connect(self, peer: hci.Address, deadline: float) -> Connection:
        """An LE connection to ``peer``, serialized with every other connect.

        The LE connect is only issued for a device heard advertising within the last
        ``_FRESH_S``, and we keep scanning while queued so that stays true. Connecting
        to a device that isn't there is worse than slow: bumble's virtual controller
        ignores LE Create Connection Cancel, so the connect stays pending in the
        controller until the device shows up (see ``_abandon_connect``).
        """
        key = peer.to_string(with_type_qualifier=False)
        if self._closed:
            raise BleakError(f"{key}: the adapter is closed")
        if self.device.find_connection_by_bd_addr(peer, PhysicalTransport.LE) is not None:
            # It isn't advertising any more: fail now rather than at the timeout.
            raise BleakError(f"{key}: already connected through this adapter")
        async with self._scan_session():
            while True:
                await self._wait_advertising(key, deadline)
                try:
                    async with asyncio.timeout_at(deadline):
                        await self._connect_lock.acquire()
                except TimeoutError:
                    pending = self._abandoned
                    why = (
                        f"the controller is still completing an abandoned connect to {pending}"
                        if pending is not None
                        else "other connects did not finish"
                    )
                    raise BleakError(f"{key}: timed out waiting for the radio: {why}") from None
                # Re-check: the device may have gone quiet while we queued.
                if self._recently_advertised(key) is not None:
                    return await self._create_connection(peer, key, deadline)
                self._connect_lock.release()

    async def _create_connection(self, peer: hci.Address, key: str, deadline: float) -> Connection:
        """Connect, holding the connect lock; releases it, or hands it to the task that
        waits out a connect given up at the deadline."""
        # timeout=None: bumble's own timeout sends LE Create Connection Cancel and then
        # waits, without limit, for the completion event.
        connect = asyncio.get_running_loop().create_task(
            self.device.connect(peer, transport=PhysicalTransport.LE, timeout=None)
        )
        try:
            async with asyncio.timeout_at(deadline):
                with bleak_errors("connect", key):
                    connection = await asyncio.shield(connect)
        except (TimeoutError, asyncio.CancelledError) as error:
            if connect.done():
                self._connect_lock.release()
                if not connect.cancelled() and connect.exception() is None:
                    self._spawn(self._close_late(connect.result()))
            else:
                self._abandoned = key
                self._spawn(self._abandon_connect(connect))
            if isinstance(error, asyncio.CancelledError):
                raise
            raise BleakDeviceNotFoundError(
                key, f"{key}: no connection before the timeout"
            ) from None
        except BaseException:
            self._connect_lock.release()
            raise
        self._connect_lock.release()
        return connection

    async def _abandon_connect(self, connect: asyncio.Task[Connection]) -> None:
        """Cancel a connect nobody waits for any more, then release the connect lock.

        bumble's connect procedure is never cancelled half-way: if it were, a connection
        completing later would find bumble's bookkeeping reset (an ``AssertionError`` in
        ``Device.on_le_connection``) and the link would stay up, unmanaged, with the
        device no longer advertising. A spec-compliant controller answers the Cancel at
        once; bumble's virtual controller completes the connect when the device
        advertises again, so the lock (and every other connect) waits for that.
        """
        try:
            with contextlib.suppress(Exception):
                await self.device.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
            try:
                connection = await connect
            except Exception:
                return
            await self._close_late(connection)
        finally:
            self._abandoned = None
            self._connect_lock.release()

    async def _close_late(self, connection: Connection) -> None:
        self.stats.late_connections += 1
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_CLOSE_DISCONNECT_TIMEOUT_S):
                await connection.disconnect()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _bind(base: type[Any], adapter: BumbleAdapter) -> Any:
    """A subclass of ``base`` bound to ``adapter``, keeping ``base``'s name (bleak reports
    it as the ``backend_id``)."""
    return type(base.__name__, (base,), {"_bound_adapter": adapter, "__module__": base.__module__})
