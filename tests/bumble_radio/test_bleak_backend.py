"""The bleak backend on bumble, driven only through bleak's public BleakScanner/BleakClient,
against real simulated watches on the virtual radio (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble.keys import MemoryKeyStore

from bumble_radio.attach import hub_host_open
from bumble_radio.bleak_backend import BumbleAdapter, PasskeyProvider
from bumble_radio.hub import RadioHub
from bumble_radio.local import VirtualRadio
from firmware_sim.scenario import WatchPlan, scenario_parse
from firmware_sim.simclock import SimClock
from firmware_sim.watch import SimulatedWatch
from firmware_sim.watch_assembly import firmware_build, identity_of
from tests.support.umask import umask
from wearable_core.contracts.gatt import uuids
from wearable_core.contracts.gatt.current_time import CurrentTime
from wearable_core.contracts.gatt.health_thermometer import TemperatureMeasurement
from wearable_core.contracts.gatt.record_access import (
    RacpOpcode,
    RacpOperator,
    RacpRequest,
    RacpResponse,
    RacpResponseCode,
    racp_indication_decode,
)
from wearable_core.contracts.gatt.record_envelope import SequencedRecord
from wearable_core.contracts.streams import Stream

pytestmark = pytest.mark.integration

SCENARIO = """
[scenario]
name = "bleak-backend"
seed = 11
watches = 1
duration = "30min"
"""

#: Simulated seconds per wall second: a temperature record (one per minute) every 2 s.
SPEED = 30.0
#: An address nothing on the radio uses.
ABSENT = "C0:11:22:33:44:55"


@pytest.fixture(autouse=True)
async def _no_errors_in_event_callbacks() -> AsyncIterator[None]:
    """bumble dispatches HCI events in loop callbacks: an exception there (e.g. a state
    assertion) only reaches the loop's exception handler. Fail the test on any."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield
    loop.set_exception_handler(previous)
    assert not errors, errors


@dataclass
class Rig:
    radio: VirtualRadio
    plan: WatchPlan
    watch: SimulatedWatch
    adapter: BumbleAdapter

    @property
    def address(self) -> str:
        return self.watch.identity.address


@contextlib.asynccontextmanager
async def _rig(
    *,
    passkey: bool = False,
    keystore_path: Path | None = None,
    adapter_passkey: Callable[[WatchPlan], PasskeyProvider | None] = lambda _plan: None,
) -> AsyncIterator[Rig]:
    scenario = scenario_parse(SCENARIO + ("\n[watch]\npasskey = true\n" if passkey else ""))
    plan = scenario.plan()[0]
    radio = VirtualRadio()
    watch = SimulatedWatch(
        identity_of(plan), firmware_build(plan, scenario), radio.new_host("watch"), SimClock(SPEED)
    )
    await watch.start()
    runner = asyncio.ensure_future(watch.run())
    adapter = BumbleAdapter.on_local(
        radio, keystore_path=keystore_path, passkey=adapter_passkey(plan)
    )
    await adapter.start()
    try:
        yield Rig(radio, plan, watch, adapter)
    finally:
        await adapter.close()
        runner.cancel()
        await watch.close()


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def _client(rig: Rig, *, pair: bool = True, **kwargs: Any) -> BleakClient:
    return BleakClient(
        rig.address, pair=pair, timeout=10.0, backend=rig.adapter.client_backend, **kwargs
    )


