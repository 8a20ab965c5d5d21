"""Hypothesis strategies producing *valid* contract objects.

Generators never set reserved (RFU) bits: decoders drop them, so objects carrying them
could not round-trip and the constructors reject them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from wearable_core.contracts.gatt.accelerometer import AccelerometerFrame
from wearable_core.contracts.gatt.battery import BatteryLevel
from wearable_core.contracts.gatt.current_time import ADJUST_REASON_MASK, CurrentTime
from wearable_core.contracts.gatt.date_time import DateTime
from wearable_core.contracts.gatt.health_thermometer import TemperatureMeasurement
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.gatt.ieee11073 import Float32, SFloat
from wearable_core.contracts.gatt.pulse_oximeter import (
    DEVICE_SENSOR_STATUS_MASK,
    MEASUREMENT_STATUS_MASK,
    SUPPORTED_FEATURES_MASK,
    PlxContinuousMeasurement,
    PlxFeatures,
)
from wearable_core.contracts.gatt.record_access import RacpRequest
from wearable_core.contracts.gatt.record_envelope import SequencedRecord
from wearable_core.contracts.gatt.storage_status import StorageStatus, StreamStorageStatus
from wearable_core.contracts.streams import Stream

#: Modest example counts keep the whole contracts suite to a few seconds.
PROPERTY = settings(max_examples=150, deadline=None)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

U8 = st.integers(0, 0xFF)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFF_FFFF)

sfloats = st.builds(SFloat, st.integers(-2048, 2047), st.integers(-8, 7))
float32s = st.builds(Float32, st.integers(-(2**23), 2**23 - 1), st.integers(-128, 127))
streams = st.sampled_from(list(Stream))


def masked(bits: int, mask: int) -> st.SearchStrategy[int]:
    """Integers of ``bits`` bits with only the bits of ``mask`` possibly set."""
    return st.integers(0, (1 << bits) - 1).map(lambda v: v & mask)


date_times = st.builds(
    DateTime,
    year=st.one_of(st.just(0), st.integers(1582, 9999)),
    month=st.integers(0, 12),
    day=st.integers(0, 31),
    hours=st.integers(0, 23),
    minutes=st.integers(0, 59),
    seconds=st.integers(0, 59),
)


@st.composite
def heart_rate_measurements(draw: Any, uint16_format: bool | None = None) -> HeartRateMeasurement:
    """Any valid Heart Rate Measurement, RR lists up to the attribute limit."""
    wide = draw(st.booleans()) if uint16_format is None else uint16_format
    contact = draw(st.none() | st.booleans())
    energy = draw(st.none() | U16)
    # Mostly short lists; sometimes long ones close to the 512-byte value limit.
    max_rr = (512 - 1 - (2 if wide else 1) - (2 if energy is not None else 0)) // 2
    size = st.integers(1, 12) | st.integers(1, max_rr)
    rr = draw(st.none() | size.flatmap(lambda n: st.lists(U16, min_size=n, max_size=n)))
    return HeartRateMeasurement(
        heart_rate=draw(U16 if wide else U8),
        sensor_contact=contact,
        energy_expended_kj=energy,
        rr_intervals=None if rr is None else tuple(rr),
        uint16_format=wide,
        contact_bit_without_support=contact is None and draw(st.booleans()),
    )


sfloat_pairs = st.tuples(sfloats, sfloats)
plx_measurements = st.builds(
    PlxContinuousMeasurement,
    spo2=sfloats,
    pulse_rate=sfloats,
    spo2pr_fast=st.none() | sfloat_pairs,
    spo2pr_slow=st.none() | sfloat_pairs,
    measurement_status=st.none() | masked(16, MEASUREMENT_STATUS_MASK),
    device_sensor_status=st.none() | masked(24, DEVICE_SENSOR_STATUS_MASK),
    pulse_amplitude_index=st.none() | sfloats,
)


@st.composite
def plx_features(draw: Any) -> PlxFeatures:
    """Any valid PLX Features value (optional fields consistent with bits 0/1)."""
    features = draw(masked(16, SUPPORTED_FEATURES_MASK))
    status = draw(masked(16, MEASUREMENT_STATUS_MASK)) if features & 0x01 else None
    device = draw(masked(24, DEVICE_SENSOR_STATUS_MASK)) if features & 0x02 else None
    return PlxFeatures(features, status, device)


temperature_measurements = st.builds(
    TemperatureMeasurement,
    temperature=float32s,
    fahrenheit=st.booleans(),
    timestamp=st.none() | date_times,
    temperature_type=st.none() | U8,
)

battery_levels = st.builds(BatteryLevel, st.integers(0, 100))

current_times = st.builds(
    CurrentTime,
    date_time=date_times,
    day_of_week=st.integers(0, 7),
    fractions256=U8,
    adjust_reason=masked(8, ADJUST_REASON_MASK),
)

epoch_ms = st.integers(
    -12_219_292_800_000,  # 1582-10-15T00:00:00Z, the earliest Date Time year is 1582
    253_402_300_799_999,  # 9999-12-31T23:59:59.999Z
)


@st.composite
def accelerometer_frames(draw: Any, max_samples: int = 255) -> AccelerometerFrame:
    """Any valid accelerometer frame."""
    n = draw(st.integers(1, max_samples))
    samples = draw(hnp.arrays(np.int16, (n, 3), elements=st.integers(-32768, 32767)))
    return AccelerometerFrame(draw(st.integers(1, 0xFFFF)), draw(st.integers(1, 0xFFFF)), samples)


sequenced_records = st.builds(
    SequencedRecord,
    seq=U32,
    watch_time_ms=st.integers(0, 2**64 - 1),
    payload=st.binary(min_size=1, max_size=600),
)

racp_requests = st.one_of(
    st.just(RacpRequest.abort()),
    st.builds(RacpRequest.report_records, streams, st.none() | U32),
    st.builds(RacpRequest.count_records, streams, st.none() | U32),
)


@st.composite
def stream_storage_statuses(draw: Any, stream: Stream | None = None) -> StreamStorageStatus:
    """One valid per-stream storage window."""
    next_seq = draw(U32)
    return StreamStorageStatus(
        stream=draw(streams) if stream is None else stream,
        oldest_seq=draw(st.integers(0, next_seq)),
        next_seq=next_seq,
        overwritten=draw(U32),
    )


@st.composite
def storage_statuses(draw: Any) -> StorageStatus:
    """A valid Storage Status: a subset of streams, each once, in any order."""
    chosen = draw(st.permutations(list(Stream)))
    count = draw(st.integers(0, len(chosen)))
    return StorageStatus(tuple(draw(stream_storage_statuses(s)) for s in chosen[:count]))
