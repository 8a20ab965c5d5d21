"""Keep one device connected and its data flowing: the per-device state machine.

connect (serialized) → pair/encrypt → MTU → read the watch's clock → subscribe → read
battery and storage status → set clock → account overwritten records as gaps → backfill
from the stored frontier → supervise (disconnect, data watchdog, lost-notification
holes) → reconnect with exponential backoff and jitter. Only bleak's public
``BleakClient`` is used, so the same code drives a simulated watch (bleak backend on
bumble) or a real strap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from gateway.ble.backoff import ReconnectBackoff, is_security_failure
from gateway.config import BleConfig
from gateway.decoders import (
    Rejection,
    battery_decode,
    current_time_decode,
    racp_decode,
    storage_status_decode,
)
from gateway.ingest import Ingestor
from gateway.store import Store
from wearable_core.contracts.gatt import uuids
from wearable_core.contracts.gatt.current_time import CurrentTime
from wearable_core.contracts.gatt.record_access import (
    RacpOpcode,
    RacpOperator,
    RacpRecordCount,
    RacpRequest,
    RacpResponse,
    RacpResponseCode,
)
from wearable_core.contracts.gatt.storage_status import StorageStatus
from wearable_core.contracts.streams import Stream

logger = logging.getLogger(__name__)

#: Standard characteristics a device without our record service is read through.
STANDARD_CHARACTERISTICS = {
    Stream.HEART_RATE: uuids.HEART_RATE_MEASUREMENT_CHAR,
    Stream.SPO2: uuids.PLX_CONTINUOUS_MEASUREMENT_CHAR,
    Stream.TEMPERATURE: uuids.TEMPERATURE_MEASUREMENT_CHAR,
}
#: How often a connected link checks for lost notifications (sequence holes).
HOLE_CHECK_S = 5.0
#: How often a connected link re-reads the battery level.
BATTERY_REFRESH_S = 300.0
#: Seconds allowed per stored record when waiting for a backfill to complete.
BACKFILL_S_PER_RECORD = 0.01
BACKFILL_MIN_TIMEOUT_S = 15.0
#: How long a disconnect may take. Short: it is on the way to a stop (systemd's
#: ``TimeoutStopSec``), and a device that does not answer is dropped by the radio anyway.
DISCONNECT_TIMEOUT_S = 2.0
#: How long a cancelled connect or set-up may take to unwind on stop.
CANCEL_WAIT_S = 1.0
#: What a failing link raises; anything else is a bug and ends the link's task.
LINK_ERRORS = (BleakError, TimeoutError, OSError, EOFError)


class LinkSetupError(BleakError):
    """The device connected but could not be set up (missing service, RACP failure)."""


@dataclass
class LinkStats:
    """Counters for status and tests."""

    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    watchdog_resets: int = 0
    backfills: int = 0
    backfill_failures: int = 0
    clock_sets: int = 0
    clock_reads: int = 0
    #: Gateway minus watch clock at the last read, before any set (ms).
    clock_offset_read_ms: int | None = None
    gaps_recorded: int = 0
    last_error: str = ""
    history: list[str] = field(default_factory=list)


class DeviceLink:
    """One device, kept connected until ``stop``.

    Parameters
    ----------
    device
        What the scanner found (or an address).
    name
        Advertised name, for status.
    config
        BLE settings (backoff, watchdog, pairing, clock).
    store, ingestor
        Where data goes.
    connect_slot
        A lock shared by every link: one LE connect in flight at a time.
    client_backend
        bleak backend type (None: the platform's default adapter).
    """

    def __init__(
        self,
        device: BLEDevice | str,
        name: str,
        config: BleConfig,
        store: Store,
        ingestor: Ingestor,
        connect_slot: asyncio.Lock,
        client_backend: type[BaseBleakClient] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.device = device
        self.address = device.address if isinstance(device, BLEDevice) else device
        self.name = name
        self.config = config
        self.store = store
        self.ingestor = ingestor
        self.connect_slot = connect_slot
        self.client_backend = client_backend
        self.rng = rng or random.Random()
        self.backoff = ReconnectBackoff(
            config.backoff_initial_s,
            config.backoff_max_s,
            jitter=config.backoff_jitter,
            rng=self.rng,
        )
        self._security_warned = False
        self.stats = LinkStats()
        self.state = "idle"
        self.sequenced = False
        self._client: BleakClient | None = None
        self._disconnected = asyncio.Event()
        self._racp: asyncio.Queue[RacpResponse | RacpRecordCount] = asyncio.Queue()

    # ------------------------------------------------------------------- loop
    async def run(self, stop: asyncio.Event) -> None:
        """Connect, serve, reconnect with backoff until ``stop`` is set.

        Setting ``stop`` ends the link within about :data:`DISCONNECT_TIMEOUT_S`: a
        pending connect, a set-up or an in-flight backfill is cancelled rather than
        awaited (a connect to a watch out of range would otherwise hold the shutdown
        for up to ``ble.connect_timeout_s``). Records received so far are flushed; the
        rest stay on the watch and are backfilled at the next connection.
        """
        while not stop.is_set():
            security = False
            try:
                await self._unless_stopped(self._serve(stop), stop)
            except LINK_ERRORS as error:
                self.stats.last_error = f"{type(error).__name__}: {error}"
                security = is_security_failure(error)
                if security:
                    self._warn_security(error)
                logger.info(
                    "link down", extra={"device": self.address, "error": self.stats.last_error}
                )
            finally:
                await self._disconnect()
            if stop.is_set():
                break
            delay = self.backoff.next_delay(security=security)
            self._set_state("waiting")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        self._set_state("stopped")

    async def _serve(self, stop: asyncio.Event) -> None:
        """One connection: connect, set up, then supervise until it ends."""
        await self._connect()
        await self._setup()
        # Only a link that was fully set up resets the backoff: one that connects and is
        # then refused (a watch requiring encryption, with pair = false) must not be
        # reconnected at the initial delay forever.
        self.backoff.reset()
        await self._supervise(stop)

    async def _unless_stopped(self, work: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
        """Run ``work``, cancelling it if ``stop`` is set first; re-raise its error.

        The cancellation is awaited for at most :data:`CANCEL_WAIT_S`: a backend that
        does not honour it must not hold the gateway's shutdown.
        """
        task = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=CANCEL_WAIT_S)
        if task.done() and not task.cancelled():
            task.result()

    def _warn_security(self, error: BaseException) -> None:
        """Once per device: it refused our link as not secure, and what to do about it."""
        if self._security_warned:
            return
        self._security_warned = True
        fix = (
            "set [ble] pair = true or bond the watch"
            if not self.config.pair
            else "the watch needs an authenticated (passkey) pairing: set its passkey in"
            " [ble] passkeys, or unpair and pair it again"
        )
        logger.warning(
            "device requires a secure link: %s; retrying with backoff up to %.0f s",
            fix,
            self.backoff.security_max_s,
            extra={"device": self.address, "error": f"{type(error).__name__}: {error}"},
        )

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.store.devices.upsert(self.address, connection_state=state)

    async def _connect(self) -> None:
        self._set_state("connecting")
        self._disconnected = asyncio.Event()
        client = BleakClient(
            self.device,
            disconnected_callback=lambda _client: self._disconnected.set(),
            timeout=self.config.connect_timeout_s,
            pair=self.config.pair,
            backend=self.client_backend,
        )
        async with self.connect_slot:
            try:
                await client.connect()
            except BaseException:
                self.stats.connect_failures += 1
                raise
        self._client = client
        self.stats.connects += 1
        self._set_state("connected")
        logger.info("connected", extra={"device": self.address, "mtu": client.mtu_size})

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self.stats.disconnects += 1
            with contextlib.suppress(*LINK_ERRORS):
                await asyncio.wait_for(client.disconnect(), DISCONNECT_TIMEOUT_S)
        # Whatever arrived is written before we decide what to ask for next time.
        self.ingestor.flush()
        if self.state not in {"idle", "stopped"}:
            self._set_state("disconnected")

    # ------------------------------------------------------------------ setup
    def _characteristic(self, uuid: str) -> BleakGATTCharacteristic | None:
        assert self._client is not None
        return self._client.services.get_characteristic(uuid)

    def _notify_handler(self, uuid: str) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        on_notification = self.ingestor.on_notification
        address = self.address

        def handler(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            on_notification(address, uuid, bytes(data))

        return handler

    async def _setup(self) -> None:
        client = self._client
        assert client is not None
        racp = self._characteristic(uuids.RECORD_ACCESS_CONTROL_POINT_CHAR)
        self.sequenced = racp is not None
        self.store.devices.upsert(
            self.address, name=self.name, kind="sequenced" if self.sequenced else "standard"
        )
        state = self.ingestor.state(self.address)
        subscribed = 0
        if self.sequenced:
            # Before the first record arrives (and is aligned), and before the clock is
            # written: the records the watch holds carry its clock as it runs now.
            await self._read_clock()
            # Live records are the ones produced from now on; the status read after
            # subscribing tells where "now" is, per stream.
            for uuid in uuids.RECORD_CHAR_BY_STREAM.values():
                if self._characteristic(uuid) is not None:
                    await client.start_notify(uuid, self._notify_handler(uuid))
                    subscribed += 1
            assert racp is not None
            self._racp = asyncio.Queue()
            await client.start_notify(racp, self._on_racp)
        else:
            for uuid in STANDARD_CHARACTERISTICS.values():
                if self._characteristic(uuid) is not None:
                    await client.start_notify(uuid, self._notify_handler(uuid))
                    subscribed += 1
        if subscribed == 0:
            raise LinkSetupError(f"{self.address} offers none of the streams we read")
        await self._read_battery()
        if self.sequenced:
            status = await self._storage_status()
            for entry in status.entries:
                state.live_from[entry.stream] = entry.next_seq
            if self.config.set_clock:
                await self._set_clock(status)
            await self._catch_up(status)
        state.last_data_ms = self.ingestor.clock()
        self._set_state("streaming")

    async def _read_battery(self) -> None:
        characteristic = self._characteristic(uuids.BATTERY_LEVEL_CHAR)
        if characteristic is None or self._client is None:
            return
        result = battery_decode(bytes(await self._client.read_gatt_char(characteristic)))
        if isinstance(result, Rejection):
            self.ingestor.reject(self.address, result)
            return
        self.store.devices.upsert(self.address, battery_pct=result)

    async def _storage_status(self) -> StorageStatus:
        characteristic = self._characteristic(uuids.STORAGE_STATUS_CHAR)
        if characteristic is None or self._client is None:
            raise LinkSetupError(f"{self.address} has a record service but no storage status")
        result = storage_status_decode(bytes(await self._client.read_gatt_char(characteristic)))
        if isinstance(result, Rejection):
            self.ingestor.reject(self.address, result)
            raise LinkSetupError(f"{self.address}: unreadable storage status: {result.detail}")
        return result

    async def _read_clock(self) -> None:
        """Read the watch's clock, so records made before it was set can be aligned.

        A watch's clock may be months or years off until the gateway sets it (a fresh
        battery: the firmware's default date). The records it stored meanwhile carry that
        clock; the reading tells the gateway where it is (``DeviceClock.clock_read``).
        The gateway time of the reading is the middle of the read's round trip.
        """
        characteristic = self._characteristic(uuids.CURRENT_TIME_CHAR)
        if characteristic is None or self._client is None:
            return
        sent = self.ingestor.clock()
        result = current_time_decode(bytes(await self._client.read_gatt_char(characteristic)))
        gateway_ms = (sent + self.ingestor.clock()) // 2
        if isinstance(result, Rejection):
            self.ingestor.reject(self.address, result)
            return
        first_seq = {s: self.store.records.frontier(self.address, s) for s in Stream}
        used = self.ingestor.state(self.address).clock.clock_read(first_seq, result, gateway_ms)
        self.stats.clock_reads += 1
        self.stats.clock_offset_read_ms = gateway_ms - result
        logger.info(
            "clock read",
            extra={"device": self.address, "offset_ms": gateway_ms - result, "anchored": used},
        )

    async def _set_clock(self, status: StorageStatus) -> None:
        characteristic = self._characteristic(uuids.CURRENT_TIME_CHAR)
        if characteristic is None or self._client is None:
            return
        now = self.ingestor.clock()
        await self._client.write_gatt_char(
            characteristic, bytes(CurrentTime.from_epoch_ms(now)), response=True
        )
        state = self.ingestor.state(self.address)
        state.clock.clock_set({e.stream: e.next_seq for e in status.entries}, now, now)
        self.stats.clock_sets += 1

    # --------------------------------------------------------------- backfill
    def _on_racp(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        result = racp_decode(bytes(data))
        if isinstance(result, Rejection):
            self.ingestor.reject(self.address, result)
            return
        self._racp.put_nowait(result)

    async def _catch_up(self, status: StorageStatus, only: set[Stream] | None = None) -> None:
        """Account overwritten records as gaps, then backfill everything else we lack."""
        self.ingestor.flush()
        for entry in status.entries:
            if only is not None and entry.stream not in only:
                continue
            frontier = self.store.records.frontier(self.address, entry.stream)
            if frontier < entry.oldest_seq:
                # The watch overwrote these before we could fetch them: say so, once.
                self.store.records.record_gap(
                    self.address, entry.stream, frontier, entry.oldest_seq, "overwritten_on_watch"
                )
                self.stats.gaps_recorded += 1
                logger.warning(
                    "records lost on the watch",
                    extra={
                        "device": self.address,
                        "stream": entry.stream.value,
                        "first": frontier,
                        "end": entry.oldest_seq,
                    },
                )
                frontier = entry.oldest_seq
            if frontier < entry.next_seq:
                await self._backfill(entry.stream, frontier, entry.next_seq - frontier)

    async def _backfill(self, stream: Stream, from_seq: int, expected: int) -> None:
        client, racp = self._client, self._characteristic(uuids.RECORD_ACCESS_CONTROL_POINT_CHAR)
        if client is None or racp is None:
            return
        request = RacpRequest(
            RacpOpcode.REPORT_STORED_RECORDS, RacpOperator.GREATER_OR_EQUAL, stream, from_seq
        )
        self.stats.backfills += 1
        while not self._racp.empty():
            self._racp.get_nowait()
        await client.write_gatt_char(racp, bytes(request), response=True)
        timeout = max(BACKFILL_MIN_TIMEOUT_S, expected * BACKFILL_S_PER_RECORD)
        response = await self._racp_response(timeout)
        ok = {RacpResponseCode.SUCCESS, RacpResponseCode.NO_RECORDS_FOUND}
        if not isinstance(response, RacpResponse) or response.response_code not in ok:
            self.stats.backfill_failures += 1
            raise LinkSetupError(f"{self.address}: backfill of {stream} refused: {response}")

    async def _racp_response(self, timeout: float) -> RacpResponse | RacpRecordCount:
        """The next RACP indication, unless the link drops or ``timeout`` passes first."""
        getter = asyncio.ensure_future(self._racp.get())
        dropped = asyncio.ensure_future(self._disconnected.wait())
        try:
            done, _ = await asyncio.wait(
                {getter, dropped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            dropped.cancel()
            if not getter.done():
                getter.cancel()
        if getter in done:
            return getter.result()
        if dropped in done:
            raise BleakError(f"{self.address} disconnected during backfill")
        raise TimeoutError(f"{self.address}: no RACP response within {timeout:.0f} s")

    # -------------------------------------------------------------- supervise
    async def _supervise(self, stop: asyncio.Event) -> None:
        """Serve until the link drops, the watchdog fires, or we are told to stop."""
        state = self.ingestor.state(self.address)
        watchdog_ms = int(self.config.watchdog_s * 1000)
        resync_ms = int(self.config.clock_resync_s * 1000)
        last_sync = last_battery = self.ingestor.clock()
        tick = min(HOLE_CHECK_S, self.config.watchdog_s / 3)
        while not stop.is_set() and not self._disconnected.is_set():
            waiters = [
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._disconnected.wait()),
            ]
            await asyncio.wait(waiters, timeout=tick, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if stop.is_set() or self._disconnected.is_set():
                break
            now = self.ingestor.clock()
            if now - state.last_data_ms > watchdog_ms:
                # A dead watch is not noticed by every link layer (a virtual one never).
                self.stats.watchdog_resets += 1
                raise BleakError(f"no data from {self.address} for {self.config.watchdog_s} s")
            if now - last_battery > BATTERY_REFRESH_S * 1000:
                await self._read_battery()
                last_battery = now
            if self.sequenced:
                await self._repair_holes(state.max_seen)
                if self.config.set_clock and now - last_sync > resync_ms:
                    await self._set_clock(await self._storage_status())
                    last_sync = now
        if self._disconnected.is_set():
            raise BleakError(f"{self.address} disconnected")

    async def _repair_holes(self, max_seen: dict[Stream, int]) -> None:
        """Notifications lost on the air leave holes: fetch them while still connected.

        The storage status is read again first: on a busy watch with little flash, the
        records of a hole may be overwritten before we ask, and must become a gap.
        """
        self.ingestor.flush()
        holed = {
            stream
            for stream, highest in max_seen.items()
            if self.store.records.frontier(self.address, stream) <= highest
        }
        if holed:
            await self._catch_up(await self._storage_status(), only=holed)

    def describe(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "name": self.name,
            "state": self.state,
            "sequenced": self.sequenced,
            **{k: v for k, v in vars(self.stats).items() if k != "history"},
        }