def _collect(into: list[bytearray]) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
    def callback(_characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        into.append(data)

    return callback


async def _watch_drops_links(watch: SimulatedWatch) -> None:
    for connection in list(watch.device.connections.values()):
        await connection.disconnect()


# ---------------------------------------------------------------------- discovery
async def test_discovery_with_and_without_a_service_filter() -> None:
    async with _rig() as rig:
        backend = rig.adapter.scanner_backend
        found = await BleakScanner.discover(0.3, return_adv=True, backend=backend)
        device, adv = found[rig.address]
        assert device.name == adv.local_name == rig.watch.identity.name
        assert uuids.HEART_RATE_SERVICE in adv.service_uuids
        assert uuids.PULSE_OXIMETER_SERVICE in adv.service_uuids
        assert adv.service_uuids == sorted(set(adv.service_uuids), key=adv.service_uuids.index)
        assert isinstance(adv.rssi, int)
        assert adv.manufacturer_data == {} and adv.service_data == {}

        heart_rate = await BleakScanner.discover(
            0.3, service_uuids=[uuids.HEART_RATE_SERVICE], backend=backend
        )
        assert [d.address for d in heart_rate] == [rig.address]
        cycling = await BleakScanner.discover(
            0.3, service_uuids=[uuids.sig_uuid(0x1816)], backend=backend
        )
        assert cycling == []

        by_address = await BleakScanner.find_device_by_address(
            rig.address.lower(), timeout=2.0, backend=backend
        )
        assert by_address is not None
        assert by_address.address == rig.address
        assert by_address.name == rig.watch.identity.name
        assert await BleakScanner.find_device_by_address(ABSENT, 0.3, backend=backend) is None


async def test_scanners_share_one_scan() -> None:
    async with _rig() as rig:
        first: list[str] = []
        second: list[str] = []
        one = BleakScanner(
            lambda d, _a: first.append(d.address), backend=rig.adapter.scanner_backend
        )
        two = BleakScanner(
            lambda d, _a: second.append(d.address), backend=rig.adapter.scanner_backend
        )
        await one.start()
        await two.start()
        await _until(lambda: len(first) >= 2 and len(second) >= 2)
        await one.stop()
        stopped_at = len(first)
        seen_by_two = len(second)
        # The other scanner keeps hearing the watch after the first one stops.
        await _until(lambda: len(second) >= seen_by_two + 3)
        assert len(first) == stopped_at
        await two.stop()
        assert not rig.adapter.device.is_scanning


# ------------------------------------------------------------------ connected I/O
async def test_connect_pair_read_write_and_services() -> None:
    async with _rig() as rig, _client(rig) as client:
        assert client.is_connected
        assert client.mtu_size == 247
        assert client.name == rig.watch.identity.name
        assert rig.adapter.stats.pairings == 1
        services = client.services
        for service in (uuids.HEART_RATE_SERVICE, uuids.RECORDS_SERVICE, uuids.MOTION_SERVICE):
            assert services.get_service(service) is not None
        racp = services.get_characteristic(uuids.RECORD_ACCESS_CONTROL_POINT_CHAR)
        assert racp is not None
        assert set(racp.properties) == {"write", "indicate"}
        assert racp.service_uuid == uuids.RECORDS_SERVICE
        assert racp.max_write_without_response_size == 244
        cccd = racp.get_descriptor("00002902-0000-1000-8000-00805f9b34fb")
        assert cccd is not None

        assert await client.read_gatt_char(uuids.MANUFACTURER_NAME_CHAR) == b"WearSim"
        assert await client.read_gatt_char(uuids.MODEL_NUMBER_CHAR) == b"WS-1"
        serial = await client.read_gatt_char(uuids.SERIAL_NUMBER_CHAR)
        assert serial.decode() == rig.watch.identity.serial
        battery = await client.read_gatt_char(uuids.BATTERY_LEVEL_CHAR)
        assert isinstance(battery, bytearray) and 0 <= battery[0] <= 100
        assert await client.read_gatt_descriptor(cccd) == b"\x00\x00"
        with pytest.raises(BleakError, match="already connected"):
            await BleakClient(rig.address, backend=rig.adapter.client_backend).connect()

        firmware = rig.watch.firmware
        true_ms = firmware.clock.true_epoch_ms(rig.watch.clock.now())
        current = bytes(CurrentTime.from_epoch_ms(true_ms))
        await client.write_gatt_char(uuids.CURRENT_TIME_CHAR, current, response=True)
        assert rig.watch.stats.clock_sets == 1
        # The watch rejects a malformed time with its ATT error, not a bumble exception.
        with pytest.raises(BleakGATTProtocolError) as rejected:
            await client.write_gatt_char(uuids.CURRENT_TIME_CHAR, b"\x00", response=True)
        assert rejected.value.code == 0x13  # value not allowed
    assert not client.is_connected


async def test_notifications_indications_and_stop_notify() -> None:
    async with _rig() as rig, _client(rig) as client:
        records: list[bytearray] = []
        temperatures: list[bytearray] = []
        racp: list[bytearray] = []
        await client.start_notify(uuids.HR_RECORD_CHAR, _collect(records))
        # Temperature Measurement only indicates: start_notify falls back to indications.
        await client.start_notify(uuids.TEMPERATURE_MEASUREMENT_CHAR, _collect(temperatures))
        await client.start_notify(uuids.RECORD_ACCESS_CONTROL_POINT_CHAR, _collect(racp))
        await _until(lambda: len(records) >= 5 and len(temperatures) >= 1)
        assert all(type(value) is bytearray for value in records)
        live = [SequencedRecord.from_bytes(bytes(value)) for value in records]
        assert [r.seq for r in live] == list(range(live[0].seq, live[0].seq + len(live)))
        TemperatureMeasurement.from_bytes(bytes(temperatures[0]))

        # Backfill from sequence 0: stored records on the record characteristic, then
        # the RACP response as an indication.
        request = RacpRequest(
            RacpOpcode.REPORT_STORED_RECORDS, RacpOperator.GREATER_OR_EQUAL, Stream.HEART_RATE, 0
        )
        await client.write_gatt_char(uuids.RECORD_ACCESS_CONTROL_POINT_CHAR, bytes(request), True)
        await _until(lambda: len(racp) >= 1)
        assert racp_indication_decode(bytes(racp[0])) == RacpResponse(
            RacpOpcode.REPORT_STORED_RECORDS, RacpResponseCode.SUCCESS
        )
        seqs = {SequencedRecord.from_bytes(bytes(value)).seq for value in records}
        assert set(range(max(seqs))) <= seqs

        await client.stop_notify(uuids.HR_RECORD_CHAR)
        count = len(records)
        await rig.watch.clock.sleep_until(rig.watch.clock.now() + 5)
        assert len(records) == count
        # Subscribing again works and replaces the callback.
        again: list[bytearray] = []
        await client.start_notify(uuids.HR_RECORD_CHAR, _collect(again))
        await _until(lambda: len(again) >= 2)
        assert len(records) == count


async def test_health_data_needs_pairing_and_racp_needs_indications() -> None:
    async with _rig() as rig, _client(rig, pair=False) as client:
        with pytest.raises(BleakGATTProtocolError) as raised:
            await client.start_notify(uuids.HEART_RATE_MEASUREMENT_CHAR, lambda _c, _d: None)
        assert raised.value.code == 0x0F  # insufficient encryption
        # Battery is not health data: readable without pairing.
        assert 0 <= (await client.read_gatt_char(uuids.BATTERY_LEVEL_CHAR))[0] <= 100

        await client.pair()
        assert rig.adapter.stats.pairings == 1
        values: list[bytearray] = []
        await client.start_notify(uuids.HEART_RATE_MEASUREMENT_CHAR, _collect(values))
        await _until(lambda: len(values) >= 2)
        # A RACP request without indications enabled: the watch's 0xFD.
        request = RacpRequest(
            RacpOpcode.REPORT_STORED_RECORDS, RacpOperator.GREATER_OR_EQUAL, Stream.SPO2, 0
        )
        with pytest.raises(BleakGATTProtocolError) as improper:
            await client.write_gatt_char(
                uuids.RECORD_ACCESS_CONTROL_POINT_CHAR, bytes(request), response=True
            )
        assert improper.value.code == 0xFD


# ------------------------------------------------------------------- link faults
async def test_watch_side_drop_fires_the_callback_and_reconnect_uses_the_bond() -> None:
    async with _rig() as rig:
        dropped = asyncio.Event()
        client = _client(rig, disconnected_callback=lambda _client: dropped.set())
        await client.connect()
        values: list[bytearray] = []
        await client.start_notify(uuids.HR_RECORD_CHAR, _collect(values))
        await _watch_drops_links(rig.watch)
        await asyncio.wait_for(dropped.wait(), 5)
        assert not client.is_connected
        assert rig.adapter.stats.drops == 1
        with pytest.raises(BleakError):
            await client.read_gatt_char(uuids.BATTERY_LEVEL_CHAR)

        # Same client again: the bond re-encrypts the link, no second pairing.
        await client.connect()
        assert (rig.adapter.stats.pairings, rig.adapter.stats.bond_encryptions) == (1, 1)
        after: list[bytearray] = []
        await client.start_notify(uuids.HR_RECORD_CHAR, _collect(after))
        await _until(lambda: len(after) >= 2)
        dropped.clear()
        await client.disconnect()
        await asyncio.sleep(0.05)
        assert not dropped.is_set(), "a solicited disconnect must not call the callback"


async def test_a_request_pending_when_the_link_drops_raises_a_bleak_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with _rig() as rig, _client(rig) as client:
        # The watch stops answering ATT requests (its notifications would still flow).
        monkeypatch.setattr(rig.watch.device.gatt_server, "on_gatt_pdu", lambda *_args: None)
        pending = asyncio.ensure_future(client.read_gatt_char(uuids.BATTERY_LEVEL_CHAR))
        await asyncio.sleep(0.05)
        assert not pending.done()
        await _watch_drops_links(rig.watch)
        with pytest.raises(BleakError, match="disconnected"):
            await asyncio.wait_for(pending, 2)

    # Cancelling the caller still cancels it.
    async with _rig() as rig, _client(rig) as client:
        monkeypatch.setattr(rig.watch.device.gatt_server, "on_gatt_pdu", lambda *_args: None)
        stuck = asyncio.ensure_future(client.read_gatt_char(uuids.BATTERY_LEVEL_CHAR))
        await asyncio.sleep(0.05)
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        assert stuck.cancelled()


async def test_connecting_to_an_absent_device_fails_in_time_and_leaves_the_radio_usable() -> None:
    async with _rig() as rig:
        loop = asyncio.get_running_loop()
        started = loop.time()
        absent = BleakClient(ABSENT, timeout=0.5, backend=rig.adapter.client_backend)
        with pytest.raises(BleakDeviceNotFoundError) as raised:
            await absent.connect()
        assert raised.value.identifier == ABSENT
        assert loop.time() - started < 1.5
        async with _client(rig) as client:
            assert client.is_connected


async def test_a_device_vanishing_just_before_the_connect() -> None:
    async with _rig() as rig:
        backend = rig.adapter.scanner_backend
        device = await BleakScanner.find_device_by_address(rig.address, 2.0, backend=backend)
        assert device is not None
        # Out of range right after we heard it: the LE connect is issued, never completes,
        # and is cancelled (our virtual controller implements the cancel as the spec
        # says); the next connect, once the watch is back, is a clean one.
        await rig.watch.device.stop_advertising()
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient(device, timeout=0.5, backend=rig.adapter.client_backend).connect()

        async def back_in_range() -> None:
            await asyncio.sleep(0.3)
            await rig.watch.device.start_advertising(auto_restart=True)

        returning = asyncio.ensure_future(back_in_range())
        async with _client(rig) as client:
            assert client.is_connected
        await returning
        assert rig.adapter.stats.late_connections == 0
        assert rig.watch.stats.connections == 1


# --------------------------------------------------------------------- security
async def test_passkey_pairing() -> None:
    async def attempt(provider: Callable[[WatchPlan], PasskeyProvider | None]) -> Rig:
        async with _rig(passkey=True, adapter_passkey=provider) as rig, _client(rig) as client:
            values: list[bytearray] = []
            await client.start_notify(uuids.HEART_RATE_MEASUREMENT_CHAR, _collect(values))
            await _until(lambda: len(values) >= 2)
            return rig

    typed: list[str] = []

    def right(plan: WatchPlan) -> PasskeyProvider:
        def provide(address: str) -> int | None:
            typed.append(address)
            return plan.passkey

        return provide

    rig = await attempt(right)
    assert typed == [rig.address]
    assert rig.adapter.stats.pairings == 1

    def wrong(plan: WatchPlan) -> PasskeyProvider:
        passkey = plan.passkey
        assert passkey is not None
        return lambda _address: (passkey + 1) % 1_000_000

    with pytest.raises(BleakError) as raised:
        await attempt(wrong)
    assert type(raised.value).__module__.startswith("bleak")
    assert "CONFIRM_VALUE_FAILED" in str(raised.value)


async def test_bonds_persist_in_the_keystore_file_and_unpair_forgets_them(tmp_path: Path) -> None:
    keystore = tmp_path / "state" / "bonds.json"
    async with _rig(keystore_path=keystore) as rig:
        with umask(0o022):  # the usual default: bumble alone would write the keys 0644
            async with _client(rig):
                pass
        assert rig.watch.identity.address in json.loads(keystore.read_text()).get(
            rig.adapter.address, {}
        )
        # LTK and IRK: readable by the gateway's user only, in a private directory.
        assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
        assert stat.S_IMODE(keystore.parent.stat().st_mode) == 0o700
        assert [p.name for p in keystore.parent.iterdir()] == ["bonds.json"]
        await rig.adapter.close()

        # The gateway restarts: a new adapter, same address, same keystore file.
        restarted = BumbleAdapter.on_local(rig.radio, keystore_path=keystore)
        await restarted.start()
        try:
            client = BleakClient(
                rig.address, pair=True, timeout=10.0, backend=restarted.client_backend
            )
            await client.connect()
            assert (restarted.stats.pairings, restarted.stats.bond_encryptions) == (0, 1)
            values: list[bytearray] = []
            await client.start_notify(uuids.HR_RECORD_CHAR, _collect(values))
            await _until(lambda: len(values) >= 2)

            await client.unpair()
            assert not client.is_connected
            assert rig.address not in json.loads(keystore.read_text())[restarted.address]
            await client.connect()
            assert (restarted.stats.pairings, restarted.stats.bond_encryptions) == (1, 1)
            await client.disconnect()
        finally:
            await restarted.close()


async def test_bonded_links_are_encrypted_and_a_forgotten_bond_needs_unpair() -> None:
    async with _rig() as rig:
        client = _client(rig)
        await client.connect()
        await client.disconnect()
        # pair=False still uses the bond (as OS stacks do), without pairing again.
        unpaired_flag = _client(rig, pair=False)
        await unpaired_flag.connect()
        assert (rig.adapter.stats.pairings, rig.adapter.stats.bond_encryptions) == (1, 1)
        values: list[bytearray] = []
        await unpaired_flag.start_notify(uuids.HR_RECORD_CHAR, _collect(values))
        await _until(lambda: len(values) >= 2)
        await unpaired_flag.disconnect()

        rig.watch.device.keystore = MemoryKeyStore()  # the watch is reset and forgets us
        with pytest.raises(BleakError, match="unpair"):
            await client.connect()
        assert not client.is_connected
        # Without pair, the refused bond leaves a working, unencrypted link.
        async with _client(rig, pair=False) as plain:
            assert 0 <= (await plain.read_gatt_char(uuids.BATTERY_LEVEL_CHAR))[0] <= 100
        await client.unpair()
        await client.connect()
        assert rig.adapter.stats.pairings == 2
        await client.start_notify(uuids.HR_RECORD_CHAR, _collect(values))
        await client.disconnect()


# -------------------------------------------------------------------------- hub
async def test_through_the_tcp_hub_with_supervision_timeout() -> None:
    hub = RadioHub(port=0, supervision_timeout_s=0.3)
    await hub.start()
    address = f"127.0.0.1:{hub.port}"
    scenario = scenario_parse(SCENARIO)
    plan = scenario.plan()[0]
    try:
        async with BumbleAdapter.open_hub(address) as adapter:
            async with hub_host_open(address) as host:
                watch = SimulatedWatch(
                    identity_of(plan), firmware_build(plan, scenario), host, SimClock(SPEED)
                )
                await watch.start()
                runner = asyncio.ensure_future(watch.run())
                try:
                    device = await BleakScanner.find_device_by_address(
                        watch.identity.address, timeout=5.0, backend=adapter.scanner_backend
                    )
                    assert device is not None
                    lost = asyncio.Event()
                    client = BleakClient(
                        device,
                        lambda _client: lost.set(),
                        services=[uuids.MOTION_SERVICE],
                        pair=True,
                        timeout=10.0,
                        backend=adapter.client_backend,
                    )
                    await client.connect()
                    assert [s.uuid for s in client.services] == [uuids.MOTION_SERVICE]
                    values: list[bytearray] = []
                    await client.start_notify(uuids.ACCEL_RECORD_CHAR, _collect(values))
                    await _until(lambda: len(values) >= 3)
                    # An accelerometer record only fits in one notification at MTU 247.
                    assert len(values[0]) > 23
                finally:
                    runner.cancel()
                    await watch.close()
            # The watch's hub connection is gone: after the supervision timeout the
            # hub drops the link, and bleak hears about it.
            await asyncio.wait_for(lost.wait(), 5)
            assert not client.is_connected
            assert hub.stats.supervision_timeouts == 1
    finally:
        await hub.close()
