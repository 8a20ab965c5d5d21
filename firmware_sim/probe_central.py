"""A minimal bumble central that pairs with watches, subscribes and backfills.

It exists to exercise the watch end to end (integration tests, ``wearable sim probe``
and the early demo) with nothing in between; the real phone gateway talks to watches
through bleak instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bumble import hci, pairing
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Device, DeviceConfiguration, Peer
from bumble.host import Host
from bumble.keys import MemoryKeyStore

from wearable_core.contracts.gatt import uuids
from wearable_core.contracts.gatt.current_time import CurrentTime
from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.record_access import (
    RacpOpcode,
    RacpOperator,
    RacpRecordCount,
    RacpRequest,
    RacpResponse,
    racp_indication_decode,
)
from wearable_core.contracts.gatt.record_envelope import SequencedRecord
from wearable_core.contracts.gatt.storage_status import StorageStatus
from wearable_core.contracts.streams import Stream

logger = logging.getLogger(__name__)

_HEART_RATE_SERVICE_16 = 0x180D
#: Largest ATT MTU bumble negotiates; an accelerometer frame needs ~170 bytes.
PREFERRED_MTU = 247


class _PasskeyEntryDelegate(pairing.PairingDelegate):
    def __init__(self, passkey: int) -> None:
        super().__init__(io_capability=pairing.PairingDelegate.IoCapability.KEYBOARD_INPUT_ONLY)
        self.passkey = passkey

    async def get_number(self) -> int:
        return self.passkey


@dataclass
class ProbeSession:
    """One connection to one watch, with everything received on it."""

    address: str
    connection: Connection
    peer: Peer
    records: dict[Stream, dict[int, SequencedRecord]]
    rejected: int = 0
    racp_queue: asyncio.Queue[RacpResponse | RacpRecordCount] = field(default_factory=asyncio.Queue)
    _racp: Any = None

    def sequences(self, stream: Stream) -> set[int]:
        return set(self.records[stream])

    async def backfill(
        self, stream: Stream, min_seq: int, timeout: float = 30.0
    ) -> RacpResponse | RacpRecordCount:
        """Ask for stored records of ``stream`` with sequence >= ``min_seq``; await the end."""
        request = RacpRequest(
            RacpOpcode.REPORT_STORED_RECORDS, RacpOperator.GREATER_OR_EQUAL, stream, min_seq
        )
        return await self.racp(request, timeout)

    async def racp(
        self, request: RacpRequest | bytes, timeout: float = 30.0
    ) -> RacpResponse | RacpRecordCount:
        """Write a raw or typed RACP request and await its indication."""
        assert self._racp is not None
        await self._racp.write_value(bytes(request), with_response=True)
        return await asyncio.wait_for(self.racp_queue.get(), timeout)

    async def storage_status(self) -> StorageStatus:
        characteristic = self._characteristic(uuids.STORAGE_STATUS_CHAR)
        return StorageStatus.from_bytes(bytes(await characteristic.read_value()))

    async def set_time(self, epoch_ms: int) -> None:
        characteristic = self._characteristic(uuids.CURRENT_TIME_CHAR)
        await characteristic.write_value(bytes(CurrentTime.from_epoch_ms(epoch_ms)), True)

    async def read_time_ms(self) -> int:
        characteristic = self._characteristic(uuids.CURRENT_TIME_CHAR)
        return CurrentTime.from_bytes(bytes(await characteristic.read_value())).to_epoch_ms()

    def _characteristic(self, uuid: str) -> Any:
        found = self.peer.get_characteristics_by_uuid(UUID(uuid))
        if not found:
            raise LookupError(f"watch {self.address} has no characteristic {uuid}")
        return found[0]

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await self.connection.disconnect()


class ProbeCentral:
    """A central on a bumble host.

    Parameters
    ----------
    host
        A bumble host on the virtual radio.
    address
        Our random static identity address.
    passkey
        The passkey to type when a watch displays one.
    """

    def __init__(
        self, host: Host, address: str = "F0:00:00:00:00:01", passkey: int | None = None
    ) -> None:
        config = DeviceConfiguration(
            name="probe-central",
            address=hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS),
        )
        config.irk = bytes(range(16))
        self.device = Device(config=config, host=host)
        self.device.keystore = MemoryKeyStore()
        self.passkey = passkey
        self.device.pairing_config_factory = self._pairing_config
        # Only one LE connect may be in flight on a controller.
        self._connect_lock = asyncio.Lock()
        #: The latest session per watch address.
        self.sessions: dict[str, ProbeSession] = {}
        #: Called with (address, stream, record) for every record received.
        self.on_record: Callable[[str, Stream, SequencedRecord], None] | None = None

    def _pairing_config(self, _connection: Connection) -> pairing.PairingConfig:
        delegate = (
            _PasskeyEntryDelegate(self.passkey)
            if self.passkey is not None
            else pairing.PairingDelegate()
        )
        return pairing.PairingConfig(
            sc=True,
            mitm=self.passkey is not None,
            bonding=True,
            delegate=delegate,
            identity_address_type=pairing.PairingConfig.AddressType.RANDOM,
        )

    async def start(self) -> None:
        await self.device.power_on()

    async def discover(self, count: int, timeout: float = 30.0) -> dict[str, str]:
        """Scan until ``count`` watches advertising the Heart Rate service are seen.

        Returns address -> advertised name.
        """
        found: dict[str, str] = {}
        done = asyncio.get_running_loop().create_future()

        def on_advertisement(advertisement: Advertisement) -> None:
            data = advertisement.data
            services = data.get(AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS)
            services = services or data.get(
                AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS
            )
            if not services or not any(
                int(u.to_hex_str(), 16) == _HEART_RATE_SERVICE_16 for u in services
            ):
                return
            name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or ""
            found[str(advertisement.address)] = str(name)
            if len(found) >= count and not done.done():
                done.set_result(None)

        self.device.on("advertisement", on_advertisement)
        await self.device.start_scanning(filter_duplicates=False)
        try:
            await asyncio.wait_for(done, timeout)
        finally:
            self.device.remove_listener("advertisement", on_advertisement)
            await self.device.stop_scanning()
        return found

    async def connect(
        self,
        address: str,
        streams: Iterable[Stream] = tuple(Stream),
        previous: ProbeSession | None = None,
        timeout: float = 20.0,
    ) -> ProbeSession:
        """Connect, pair (or re-encrypt a bond), set up and subscribe to ``streams``.

        Records keep accumulating in ``previous`` when given, so a reconnect continues
        the same bookkeeping.
        """
        async with self._connect_lock:
            connection = await self.device.connect(
                hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS), timeout=timeout
            )
        peer = Peer(connection)
        await peer.request_mtu(PREFERRED_MTU)
        keystore = self.device.keystore
        keys = None if keystore is None else await keystore.get(str(connection.peer_address))
        if keys is not None:
            await connection.encrypt()
        else:
            await connection.pair()
        await peer.discover_services()
        await peer.discover_characteristics()
        records = previous.records if previous else {s: {} for s in Stream}
        session = ProbeSession(address, connection, peer, records)
        if previous is not None:
            session.rejected = previous.rejected
        for stream in streams:
            found = peer.get_characteristics_by_uuid(UUID(uuids.RECORD_CHAR_BY_STREAM[stream]))
            if not found:
                raise LookupError(f"watch {address} has no record characteristic for {stream}")
            await peer.subscribe(found[0], self._on_record(session, stream))
        racp = session._characteristic(uuids.RECORD_ACCESS_CONTROL_POINT_CHAR)
        session._racp = racp
        await peer.subscribe(racp, self._on_racp(session), prefer_notify=False)
        self.sessions[address] = session
        return session

    def _on_record(self, session: ProbeSession, stream: Stream) -> Any:
        def handle(value: bytes) -> None:
            try:
                record = SequencedRecord.from_bytes(bytes(value))
            except PayloadError as error:
                session.rejected += 1
                logger.warning("rejected %s record from %s: %s", stream, session.address, error)
                return
            session.records[stream][record.seq] = record
            if self.on_record is not None:
                self.on_record(session.address, stream, record)

        return handle

    @staticmethod
    def _on_racp(session: ProbeSession) -> Any:
        def handle(value: bytes) -> None:
            try:
                session.racp_queue.put_nowait(racp_indication_decode(bytes(value)))
            except PayloadError as error:
                session.rejected += 1
                logger.warning("rejected RACP indication from %s: %s", session.address, error)

        return handle


def first_missing(sequences: set[int], start: int = 0) -> int:
    """The smallest sequence number >= ``start`` not in ``sequences``.

    Examples
    --------
    >>> first_missing({0, 1, 2, 4})
    3
    """
    seq = start
    while seq in sequences:
        seq += 1
    return seq


async def catch_up(session: ProbeSession) -> int:
    """Backfill every stream from its first missing record; returns records requested."""
    status = await session.storage_status()
    requested = 0
    for entry in status.entries:
        start = first_missing(session.sequences(entry.stream))
        if start < entry.next_seq:
            requested += entry.next_seq - max(start, entry.oldest_seq)
            await session.backfill(entry.stream, start)
    return requested


async def follow(
    central: ProbeCentral,
    address: str,
    stop: asyncio.Event,
    retry_s: float = 0.2,
    setup_timeout_s: float = 15.0,
) -> ProbeSession | None:
    """Stay connected to one watch until ``stop``: reconnect after drops, then backfill.

    Returns the session holding every record received (live or backfilled).
    """
    session: ProbeSession | None = None
    while not stop.is_set():
        try:
            session = await asyncio.wait_for(
                central.connect(address, previous=session), setup_timeout_s
            )
        except (Exception, asyncio.CancelledError) as error:
            # bumble cancels pending GATT requests when the link drops mid-setup; only
            # our own cancellation should end the loop.
            if _being_cancelled():
                raise
            logger.debug("connect to %s failed: %r", address, error)
            await asyncio.sleep(retry_s)
            continue
        disconnected = asyncio.Event()
        session.connection.on("disconnection", lambda _reason, event=disconnected: event.set())
        try:
            await catch_up(session)
        except (Exception, asyncio.CancelledError) as error:
            if _being_cancelled():
                raise
            logger.debug("backfill from %s interrupted: %r", address, error)
        waiters = [
            asyncio.ensure_future(disconnected.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    return session


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
