"""A simulated smartwatch on a bumble host: firmware + GATT server + radio behaviour.

The watch advertises while nobody is connected, requires an encrypted (bonded) link for
health data, notifies every record it produces to subscribed centrals (the standard SIG
characteristic and our sequenced copy), answers backfill requests on its Record Access
Control Point from flash, and obeys the scenario's link faults: drops, out-of-range
periods, added delay and lost notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bumble import att, hci
from bumble.core import AdvertisingData
from bumble.device import Connection, Device, DeviceConfiguration
from bumble.host import Host
from bumble.keys import MemoryKeyStore

from firmware_sim.firmware.watch_firmware import ProducedRecord, WatchFirmware
from firmware_sim.gatt.security import pairing_config_factory
from firmware_sim.gatt.services import DeviceInformation, services_build
from firmware_sim.identity import identity_resolving_key, static_random_address
from firmware_sim.simclock import SimClock
from wearable_core.contracts.gatt import uuids
from wearable_core.contracts.gatt.battery import BatteryLevel
from wearable_core.contracts.gatt.current_time import CurrentTime
from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.heart_rate import RESET_ENERGY_EXPENDED
from wearable_core.contracts.gatt.record_access import (
    ATT_ERROR_CCCD_IMPROPERLY_CONFIGURED,
    ATT_ERROR_PROCEDURE_ALREADY_IN_PROGRESS,
    RacpOpcode,
    RacpOperator,
    RacpRecordCount,
    RacpRequest,
    RacpRequestError,
    RacpResponse,
    RacpResponseCode,
)
from wearable_core.contracts.gatt.storage_status import StorageStatus, StreamStorageStatus
from wearable_core.contracts.streams import Stream

logger = logging.getLogger(__name__)

#: HCI reason for a link that just vanished (supervision timeout).
_REASON_CONNECTION_TIMEOUT = hci.HCI_CONNECTION_TIMEOUT_ERROR
_HR_CONTROL_POINT_NOT_SUPPORTED = 0x80
#: Yield to the event loop every this many backfilled records so live traffic keeps flowing.
_BACKFILL_YIELD_EVERY = 32


@dataclass(frozen=True)
class LinkFault:
    """A scheduled link event: ``drop`` (instant disconnect) or ``out_of_range``."""

    onset_s: float
    end_s: float
    kind: str


@dataclass(frozen=True)
class RadioQuality:
    """Impairments of the air interface: added latency and lost notifications."""

    delay_s: float = 0.0
    loss_probability: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss_probability < 1.0:
            raise ValueError(f"loss_probability {self.loss_probability} outside [0, 1)")
        if self.delay_s < 0:
            raise ValueError(f"delay_s {self.delay_s} must be >= 0")


@dataclass
class WatchStats:
    """Counters a test or benchmark can read."""

    records_produced: int = 0
    notifications_sent: int = 0
    notifications_lost: int = 0
    notifications_too_large: int = 0
    backfill_requests: int = 0
    records_backfilled: int = 0
    connections: int = 0
    disconnections: int = 0
    clock_sets: int = 0
    link_faults: dict[str, int] = field(default_factory=lambda: {"drop": 0, "out_of_range": 0})


@dataclass(frozen=True)
class WatchIdentity:
    """Who the watch says it is on the air and in Device Information."""

    name: str
    serial: str
    seed: int
    passkey: int | None = None

    @property
    def address(self) -> str:
        return static_random_address(self.seed)


class SimulatedWatch:
    """One watch: drives its firmware by simulated time and serves it over GATT.

    Parameters
    ----------
    identity
        Name, serial and seed (the seed fixes the radio address and IRK).
    firmware
        The firmware producing records.
    host
        A bumble host attached to a controller on the virtual radio.
    clock
        Simulated time shared with the rest of the simulation.
    link_faults
        Scheduled drops and out-of-range periods, in simulated seconds.
    quality
        Radio impairments.
    on_record
        Called with every record produced (e.g. to write the truth files).
    advertising_interval_ms
        Advertising interval while disconnected.
    """

    def __init__(
        self,
        identity: WatchIdentity,
        firmware: WatchFirmware,
        host: Host,
        clock: SimClock,
        *,
        link_faults: tuple[LinkFault, ...] = (),
        quality: RadioQuality = RadioQuality(),
        on_record: Callable[[ProducedRecord], None] | None = None,
        advertising_interval_ms: float = 100.0,
    ) -> None:
        self.identity = identity
        self.firmware = firmware
        self.clock = clock
        self.link_faults = tuple(sorted(link_faults, key=lambda f: f.onset_s))
        self.quality = quality
        self.on_record = on_record
        self.advertising_interval_ms = advertising_interval_ms
        self.stats = WatchStats()
        self._rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([identity.seed, 7])))
        self._out_of_range = False
        self._backfills: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.device = self._make_device(host)
        services, self.chars = services_build(
            self.device,
            DeviceInformation(
                manufacturer="WearSim",
                model="WS-1",
                serial=identity.serial,
                hardware_revision="sim-1",
                firmware_revision="0.1.0",
                software_revision="firmware_sim",
            ),
            read_battery=self._read_battery,
            read_current_time=self._read_current_time,
            write_current_time=self._write_current_time,
            write_hr_control_point=self._write_hr_control_point,
            read_storage_status=self._read_storage_status,
            write_racp=self._write_racp,
        )
        self.device.add_services(services)
        self.device.on("connection", self._on_connection)

    # ------------------------------------------------------------------ setup
    def _make_device(self, host: Host) -> Device:
        config = DeviceConfiguration(
            name=self.identity.name,
            address=hci.Address(self.identity.address, hci.Address.RANDOM_DEVICE_ADDRESS),
        )
        config.irk = identity_resolving_key(self.identity.seed)
        config.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),  # LE General Discoverable, no BR/EDR
                    (
                        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                        b"".join(u.to_bytes(2, "little") for u in (0x180D, 0x1822, 0x1809)),
                    ),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.identity.name.encode()),
                ]
            )
        )
        config.scan_response_data = bytes(
            AdvertisingData(
                [
                    (
                        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        bytes(reversed(bytes.fromhex(uuids.RECORDS_SERVICE.replace("-", "")))),
                    )
                ]
            )
        )
        device = Device(config=config, host=host)
        device.keystore = MemoryKeyStore()
        device.pairing_config_factory = pairing_config_factory(self.identity.passkey)
        return device

    async def start(self) -> None:
        """Power on and start advertising."""
        await self.device.power_on()
        await self._advertise()

    async def _advertise(self) -> None:
        if self._out_of_range or self.device.is_advertising:
            return
        await self.device.start_advertising(
            auto_restart=True,
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
        )

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------- connections
    def _on_connection(self, connection: Connection) -> None:
        if self._out_of_range:
            # A central raced the out-of-range edge; the link would not survive.
            self._spawn(self._disconnect(connection))
            return
        self.stats.connections += 1
        connection.on("disconnection", lambda _reason: self._on_disconnection(connection))

    def _on_disconnection(self, connection: Connection) -> None:
        self.stats.disconnections += 1
        task = self._backfills.pop(connection.handle, None)
        if task is not None:
            task.cancel()

    async def _disconnect(self, connection: Connection) -> None:
        with contextlib.suppress(Exception):
            await connection.disconnect(_REASON_CONNECTION_TIMEOUT)

    def _encrypted_connections(self) -> list[Connection]:
        return [c for c in self.device.connections.values() if c.is_encrypted]

    # -------------------------------------------------------------- main loop
    async def run(self, stop_at_s: float | None = None) -> None:
        """Produce and publish records as simulated time passes, and apply link faults.

        Returns when the firmware has produced its whole duration (or ``stop_at_s``);
        the GATT server keeps serving (backfill, reads) until the device is closed.
        """
        faults = list(self.link_faults)
        end = self.firmware.duration_s if stop_at_s is None else stop_at_s
        next_s = float(self.firmware.produced_until_s + 1)
        while next_s <= end:
            await self.clock.sleep_until(next_s)
            now = self.clock.now()
            while faults and faults[0].onset_s <= now:
                self._spawn(self._apply_fault(faults.pop(0)))
            produced = self.firmware.advance(min(now, end))
            if produced:
                await self._publish(produced)
            next_s = float(self.firmware.produced_until_s + 1)

    async def _apply_fault(self, fault: LinkFault) -> None:
        self.stats.link_faults[fault.kind] = self.stats.link_faults.get(fault.kind, 0) + 1
        if fault.kind == "out_of_range":
            self._out_of_range = True
            if self.device.is_advertising:
                await self.device.stop_advertising()
        for connection in list(self.device.connections.values()):
            await self._disconnect(connection)
        if fault.kind == "out_of_range":
            await self.clock.sleep_until(fault.end_s)
            self._out_of_range = False
        await self._advertise()

    async def _publish(self, produced: list[ProducedRecord]) -> None:
        self.stats.records_produced += len(produced)
        if self.on_record is not None:
            for item in produced:
                self.on_record(item)
        connections = self._encrypted_connections()
        self.firmware.battery.on_notifications(len(produced) * len(connections))
        if not connections:
            return
        if self.quality.delay_s:
            await asyncio.sleep(self.quality.delay_s / self.clock.speed)
        for connection in connections:
            for item in produced:
                if self.quality.loss_probability and (
                    self._rng.random() < self.quality.loss_probability
                ):
                    self.stats.notifications_lost += 1
                    continue
                await self._send_live(connection, item)

    async def _send_live(self, connection: Connection, item: ProducedRecord) -> None:
        sequenced = bytes(item.record)
        try:
            if len(sequenced) <= connection.att_mtu - 3:
                await self.device.notify_subscriber(
                    connection, self.chars.records[item.stream], sequenced
                )
                self.stats.notifications_sent += 1
            else:
                # bumble would silently truncate; a cut record is worse than none.
                self.stats.notifications_too_large += 1
            standard = self._standard_characteristic(item.stream)
            if standard is None:
                return
            if item.stream is Stream.TEMPERATURE:
                # Indications wait for confirmation: don't hold up the other streams.
                self._spawn(self._indicate(connection, standard, item.record.payload))
            else:
                await self.device.notify_subscriber(connection, standard, item.record.payload)
        except Exception as error:  # a link lost mid-send must not stop the firmware
            logger.debug("notify to %s failed: %s", connection.peer_address, error)

    async def _indicate(self, connection: Connection, characteristic: Any, value: bytes) -> None:
        with contextlib.suppress(Exception):
            await self.device.indicate_subscriber(connection, characteristic, value)

    def _standard_characteristic(self, stream: Stream) -> Any:
        return {
            Stream.HEART_RATE: self.chars.heart_rate_measurement,
            Stream.SPO2: self.chars.plx_continuous,
            Stream.TEMPERATURE: self.chars.temperature_measurement,
        }.get(stream)

    # ------------------------------------------------------- GATT callbacks
    def _read_battery(self, _connection: Connection) -> bytes:
        return bytes(BatteryLevel(self.firmware.battery.level_percent))

    def _read_current_time(self, _connection: Connection) -> bytes:
        return bytes(CurrentTime.from_epoch_ms(self.firmware.clock.watch_ms(self.clock.now())))

    def _write_current_time(self, _connection: Connection, value: bytes) -> None:
        try:
            current = CurrentTime.from_bytes(bytes(value))
        except PayloadError as error:
            logger.warning("%s: rejected Current Time write: %s", self.identity.name, error)
            raise att.ATT_Error(att.ErrorCode.VALUE_NOT_ALLOWED) from error
        self.firmware.set_clock(self.clock.now(), current.to_epoch_ms())
        self.stats.clock_sets += 1

    def _write_hr_control_point(self, _connection: Connection, value: bytes) -> None:
        if bytes(value) != bytes([RESET_ENERGY_EXPENDED]):
            raise att.ATT_Error(_HR_CONTROL_POINT_NOT_SUPPORTED)
        self.firmware.reset_energy_expended()

    def _read_storage_status(self, _connection: Connection) -> bytes:
        flash = self.firmware.flash
        return bytes(
            StorageStatus(
                tuple(
                    StreamStorageStatus(
                        stream=stream,
                        oldest_seq=flash.oldest_seq(stream),
                        next_seq=flash.next_seq(stream),
                        overwritten=flash.overwritten(stream),
                    )
                    for stream in Stream
                )
            )
        )

    def _write_racp(self, connection: Connection, value: bytes) -> None:
        value = bytes(value)
        cccd = self.device.gatt_server.read_cccd(connection, self.chars.record_access_control_point)
        if not cccd[0] & 0x02:
            raise att.ATT_Error(ATT_ERROR_CCCD_IMPROPERLY_CONFIGURED)
        running = self._backfills.get(connection.handle)
        opcode = value[0] if value else 0
        if running is not None and not running.done() and opcode != RacpOpcode.ABORT:
            raise att.ATT_Error(ATT_ERROR_PROCEDURE_ALREADY_IN_PROGRESS)
        # The write is acknowledged first; results follow as notifications + an indication.
        self._spawn(self._racp_procedure(connection, value))

    async def _racp_procedure(self, connection: Connection, value: bytes) -> None:
        racp = self.chars.record_access_control_point
        opcode = value[0] if value else 0
        try:
            request = RacpRequest.from_bytes(value)
        except RacpRequestError as error:
            response = RacpResponse(error.request_opcode, error.response_code)
            await self._indicate(connection, racp, bytes(response))
            return
        except PayloadError:
            response = RacpResponse(opcode, RacpResponseCode.INVALID_OPERAND)
            await self._indicate(connection, racp, bytes(response))
            return
        if request.opcode == RacpOpcode.ABORT:
            running = self._backfills.pop(connection.handle, None)
            if running is not None:
                running.cancel()
            response = RacpResponse(request.opcode, RacpResponseCode.SUCCESS)
            await self._indicate(connection, racp, bytes(response))
            return
        assert request.stream is not None
        min_seq = request.min_seq if request.operator == RacpOperator.GREATER_OR_EQUAL else 0
        if request.opcode == RacpOpcode.REPORT_NUMBER_OF_STORED_RECORDS:
            count = self.firmware.flash.count(request.stream, min_seq or 0)
            await self._indicate(connection, racp, bytes(RacpRecordCount(count)))
            return
        if request.opcode != RacpOpcode.REPORT_STORED_RECORDS:
            response = RacpResponse(request.opcode, RacpResponseCode.OPCODE_NOT_SUPPORTED)
            await self._indicate(connection, racp, bytes(response))
            return
        task = asyncio.current_task()
        assert task is not None
        self._backfills[connection.handle] = task
        try:
            code = await self._send_stored(connection, request.stream, min_seq or 0)
        finally:
            if self._backfills.get(connection.handle) is task:
                del self._backfills[connection.handle]
        await self._indicate(connection, racp, bytes(RacpResponse(request.opcode, code)))

    async def _send_stored(
        self, connection: Connection, stream: Stream, min_seq: int
    ) -> RacpResponseCode:
        self.stats.backfill_requests += 1
        characteristic = self.chars.records[stream]
        sent = 0
        for record in self.firmware.flash.records_from(stream, min_seq):
            await self.device.notify_subscriber(connection, characteristic, bytes(record))
            sent += 1
            if sent % _BACKFILL_YIELD_EVERY == 0:
                await asyncio.sleep(0)
        self.stats.records_backfilled += sent
        self.firmware.battery.on_notifications(sent)
        return RacpResponseCode.SUCCESS if sent else RacpResponseCode.NO_RECORDS_FOUND

    async def close(self) -> None:
        """Stop every background task of the watch."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
