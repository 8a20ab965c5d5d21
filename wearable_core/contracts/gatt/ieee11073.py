"""IEEE 11073-20601 medical floats: 16-bit SFLOAT and 32-bit FLOAT.

Both are ``mantissa * 10 ** exponent`` with two's-complement fields packed into one
little-endian word, exponent in the high bits. The classes keep the (mantissa, exponent)
pair rather than a Python float so that decoding then encoding is byte-exact: ``20 * 10**-1``
and ``2 * 10**0`` are different payloads and compare unequal.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import ClassVar, Self

from ._codec import int_check
from .errors import PayloadError


class Special(enum.Enum):
    """The reserved (exponent 0) words of IEEE 11073-20601 section A.2.5/A.2.6."""

    NAN = "NaN"
    NRES = "NRes"
    POSITIVE_INFINITY = "+INFINITY"
    NEGATIVE_INFINITY = "-INFINITY"
    RESERVED = "reserved"


@dataclass(frozen=True, slots=True)
class _MedicalFloat:
    mantissa: int
    exponent: int = 0

    SIZE: ClassVar[int]
    _MANTISSA_BITS: ClassVar[int]
    _EXPONENT_BITS: ClassVar[int]

    def __post_init__(self) -> None:
        name = type(self).__name__
        half_m = 1 << (self._MANTISSA_BITS - 1)
        half_e = 1 << (self._EXPONENT_BITS - 1)
        int_check(name, "mantissa", self.mantissa, -half_m, half_m - 1)
        int_check(name, "exponent", self.exponent, -half_e, half_e - 1)

    # The special words are the mantissas ±(2**(n-1) - k) at exponent 0.
    @classmethod
    def _special_mantissas(cls) -> dict[int, Special]:
        top = (1 << (cls._MANTISSA_BITS - 1)) - 1
        return {
            top: Special.NAN,
            -top - 1: Special.NRES,
            top - 1: Special.POSITIVE_INFINITY,
            -top + 1: Special.NEGATIVE_INFINITY,
            -top: Special.RESERVED,
        }

    @classmethod
    def max_finite_mantissa(cls) -> int:
        """Largest ``|mantissa|`` :meth:`from_value` produces.

        The spec reserves the special mantissas only at exponent 0, but some decoders test
        the mantissa alone, so the encoder stays clear of them at every exponent.
        """
        return (1 << (cls._MANTISSA_BITS - 1)) - 3

    @property
    def raw(self) -> int:
        """The packed unsigned word (exponent in the high bits)."""
        mantissa_mask = (1 << self._MANTISSA_BITS) - 1
        exponent_mask = (1 << self._EXPONENT_BITS) - 1
        return ((self.exponent & exponent_mask) << self._MANTISSA_BITS) | (
            self.mantissa & mantissa_mask
        )

    @classmethod
    def from_raw(cls, raw: int) -> Self:
        """Unpack a word as read from the wire (already converted from little-endian)."""
        total = cls._MANTISSA_BITS + cls._EXPONENT_BITS
        int_check(cls.__name__, "raw", raw, 0, (1 << total) - 1)
        mantissa = raw & ((1 << cls._MANTISSA_BITS) - 1)
        exponent = raw >> cls._MANTISSA_BITS
        if mantissa >= 1 << (cls._MANTISSA_BITS - 1):
            mantissa -= 1 << cls._MANTISSA_BITS
        if exponent >= 1 << (cls._EXPONENT_BITS - 1):
            exponent -= 1 << cls._EXPONENT_BITS
        return cls(mantissa, exponent)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly :attr:`SIZE` little-endian bytes."""
        if len(data) != cls.SIZE:
            raise PayloadError(
                data, f"{cls.__name__}", f"expected exactly {cls.SIZE} bytes, got {len(data)}"
            )
        return cls.from_raw(int.from_bytes(data, "little"))

    @classmethod
    def unpack_from(cls, data: bytes, offset: int = 0) -> Self:
        """Decode :attr:`SIZE` bytes of ``data`` starting at ``offset``."""
        if offset < 0 or offset + cls.SIZE > len(data):
            raise PayloadError(
                data,
                f"{cls.__name__}",
                f"truncated: needs {cls.SIZE} bytes at offset {offset} but the payload is "
                f"{len(data)} bytes long",
            )
        return cls.from_raw(int.from_bytes(data[offset : offset + cls.SIZE], "little"))

    def __bytes__(self) -> bytes:
        return self.raw.to_bytes(self.SIZE, "little")

    def pack_into(self, buffer: bytearray, offset: int) -> None:
        """Write the :attr:`SIZE` encoded bytes into ``buffer`` at ``offset``."""
        buffer[offset : offset + self.SIZE] = bytes(self)

    @property
    def special(self) -> Special | None:
        """Which special value this is, or ``None`` for an ordinary number."""
        if self.exponent != 0:
            return None
        return self._special_mantissas().get(self.mantissa)

    @property
    def is_special(self) -> bool:
        """True for NaN, NRes, ±INFINITY and the reserved word."""
        return self.special is not None

    @property
    def value(self) -> float:
        """The number as a float: NaN for NaN/NRes/reserved, ±inf for the infinities."""
        special = self.special
        if special is Special.POSITIVE_INFINITY:
            return math.inf
        if special is Special.NEGATIVE_INFINITY:
            return -math.inf
        if special is not None:
            return math.nan
        # Dividing by an exact power of ten rounds once; multiplying by 0.1**n would not.
        scale: int = 10 ** abs(self.exponent)
        if self.exponent < 0:
            return self.mantissa / scale
        return float(self.mantissa * scale)

    def __float__(self) -> float:
        return self.value

    def __str__(self) -> str:
        special = self.special
        if special is not None:
            return special.value
        return f"{Decimal(self.mantissa).scaleb(self.exponent):f}"

    @classmethod
    def from_value(cls, x: float, decimals: int) -> Self:
        """Encode ``x`` rounded (half to even) to ``decimals`` decimal places.

        The exponent is ``-decimals`` unless the mantissa would not fit, in which case
        trailing zeros are moved into the exponent (lossless). NaN and ±inf map to the
        special values. Raises :class:`PayloadError` when ``x`` cannot be represented at
        that precision.
        """
        name = cls.__name__
        half_e = 1 << (cls._EXPONENT_BITS - 1)
        int_check(name, "decimals", decimals, -(half_e - 1), half_e)
        try:
            as_float = float(x)
        except (OverflowError, TypeError, ValueError) as exc:
            raise PayloadError(b"", f"{name}.value", f"{x!r} is not a real number") from exc
        if math.isnan(as_float):
            return cls._special(Special.NAN)
        if math.isinf(as_float):
            return cls._special(
                Special.POSITIVE_INFINITY if as_float > 0 else Special.NEGATIVE_INFINITY
            )
        # repr() is the shortest string that round-trips, i.e. the decimal the caller meant.
        scaled = Decimal(repr(as_float)).scaleb(decimals)
        mantissa = int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))
        exponent = -decimals
        limit = cls.max_finite_mantissa()
        while abs(mantissa) > limit and mantissa % 10 == 0 and exponent < half_e - 1:
            mantissa //= 10
            exponent += 1
        if abs(mantissa) > limit:
            raise PayloadError(
                b"",
                f"{name}.value",
                f"{as_float!r} at {decimals} decimal place(s) needs mantissa {mantissa}, "
                f"beyond ±{limit}; use fewer decimals",
            )
        return cls(mantissa, exponent)

    @classmethod
    def _special(cls, which: Special) -> Self:
        for mantissa, special in cls._special_mantissas().items():
            if special is which:
                return cls(mantissa, 0)
        raise AssertionError(which)  # pragma: no cover - every Special has a mantissa


