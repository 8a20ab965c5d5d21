"""Batched (numpy) payload decoding gives exactly what the per-record codecs give."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wearable_core.contracts.gatt.accelerometer import AccelerometerFrame
from wearable_core.contracts.gatt.date_time import DateTime
from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.health_thermometer import TemperatureMeasurement
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.gatt.ieee11073 import Float32, SFloat
from wearable_core.contracts.gatt.pulse_oximeter import (
    DEVICE_SENSOR_STATUS_MASK,
    MEASUREMENT_STATUS_MASK,
    PlxContinuousMeasurement,
)
from wearable_core.contracts.streams import Stream
from wearable_core.features import (
    WindowData,
    features_extract,
    windows_from_records,
)
from wearable_core.features.decode import float32_values, round6, sfloat_values
from wearable_core.features.registry import features_reference
from wearable_core.features.window import _cut, _decode_per_record
from wearable_core.records import IngestRecord

from ._support import Simulated

FIELDS = ("hr_bpm", "rr_ms", "rr_second", "spo2_pct", "temp_c", "accel_g", "contact", "present")
DEVICE = "C4:00:00:00:00:01"
T0 = 1_767_225_600_000  # 2026-01-01, a multiple of every window length


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_same_windows(got: Iterable[WindowData], want: Iterable[WindowData]) -> None:
    got, want = list(got), list(want)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert (a.start_ms, a.device) == (b.start_ms, b.device)
        for name in FIELDS:
            assert same_bits(getattr(a, name), getattr(b, name)), name


def reference_windows(records: list[IngestRecord], window_s: int = 60) -> list[WindowData]:
    device, tables = _decode_per_record(records)
    return [] if device is None else list(_cut(tables, device, window_s))


def outcome(fn: object) -> object:
    """The result of ``fn()``, or the type and text of what it raised."""
    try:
        return ("ok", fn())  # type: ignore[operator]
    except (PayloadError, ValueError) as exc:
        return ("raised", type(exc), str(exc))


def check(records: list[IngestRecord], window_s: int = 60) -> None:
    got = outcome(lambda: list(windows_from_records(records, window_s)))
    want = outcome(lambda: reference_windows(records, window_s))
    if got[0] == "ok" and want[0] == "ok":
        assert_same_windows(got[1], want[1])  # type: ignore[index,arg-type]
    else:
        assert got == want


# --- Payload strategies: every flag combination the contracts allow. ---------------------

u16 = st.integers(0, 0xFFFF)


@st.composite
def hr_payloads(draw: st.DrawFn) -> bytes:
    wide = draw(st.booleans())
    contact = draw(st.sampled_from([None, True, False]))
    m = HeartRateMeasurement(
        heart_rate=draw(u16 if wide else st.integers(0, 255)),
        sensor_contact=contact,
        energy_expended_kj=draw(st.none() | u16),
        rr_intervals=draw(st.none() | st.lists(u16, min_size=1, max_size=6).map(tuple)),
        uint16_format=wide,
        contact_bit_without_support=contact is None and draw(st.booleans()),
    )
    data = bytearray(bytes(m))
    data[0] |= draw(st.integers(0, 7)) << 5  # reserved bits: ignored by the decoder
    return bytes(data)


sfloats = u16.map(SFloat.from_raw)


@st.composite
def spo2_payloads(draw: st.DrawFn) -> bytes:
    pair = st.none() | st.tuples(sfloats, sfloats)
    m = PlxContinuousMeasurement(
        spo2=draw(sfloats | st.integers(700, 1000).map(lambda v: SFloat(v, -1))),
        pulse_rate=draw(sfloats),
        spo2pr_fast=draw(pair),
        spo2pr_slow=draw(pair),
        measurement_status=draw(st.none() | u16.map(lambda v: v & MEASUREMENT_STATUS_MASK)),
        device_sensor_status=draw(
            st.none() | st.integers(0, 0xFFFFFF).map(lambda v: v & DEVICE_SENSOR_STATUS_MASK)
        ),
        pulse_amplitude_index=draw(st.none() | sfloats),
    )
    data = bytearray(bytes(m))
    data[0] |= draw(st.integers(0, 7)) << 5
    return bytes(data)


date_times = st.builds(
    DateTime,
    year=st.just(0) | st.integers(1582, 9999),
    month=st.integers(0, 12),
    day=st.integers(0, 31),
    hours=st.integers(0, 23),
    minutes=st.integers(0, 59),
    seconds=st.integers(0, 59),
)
float32s = (
    st.integers(0, 0xFFFFFFFF).map(Float32.from_raw)
    | st.integers(3000, 4200).map(lambda v: Float32(v, -2))
    | st.integers(-(2**23), 2**23 - 1).map(lambda v: Float32(v, 0))
)


@st.composite
def temp_payloads(draw: st.DrawFn) -> bytes:
    m = TemperatureMeasurement(
        temperature=draw(float32s),
        fahrenheit=draw(st.booleans()),
        timestamp=draw(st.none() | date_times),
        temperature_type=draw(st.none() | st.integers(0, 255)),
    )
    data = bytearray(bytes(m))
    data[0] |= draw(st.integers(0, 31)) << 3
    return bytes(data)


@st.composite
def accel_payloads(draw: st.DrawFn) -> bytes:
    n = draw(st.sampled_from([25, 25, 1, 24, 26, 40]))
    seed = draw(st.integers(0, 2**32 - 1))
    raw = np.random.default_rng(seed).integers(-32768, 32768, (n, 3)).astype(np.int16)
    lsb = draw(st.sampled_from([1, 3, 1024, 4096, 65535]))
    return bytes(AccelerometerFrame(draw(st.integers(1, 0xFFFF)), lsb, raw))


VALID = {
    Stream.HEART_RATE: hr_payloads(),
    Stream.SPO2: spo2_payloads(),
    Stream.TEMPERATURE: temp_payloads(),
    Stream.ACCEL: accel_payloads(),
}


@st.composite
def record_lists(draw: st.DrawFn, invalid: bool = False) -> list[IngestRecord]:
    streams = draw(st.lists(st.sampled_from(list(Stream)), min_size=1, max_size=4, unique=True))
    out = []
    for _ in range(draw(st.integers(0, 60))):
        stream = draw(st.sampled_from(streams))
        if invalid and draw(st.integers(0, 9)) == 0:
            payload = draw(st.binary(max_size=20))  # usually one the codecs reject
        else:
            payload = draw(VALID[stream])
        # Few distinct sequence numbers and seconds: duplicates and collisions.
        seq = draw(st.integers(0, 40))
        t = T0 + draw(st.integers(-2 * 3_600_000, 3 * 60_000))
        out.append(IngestRecord(DEVICE, stream, seq, t, t, t, payload))
    return out


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@PROPERTY
@given(record_lists(), st.sampled_from([60, 120]))
def test_batched_equals_per_record(records: list[IngestRecord], window_s: int) -> None:
    check(records, window_s)


@pytest.mark.slow
@PROPERTY
@given(record_lists(invalid=True))
def test_rejected_payloads_behave_as_per_record(records: list[IngestRecord]) -> None:
    check(records)


@PROPERTY
@given(st.sampled_from(list(Stream)), st.data())
def test_one_stream_only(stream: Stream, data: st.DataObject) -> None:
    payloads = data.draw(st.lists(VALID[stream], min_size=1, max_size=30))
    times = list(range(T0, T0 + 1000 * len(payloads), 1000))
    random.Random(len(payloads)).shuffle(times)  # out of order
    check(
        [
            IngestRecord(DEVICE, stream, i, t, t, t, p)
            for i, (t, p) in enumerate(zip(times, payloads, strict=True))
        ]
    )


def test_duplicates_keep_the_first_and_order_does_not_matter() -> None:
    hr = [bytes(HeartRateMeasurement(60 + i, True, rr_intervals=(800 + i,))) for i in range(3)]
    records = [
        IngestRecord(DEVICE, Stream.HEART_RATE, 7, T0 + 5000, 0, T0 + 5000, hr[0]),
        IngestRecord(DEVICE, Stream.HEART_RATE, 7, T0 + 9000, 0, T0 + 9000, hr[1]),
        IngestRecord(DEVICE, Stream.HEART_RATE, 3, T0 + 1000, 0, T0 + 1000, hr[2]),
    ]
    check(records)
    (w,) = windows_from_records(records)
    assert w.hr_bpm[5] == 60 and np.isnan(w.hr_bpm[9]) and w.hr_bpm[1] == 62
    assert w.rr_ms.tolist() == [802 * 1000 / 1024, 800 * 1000 / 1024]


def test_empty_and_errors() -> None:
    assert list(windows_from_records([])) == []
    assert list(windows_from_records(iter([]))) == []
    good = IngestRecord(DEVICE, Stream.SPO2, 1, T0, T0, T0, bytes.fromhex("00d2f34800"))
    bad = IngestRecord(DEVICE, Stream.HEART_RATE, 2, T0, T0, T0, b"\x10\x40")
    other = IngestRecord("C4:00:00:00:00:02", Stream.SPO2, 3, T0, T0, T0, good.payload)
    check([good, bad])
    check([good, other, bad])
    check([good, bad, other])
    with pytest.raises(PayloadError):
        windows_from_records([good, bad])
    with pytest.raises(ValueError, match="several devices"):
        windows_from_records([good, other])


def test_simulated_watch(simulated: Simulated) -> None:
    check(simulated.records)
    shuffled = list(simulated.records)
    random.Random(1).shuffle(shuffled)
    check(shuffled)


# --- Number conversions ------------------------------------------------------------------


def test_every_sfloat_word() -> None:
    raw = np.arange(0x10000, dtype=np.int64)
    want = np.array([round(SFloat.from_raw(int(w)).value, 6) for w in raw])
    assert same_bits(round6(sfloat_values(raw)), want)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=50))
def test_float32_words(words: list[int]) -> None:
    specials = [0x7FFFFF, 0x800000, 0x7FFFFE, 0x800002, 0x800001, 0x01000000, 0xE9000001]
    raw = np.array(words + specials, dtype=np.int64)
    values, _ = float32_values(raw)
    assert same_bits(values, np.array([Float32.from_raw(int(w)).value for w in raw]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=50))
def test_round6_matches_python(xs: list[float]) -> None:
    rng = np.random.default_rng(len(xs))
    # Near-ties: k + 0.5 millionths, and their neighbouring doubles.
    ties = (rng.integers(-(10**8), 10**8, 20) + 0.5) / 1e6
    near = np.concatenate([ties, np.nextafter(ties, np.inf), np.nextafter(ties, -np.inf)])
    x = np.concatenate([np.array(xs, dtype=np.float64), near, [1e9, -3e12, 2.5e-7, -1e-9]])
    want = np.array([round(v, 6) if math.isfinite(v) else v for v in x.tolist()])
    assert same_bits(round6(x), want)


# --- Features: computing |a| once changes nothing ---------------------------------------


def test_features_unchanged(simulated: Simulated) -> None:
    windows = list(simulated.windows)
    # Plus a few hand-made odd windows: empty, partly missing accelerometer.
    empty = reference_windows(simulated.records[:1])[0]
    windows.append(
        WindowData(
            empty.start_ms,
            empty.device,
            np.full(60, np.nan),
            np.empty(0),
            np.empty(0, np.int64),
            np.full(60, np.nan),
            np.full(30, np.nan),
            np.full((1500, 3), np.nan, np.float32),
            np.zeros(60, bool),
            np.zeros(60, bool),
        )
    )
    for w in windows:
        assert same_bits(features_extract(w), features_reference(w))


def test_windows_from_a_start_are_the_tail_of_all_windows(simulated: Simulated) -> None:
    # Incremental assessment reads temperature 30 min back for context but wants no
    # window before its start; the windows it gets are exactly those of a full cut.
    start = simulated.windows[25].start_ms
    got = list(windows_from_records(simulated.records, start_ms=start))
    assert_same_windows(got, simulated.windows[25:])
    # Only earlier temperature records: context for the first window, nothing else.
    late = [
        r for r in simulated.records if r.stream is Stream.TEMPERATURE or r.aligned_time_ms >= start
    ]
    assert_same_windows(windows_from_records(late, start_ms=start), simulated.windows[25:])
    assert list(windows_from_records(simulated.records, start_ms=60_000 * 10**9)) == []
    with pytest.raises(ValueError, match="multiple of 60000"):
        list(windows_from_records(simulated.records, start_ms=start + 1))


def test_a_start_and_end_give_exactly_those_windows_empty_ones_included() -> None:
    hr = bytes(HeartRateMeasurement(60, True))
    records = [IngestRecord(DEVICE, Stream.HEART_RATE, 1, T0 + 61_000, 0, T0 + 61_000, hr)]
    windows = list(windows_from_records(records, start_ms=T0, end_ms=T0 + 240_000))
    assert [w.start_ms for w in windows] == [T0 + m * 60_000 for m in range(4)]
    assert [int(w.present.sum()) for w in windows] == [0, 1, 0, 0]
    # No record at all: still the windows (a gap), for the device named.
    empty = list(windows_from_records([], start_ms=T0, end_ms=T0 + 120_000, device=DEVICE))
    assert [(w.device, w.start_ms, int(w.present.sum())) for w in empty] == [
        (DEVICE, T0, 0),
        (DEVICE, T0 + 60_000, 0),
    ]
    with pytest.raises(ValueError, match="end_ms must be a multiple"):
        list(windows_from_records(records, start_ms=T0, end_ms=T0 + 1))


def test_max_gap_cuts_each_run_of_data_and_skips_long_empty_stretches(
    simulated: Simulated,
) -> None:
    records = simulated.records
    # No gap longer than max_gap_s: exactly the windows of a full cut.
    assert_same_windows(windows_from_records(records, max_gap_s=3600), simulated.windows)
    # The second half eleven months later: the same windows, the second half's moved, and
    # none in between.
    shift = 335 * 86_400_000
    middle = simulated.windows[len(simulated.windows) // 2].start_ms
    moved = [
        r
        if r.aligned_time_ms < middle
        else IngestRecord(
            r.device,
            r.stream,
            r.seq,
            r.watch_time_ms,
            r.gateway_time_ms,
            r.aligned_time_ms + shift,
            r.payload,
        )
        for r in records
    ]
    got = list(windows_from_records(moved, max_gap_s=3600))
    assert [w.start_ms for w in got] == [
        w.start_ms if w.start_ms < middle else w.start_ms + shift for w in simulated.windows
    ]
    # Apart from the temperature context (the first windows after the gap have none),
    # every window holds what it held before the move.
    for a, b in zip(got, simulated.windows, strict=True):
        for name in ("hr_bpm", "rr_ms", "spo2_pct", "accel_g", "present"):
            assert same_bits(np.asarray(getattr(a, name)), np.asarray(getattr(b, name))), name
