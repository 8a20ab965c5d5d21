"""The watch over the real bumble stack on the in-process virtual radio (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from bumble import att

from bumble_radio.local import VirtualRadio
from firmware_sim.probe_central import ProbeCentral, catch_up, first_missing
from firmware_sim.scenario import scenario_parse
from firmware_sim.simclock import SimClock
from firmware_sim.watch import LinkFault, RadioQuality, SimulatedWatch
from firmware_sim.watch_assembly import firmware_build, identity_of
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.gatt.record_access import (
    RacpOpcode,
    RacpOperator,
    RacpRecordCount,
    RacpRequest,
    RacpResponse,
    RacpResponseCode,
)
from wearable_core.contracts.streams import Stream

pytestmark = pytest.mark.integration

SCENARIO = """
[scenario]
name = "one-watch"
seed = 11
watches = 1
duration = "10min"
"""

SPEED = 20.0


@dataclass
class Rig:
    radio: VirtualRadio
    clock: SimClock
    watch: SimulatedWatch
    central: ProbeCentral


@contextlib.asynccontextmanager
async def _rig(
    faults: tuple[LinkFault, ...] = (),
    passkey: bool = False,
    quality: RadioQuality | None = None,
) -> AsyncIterator[Rig]:
    text = SCENARIO + ("\n[watch]\npasskey = true\n" if passkey else "")
    scenario = scenario_parse(text)
    plan = scenario.plan()[0]
    radio = VirtualRadio()
    clock = SimClock(SPEED)
    watch = SimulatedWatch(
        identity_of(plan),
        firmware_build(plan, scenario),
        radio.new_host("watch"),
        clock,
        link_faults=faults,
        quality=quality or RadioQuality(),
    )
    await watch.start()
    central = ProbeCentral(radio.new_host("central"), passkey=plan.passkey)
    await central.start()
    runner = asyncio.ensure_future(watch.run())
    try:
        yield Rig(radio, clock, watch, central)
    finally:
        runner.cancel()
        await watch.close()


async def _until(condition: object, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_pair_subscribe_drop_reconnect_backfill_exactly_the_missed_records() -> None:
    # The watch drops the link at 40 s and is out of range until 70 s.
    faults = (LinkFault(40.0, 40.0, "drop"), LinkFault(41.0, 70.0, "out_of_range"))
    async with _rig(faults) as rig:
        found = await rig.central.discover(1)
        address = rig.watch.identity.address
        assert found == {address: rig.watch.identity.name}
        session = await rig.central.connect(address)
        assert session.connection.is_encrypted
        disconnected = asyncio.Event()
        session.connection.on("disconnection", lambda _r: disconnected.set())
        await asyncio.wait_for(disconnected.wait(), 10)
        before = {s: set(session.records[s]) for s in Stream}
        assert before[Stream.HEART_RATE], "live notifications arrived before the drop"
        assert before[Stream.ACCEL] and before[Stream.SPO2]

        await rig.clock.sleep_until(72.0)
        session = await rig.central.connect(address, previous=session)
        # Records produced while away are not sent live: the central must ask for them.
        flash = rig.watch.firmware.flash
        for stream in (Stream.HEART_RATE, Stream.SPO2, Stream.ACCEL):
            start = first_missing(session.sequences(stream))
            end = flash.next_seq(stream)
            assert start < end
            backfilled_before = rig.watch.stats.records_backfilled
            response = await session.backfill(stream, start)
            assert response == RacpResponse(
                RacpOpcode.REPORT_STORED_RECORDS, RacpResponseCode.SUCCESS
            )
            # Exactly the stored records >= start were sent, and now nothing is missing.
            assert rig.watch.stats.records_backfilled - backfilled_before >= end - start
            assert set(range(end)) <= session.sequences(stream)
        # The backfilled heart-rate records decode and carry RR intervals.
        hr = HeartRateMeasurement.from_bytes(session.records[Stream.HEART_RATE][50].payload)
        assert hr.sensor_contact is not None


async def test_health_data_needs_an_encrypted_link() -> None:
    async with _rig() as rig:
        await rig.central.discover(1)
        from bumble import gatt, hci
        from bumble.device import Peer

        from wearable_core.contracts.gatt import uuids

        connection = await rig.central.device.connect(
            hci.Address(rig.watch.identity.address, hci.Address.RANDOM_DEVICE_ADDRESS)
        )
        peer = Peer(connection)
        await peer.discover_services()
        await peer.discover_characteristics()
        (record,) = peer.get_characteristics_by_uuid(gatt.UUID(uuids.HEART_RATE_MEASUREMENT_CHAR))
        with pytest.raises(att.ATT_Error) as raised:
            await peer.subscribe(record, lambda _v: None)
        assert raised.value.error_code == att.ErrorCode.INSUFFICIENT_ENCRYPTION
        (status,) = peer.get_characteristics_by_uuid(gatt.UUID(uuids.STORAGE_STATUS_CHAR))
        with pytest.raises(att.ATT_Error):
            await status.read_value()
        # Battery level is not health data and stays readable.
        (battery,) = peer.get_characteristics_by_uuid(gatt.UUID(uuids.BATTERY_LEVEL_CHAR))
        assert 0 <= (await battery.read_value())[0] <= 100


async def test_passkey_pairing() -> None:
    async with _rig(passkey=True) as rig:
        await rig.central.discover(1)
        assert rig.watch.identity.passkey is not None
        session = await rig.central.connect(rig.watch.identity.address)
        assert session.connection.is_encrypted
        assert session.connection.authenticated
        await _until(lambda: len(session.records[Stream.HEART_RATE]) >= 3)


async def test_wrong_passkey_fails_pairing() -> None:
    async with _rig(passkey=True) as rig:
        await rig.central.discover(1)
        assert rig.watch.identity.passkey is not None
        rig.central.passkey = (rig.watch.identity.passkey + 1) % 1_000_000
        with pytest.raises(Exception):  # noqa: B017 - bumble raises its own pairing error type
            await rig.central.connect(rig.watch.identity.address)


async def test_racp_count_abort_and_errors() -> None:
    async with _rig() as rig:
        await rig.central.discover(1)
        session = await rig.central.connect(rig.watch.identity.address)
        await _until(lambda: rig.watch.firmware.flash.next_seq(Stream.HEART_RATE) >= 20)
        count = await session.racp(
            RacpRequest(
                RacpOpcode.REPORT_NUMBER_OF_STORED_RECORDS,
                RacpOperator.GREATER_OR_EQUAL,
                Stream.HEART_RATE,
                5,
            )
        )
        assert isinstance(count, RacpRecordCount)
        assert count.count >= 15
        unknown = await session.racp(bytes([0x7F, 0x00]))
        assert unknown == RacpResponse(0x7F, RacpResponseCode.OPCODE_NOT_SUPPORTED)
        truncated = await session.racp(bytes([RacpOpcode.REPORT_STORED_RECORDS, 0x03, 0x01]))
        assert isinstance(truncated, RacpResponse)
        assert truncated.response_code in {
            RacpResponseCode.INVALID_OPERAND,
            RacpResponseCode.INVALID_OPERATOR,
        }
        beyond = await session.backfill(Stream.TEMPERATURE, 10_000)
        assert beyond == RacpResponse(
            RacpOpcode.REPORT_STORED_RECORDS, RacpResponseCode.NO_RECORDS_FOUND
        )
        aborted = await session.racp(RacpRequest(RacpOpcode.ABORT, RacpOperator.NULL, None, None))
        assert aborted == RacpResponse(RacpOpcode.ABORT, RacpResponseCode.SUCCESS)


async def test_current_time_sets_the_drifting_watch_clock() -> None:
    async with _rig() as rig:
        await rig.central.discover(1)
        session = await rig.central.connect(rig.watch.identity.address)
        firmware = rig.watch.firmware
        true_ms = firmware.clock.true_epoch_ms(rig.clock.now())
        await session.set_time(true_ms)
        assert rig.watch.stats.clock_sets == 1
        read = await session.read_time_ms()
        now_true = firmware.clock.true_epoch_ms(rig.clock.now())
        # 1/256 s resolution plus the few simulated ms that passed in between.
        assert abs(read - now_true) < 1000


async def test_lost_notifications_are_recovered_by_backfill() -> None:
    async with _rig(quality=RadioQuality(loss_probability=0.3)) as rig:
        await rig.central.discover(1)
        session = await rig.central.connect(rig.watch.identity.address)
        await _until(lambda: rig.watch.stats.notifications_lost >= 20)
        flash = rig.watch.firmware.flash
        holes = {
            s: set(range(first_missing(session.sequences(s)), flash.next_seq(s)))
            - session.sequences(s)
            for s in (Stream.HEART_RATE, Stream.SPO2, Stream.ACCEL)
        }
        assert any(holes.values()), "30 % loss left no hole in the live streams"
        await catch_up(session)
        for stream in (Stream.HEART_RATE, Stream.SPO2, Stream.ACCEL):
            assert holes[stream] <= session.sequences(stream)
