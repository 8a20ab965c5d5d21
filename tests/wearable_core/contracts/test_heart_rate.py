"""Heart Rate Measurement (0x2A37), cross-checked against bumble's Heart Rate Service."""

from __future__ import annotations

import itertools

import pytest
from bumble.profiles.heart_rate_service import HeartRateService
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.heart_rate import (
    CONTROL_POINT_NOT_SUPPORTED,
    RESET_ENERGY_EXPENDED,
    BodySensorLocation,
    HeartRateFlags,
    HeartRateMeasurement,
    body_sensor_location_decode,
)

from .strategies import FUZZ, PROPERTY, U16, heart_rate_measurements

BumbleHRM = HeartRateService.HeartRateMeasurement

# Hand-assembled from the spec layout: flags, HR (u8/u16), [energy u16], [RR u16...].
VECTORS = [
    # contact supported+detected, RR present: 72 bpm, one RR of 1024/1024 s.
    (bytes([0x16, 0x48, 0x00, 0x04]), HeartRateMeasurement(72, True, None, (1024,))),
    (bytes([0x00, 0x3C]), HeartRateMeasurement(60)),
    (bytes([0x01, 0x2C, 0x01]), HeartRateMeasurement(300, uint16_format=True)),
    (bytes([0x01, 0x48, 0x00]), HeartRateMeasurement(72, uint16_format=True)),
    (bytes([0x04, 0x00]), HeartRateMeasurement(0, sensor_contact=False)),
    (
        bytes([0x0E, 0x50, 0x10, 0x27]),
        HeartRateMeasurement(80, sensor_contact=True, energy_expended_kj=10_000),
    ),
    # Status value 1 (detected without supported) means "not supported" per the spec.
    (bytes([0x02, 0x48]), HeartRateMeasurement(72, None, contact_bit_without_support=True)),
    (
        bytes([0x19, 0x2C, 0x01, 0x64, 0x00, 0x00, 0x03, 0x55, 0x03]),
        HeartRateMeasurement(300, None, 100, (768, 853), uint16_format=True),
    ),
]


@pytest.mark.parametrize(("wire", "expected"), VECTORS)
def test_known_vectors(wire: bytes, expected: HeartRateMeasurement) -> None:
    assert HeartRateMeasurement.from_bytes(wire) == expected
    assert bytes(expected) == wire


def test_rr_ms() -> None:
    hrm = HeartRateMeasurement.from_bytes(bytes([0x10, 0x48, 0x00, 0x04, 0x00, 0x02]))
    assert hrm.rr_ms == (1000.0, 500.0)
    assert HeartRateMeasurement(60).rr_ms is None
    assert HeartRateMeasurement.rr_raw_from_ms(1000.0) == 1024
    assert HeartRateMeasurement.rr_raw_from_ms(833.3) == 853


@pytest.mark.parametrize(
    ("wide", "contact_supported", "contact_detected", "energy", "rr"),
    list(itertools.product([False, True], repeat=5)),
)
def test_every_flag_combination_round_trips(
    wide: bool, contact_supported: bool, contact_detected: bool, energy: bool, rr: bool
) -> None:
    flags = wide | contact_detected << 1 | contact_supported << 2 | energy << 3 | rr << 4
    wire = bytes([flags]) + (b"\x2c\x01" if wide else b"\x48")
    wire += b"\x39\x30" if energy else b""
    wire += b"\x00\x04\x55\x03\xff\xff" if rr else b""

    hrm = HeartRateMeasurement.from_bytes(wire)

    assert hrm.heart_rate == (300 if wide else 72)
    assert hrm.uint16_format is wide
    assert hrm.sensor_contact == (contact_detected if contact_supported else None)
    assert hrm.contact_bit_without_support is (contact_detected and not contact_supported)
    assert hrm.energy_expended_kj == (12345 if energy else None)
    assert hrm.rr_intervals == ((1024, 853, 0xFFFF) if rr else None)
    assert hrm.flags == flags
    assert bytes(hrm) == wire