@dataclass(frozen=True, slots=True)
class SFloat(_MedicalFloat):
    """IEEE 11073 16-bit SFLOAT: 4-bit signed exponent, 12-bit signed mantissa."""

    SIZE: ClassVar[int] = 2
    _MANTISSA_BITS: ClassVar[int] = 12
    _EXPONENT_BITS: ClassVar[int] = 4

    NAN: ClassVar[SFloat]
    NRES: ClassVar[SFloat]
    POSITIVE_INFINITY: ClassVar[SFloat]
    NEGATIVE_INFINITY: ClassVar[SFloat]
    RESERVED: ClassVar[SFloat]


@dataclass(frozen=True, slots=True)
class Float32(_MedicalFloat):
    """IEEE 11073 32-bit FLOAT: 8-bit signed exponent, 24-bit signed mantissa."""

    SIZE: ClassVar[int] = 4
    _MANTISSA_BITS: ClassVar[int] = 24
    _EXPONENT_BITS: ClassVar[int] = 8

    NAN: ClassVar[Float32]
    NRES: ClassVar[Float32]
    POSITIVE_INFINITY: ClassVar[Float32]
    NEGATIVE_INFINITY: ClassVar[Float32]
    RESERVED: ClassVar[Float32]


SFloat.NAN = SFloat._special(Special.NAN)
SFloat.NRES = SFloat._special(Special.NRES)
SFloat.POSITIVE_INFINITY = SFloat._special(Special.POSITIVE_INFINITY)
SFloat.NEGATIVE_INFINITY = SFloat._special(Special.NEGATIVE_INFINITY)
SFloat.RESERVED = SFloat._special(Special.RESERVED)
Float32.NAN = Float32._special(Special.NAN)
Float32.NRES = Float32._special(Special.NRES)
Float32.POSITIVE_INFINITY = Float32._special(Special.POSITIVE_INFINITY)
Float32.NEGATIVE_INFINITY = Float32._special(Special.NEGATIVE_INFINITY)
Float32.RESERVED = Float32._special(Special.RESERVED)
