"""Strict decoding of watch notifications: real payloads decode, everything else is a
counted rejection, and nothing raises."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_sim.episodes import AnomalyKind, Episode, FaultKind
from firmware_sim.firmware.watch_firmware import FirmwareConfig, ProducedRecord, WatchFirmware
from firmware_sim.physiology import PersonProfile
from firmware_sim.physiology.generator import SignalGenerator
from gateway import decoders
from gateway.decoders import (
    MAX_ATTRIBUTE_BYTES,
    WATCH_TIME_MAX_MS,
    WATCH_TIME_MIN_MS,
    DecodedRecord,
    Rejection,
    RejectionCounter,
    RejectReason,
    battery_decode,
    notification_decode,
    racp_decode,
    storage_status_decode,
    timestamp_is_plausible,
)
from wearable_core.contracts.gatt import (
    AccelerometerFrame,
    DateTime,
    Float32,
    HeartRateMeasurement,
    PlxContinuousMeasurement,
    RacpRecordCount,
    RacpResponse,
    RacpResponseCode,
    SequencedRecord,
    SFloat,
    StorageStatus,
    StreamStorageStatus,
    TemperatureMeasurement,
    stream_payload_decode,
    uuids,
)
from wearable_core.contracts.gatt.record_envelope import StreamPayload
from wearable_core.contracts.streams import Stream

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START_S = 1_699_920_000.0  # 2023-11-14 00:00 UTC
T_2023_MS = int(START_S * 1000)

STANDARD_CHAR = {
    Stream.HEART_RATE: uuids.HEART_RATE_MEASUREMENT_CHAR,
    Stream.SPO2: uuids.PLX_CONTINUOUS_MEASUREMENT_CHAR,
    Stream.TEMPERATURE: uuids.TEMPERATURE_MEASUREMENT_CHAR,
}
RECORD_CHARS = list(uuids.RECORD_CHAR_BY_STREAM.values())
ROUTED_CHARS = RECORD_CHARS + list(STANDARD_CHAR.values())
#: Everything a watch serves, routed or not, plus a stranger.
ALL_CHARS = [*ROUTED_CHARS, uuids.BATTERY_LEVEL_CHAR, uuids.STORAGE_STATUS_CHAR, "1234"]


# --- the firmware's real output ----------------------------------------------------------


@pytest.fixture(scope="module")
def firmware_records() -> list[ProducedRecord]:
    """Five simulated minutes of one watch: every stream, off-wrist, AF and a fall."""
    profile = PersonProfile.sample(np.random.default_rng(7))
    episodes = (
        Episode(30, 90, FaultKind.OFF_WRIST),
        Episode(120, 200, AnomalyKind.AF, 0.8),
        Episode(220, 240, AnomalyKind.FALL, 0.9),
    )
    duration = 300
    chunks = SignalGenerator(profile, episodes, 7, START_S, duration).iter_chunks()
    config = FirmwareConfig(START_S, clock_offset_s=-4.0, clock_drift_ppm=80.0)
    produced = WatchFirmware(config, chunks, duration).advance(duration)
    assert {p.stream for p in produced} == set(Stream)
    return produced


def test_every_firmware_record_decodes_on_its_record_characteristic(
    firmware_records: list[ProducedRecord],
) -> None:
    for item in firmware_records:
        note = bytes(item.record)
        result = notification_decode(uuids.RECORD_CHAR_BY_STREAM[item.stream], note)
        assert isinstance(result, DecodedRecord), result
        assert result.stream == item.stream
        assert (result.seq, result.watch_time_ms) == (item.record.seq, item.record.watch_time_ms)
        assert result.payload == item.record.payload
        assert result.value == stream_payload_decode(item.stream, item.record.payload)


def test_every_firmware_payload_decodes_on_its_standard_characteristic(
    firmware_records: list[ProducedRecord],
) -> None:
    for item in firmware_records:
        if item.stream not in STANDARD_CHAR:
            continue  # the accelerometer has no standard characteristic
        result = notification_decode(STANDARD_CHAR[item.stream], item.record.payload)
        assert isinstance(result, DecodedRecord), result
        assert (result.stream, result.seq, result.payload) == (
            item.stream,
            None,
            item.record.payload,
        )
        assert result.value == stream_payload_decode(item.stream, item.record.payload)
        if item.stream == Stream.TEMPERATURE:
            # The firmware stamps the SIG Time Stamp from the same clock, to the second.
            assert result.watch_time_ms == item.record.watch_time_ms // 1000 * 1000
        else:
            assert result.watch_time_ms is None


# --- hand-built payloads with every optional field ---------------------------------------

HAND_BUILT: list[tuple[Stream, StreamPayload]] = [
    (Stream.HEART_RATE, HeartRateMeasurement(72, sensor_contact=True, rr_intervals=(850, 870))),
    (Stream.HEART_RATE, HeartRateMeasurement(0, sensor_contact=False, energy_expended_kj=12)),
    (Stream.HEART_RATE, HeartRateMeasurement(300, uint16_format=True, energy_expended_kj=0xFFFF)),
    (
        Stream.SPO2,
        PlxContinuousMeasurement(
            SFloat(98, 0),
            SFloat(72, 0),
            spo2pr_fast=(SFloat(97, 0), SFloat(75, 0)),
            spo2pr_slow=(SFloat(98, 0), SFloat(71, 0)),
            measurement_status=0x0020,
            device_sensor_status=0x000800,
            pulse_amplitude_index=SFloat(52, -1),
        ),
    ),
    (Stream.SPO2, PlxContinuousMeasurement(SFloat.NAN, SFloat.NAN, measurement_status=1 << 13)),
    (
        Stream.TEMPERATURE,
        TemperatureMeasurement(
            Float32(9788, -2),
            fahrenheit=True,
            timestamp=DateTime(2024, 2, 29, 13, 5, 9),
            temperature_type=2,
        ),
    ),
    (Stream.TEMPERATURE, TemperatureMeasurement(Float32.NAN)),
    (
        Stream.ACCEL,
        AccelerometerFrame(25, 2048, np.arange(75, dtype=np.int16).reshape(25, 3) - 37),
    ),
]


@pytest.mark.parametrize(("stream", "value"), HAND_BUILT)
def test_hand_built_payloads_decode_on_both_characteristics(
    stream: Stream, value: StreamPayload
) -> None:
    record = SequencedRecord.wrap(41, T_2023_MS, value)
    decoded = notification_decode(uuids.RECORD_CHAR_BY_STREAM[stream], bytes(record))
    assert isinstance(decoded, DecodedRecord)
    assert (decoded.stream, decoded.seq, decoded.watch_time_ms) == (stream, 41, T_2023_MS)
    assert decoded.value == value and decoded.payload == bytes(value)
    if stream in STANDARD_CHAR:
        standard = notification_decode(STANDARD_CHAR[stream], bytes(value))
        assert isinstance(standard, DecodedRecord)
        assert (standard.stream, standard.seq, standard.value) == (stream, None, value)


def test_uuid_spelling_and_buffer_types_do_not_matter() -> None:
    value = HeartRateMeasurement(61, sensor_contact=True)
    note = bytes(SequencedRecord.wrap(1, T_2023_MS, value))
    for char in (uuids.HR_RECORD_CHAR.upper(), f"  {uuids.HR_RECORD_CHAR}  "):
        assert isinstance(notification_decode(char, note), DecodedRecord)
    for char in ("2a37", "2A37", uuids.HEART_RATE_MEASUREMENT_CHAR.upper()):
        assert isinstance(notification_decode(char, bytes(value)), DecodedRecord)
    for buffer in (bytearray(note), memoryview(note)):
        result = notification_decode(uuids.HR_RECORD_CHAR, buffer)  # type: ignore[arg-type]
        assert isinstance(result, DecodedRecord) and type(result.payload) is bytes


@pytest.mark.parametrize(
    ("stamp", "expected_ms"),
    [
        (None, None),
        (DateTime(2024, 2, 29, 13, 5, 9), 1_709_211_909_000),
        (DateTime(0, 0, 0, 0, 0, 0), None),  # unknown date: no usable time
        (DateTime(2023, 2, 30), None),  # not a calendar date
        (DateTime(1999, 12, 31, 23, 59, 59), None),  # an unset clock
        (DateTime(2100, 1, 1), None),
    ],
)
def test_standard_temperature_time_stamp(stamp: DateTime | None, expected_ms: int | None) -> None:
    # A standard thermometer with a wrong clock still gives a good reading: it decodes, with
    # no watch time, and the gateway uses its receive time.
    value = TemperatureMeasurement(Float32(3660, -2), timestamp=stamp)
    result = notification_decode(uuids.TEMPERATURE_MEASUREMENT_CHAR, bytes(value))
    assert isinstance(result, DecodedRecord)
    assert result.watch_time_ms == expected_ms


# --- every reject reason, from a crafted input -------------------------------------------

GOOD_HR = bytes(HeartRateMeasurement(70, sensor_contact=True, rr_intervals=(900,)))


def note(seq: int = 5, watch_time_ms: int = T_2023_MS, payload: bytes = GOOD_HR) -> bytes:
    return seq.to_bytes(4, "little") + watch_time_ms.to_bytes(8, "little") + payload


CRAFTED: list[tuple[RejectReason, str, Any]] = [
    (RejectReason.NOT_BYTES, uuids.HR_RECORD_CHAR, "not bytes"),
    (RejectReason.NOT_BYTES, uuids.HR_RECORD_CHAR, 17),
    (RejectReason.NOT_BYTES, uuids.HR_RECORD_CHAR, None),
    (RejectReason.EMPTY, uuids.HR_RECORD_CHAR, b""),
    (RejectReason.EMPTY, uuids.HEART_RATE_MEASUREMENT_CHAR, bytearray()),
    (RejectReason.TOO_LARGE, uuids.ACCEL_RECORD_CHAR, bytes(MAX_ATTRIBUTE_BYTES + 1)),
    (RejectReason.TOO_LARGE, uuids.HEART_RATE_MEASUREMENT_CHAR, b"\x10" + bytes(600)),
    (RejectReason.UNKNOWN_CHARACTERISTIC, uuids.BATTERY_LEVEL_CHAR, b"\x50"),
    # Routing comes before size: wrong-characteristic bytes are a routing problem.
    (RejectReason.UNKNOWN_CHARACTERISTIC, uuids.BATTERY_LEVEL_CHAR, b""),
    (RejectReason.UNKNOWN_CHARACTERISTIC, uuids.STORAGE_STATUS_CHAR, bytes(600)),
    (RejectReason.UNKNOWN_CHARACTERISTIC, uuids.RECORDS_SERVICE, note()),
    (RejectReason.UNKNOWN_CHARACTERISTIC, "not-a-uuid", note()),
    (RejectReason.ENVELOPE, uuids.HR_RECORD_CHAR, note()[:5]),
    (RejectReason.ENVELOPE, uuids.SPO2_RECORD_CHAR, note()[:12]),  # header, no payload
    (RejectReason.PAYLOAD, uuids.HR_RECORD_CHAR, note(payload=GOOD_HR[:-1])),  # odd RR bytes
    (RejectReason.PAYLOAD, uuids.HR_RECORD_CHAR, note(payload=GOOD_HR + b"\x00")),
    (RejectReason.PAYLOAD, uuids.ACCEL_RECORD_CHAR, note(payload=b"\x19\x00\x00\x08\x01")),
    (RejectReason.PAYLOAD, uuids.TEMPERATURE_RECORD_CHAR, note(payload=b"\x02\x00\x00\x00\x00")),
    (RejectReason.PAYLOAD, uuids.SPO2_RECORD_CHAR, note(payload=GOOD_HR)),  # wrong stream
    (RejectReason.PAYLOAD, uuids.HEART_RATE_MEASUREMENT_CHAR, b"\x10\x48"),  # RR flag, no RR
    (RejectReason.PAYLOAD, uuids.PLX_CONTINUOUS_MEASUREMENT_CHAR, b"\x00\x62\x00"),
    (RejectReason.SEQUENCE_OUT_OF_RANGE, uuids.HR_RECORD_CHAR, note(seq=0xFFFF_FFFF)),
    (RejectReason.SEQUENCE_OUT_OF_RANGE, uuids.TEMPERATURE_RECORD_CHAR, note(seq=20_000_000)),
    (
        RejectReason.SEQUENCE_OUT_OF_RANGE,
        uuids.HR_RECORD_CHAR,
        note(seq=1, watch_time_ms=WATCH_TIME_MIN_MS),
    ),
    (RejectReason.TIMESTAMP_IMPLAUSIBLE, uuids.HR_RECORD_CHAR, note(watch_time_ms=0)),
    (RejectReason.TIMESTAMP_IMPLAUSIBLE, uuids.HR_RECORD_CHAR, note(watch_time_ms=2**64 - 1)),
    (
        RejectReason.TIMESTAMP_IMPLAUSIBLE,
        uuids.ACCEL_RECORD_CHAR,
        note(watch_time_ms=WATCH_TIME_MIN_MS - 1),
    ),
    (
        RejectReason.TIMESTAMP_IMPLAUSIBLE,
        uuids.SPO2_RECORD_CHAR,
        note(watch_time_ms=WATCH_TIME_MAX_MS),
    ),
]


@pytest.mark.parametrize(("reason", "char", "data"), CRAFTED)
def test_crafted_inputs_are_rejected_with_their_reason(
    reason: RejectReason, char: str, data: Any
) -> None:
    result = notification_decode(char, data)
    assert isinstance(result, Rejection), result
    assert result.reason == reason, result.detail
    assert result.characteristic == char
    assert result.detail
    if isinstance(data, bytes | bytearray):
        assert result.payload == bytes(data)  # the whole notification, as received


def test_non_string_uuid_is_an_unknown_characteristic() -> None:
    result = notification_decode(0x2A37, GOOD_HR)  # type: ignore[arg-type]
    assert isinstance(result, Rejection)
    assert result.reason == RejectReason.UNKNOWN_CHARACTERISTIC


def test_plausibility_bounds_are_inclusive_exclusive() -> None:
    assert timestamp_is_plausible(WATCH_TIME_MIN_MS)
    assert not timestamp_is_plausible(WATCH_TIME_MIN_MS - 1)
    assert timestamp_is_plausible(WATCH_TIME_MAX_MS - 1)
    assert not timestamp_is_plausible(WATCH_TIME_MAX_MS)
    assert int(dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp() * 1000) == WATCH_TIME_MIN_MS
    assert int(dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp() * 1000) == WATCH_TIME_MAX_MS
    # seq bound: one record per period since 2000-01-01, with 0.1 % slack.
    ten_days_ms = 10 * 86_400_000
    at = WATCH_TIME_MIN_MS + ten_days_ms
    assert isinstance(
        notification_decode(uuids.HR_RECORD_CHAR, note(seq=864_000, watch_time_ms=at)),
        DecodedRecord,
    )
    too_many = notification_decode(uuids.HR_RECORD_CHAR, note(seq=865_000, watch_time_ms=at))
    assert isinstance(too_many, Rejection)
    assert too_many.reason == RejectReason.SEQUENCE_OUT_OF_RANGE


def test_a_decoder_bug_is_contained_and_labelled(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes) -> StreamPayload:
        raise IndexError("a bug, not a malformed payload")

    monkeypatch.setitem(decoders._DECODER_BY_STREAM, Stream.HEART_RATE, broken)
    result = notification_decode(uuids.HR_RECORD_CHAR, note())
    assert isinstance(result, Rejection)
    assert result.reason == RejectReason.DECODER_BUG
    assert "IndexError" in result.detail


# --- battery, storage status, RACP -------------------------------------------------------


def test_battery() -> None:
    assert battery_decode(b"\x00") == 0
    assert battery_decode(bytearray(b"\x64")) == 100  # type: ignore[arg-type]
    for data, reason in [
        (b"\x65", RejectReason.PAYLOAD),
        (b"\x50\x00", RejectReason.PAYLOAD),
        (b"", RejectReason.EMPTY),
        (bytes(513), RejectReason.TOO_LARGE),
        ("50", RejectReason.NOT_BYTES),
    ]:
        result = battery_decode(data)  # type: ignore[arg-type]
        assert isinstance(result, Rejection) and result.reason == reason
        assert result.characteristic == uuids.BATTERY_LEVEL_CHAR


def test_storage_status() -> None:
    status = StorageStatus(
        (
            StreamStorageStatus(Stream.HEART_RATE, 100, 4000, 7),
            StreamStorageStatus(Stream.ACCEL, 0, 0, 0),
        )
    )
    assert storage_status_decode(bytes(status)) == status
    assert storage_status_decode(b"\x00") == StorageStatus(())
    bad_stream = b"\x01\x09" + bytes(12)
    older_than_next = b"\x01\x01" + (5).to_bytes(4, "little") + (4).to_bytes(4, "little") + bytes(4)
    for data, reason in [
        (bytes(status)[:-1], RejectReason.PAYLOAD),
        (bad_stream, RejectReason.PAYLOAD),
        (older_than_next, RejectReason.PAYLOAD),
        (b"", RejectReason.EMPTY),
    ]:
        result = storage_status_decode(data)
        assert isinstance(result, Rejection) and result.reason == reason
        assert result.characteristic == uuids.STORAGE_STATUS_CHAR


def test_racp() -> None:
    assert racp_decode(bytes.fromhex("06000101")) == RacpResponse(1, RacpResponseCode.SUCCESS)
    assert racp_decode(bytes.fromhex("05000a000000")) == RacpRecordCount(10)
    for data, reason in [
        (bytes.fromhex("060001"), RejectReason.PAYLOAD),
        (bytes.fromhex("060001ff"), RejectReason.PAYLOAD),  # undefined response code
        (bytes.fromhex("05000a00"), RejectReason.PAYLOAD),
        (bytes.fromhex("0103"), RejectReason.PAYLOAD),  # a request, not an indication
        (b"", RejectReason.EMPTY),
    ]:
        result = racp_decode(data)
        assert isinstance(result, Rejection) and result.reason == reason
        assert result.characteristic == uuids.RECORD_ACCESS_CONTROL_POINT_CHAR


# --- the rejection counter ---------------------------------------------------------------


def _rejection(reason: RejectReason) -> Rejection:
    return Rejection(reason, "test", b"\x01", uuids.HR_RECORD_CHAR)


def test_rejection_counter_counts_per_device_and_reason() -> None:
    counter = RejectionCounter(keep_last=3)
    for device, reason in [
        ("a", RejectReason.PAYLOAD),
        ("a", RejectReason.PAYLOAD),
        ("a", RejectReason.ENVELOPE),
        ("b", RejectReason.PAYLOAD),
        ("b", RejectReason.TIMESTAMP_IMPLAUSIBLE),
    ]:
        counter.record(device, _rejection(reason))
    assert counter.total == 5
    assert counter.counts() == {
        ("a", RejectReason.PAYLOAD): 2,
        ("a", RejectReason.ENVELOPE): 1,
        ("b", RejectReason.PAYLOAD): 1,
        ("b", RejectReason.TIMESTAMP_IMPLAUSIBLE): 1,
    }
    assert counter.by_reason() == {
        RejectReason.PAYLOAD: 3,
        RejectReason.ENVELOPE: 1,
        RejectReason.TIMESTAMP_IMPLAUSIBLE: 1,
    }
    assert counter.for_device("b") == {
        RejectReason.PAYLOAD: 1,
        RejectReason.TIMESTAMP_IMPLAUSIBLE: 1,
    }
    assert counter.for_device("nobody") == {}
    recent = counter.recent()
    assert [d for d, _ in recent] == ["a", "b", "b"]  # the last three, oldest first
    assert recent[-1][1].reason == RejectReason.TIMESTAMP_IMPLAUSIBLE
    # Snapshots are copies.
    counter.counts().clear()
    assert counter.total == 5 and len(counter.counts()) == 4
    counter.clear()
    assert (counter.total, counter.counts(), counter.recent()) == (0, {}, [])


def test_rejection_counter_keeps_nothing_when_asked() -> None:
    counter = RejectionCounter(keep_last=0)
    counter.record("a", _rejection(RejectReason.EMPTY))
    assert counter.total == 1 and counter.recent() == []
    with pytest.raises(ValueError):
        RejectionCounter(keep_last=-1)


# --- property-based: nothing raises, every refusal has a reason --------------------------


def check_outcome(char: str, data: bytes, result: DecodedRecord | Rejection) -> None:
    """The contract every notification_decode result must meet."""
    if isinstance(result, Rejection):
        assert isinstance(result.reason, RejectReason)
        assert result.reason != RejectReason.DECODER_BUG, result.detail
        assert result.payload == data and result.characteristic == char and result.detail
        if char not in ROUTED_CHARS:
            assert result.reason == RejectReason.UNKNOWN_CHARACTERISTIC
        return
    assert isinstance(result, DecodedRecord)
    assert char in ROUTED_CHARS and len(data) <= MAX_ATTRIBUTE_BYTES
    if char in RECORD_CHARS:
        assert uuids.RECORD_CHAR_BY_STREAM[result.stream] == char
        assert result.seq == int.from_bytes(data[:4], "little")
        assert result.watch_time_ms is not None and timestamp_is_plausible(result.watch_time_ms)
        assert result.payload == data[12:]
    else:
        assert STANDARD_CHAR[result.stream] == char
        assert result.seq is None and result.payload == data
    # A decoded value is exactly what the strict codec makes of the payload.
    assert result.value == stream_payload_decode(result.stream, result.payload)


@FUZZ
@given(char=st.sampled_from(ALL_CHARS), data=st.binary(max_size=600))
def test_random_bytes_never_raise(char: str, data: bytes) -> None:
    check_outcome(char, data, notification_decode(char, data))


@FUZZ
@given(data=st.binary(max_size=40))
def test_other_decoders_never_raise_on_random_bytes(data: bytes) -> None:
    decoders_and_types: list[tuple[Callable[[bytes], object], tuple[type, ...]]] = [
        (battery_decode, (int,)),
        (storage_status_decode, (StorageStatus,)),
        (racp_decode, (RacpResponse, RacpRecordCount)),
    ]
    for decode, types in decoders_and_types:
        result = decode(data)
        if isinstance(result, Rejection):
            assert result.reason != RejectReason.DECODER_BUG, result.detail
            assert result.payload == data
        else:
            assert isinstance(result, types)


sfloats = st.builds(SFloat, st.integers(-2045, 2045), st.integers(-8, 7))
hr_values = st.builds(
    HeartRateMeasurement,
    heart_rate=st.integers(0, 255),
    sensor_contact=st.none() | st.booleans(),
    energy_expended_kj=st.none() | st.integers(0, 0xFFFF),
    rr_intervals=st.none() | st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=12).map(tuple),
)
plx_values = st.builds(
    PlxContinuousMeasurement,
    spo2=sfloats,
    pulse_rate=sfloats,
    spo2pr_fast=st.none() | st.tuples(sfloats, sfloats),
    spo2pr_slow=st.none() | st.tuples(sfloats, sfloats),
    measurement_status=st.none() | st.integers(0, 0xFFFF).map(lambda v: v & 0xFFE0),
    device_sensor_status=st.none() | st.integers(0, 0xFFFF),
    pulse_amplitude_index=st.none() | sfloats,
)
temp_values = st.builds(
    TemperatureMeasurement,
    temperature=st.builds(Float32, st.integers(-(2**23) + 3, 2**23 - 3), st.integers(-10, 10)),
    fahrenheit=st.booleans(),
    timestamp=st.none()
    | st.builds(
        DateTime,
        st.integers(2000, 2099),
        st.integers(1, 12),
        st.integers(1, 28),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
    ),
    temperature_type=st.none() | st.integers(0, 255),
)
accel_values = st.integers(1, 25).flatmap(
    lambda n: st.builds(
        AccelerometerFrame,
        st.just(25),
        st.just(2048),
        st.lists(st.integers(-32768, 32767), min_size=3 * n, max_size=3 * n).map(
            lambda v: np.array(v, dtype=np.int16).reshape(-1, 3)
        ),
    )
)
VALUES: dict[Stream, st.SearchStrategy[Any]] = {
    Stream.HEART_RATE: hr_values,
    Stream.SPO2: plx_values,
    Stream.TEMPERATURE: temp_values,
    Stream.ACCEL: accel_values,
}


@st.composite
def valid_notifications(draw: st.DrawFn) -> tuple[str, bytes]:
    """A notification a healthy watch could send, on a record or standard characteristic."""
    stream = draw(st.sampled_from(list(Stream)))
    value = draw(VALUES[stream])
    if stream in STANDARD_CHAR and draw(st.booleans()):
        return STANDARD_CHAR[stream], bytes(value)
    watch_time_ms = draw(st.integers(T_2023_MS - 10**11, T_2023_MS + 10**12))
    seq = draw(st.integers(0, 10**6))
    return uuids.RECORD_CHAR_BY_STREAM[stream], bytes(
        SequencedRecord.wrap(seq, watch_time_ms, value)
    )


@FUZZ
@given(valid_notifications())
def test_valid_notifications_decode(notification: tuple[str, bytes]) -> None:
    char, data = notification
    result = notification_decode(char, data)
    assert isinstance(result, DecodedRecord), result
    check_outcome(char, data, result)


def flip_bits(data: bytes, positions: list[int]) -> bytes:
    out = bytearray(data)
    for position in positions:
        index = position % (8 * len(out))
        out[index // 8] ^= 1 << (index % 8)
    return bytes(out)


@st.composite
def mutated_notifications(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid notification damaged in transit or by a buggy sender."""
    char, data = draw(valid_notifications())
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "splice", "reroute"]))
    if kind == "flip":
        positions = draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=4))
        data = flip_bits(data, positions)
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "extend":
        data = data + draw(st.binary(min_size=1, max_size=40))
    elif kind == "splice":
        # The start of one notification followed by the rest of another (e.g. a record
        # header glued to another stream's payload).
        _, other = draw(valid_notifications())
        data = data[: draw(st.integers(0, len(data)))] + other[draw(st.integers(0, len(other))) :]
    else:
        char = draw(st.sampled_from(ALL_CHARS))
    return char, data


@FUZZ
@given(mutated_notifications())
def test_mutated_notifications_never_raise(notification: tuple[str, bytes]) -> None:
    char, data = notification
    check_outcome(char, data, notification_decode(char, data))
