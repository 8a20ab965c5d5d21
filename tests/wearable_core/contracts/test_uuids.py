"""UUID constants: exact strings, cross-checked against bumble's SIG table."""

from __future__ import annotations

import uuid

import pytest
from bumble import gatt
from bumble.core import UUID as BumbleUUID

from wearable_core.contracts.gatt import uuids
from wearable_core.contracts.streams import Stream


def test_sig_uuid_full_form() -> None:
    assert uuids.sig_uuid(0x180D) == "0000180d-0000-1000-8000-00805f9b34fb"
    assert uuids.HEART_RATE_SERVICE == "0000180d-0000-1000-8000-00805f9b34fb"


@pytest.mark.parametrize("bad", [-1, 0x10000])
def test_sig_uuid_rejects_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError):
        uuids.sig_uuid(bad)
    with pytest.raises(ValueError):
        uuids.custom_uuid(bad)


def test_sig_short_inverts_sig_uuid() -> None:
    assert uuids.sig_short(uuids.BATTERY_LEVEL_CHAR) == 0x2A19
    assert uuids.sig_short(uuids.BATTERY_LEVEL_CHAR.upper()) == 0x2A19
    assert uuids.sig_short("2a19") == 0x2A19
    assert uuids.sig_short(uuids.RECORDS_SERVICE) is None
    assert uuids.sig_short("zzzz") is None


SIG_PAIRS = {
    "HEART_RATE_SERVICE": (0x180D, gatt.GATT_HEART_RATE_SERVICE),
    "PULSE_OXIMETER_SERVICE": (0x1822, gatt.GATT_PULSE_OXIMETER_SERVICE),
    "HEALTH_THERMOMETER_SERVICE": (0x1809, gatt.GATT_HEALTH_THERMOMETER_SERVICE),
    "BATTERY_SERVICE": (0x180F, gatt.GATT_BATTERY_SERVICE),
    "DEVICE_INFORMATION_SERVICE": (0x180A, gatt.GATT_DEVICE_INFORMATION_SERVICE),
    "CURRENT_TIME_SERVICE": (0x1805, gatt.GATT_CURRENT_TIME_SERVICE),
    "HEART_RATE_MEASUREMENT": (0x2A37, gatt.GATT_HEART_RATE_MEASUREMENT_CHARACTERISTIC),
    "BODY_SENSOR_LOCATION": (0x2A38, gatt.GATT_BODY_SENSOR_LOCATION_CHARACTERISTIC),
    "HEART_RATE_CONTROL_POINT": (0x2A39, gatt.GATT_HEART_RATE_CONTROL_POINT_CHARACTERISTIC),
    "PLX_CONTINUOUS_MEASUREMENT": (0x2A5F, None),
    "PLX_FEATURES": (0x2A60, None),
    "TEMPERATURE_MEASUREMENT": (0x2A1C, None),
    "TEMPERATURE_TYPE": (0x2A1D, None),
    "MEASUREMENT_INTERVAL": (0x2A21, None),
    "BATTERY_LEVEL": (0x2A19, gatt.GATT_BATTERY_LEVEL_CHARACTERISTIC),
    "MANUFACTURER_NAME": (0x2A29, gatt.GATT_MANUFACTURER_NAME_STRING_CHARACTERISTIC),
    "MODEL_NUMBER": (0x2A24, gatt.GATT_MODEL_NUMBER_STRING_CHARACTERISTIC),
    "SERIAL_NUMBER": (0x2A25, gatt.GATT_SERIAL_NUMBER_STRING_CHARACTERISTIC),
    "FIRMWARE_REVISION": (0x2A26, gatt.GATT_FIRMWARE_REVISION_STRING_CHARACTERISTIC),
    "HARDWARE_REVISION": (0x2A27, gatt.GATT_HARDWARE_REVISION_STRING_CHARACTERISTIC),
    "SOFTWARE_REVISION": (0x2A28, gatt.GATT_SOFTWARE_REVISION_STRING_CHARACTERISTIC),
    "CURRENT_TIME": (0x2A2B, gatt.GATT_CURRENT_TIME_CHARACTERISTIC),
}


@pytest.mark.parametrize("name", sorted(SIG_PAIRS))
def test_sig_constants(name: str) -> None:
    short, bumble_uuid = SIG_PAIRS[name]
    assert getattr(uuids, f"{name}_16") == short
    full = getattr(uuids, name if name.endswith("_SERVICE") else f"{name}_CHAR")
    assert full == f"0000{short:04x}-0000-1000-8000-00805f9b34fb"
    assert BumbleUUID(full) == BumbleUUID.from_16_bits(short)
    if bumble_uuid is not None:
        assert BumbleUUID(full) == bumble_uuid


def test_custom_uuids_are_exact() -> None:
    expected = {
        "RECORDS_SERVICE": "b5e10001",
        "MOTION_SERVICE": "b5e10002",
        "HR_RECORD_CHAR": "b5e10101",
        "SPO2_RECORD_CHAR": "b5e10102",
        "TEMPERATURE_RECORD_CHAR": "b5e10103",
        "RECORD_ACCESS_CONTROL_POINT_CHAR": "b5e10110",
        "STORAGE_STATUS_CHAR": "b5e10111",
        "ACCEL_RECORD_CHAR": "b5e10201",
    }
    for name, head in expected.items():
        assert getattr(uuids, name) == head + "-2f6c-4c8e-9a57-3d1f0e4a6b20", name


def test_all_uuid_strings_are_canonical_and_distinct() -> None:
    strings = [
        v for k, v in vars(uuids).items() if k[0].isalpha() and k.isupper() and isinstance(v, str)
    ]
    assert len(set(strings)) == 30
    for value in strings:
        assert str(uuid.UUID(value)) == value  # lowercase, hyphenated 8-4-4-4-12


def test_record_char_mapping_covers_every_stream_and_inverts() -> None:
    assert set(uuids.RECORD_CHAR_BY_STREAM) == set(Stream)
    assert uuids.RECORD_CHAR_BY_STREAM[Stream.ACCEL] == uuids.ACCEL_RECORD_CHAR
    assert {v: k for k, v in uuids.STREAM_BY_RECORD_CHAR.items()} == uuids.RECORD_CHAR_BY_STREAM
