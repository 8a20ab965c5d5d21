"""Current Time (0x2A2B) and its epoch-millisecond helpers."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.current_time import AdjustReason, CurrentTime
from wearable_core.contracts.gatt.date_time import DateTime
from wearable_core.contracts.gatt.errors import PayloadError

from .strategies import FUZZ, PROPERTY, current_times, epoch_ms

# 2024-02-29 13:05:09.5 UTC, a Thursday (4); manual update + DST change.
VECTOR = CurrentTime(
    DateTime(2024, 2, 29, 13, 5, 9),
    4,
    128,
    AdjustReason.MANUAL_TIME_UPDATE | AdjustReason.CHANGE_OF_DST,
)
VECTOR_WIRE = bytes([0xE8, 0x07, 0x02, 0x1D, 0x0D, 0x05, 0x09, 0x04, 0x80, 0x09])
VECTOR_MS = 1_709_211_909_500


def test_known_vector() -> None:
    assert bytes(VECTOR) == VECTOR_WIRE
    assert CurrentTime.from_bytes(VECTOR_WIRE) == VECTOR
    assert VECTOR.to_epoch_ms() == VECTOR_MS
    assert CurrentTime.from_epoch_ms(VECTOR_MS, adjust_reason=0x09) == VECTOR


def test_from_epoch_ms_fields() -> None:
    assert CurrentTime.from_epoch_ms(0) == CurrentTime(DateTime(1970, 1, 1, 0, 0, 0), 4, 0, 0)
    # 999 ms is 255.7/256 s: truncated to 255.
    assert CurrentTime.from_epoch_ms(999).fractions256 == 255
    assert CurrentTime.from_epoch_ms(3).fractions256 == 0
    assert CurrentTime.from_epoch_ms(4).fractions256 == 1
    before_epoch = CurrentTime.from_epoch_ms(-1)
    assert before_epoch.date_time == DateTime(1969, 12, 31, 23, 59, 59)
    assert before_epoch.fractions256 == 255


def test_reserved_adjust_reason_bits_are_ignored() -> None:
    value = CurrentTime.from_bytes(VECTOR_WIRE[:-1] + b"\xf9")
    assert value == VECTOR
    with pytest.raises(PayloadError, match="reserved"):
        CurrentTime(VECTOR.date_time, 4, 0, 0x10)


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (b"", "CurrentTime.date_time.year"),
        (VECTOR_WIRE[:9], "CurrentTime.adjust_reason"),
        (VECTOR_WIRE + b"\x00", "CurrentTime.<end>"),
        (VECTOR_WIRE[:7] + b"\x08" + VECTOR_WIRE[8:], "CurrentTime.day_of_week"),
        (VECTOR_WIRE[:4] + b"\x18" + VECTOR_WIRE[5:], "DateTime.hours"),
    ],
)
def test_malformed(wire: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        CurrentTime.from_bytes(wire)
    assert info.value.field == field
    assert info.value.payload == wire


def test_unknown_or_impossible_date_cannot_become_epoch() -> None:
    with pytest.raises(PayloadError):
        CurrentTime(DateTime(0, 0, 0), 0).to_epoch_ms()
    with pytest.raises(PayloadError):
        CurrentTime(DateTime(2023, 2, 29), 0).to_epoch_ms()


def test_out_of_range_epoch() -> None:
    with pytest.raises(PayloadError):
        CurrentTime.from_epoch_ms(-13_000_000_000_000)  # before 1582


@PROPERTY
@given(current_times)
def test_round_trip(value: CurrentTime) -> None:
    assert CurrentTime.from_bytes(bytes(value)) == value


@PROPERTY
@given(epoch_ms)
def test_epoch_resolution_is_one_256th_second(ms: int) -> None:
    value = CurrentTime.from_epoch_ms(ms)
    back = value.to_epoch_ms()
    assert 0 <= ms - back <= 3  # 1000/256 = 3.9 ms, truncated
    assert CurrentTime.from_epoch_ms(back) == value  # and decode -> encode is exact
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
    assert value.day_of_week == moment.isoweekday()


@FUZZ
@given(st.binary(max_size=12))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        CurrentTime.from_bytes(data)
