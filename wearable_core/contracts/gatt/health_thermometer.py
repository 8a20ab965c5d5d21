"""Health Thermometer Service (0x1809): Temperature Measurement (0x2A1C), Temperature Type
(0x2A1D) and Measurement Interval (0x2A21)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, Self

from ._codec import Reader, decode, uint_check
from .date_time import DateTime
from .errors import PayloadError
from .ieee11073 import Float32


class TemperatureFlags(enum.IntFlag):
    """Flags of Temperature Measurement. Bits 3-7 are reserved (ignored)."""

    FAHRENHEIT = 0x01
    TIMESTAMP_PRESENT = 0x02
    TEMPERATURE_TYPE_PRESENT = 0x04


_DEFINED_FLAGS: Final = 0x07


class TemperatureType(enum.IntEnum):
    """Temperature Type (0x2A1D / the optional field of 0x2A1C); 0 and 10..255 are
    reserved."""

    ARMPIT = 1
    BODY_GENERAL = 2
    EAR = 3
    FINGER = 4
    GASTROINTESTINAL_TRACT = 5
    MOUTH = 6
    RECTUM = 7
    TOE = 8
    TYMPANUM = 9


def temperature_type_decode(data: bytes) -> TemperatureType:
    """Decode the 1-byte Temperature Type characteristic; raise :class:`PayloadError` on a
    wrong length or a reserved value."""

    def read(reader: Reader) -> TemperatureType:
        raw = reader.u8("temperature_type")
        try:
            return TemperatureType(raw)
        except ValueError:
            raise reader.error("temperature_type", f"{raw} is reserved; known: 1..9") from None

    return decode(data, "TemperatureType", read)


@dataclass(frozen=True, slots=True)
class TemperatureMeasurement:
    """Temperature Measurement (0x2A1C).

    Layout: Flags ``uint8`` (bit 0 Fahrenheit, bit 1 timestamp present, bit 2 type
    present); Temperature ``FLOAT`` (IEEE 11073 32-bit); Time Stamp (Date Time, 7 bytes)
    if bit 1; Temperature Type ``uint8`` if bit 2.

    ``temperature_type`` accepts any ``uint8``: reserved type values can't be "ignored"
    like reserved bits, and rejecting a reading over its location label loses data.
    """

    temperature: Float32
    fahrenheit: bool = False
    timestamp: DateTime | None = None
    temperature_type: int | None = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.temperature, Float32):
            raise PayloadError(
                b"", f"{name}.temperature", "must be a Float32 (see Float32.from_value)"
            )
        if self.temperature_type is not None:
            uint_check(name, "temperature_type", self.temperature_type, 8)

    @property
    def flags(self) -> TemperatureFlags:
        """The Flags byte this measurement encodes to."""
        flags = TemperatureFlags(0)
        if self.fahrenheit:
            flags |= TemperatureFlags.FAHRENHEIT
        if self.timestamp is not None:
            flags |= TemperatureFlags.TIMESTAMP_PRESENT
        if self.temperature_type is not None:
            flags |= TemperatureFlags.TEMPERATURE_TYPE_PRESENT
        return flags

    @property
    def celsius(self) -> float:
        """The temperature in degrees Celsius whatever unit it was sent in."""
        value = self.temperature.value
        return (value - 32.0) * 5.0 / 9.0 if self.fahrenheit else value

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode strictly; reserved flag bits are ignored (so such payloads do not
        re-encode to the same bytes)."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        flags = TemperatureFlags(reader.u8("flags") & _DEFINED_FLAGS)
        temperature = Float32.from_raw(reader.u32("temperature"))
        timestamp = None
        if TemperatureFlags.TIMESTAMP_PRESENT in flags:
            with reader.within("timestamp"):
                timestamp = DateTime._read(reader)
        temperature_type = None
        if TemperatureFlags.TEMPERATURE_TYPE_PRESENT in flags:
            temperature_type = reader.u8("temperature_type")
        return cls(
            temperature=temperature,
            fahrenheit=TemperatureFlags.FAHRENHEIT in flags,
            timestamp=timestamp,
            temperature_type=temperature_type,
        )

    def __bytes__(self) -> bytes:
        out = bytearray((self.flags,))
        out += bytes(self.temperature)
        if self.timestamp is not None:
            out += bytes(self.timestamp)
        if self.temperature_type is not None:
            out.append(self.temperature_type)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class MeasurementInterval:
    """Measurement Interval (0x2A21): ``uint16`` seconds between periodic measurements;
    0 means no periodic measurement."""

    seconds: int

    def __post_init__(self) -> None:
        uint_check(type(self).__name__, "seconds", self.seconds, 16)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly two bytes."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        return cls(reader.u16("seconds"))

    def __bytes__(self) -> bytes:
        return self.seconds.to_bytes(2, "little")