def test_reserved_flag_bits_are_ignored() -> None:
    hrm = HeartRateMeasurement.from_bytes(bytes([0xE0 | 0x16, 0x48, 0x00, 0x04]))
    assert hrm == HeartRateMeasurement(72, True, None, (1024,))
    # Not byte-exact by design: the reserved bits are not retained.
    assert bytes(hrm) == bytes([0x16, 0x48, 0x00, 0x04])


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (b"", "flags"),
        (bytes([0x00]), "heart_rate"),
        (bytes([0x01, 0x48]), "heart_rate"),
        (bytes([0x08, 0x48, 0x01]), "energy_expended_kj"),
        (bytes([0x10, 0x48, 0x00, 0x04, 0x01]), "rr_intervals"),
        (bytes([0x10, 0x48]), "rr_intervals"),
        (bytes([0x00, 0x48, 0x00]), "<end>"),
        (bytes([0x10, 0x48]) + b"\x00\x04" * 256, "rr_intervals"),  # over 512 bytes
    ],
)
def test_malformed_payloads(wire: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        HeartRateMeasurement.from_bytes(wire)
    assert info.value.payload == wire
    assert info.value.field == f"HeartRateMeasurement.{field}"


def test_largest_rr_list_fits_the_attribute_limit() -> None:
    wire = bytes([0x10, 0x48]) + b"\x00\x04" * 255
    assert len(wire) == 512
    assert len(HeartRateMeasurement.from_bytes(wire).rr_intervals or ()) == 255


def test_constructor_checks() -> None:
    with pytest.raises(PayloadError, match="uint16_format=True"):
        HeartRateMeasurement(256)
    with pytest.raises(PayloadError):
        HeartRateMeasurement(0x10000, uint16_format=True)
    with pytest.raises(PayloadError):
        HeartRateMeasurement(60, energy_expended_kj=0x10000)
    with pytest.raises(PayloadError, match="use None"):
        HeartRateMeasurement(60, rr_intervals=())
    with pytest.raises(PayloadError, match=r"rr_intervals\[1\]"):
        HeartRateMeasurement(60, rr_intervals=(1, 0x10000))
    with pytest.raises(PayloadError, match="sensor_contact is None"):
        HeartRateMeasurement(60, True, contact_bit_without_support=True)


def test_rr_list_is_stored_as_tuple() -> None:
    hrm = HeartRateMeasurement(60, rr_intervals=[1, 2])  # type: ignore[arg-type]
    assert hrm.rr_intervals == (1, 2)
    assert hash(hrm) == hash(HeartRateMeasurement(60, rr_intervals=(1, 2)))


def test_body_sensor_location_and_control_point() -> None:
    assert [int(x) for x in BodySensorLocation] == list(range(7))
    assert int(BodySensorLocation.WRIST) == int(HeartRateService.BodySensorLocation.WRIST) == 2
    assert body_sensor_location_decode(b"\x02") is BodySensorLocation.WRIST
    for bad in (b"", b"\x07", b"\x02\x00"):
        with pytest.raises(PayloadError):
            body_sensor_location_decode(bad)
    assert RESET_ENERGY_EXPENDED == HeartRateService.RESET_ENERGY_EXPENDED == 0x01
    assert CONTROL_POINT_NOT_SUPPORTED == HeartRateService.CONTROL_POINT_NOT_SUPPORTED


def test_flag_values_match_bumble() -> None:
    assert int(HeartRateFlags.UINT16_HEART_RATE) == int(BumbleHRM.Flag.INT16_HEART_RATE)
    assert int(HeartRateFlags.SENSOR_CONTACT_DETECTED) == int(
        BumbleHRM.Flag.SENSOR_CONTACT_DETECTED
    )
    assert int(HeartRateFlags.SENSOR_CONTACT_SUPPORTED) == int(
        BumbleHRM.Flag.SENSOR_CONTACT_SUPPORTED
    )
    assert int(HeartRateFlags.ENERGY_EXPENDED_PRESENT) == int(BumbleHRM.Flag.ENERGY_EXPENDED_STATUS)
    assert int(HeartRateFlags.RR_INTERVALS_PRESENT) == int(BumbleHRM.Flag.RR_INTERVAL)


@PROPERTY
@given(heart_rate_measurements())
def test_round_trip(hrm: HeartRateMeasurement) -> None:
    assert HeartRateMeasurement.from_bytes(bytes(hrm)) == hrm


# --- Cross-check with bumble (an independent implementation) ------------------------------
# bumble picks the 8-bit format whenever HR < 256, encodes "not supported" as status 0,
# and represents RR intervals as float seconds (raw / 1024), encoding with int(rr * 1024).


def _assert_same(ours: HeartRateMeasurement, theirs: BumbleHRM) -> None:
    assert theirs.heart_rate == ours.heart_rate
    assert theirs.sensor_contact_detected == ours.sensor_contact
    assert theirs.energy_expended == ours.energy_expended_kj
    if ours.rr_intervals is None:
        assert theirs.rr_intervals is None
    else:
        assert theirs.rr_intervals is not None
        # raw / 1024 is exact in binary floating point, so this comparison is exact.
        assert tuple(theirs.rr_intervals) == tuple(rr / 1024 for rr in ours.rr_intervals)


@PROPERTY
@given(heart_rate_measurements())
def test_bumble_decodes_ours(hrm: HeartRateMeasurement) -> None:
    _assert_same(hrm, BumbleHRM.from_bytes(bytes(hrm)))


@PROPERTY
@given(
    st.integers(0, 0xFFFF),
    st.none() | st.booleans(),
    st.none() | U16,
    st.none() | st.lists(st.floats(0, 0xFFFF / 1024), min_size=1, max_size=9),
)
def test_we_decode_bumble(
    heart_rate: int, contact: bool | None, energy: int | None, rr_s: list[float] | None
) -> None:
    theirs = BumbleHRM(heart_rate, contact, energy, rr_s)
    wire = bytes(theirs)
    ours = HeartRateMeasurement.from_bytes(wire)
    assert ours.heart_rate == heart_rate
    assert ours.uint16_format is (heart_rate > 0xFF)
    assert ours.sensor_contact == contact
    assert ours.energy_expended_kj == energy
    assert ours.rr_intervals == (None if rr_s is None else tuple(int(r * 1024) for r in rr_s))
    assert bytes(ours) == wire


@PROPERTY
@given(heart_rate_measurements(uint16_format=False))
def test_bumble_reencodes_our_8bit_payloads_byte_exactly(hrm: HeartRateMeasurement) -> None:
    wire = bytes(hrm)
    if hrm.contact_bit_without_support:
        wire = bytes([wire[0] & ~HeartRateFlags.SENSOR_CONTACT_DETECTED]) + wire[1:]
    assert bytes(BumbleHRM.from_bytes(bytes(hrm))) == wire


@FUZZ
@given(st.binary(max_size=24))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    try:
        ours = HeartRateMeasurement.from_bytes(data)
    except PayloadError:
        return
    # Whatever we accept, bumble reads the same way (bumble is the more lenient decoder).
    _assert_same(ours, BumbleHRM.from_bytes(data))
