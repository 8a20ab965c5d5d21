"""PLX Continuous Measurement (0x2A5F) and PLX Features (0x2A60)."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.ieee11073 import SFloat
from wearable_core.contracts.gatt.pulse_oximeter import (
    DeviceSensorStatus,
    MeasurementStatus,
    PlxContinuousMeasurement,
    PlxFeatures,
    PlxSupportedFeatures,
)

from .strategies import FUZZ, PROPERTY, plx_features, plx_measurements

SPO2_98 = SFloat(98, 0)  # 62 00
PR_72 = SFloat(72, 0)  # 48 00
FAST = (SFloat(97, 0), SFloat(75, 0))  # 61 00 4B 00
SLOW = (SFloat(985, -1), SFloat(71, 0))  # D9 F3 47 00
PAI = SFloat(52, -1)  # 34 F0


def test_known_vectors() -> None:
    plain = PlxContinuousMeasurement(SPO2_98, PR_72)
    assert bytes(plain) == bytes([0x00, 0x62, 0x00, 0x48, 0x00])
    with_status = PlxContinuousMeasurement(
        SPO2_98,
        PR_72,
        measurement_status=MeasurementStatus.MEASUREMENT_ONGOING,
        device_sensor_status=DeviceSensorStatus.SENSOR_UNCONNECTED_TO_USER,
    )
    wire = bytes([0x0C, 0x62, 0x00, 0x48, 0x00, 0x20, 0x00, 0x00, 0x08, 0x00])
    assert bytes(with_status) == wire
    assert PlxContinuousMeasurement.from_bytes(wire) == with_status
    unavailable = PlxContinuousMeasurement.from_bytes(
        bytes([0x04, 0xFF, 0x07, 0xFF, 0x07, 0x00, 0x20])
    )
    assert unavailable.spo2.is_special and unavailable.pulse_rate == SFloat.NAN
    assert unavailable.measurement_status == MeasurementStatus.MEASUREMENT_UNAVAILABLE


def test_status_bit_positions() -> None:
    assert [m.value.bit_length() - 1 for m in MeasurementStatus] == list(range(5, 16))
    assert [m.value.bit_length() - 1 for m in DeviceSensorStatus] == list(range(16))
    assert int(MeasurementStatus.INVALID_MEASUREMENT_DETECTED) == 0x8000
    assert int(DeviceSensorStatus.SENSOR_DISCONNECTED) == 0x8000
    assert [f.value for f in PlxSupportedFeatures] == [1 << i for i in range(8)]


@pytest.mark.parametrize(
    ("fast", "slow", "status", "device", "pai"), list(itertools.product([False, True], repeat=5))
)
def test_every_flag_combination_round_trips(
    fast: bool, slow: bool, status: bool, device: bool, pai: bool
) -> None:
    flags = fast | slow << 1 | status << 2 | device << 3 | pai << 4
    wire = bytes([flags, 0x62, 0x00, 0x48, 0x00])
    wire += bytes([0x61, 0x00, 0x4B, 0x00]) if fast else b""
    wire += bytes([0xD9, 0xF3, 0x47, 0x00]) if slow else b""
    wire += bytes([0xA0, 0x80]) if status else b""  # validated + invalid measurement
    wire += bytes([0x21, 0x80, 0x00]) if device else b""  # low perfusion, extended, disconnected
    wire += bytes([0x34, 0xF0]) if pai else b""

    plx = PlxContinuousMeasurement.from_bytes(wire)

    assert (plx.spo2, plx.pulse_rate) == (SPO2_98, PR_72)
    assert plx.spo2pr_fast == (FAST if fast else None)
    assert plx.spo2pr_slow == (SLOW if slow else None)
    assert plx.measurement_status == (
        MeasurementStatus.VALIDATED_DATA
        | MeasurementStatus.MEASUREMENT_ONGOING
        | MeasurementStatus.INVALID_MEASUREMENT_DETECTED
        if status
        else None
    )
    assert plx.device_sensor_status == (
        DeviceSensorStatus.EXTENDED_DISPLAY_UPDATE_ONGOING
        | DeviceSensorStatus.LOW_PERFUSION_DETECTED
        | DeviceSensorStatus.SENSOR_DISCONNECTED
        if device
        else None
    )
    assert plx.pulse_amplitude_index == (PAI if pai else None)
    assert plx.flags == flags
    assert bytes(plx) == wire


def test_reserved_bits_are_ignored() -> None:
    wire = bytes([0xE0 | 0x0C, 0x62, 0x00, 0x48, 0x00, 0x3F, 0x00, 0x01, 0x00, 0xFF])
    plx = PlxContinuousMeasurement.from_bytes(wire)
    assert plx.measurement_status == MeasurementStatus.MEASUREMENT_ONGOING  # bits 0-4 dropped
    assert plx.device_sensor_status == DeviceSensorStatus.EXTENDED_DISPLAY_UPDATE_ONGOING
    assert bytes(plx) == bytes([0x0C, 0x62, 0x00, 0x48, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00])


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (b"", "flags"),
        (bytes([0x00, 0x62, 0x00, 0x48]), "pulse_rate"),
        (bytes([0x01, 0x62, 0x00, 0x48, 0x00, 0x61, 0x00]), "spo2pr_fast.pulse_rate"),
        (bytes([0x02, 0x62, 0x00, 0x48, 0x00]), "spo2pr_slow.spo2"),
        (bytes([0x04, 0x62, 0x00, 0x48, 0x00, 0x20]), "measurement_status"),
        (bytes([0x08, 0x62, 0x00, 0x48, 0x00, 0x00, 0x00]), "device_sensor_status"),
        (bytes([0x10, 0x62, 0x00, 0x48, 0x00]), "pulse_amplitude_index"),
        (bytes([0x00, 0x62, 0x00, 0x48, 0x00, 0x00]), "<end>"),
    ],
)
def test_malformed_continuous(wire: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        PlxContinuousMeasurement.from_bytes(wire)
    assert info.value.field == f"PlxContinuousMeasurement.{field}"
    assert info.value.payload == wire


def test_continuous_constructor_checks() -> None:
    with pytest.raises(PayloadError, match="reserved"):
        PlxContinuousMeasurement(SPO2_98, PR_72, measurement_status=0x0001)
    with pytest.raises(PayloadError, match="reserved"):
        PlxContinuousMeasurement(SPO2_98, PR_72, device_sensor_status=0x010000)
    with pytest.raises(PayloadError, match="uint24"):
        PlxContinuousMeasurement(SPO2_98, PR_72, device_sensor_status=1 << 24)
    with pytest.raises(PayloadError, match="SFloat"):
        PlxContinuousMeasurement(98.0, PR_72)  # type: ignore[arg-type]
    with pytest.raises(PayloadError, match="pair"):
        PlxContinuousMeasurement(SPO2_98, PR_72, spo2pr_fast=(SPO2_98,))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status_present", "device_present", "others"),
    list(itertools.product([False, True], [False, True], [0x00, 0xFC])),
)
def test_features_every_presence_combination(
    status_present: bool, device_present: bool, others: int
) -> None:
    features = others | status_present | device_present << 1
    wire = features.to_bytes(2, "little")
    wire += bytes([0xE0, 0xFF]) if status_present else b""
    wire += bytes([0xFF, 0xFF, 0x00]) if device_present else b""
    decoded = PlxFeatures.from_bytes(wire)
    assert decoded.supported_features == features
    assert decoded.measurement_status_support == (0xFFE0 if status_present else None)
    assert decoded.device_sensor_status_support == (0xFFFF if device_present else None)
    assert bytes(decoded) == wire


def test_features_vector_and_rfu() -> None:
    wire = bytes([0x03, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0x00])
    assert PlxFeatures.from_bytes(wire) == PlxFeatures(0x0003, 0xFFE0, 0x00FFFF)
    # Reserved feature bits 8-15 and reserved support bits are dropped on decode.
    assert PlxFeatures.from_bytes(bytes([0x01, 0xFF, 0xFF, 0xFF])) == PlxFeatures(0x01, 0xFFE0)


def test_features_constructor_checks() -> None:
    with pytest.raises(PayloadError, match="present exactly when"):
        PlxFeatures(0x0001)
    with pytest.raises(PayloadError, match="present exactly when"):
        PlxFeatures(0x0000, device_sensor_status_support=0)
    with pytest.raises(PayloadError, match="reserved"):
        PlxFeatures(0x0100)


@pytest.mark.parametrize(
    "wire", [b"", b"\x01", b"\x01\x00\xe0", b"\x02\x00\x00\x00", b"\x00\x00\x00"]
)
def test_features_malformed(wire: bytes) -> None:
    with pytest.raises(PayloadError):
        PlxFeatures.from_bytes(wire)


@PROPERTY
@given(plx_measurements)
def test_continuous_round_trip(plx: PlxContinuousMeasurement) -> None:
    assert PlxContinuousMeasurement.from_bytes(bytes(plx)) == plx


@PROPERTY
@given(plx_features())
def test_features_round_trip(features: PlxFeatures) -> None:
    assert PlxFeatures.from_bytes(bytes(features)) == features


@FUZZ
@given(st.binary(max_size=24))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    for cls in (PlxContinuousMeasurement, PlxFeatures):
        with contextlib.suppress(PayloadError):
            cls.from_bytes(data)
