"""IEEE 11073-20601 SFLOAT and FLOAT."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.ieee11073 import Float32, SFloat, Special

from .strategies import FUZZ, PROPERTY, float32s, sfloats

# Hand-packed: exponent in the high nibble/byte, two's complement, little-endian.
SFLOAT_VECTORS = [
    (SFloat(366, -1), bytes([0x6E, 0xF1]), 36.6),  # exponent 0xF, mantissa 0x16E
    (SFloat(98, 0), bytes([0x62, 0x00]), 98.0),
    (SFloat(-15, -1), bytes([0xF1, 0xFF]), -1.5),  # mantissa 0xFF1, exponent 0xF
    (SFloat(1, 7), bytes([0x01, 0x70]), 1e7),
    (SFloat(-2045, -8), bytes([0x03, 0x88]), -2045e-8),
    (SFloat(0, 0), bytes([0x00, 0x00]), 0.0),
]
FLOAT32_VECTORS = [
    (Float32(366, -1), bytes([0x6E, 0x01, 0x00, 0xFF]), 36.6),
    (Float32(3712, -2), bytes([0x80, 0x0E, 0x00, 0xFE]), 37.12),
    (Float32(-40, 0), bytes([0xD8, 0xFF, 0xFF, 0x00]), -40.0),
    (Float32(986, -1), bytes([0xDA, 0x03, 0x00, 0xFF]), 98.6),
]


@pytest.mark.parametrize(("number", "wire", "value"), [*SFLOAT_VECTORS, *FLOAT32_VECTORS])
def test_known_vectors(number: SFloat | Float32, wire: bytes, value: float) -> None:
    assert bytes(number) == wire
    assert type(number).from_bytes(wire) == number
    assert number.value == pytest.approx(value, rel=1e-12)
    assert not number.is_special


@pytest.mark.parametrize(
    ("cls", "special", "wire"),
    [
        (SFloat, Special.NAN, bytes([0xFF, 0x07])),
        (SFloat, Special.NRES, bytes([0x00, 0x08])),
        (SFloat, Special.POSITIVE_INFINITY, bytes([0xFE, 0x07])),
        (SFloat, Special.NEGATIVE_INFINITY, bytes([0x02, 0x08])),
        (SFloat, Special.RESERVED, bytes([0x01, 0x08])),
        (Float32, Special.NAN, bytes([0xFF, 0xFF, 0x7F, 0x00])),
        (Float32, Special.NRES, bytes([0x00, 0x00, 0x80, 0x00])),
        (Float32, Special.POSITIVE_INFINITY, bytes([0xFE, 0xFF, 0x7F, 0x00])),
        (Float32, Special.NEGATIVE_INFINITY, bytes([0x02, 0x00, 0x80, 0x00])),
        (Float32, Special.RESERVED, bytes([0x01, 0x00, 0x80, 0x00])),
    ],
)
def test_special_values(cls: type[SFloat] | type[Float32], special: Special, wire: bytes) -> None:
    decoded = cls.from_bytes(wire)
    assert decoded.special is special
    assert decoded.is_special
    assert decoded == getattr(cls, special.name)
    assert bytes(decoded) == wire
    assert str(decoded) == special.value
    if special is Special.POSITIVE_INFINITY:
        assert decoded.value == math.inf
    elif special is Special.NEGATIVE_INFINITY:
        assert decoded.value == -math.inf
    else:
        assert math.isnan(decoded.value)


def test_special_mantissa_with_nonzero_exponent_is_a_number() -> None:
    # The spec defines the specials as whole words with exponent 0.
    assert SFloat(2047, 1).special is None
    assert SFloat(2047, 1).value == 20470.0


def test_scale_is_kept_for_byte_exactness() -> None:
    assert SFloat(20, -1).value == SFloat(2, 0).value
    assert SFloat(20, -1) != SFloat(2, 0)
    assert bytes(SFloat(20, -1)) != bytes(SFloat(2, 0))


def test_exhaustive_sfloat_words_round_trip() -> None:
    for raw in range(1 << 16):
        wire = raw.to_bytes(2, "little")
        assert bytes(SFloat.from_bytes(wire)) == wire


@pytest.mark.parametrize(
    ("x", "decimals", "expected"),
    [
        (36.6, 1, SFloat(366, -1)),
        (36.65, 1, SFloat(366, -1)),  # half to even, on the decimal the caller wrote
        (36.75, 1, SFloat(368, -1)),
        (0.125, 2, SFloat(12, -2)),
        (-1.5, 1, SFloat(-15, -1)),
        (98, 0, SFloat(98, 0)),
        (120000, 0, SFloat(1200, 2)),  # trailing zeros move into the exponent, only as needed
        (1e-9, 8, SFloat(0, -8)),
        (2045, 0, SFloat(2045, 0)),
        (-0.0, 2, SFloat(0, -2)),
    ],
)
def test_sfloat_from_value(x: float, decimals: int, expected: SFloat) -> None:
    assert SFloat.from_value(x, decimals) == expected


def test_float32_from_value() -> None:
    assert Float32.from_value(37.12, 2) == Float32(3712, -2)
    assert Float32.from_value(8_388_605, 0) == Float32(8_388_605, 0)
    with pytest.raises(PayloadError, match="fewer decimals"):
        Float32.from_value(8_388_606, 0)


@pytest.mark.parametrize(
    ("x", "decimals"),
    [(2046, 0), (204.6, 1), (-2046, 0), (1.0, 9), (1e300, 0), (1.0, -8)],
)
def test_sfloat_from_value_unrepresentable(x: float, decimals: int) -> None:
    with pytest.raises(PayloadError):
        SFloat.from_value(x, decimals)


def test_from_value_maps_nan_and_infinities() -> None:
    assert SFloat.from_value(math.nan, 1) is not None
    assert SFloat.from_value(math.nan, 1) == SFloat.NAN
    assert SFloat.from_value(math.inf, 0) == SFloat.POSITIVE_INFINITY
    assert Float32.from_value(-math.inf, 0) == Float32.NEGATIVE_INFINITY


@pytest.mark.parametrize(("mantissa", "exponent"), [(2048, 0), (-2049, 0), (0, 8), (0, -9)])
def test_sfloat_constructor_range(mantissa: int, exponent: int) -> None:
    with pytest.raises(PayloadError):
        SFloat(mantissa, exponent)


@pytest.mark.parametrize("size", [0, 1, 3])
def test_sfloat_wrong_length(size: int) -> None:
    with pytest.raises(PayloadError, match="exactly 2 bytes"):
        SFloat.from_bytes(bytes(size))


def test_unpack_from_and_pack_into() -> None:
    buffer = bytearray(6)
    SFloat(366, -1).pack_into(buffer, 1)
    Float32(1, 0).pack_into(buffer, 2)
    assert bytes(buffer) == bytes([0, 0x6E, 0x01, 0, 0, 0])
    assert SFloat.unpack_from(bytes([0, 0x6E, 0xF1]), 1) == SFloat(366, -1)
    with pytest.raises(PayloadError, match="truncated"):
        SFloat.unpack_from(bytes([0, 0x6E]), 1)


@PROPERTY
@given(st.one_of(sfloats, float32s))
def test_round_trip(number: SFloat | Float32) -> None:
    assert type(number).from_bytes(bytes(number)) == number
    assert type(number).from_raw(number.raw) == number


@PROPERTY
@given(st.integers(0, 3).flatmap(lambda d: st.tuples(st.floats(-204.5, 204.5), st.just(d))))
def test_from_value_is_nearest_at_that_precision(case: tuple[float, int]) -> None:
    x, decimals = case
    x = x / 10 ** (decimals - 1)  # keep |x| * 10**decimals within the 2045 mantissa limit
    number = SFloat.from_value(x, decimals)
    assert abs(number.value - x) <= 0.5 * 10**-decimals + 1e-9


@FUZZ
@given(st.binary(max_size=6))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    for cls in (SFloat, Float32):
        with contextlib.suppress(PayloadError):
            cls.from_bytes(data)
