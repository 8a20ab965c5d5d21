"""Temperature Measurement (0x2A1C), Temperature Type (0x2A1D), Measurement Interval."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.date_time import DateTime
from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.health_thermometer import (
    MeasurementInterval,
    TemperatureMeasurement,
    TemperatureType,
    temperature_type_decode,
)
from wearable_core.contracts.gatt.ieee11073 import Float32

from .strategies import FUZZ, PROPERTY, temperature_measurements

CELSIUS_36_6 = bytes([0x6E, 0x01, 0x00, 0xFF])  # mantissa 366, exponent -1
STAMP = DateTime(2024, 2, 29, 13, 5, 9)
STAMP_WIRE = bytes([0xE8, 0x07, 0x02, 0x1D, 0x0D, 0x05, 0x09])


def test_known_vectors() -> None:
    assert bytes(TemperatureMeasurement(Float32(366, -1))) == b"\x00" + CELSIUS_36_6
    full = TemperatureMeasurement(Float32(366, -1), False, STAMP, TemperatureType.BODY_GENERAL)
    wire = b"\x06" + CELSIUS_36_6 + STAMP_WIRE + b"\x02"
    assert bytes(full) == wire
    assert TemperatureMeasurement.from_bytes(wire) == full
    fahrenheit = TemperatureMeasurement.from_bytes(bytes([0x01, 0xDA, 0x03, 0x00, 0xFF]))
    assert fahrenheit.fahrenheit and fahrenheit.temperature == Float32(986, -1)
    assert fahrenheit.celsius == pytest.approx(37.0)


@pytest.mark.parametrize(
    ("fahrenheit", "stamped", "typed"), list(itertools.product([False, True], repeat=3))
)
def test_every_flag_combination_round_trips(fahrenheit: bool, stamped: bool, typed: bool) -> None:
    flags = fahrenheit | stamped << 1 | typed << 2
    wire = bytes([flags]) + CELSIUS_36_6
    wire += STAMP_WIRE if stamped else b""
    wire += b"\x09" if typed else b""
    value = TemperatureMeasurement.from_bytes(wire)
    assert value.temperature == Float32(366, -1)
    assert value.fahrenheit is fahrenheit
    assert value.timestamp == (STAMP if stamped else None)
    assert value.temperature_type == (TemperatureType.TYMPANUM if typed else None)
    assert value.flags == flags
    assert bytes(value) == wire


def test_reserved_flag_bits_ignored_and_reserved_type_kept() -> None:
    value = TemperatureMeasurement.from_bytes(b"\xfc" + CELSIUS_36_6 + b"\x00")
    assert value == TemperatureMeasurement(Float32(366, -1), temperature_type=0)
    assert bytes(value) == b"\x04" + CELSIUS_36_6 + b"\x00"


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (b"", "TemperatureMeasurement.flags"),
        (b"\x00\x6e\x01\x00", "TemperatureMeasurement.temperature"),
        (b"\x02" + CELSIUS_36_6 + STAMP_WIRE[:6], "TemperatureMeasurement.timestamp.seconds"),
        (b"\x02" + CELSIUS_36_6 + bytes([0xE8, 0x07, 13, 1, 0, 0, 0]), "DateTime.month"),
        (b"\x04" + CELSIUS_36_6, "TemperatureMeasurement.temperature_type"),
        (b"\x00" + CELSIUS_36_6 + b"\x00", "TemperatureMeasurement.<end>"),
    ],
)
def test_malformed(wire: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        TemperatureMeasurement.from_bytes(wire)
    assert info.value.field == field
    assert info.value.payload == wire


def test_constructor_checks() -> None:
    with pytest.raises(PayloadError, match="Float32"):
        TemperatureMeasurement(36.6)  # type: ignore[arg-type]
    with pytest.raises(PayloadError):
        TemperatureMeasurement(Float32(366, -1), temperature_type=256)


def test_temperature_type_and_interval() -> None:
    assert [int(t) for t in TemperatureType] == list(range(1, 10))
    assert temperature_type_decode(b"\x03") is TemperatureType.EAR
    for bad in (b"", b"\x00", b"\x0a", b"\x01\x01"):
        with pytest.raises(PayloadError):
            temperature_type_decode(bad)
    assert bytes(MeasurementInterval(60)) == b"\x3c\x00"
    assert MeasurementInterval.from_bytes(b"\x10\x0e") == MeasurementInterval(3600)
    with pytest.raises(PayloadError):
        MeasurementInterval.from_bytes(b"\x10")


@PROPERTY
@given(temperature_measurements)
def test_round_trip(value: TemperatureMeasurement) -> None:
    assert TemperatureMeasurement.from_bytes(bytes(value)) == value


@FUZZ
@given(st.binary(max_size=16))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    for decode in (TemperatureMeasurement.from_bytes, MeasurementInterval.from_bytes):
        with contextlib.suppress(PayloadError):
            decode(data)
