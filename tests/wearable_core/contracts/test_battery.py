"""Battery Level (0x2A19), cross-checked against bumble's Battery Service."""

from __future__ import annotations

import contextlib

import pytest
from bumble.profiles.battery_service import BatteryService
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.battery import BatteryLevel
from wearable_core.contracts.gatt.errors import PayloadError

from .strategies import FUZZ, PROPERTY


@pytest.mark.parametrize(("level", "wire"), [(0, b"\x00"), (57, b"\x39"), (100, b"\x64")])
def test_known_vectors(level: int, wire: bytes) -> None:
    assert bytes(BatteryLevel(level)) == wire
    assert BatteryLevel.from_bytes(wire) == BatteryLevel(level)


@pytest.mark.parametrize("wire", [b"", b"\x64\x00", b"\x65", b"\xff"])
def test_rejects_wrong_length_and_reserved_values(wire: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        BatteryLevel.from_bytes(wire)
    assert info.value.payload == wire


@pytest.mark.parametrize("level", [-1, 101])
def test_constructor_range(level: int) -> None:
    with pytest.raises(PayloadError, match="percentage"):
        BatteryLevel(level)


@pytest.fixture(scope="module")
def bumble_battery() -> BatteryService:
    return BatteryService(read_battery_level=lambda connection: 0)


@PROPERTY
@given(st.integers(0, 100))
def test_matches_bumble_both_ways(bumble_battery: BatteryService, level: int) -> None:
    adapter = bumble_battery.battery_level_characteristic
    ours = bytes(BatteryLevel(level))
    assert adapter.encode_value(level) == ours
    assert adapter.decode_value(ours) == level
    assert BatteryLevel.from_bytes(adapter.encode_value(level)).level == level


@FUZZ
@given(st.binary(max_size=3))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        BatteryLevel.from_bytes(data)
