"""Storage Status: count then <B I I I> per stream."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.storage_status import StorageStatus, StreamStorageStatus
from wearable_core.contracts.streams import Stream

from .strategies import FUZZ, PROPERTY, storage_statuses

HR = StreamStorageStatus(Stream.HEART_RATE, 10, 250, 3)
HR_WIRE = bytes.fromhex("010a000000fa00000003000000")
ACCEL_EMPTY = StreamStorageStatus(Stream.ACCEL, 7, 7)
ACCEL_WIRE = bytes.fromhex("04070000000700000000000000")


def test_known_vectors() -> None:
    status = StorageStatus((HR, ACCEL_EMPTY))
    wire = b"\x02" + HR_WIRE + ACCEL_WIRE
    assert bytes(status) == wire
    assert StorageStatus.from_bytes(wire) == status
    assert StreamStorageStatus.from_bytes(HR_WIRE) == HR
    assert StorageStatus.from_bytes(b"\x00") == StorageStatus(())


def test_accessors() -> None:
    status = StorageStatus((HR, ACCEL_EMPTY))
    assert HR.stored_count == 240 and not HR.is_empty
    assert ACCEL_EMPTY.is_empty and ACCEL_EMPTY.stored_count == 0
    assert status.for_stream(Stream.ACCEL) is ACCEL_EMPTY
    assert status.for_stream(Stream.SPO2) is None


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (b"", "StorageStatus.count"),
        (b"\x01" + HR_WIRE[:-1], "StorageStatus.entries"),
        (b"\x01" + HR_WIRE + b"\x00", "StorageStatus.entries"),
        (b"\x01\x09" + HR_WIRE[1:], "StorageStatus.entries[0].stream"),
        (b"\x02" + HR_WIRE + HR_WIRE, "StorageStatus.entries"),
        (b"\x01" + bytes.fromhex("01050000000400000000000000"), "StreamStorageStatus.oldest_seq"),
    ],
)
def test_malformed(wire: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        StorageStatus.from_bytes(wire)
    assert info.value.field == field
    assert info.value.payload == wire


def test_constructor_checks() -> None:
    with pytest.raises(PayloadError, match="appears twice"):
        StorageStatus((HR, HR))
    with pytest.raises(PayloadError, match="next_seq"):
        StreamStorageStatus(Stream.SPO2, 5, 4)
    with pytest.raises(PayloadError, match="not a Stream"):
        StreamStorageStatus("hr", 0, 0)  # type: ignore[arg-type]
    assert StorageStatus([HR]).entries == (HR,)  # type: ignore[arg-type]


@PROPERTY
@given(storage_statuses())
def test_round_trip(status: StorageStatus) -> None:
    assert StorageStatus.from_bytes(bytes(status)) == status
    assert len(bytes(status)) == 1 + 13 * len(status.entries)


@FUZZ
@given(st.binary(max_size=30))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    for decode in (StorageStatus.from_bytes, StreamStorageStatus.from_bytes):
        with contextlib.suppress(PayloadError):
            decode(data)
