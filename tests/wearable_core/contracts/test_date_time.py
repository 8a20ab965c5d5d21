"""Date Time (0x2A08)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.date_time import DateTime
from wearable_core.contracts.gatt.errors import PayloadError

from .strategies import FUZZ, PROPERTY, date_times

VECTOR = (DateTime(2024, 2, 29, 13, 5, 9), bytes([0xE8, 0x07, 0x02, 0x1D, 0x0D, 0x05, 0x09]))


def test_known_vector() -> None:
    value, wire = VECTOR
    assert bytes(value) == wire
    assert DateTime.from_bytes(wire) == value
    assert value.to_datetime() == dt.datetime(2024, 2, 29, 13, 5, 9)


def test_unknown_fields_are_zero() -> None:
    unknown = DateTime(0, 0, 0)
    assert bytes(unknown) == bytes(7)
    assert not unknown.is_complete
    with pytest.raises(PayloadError, match="unknown"):
        unknown.to_datetime()


def test_from_datetime_keeps_wall_clock_and_drops_microseconds() -> None:
    aware = dt.datetime(
        2030, 12, 31, 23, 59, 58, 999_999, tzinfo=dt.timezone(dt.timedelta(hours=5))
    )
    assert DateTime.from_datetime(aware) == DateTime(2030, 12, 31, 23, 59, 58)
    assert DateTime(2030, 12, 31, 23, 59, 58).to_datetime(dt.UTC).tzinfo is dt.UTC


def test_non_calendar_date_fails_only_on_conversion() -> None:
    value = DateTime(2023, 2, 30)
    assert DateTime.from_bytes(bytes(value)) == value
    with pytest.raises(PayloadError, match="calendar"):
        value.to_datetime()


@pytest.mark.parametrize(
    "fields",
    [
        (1581, 1, 1, 0, 0, 0),
        (10000, 1, 1, 0, 0, 0),
        (2024, 13, 1, 0, 0, 0),
        (2024, 1, 32, 0, 0, 0),
        (2024, 1, 1, 24, 0, 0),
        (2024, 1, 1, 0, 60, 0),
        (2024, 1, 1, 0, 0, 60),
    ],
)
def test_field_ranges(fields: tuple[int, ...]) -> None:
    with pytest.raises(PayloadError):
        DateTime(*fields)
    wire = fields[0].to_bytes(2, "little") + bytes(fields[1:])
    with pytest.raises(PayloadError) as info:
        DateTime.from_bytes(wire)
    assert info.value.payload == wire


@pytest.mark.parametrize("wire", [b"", bytes(6), bytes(8)])
def test_wrong_length(wire: bytes) -> None:
    with pytest.raises(PayloadError):
        DateTime.from_bytes(wire)


@PROPERTY
@given(date_times)
def test_round_trip(value: DateTime) -> None:
    assert DateTime.from_bytes(bytes(value)) == value
    assert len(bytes(value)) == DateTime.SIZE


@PROPERTY
@given(st.datetimes(min_value=dt.datetime(1582, 1, 1)))
def test_datetime_round_trip(moment: dt.datetime) -> None:
    assert DateTime.from_datetime(moment).to_datetime() == moment.replace(microsecond=0)


@FUZZ
@given(st.binary(max_size=9))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        DateTime.from_bytes(data)
