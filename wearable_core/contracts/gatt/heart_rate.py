"""Heart Rate Service (0x180D): Heart Rate Measurement (0x2A37), Body Sensor Location
(0x2A38) and the Heart Rate Control Point (0x2A39)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, Self

from ._codec import MAX_ATTRIBUTE_VALUE_SIZE, Reader, decode, int_check, uint_check
from .errors import PayloadError

#: Heart Rate Control Point opcode: reset Energy Expended to 0.
RESET_ENERGY_EXPENDED: Final = 0x01
#: ATT application error the server returns for any other control-point value.
CONTROL_POINT_NOT_SUPPORTED: Final = 0x80

#: RR-Interval resolution: the raw value counts 1/1024 s.
RR_UNITS_PER_SECOND: Final = 1024


class HeartRateFlags(enum.IntFlag):
    """The Flags byte of a Heart Rate Measurement. Bits 5-7 are reserved (ignored)."""

    UINT16_HEART_RATE = 0x01
    SENSOR_CONTACT_DETECTED = 0x02
    SENSOR_CONTACT_SUPPORTED = 0x04
    ENERGY_EXPENDED_PRESENT = 0x08
    RR_INTERVALS_PRESENT = 0x10


_DEFINED_FLAGS: Final = 0x1F


class BodySensorLocation(enum.IntEnum):
    """Body Sensor Location (0x2A38), one ``uint8``; 7..255 are reserved."""

    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6


def body_sensor_location_decode(data: bytes) -> BodySensorLocation:
    """Decode the 1-byte Body Sensor Location; raise :class:`PayloadError` if it is not
    exactly one byte or names a reserved location."""

    def read(reader: Reader) -> BodySensorLocation:
        raw = reader.u8("location")
        try:
            return BodySensorLocation(raw)
        except ValueError:
            raise reader.error("location", f"{raw} is reserved; known: 0..6") from None

    return decode(data, "BodySensorLocation", read)


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """Heart Rate Measurement (0x2A37).

    Layout: Flags ``uint8``; heart rate ``uint8``, or ``uint16`` when flag bit 0 is set;
    Energy Expended ``uint16`` kJ when bit 3 is set; then, when bit 4 is set, one or more
    RR-Intervals ``uint16`` (1/1024 s) filling the rest of the payload. Flag bits 1-2 are
    the sensor-contact status: bit 2 = feature supported, bit 1 = contact detected.

    ``sensor_contact`` is ``None`` when the feature is not supported. Status value 1 (bit 1
    without bit 2) also means "not supported" per the specification; it decodes to ``None``
    with ``contact_bit_without_support=True`` so that re-encoding is byte-exact.

    ``uint16_format`` is explicit rather than inferred so that a received payload that
    used 16 bits for a small value re-encodes identically; a rate above 255 requires it.

    The RR list is only limited by the 512-byte attribute maximum. A notification can
    carry at most ATT_MTU - 3 bytes, e.g. 9 RR-Intervals at the default MTU of 23 with an
    8-bit rate and no energy field; the sender must split or drop values to fit its MTU.
    """

    heart_rate: int
    sensor_contact: bool | None = None
    energy_expended_kj: int | None = None
    rr_intervals: tuple[int, ...] | None = None
    uint16_format: bool = False
    contact_bit_without_support: bool = False

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.uint16_format:
            uint_check(name, "heart_rate", self.heart_rate, 16)
        else:
            int_check(
                name,
                "heart_rate",
                self.heart_rate,
                0,
                0xFF,
                "pass uint16_format=True for rates above 255",
            )
        if self.energy_expended_kj is not None:
            uint_check(name, "energy_expended_kj", self.energy_expended_kj, 16)
        if self.contact_bit_without_support and self.sensor_contact is not None:
            raise PayloadError(
                b"",
                f"{name}.contact_bit_without_support",
                "only meaningful when sensor_contact is None (feature not supported)",
            )
        if self.rr_intervals is not None:
            if not isinstance(self.rr_intervals, tuple):
                # Lists are accepted for convenience but stored as tuples to stay hashable.
                object.__setattr__(self, "rr_intervals", tuple(self.rr_intervals))
            if not self.rr_intervals:
                raise PayloadError(
                    b"",
                    f"{name}.rr_intervals",
                    "the RR-Interval flag promises one or more values; use None for none",
                )
            for index, rr in enumerate(self.rr_intervals):
                uint_check(name, f"rr_intervals[{index}]", rr, 16)
            if self._encoded_size() > MAX_ATTRIBUTE_VALUE_SIZE:
                raise PayloadError(
                    b"",
                    f"{name}.rr_intervals",
                    f"{len(self.rr_intervals)} RR-Intervals make a {self._encoded_size()}-byte "
                    f"value, beyond the {MAX_ATTRIBUTE_VALUE_SIZE}-byte attribute maximum",
                )

    def _encoded_size(self) -> int:
        size = 1 + (2 if self.uint16_format else 1)
        size += 2 if self.energy_expended_kj is not None else 0
        return size + 2 * len(self.rr_intervals or ())

    @property
    def flags(self) -> HeartRateFlags:
        """The Flags byte this measurement encodes to."""
        flags = HeartRateFlags(0)
        if self.uint16_format:
            flags |= HeartRateFlags.UINT16_HEART_RATE
        if self.sensor_contact is not None:
            flags |= HeartRateFlags.SENSOR_CONTACT_SUPPORTED
            if self.sensor_contact:
                flags |= HeartRateFlags.SENSOR_CONTACT_DETECTED
        elif self.contact_bit_without_support:
            flags |= HeartRateFlags.SENSOR_CONTACT_DETECTED
        if self.energy_expended_kj is not None:
            flags |= HeartRateFlags.ENERGY_EXPENDED_PRESENT
        if self.rr_intervals is not None:
            flags |= HeartRateFlags.RR_INTERVALS_PRESENT
        return flags

    @property
    def rr_ms(self) -> tuple[float, ...] | None:
        """RR-Intervals in milliseconds (exact: raw * 1000 / 1024)."""
        if self.rr_intervals is None:
            return None
        return tuple(rr * 1000 / RR_UNITS_PER_SECOND for rr in self.rr_intervals)

    @staticmethod
    def rr_raw_from_ms(rr_ms: float) -> int:
        """Convert one RR-Interval in milliseconds to raw 1/1024 s units (rounded)."""
        raw = round(rr_ms * RR_UNITS_PER_SECOND / 1000)
        return uint_check("HeartRateMeasurement", "rr_intervals", raw, 16)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode a Heart Rate Measurement strictly (see the class docstring).

        Reserved flag bits 5-7 are ignored, so such payloads decode but do not re-encode to
        the same bytes.
        """
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        flags = HeartRateFlags(reader.u8("flags") & _DEFINED_FLAGS)
        uint16_format = HeartRateFlags.UINT16_HEART_RATE in flags
        heart_rate = reader.u16("heart_rate") if uint16_format else reader.u8("heart_rate")
        detected = HeartRateFlags.SENSOR_CONTACT_DETECTED in flags
        sensor_contact: bool | None = None
        contact_bit_without_support = False
        if HeartRateFlags.SENSOR_CONTACT_SUPPORTED in flags:
            sensor_contact = detected
        else:
            contact_bit_without_support = detected
        energy = None
        if HeartRateFlags.ENERGY_EXPENDED_PRESENT in flags:
            energy = reader.u16("energy_expended_kj")
        rr_intervals: tuple[int, ...] | None = None
        if HeartRateFlags.RR_INTERVALS_PRESENT in flags:
            tail = reader.rest()
            if not tail:
                raise reader.error(
                    "rr_intervals", "RR-Interval flag is set but no RR-Interval follows"
                )
            if len(tail) % 2:
                raise reader.error(
                    "rr_intervals",
                    f"RR-Interval section is {len(tail)} bytes; it must hold whole uint16s",
                )
            rr_intervals = tuple(
                int.from_bytes(tail[i : i + 2], "little") for i in range(0, len(tail), 2)
            )
        return cls(
            heart_rate=heart_rate,
            sensor_contact=sensor_contact,
            energy_expended_kj=energy,
            rr_intervals=rr_intervals,
            uint16_format=uint16_format,
            contact_bit_without_support=contact_bit_without_support,
        )

    def __bytes__(self) -> bytes:
        out = bytearray((self.flags,))
        out += self.heart_rate.to_bytes(2 if self.uint16_format else 1, "little")
        if self.energy_expended_kj is not None:
            out += self.energy_expended_kj.to_bytes(2, "little")
        for rr in self.rr_intervals or ():
            out += rr.to_bytes(2, "little")
        return bytes(out)
