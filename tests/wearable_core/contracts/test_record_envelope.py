"""SequencedRecord: our <I Q> header around each stream's payload."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.accelerometer import AccelerometerFrame
from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.health_thermometer import TemperatureMeasurement
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.gatt.ieee11073 import Float32, SFloat
from wearable_core.contracts.gatt.pulse_oximeter import PlxContinuousMeasurement
from wearable_core.contracts.gatt.record_envelope import (
    HEADER_SIZE,
    PAYLOAD_TYPE_BY_STREAM,
    SequencedRecord,
    StreamPayload,
    stream_payload_decode,
)
from wearable_core.contracts.streams import Stream

from .strategies import FUZZ, PROPERTY, sequenced_records


def test_known_vector() -> None:
    record = SequencedRecord(7, 1_700_000_000_123, bytes([0x16, 0x48, 0x00, 0x04]))
    # seq 7; 1_700_000_000_123 = 0x0000018BCFE5687B; then an HR payload.
    wire = bytes.fromhex("070000007b68e5cf8b01000016480004")
    assert HEADER_SIZE == 12
    assert bytes(record) == wire
    assert SequencedRecord.from_bytes(wire) == record


PAYLOADS: list[tuple[Stream, StreamPayload]] = [
    (Stream.HEART_RATE, HeartRateMeasurement(72, True, None, (1024,))),
    (Stream.SPO2, PlxContinuousMeasurement(SFloat(98, 0), SFloat(72, 0))),
    (Stream.TEMPERATURE, TemperatureMeasurement(Float32(366, -1))),
    (Stream.ACCEL, AccelerometerFrame(25, 2048, np.array([[0, 0, 2048]], dtype=np.int16))),
]


@pytest.mark.parametrize(("stream", "payload"), PAYLOADS)
def test_wrap_and_decode_each_stream(stream: Stream, payload: StreamPayload) -> None:
    record = SequencedRecord.wrap(1, 2, payload)
    decoded = SequencedRecord.from_bytes(bytes(record))
    assert decoded.decode_payload(stream) == payload
    assert stream_payload_decode(stream, decoded.payload) == payload
    assert isinstance(payload, PAYLOAD_TYPE_BY_STREAM[stream])
    assert len(bytes(record)) == HEADER_SIZE + len(bytes(payload))


def test_payload_errors_propagate_as_payload_error() -> None:
    record = SequencedRecord(1, 2, b"\x10\x48")  # RR flag without RR values
    with pytest.raises(PayloadError, match="HeartRateMeasurement"):
        record.decode_payload(Stream.HEART_RATE)


@pytest.mark.parametrize("size", [0, 4, 11, 12])
def test_header_only_or_truncated(size: int) -> None:
    with pytest.raises(PayloadError) as info:
        SequencedRecord.from_bytes(bytes(size))
    assert len(info.value.payload) == size


def test_constructor_checks() -> None:
    with pytest.raises(PayloadError):
        SequencedRecord(-1, 0, b"x")
    with pytest.raises(PayloadError):
        SequencedRecord(1 << 32, 0, b"x")
    with pytest.raises(PayloadError):
        SequencedRecord(0, 1 << 64, b"x")
    assert SequencedRecord(0, 0, bytearray(b"x")).payload == b"x"  # type: ignore[arg-type]


@PROPERTY
@given(sequenced_records)
def test_round_trip(record: SequencedRecord) -> None:
    assert SequencedRecord.from_bytes(bytes(record)) == record


@FUZZ
@given(st.binary(max_size=32))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    try:
        record = SequencedRecord.from_bytes(data)
    except PayloadError:
        return
    for stream in Stream:
        with contextlib.suppress(PayloadError):
            record.decode_payload(stream)
