"""Pulse Oximeter Service (0x1822): PLX Continuous Measurement (0x2A5F) and PLX Features
(0x2A60)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, Self

from ._codec import Reader, allowed_bits_check, decode, uint_check
from .errors import PayloadError
from .ieee11073 import SFloat


class PlxContinuousFlags(enum.IntFlag):
    """Flags of PLX Continuous Measurement. Bits 5-7 are reserved (ignored)."""

    SPO2PR_FAST_PRESENT = 0x01
    SPO2PR_SLOW_PRESENT = 0x02
    MEASUREMENT_STATUS_PRESENT = 0x04
    DEVICE_SENSOR_STATUS_PRESENT = 0x08
    PULSE_AMPLITUDE_INDEX_PRESENT = 0x10


class MeasurementStatus(enum.IntFlag):
    """PLX Measurement Status (``uint16``). Bits 0-4 are reserved."""

    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATED_DATA = 1 << 6
    VALIDATED_DATA = 1 << 7
    FULLY_QUALIFIED_DATA = 1 << 8
    DATA_FROM_MEASUREMENT_STORAGE = 1 << 9
    DATA_FOR_DEMONSTRATION = 1 << 10
    DATA_FOR_TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    MEASUREMENT_UNAVAILABLE = 1 << 13
    QUESTIONABLE_MEASUREMENT_DETECTED = 1 << 14
    INVALID_MEASUREMENT_DETECTED = 1 << 15


class DeviceSensorStatus(enum.IntFlag):
    """PLX Device and Sensor Status (``uint24``). Bits 16-23 are reserved."""

    EXTENDED_DISPLAY_UPDATE_ONGOING = 1 << 0
    EQUIPMENT_MALFUNCTION_DETECTED = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY_DETECTED = 1 << 2
    INADEQUATE_SIGNAL_DETECTED = 1 << 3
    POOR_SIGNAL_DETECTED = 1 << 4
    LOW_PERFUSION_DETECTED = 1 << 5
    ERRATIC_SIGNAL_DETECTED = 1 << 6
    NONPULSATILE_SIGNAL_DETECTED = 1 << 7
    QUESTIONABLE_PULSE_DETECTED = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE_DETECTED = 1 << 10
    SENSOR_UNCONNECTED_TO_USER = 1 << 11
    UNKNOWN_SENSOR_CONNECTED = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


class PlxSupportedFeatures(enum.IntFlag):
    """PLX Features: Supported Features (``uint16``). Bits 8-15 are reserved."""

    MEASUREMENT_STATUS_SUPPORT_PRESENT = 1 << 0
    DEVICE_SENSOR_STATUS_SUPPORT_PRESENT = 1 << 1
    MEASUREMENT_STORAGE_FOR_SPOT_CHECK = 1 << 2
    TIMESTAMP_FOR_SPOT_CHECK = 1 << 3
    SPO2PR_FAST = 1 << 4
    SPO2PR_SLOW = 1 << 5
    PULSE_AMPLITUDE_INDEX = 1 << 6
    MULTIPLE_BONDS = 1 << 7


#: Masks of the bits the specification defines; everything else is RFU.
MEASUREMENT_STATUS_MASK: Final = 0xFFE0
DEVICE_SENSOR_STATUS_MASK: Final = 0x00FFFF
SUPPORTED_FEATURES_MASK: Final = 0x00FF
_DEFINED_FLAGS: Final = 0x1F


def _check_status(owner: str, field: str, value: int | None, bits: int, mask: int) -> None:
    if value is not None:
        uint_check(owner, field, value, bits)
        allowed_bits_check(owner, field, value, mask)


@dataclass(frozen=True, slots=True)
class PlxContinuousMeasurement:
    """PLX Continuous Measurement (0x2A5F).

    Layout: Flags ``uint8``; SpO2PR-Normal (SpO2 ``SFLOAT`` %, PR ``SFLOAT`` bpm); then, in
    this order and each only when its flag bit is set: SpO2PR-Fast (bit 0, two SFLOATs),
    SpO2PR-Slow (bit 1, two SFLOATs), Measurement Status (bit 2, ``uint16``), Device and
    Sensor Status (bit 3, ``uint24``), Pulse Amplitude Index (bit 4, ``SFLOAT`` %).

    Status fields hold only the bits the specification defines; reserved bits are dropped
    by the decoder and rejected by the constructor.
    """

    spo2: SFloat
    pulse_rate: SFloat
    spo2pr_fast: tuple[SFloat, SFloat] | None = None
    spo2pr_slow: tuple[SFloat, SFloat] | None = None
    measurement_status: int | None = None
    device_sensor_status: int | None = None
    pulse_amplitude_index: SFloat | None = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        for field in ("spo2", "pulse_rate", "pulse_amplitude_index"):
            value = getattr(self, field)
            if not isinstance(value, SFloat) and not (
                field == "pulse_amplitude_index" and value is None
            ):
                raise PayloadError(
                    b"", f"{name}.{field}", "must be an SFloat (see SFloat.from_value)"
                )
        for field in ("spo2pr_fast", "spo2pr_slow"):
            pair = getattr(self, field)
            if pair is not None and (
                len(pair) != 2 or not all(isinstance(v, SFloat) for v in pair)
            ):
                raise PayloadError(b"", f"{name}.{field}", "must be a (SpO2, PR) pair of SFloat")
        _check_status(
            name, "measurement_status", self.measurement_status, 16, MEASUREMENT_STATUS_MASK
        )
        _check_status(
            name,
            "device_sensor_status",
            self.device_sensor_status,
            24,
            DEVICE_SENSOR_STATUS_MASK,
        )

    @property
    def flags(self) -> PlxContinuousFlags:
        """The Flags byte this measurement encodes to."""
        flags = PlxContinuousFlags(0)
        if self.spo2pr_fast is not None:
            flags |= PlxContinuousFlags.SPO2PR_FAST_PRESENT
        if self.spo2pr_slow is not None:
            flags |= PlxContinuousFlags.SPO2PR_SLOW_PRESENT
        if self.measurement_status is not None:
            flags |= PlxContinuousFlags.MEASUREMENT_STATUS_PRESENT
        if self.device_sensor_status is not None:
            flags |= PlxContinuousFlags.DEVICE_SENSOR_STATUS_PRESENT
        if self.pulse_amplitude_index is not None:
            flags |= PlxContinuousFlags.PULSE_AMPLITUDE_INDEX_PRESENT
        return flags

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode strictly; reserved flag and status bits are ignored (so such payloads
        do not re-encode to the same bytes)."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        flags = PlxContinuousFlags(reader.u8("flags") & _DEFINED_FLAGS)
        spo2 = SFloat.from_raw(reader.u16("spo2"))
        pulse_rate = SFloat.from_raw(reader.u16("pulse_rate"))
        fast = slow = None
        if PlxContinuousFlags.SPO2PR_FAST_PRESENT in flags:
            fast = (
                SFloat.from_raw(reader.u16("spo2pr_fast.spo2")),
                SFloat.from_raw(reader.u16("spo2pr_fast.pulse_rate")),
            )
        if PlxContinuousFlags.SPO2PR_SLOW_PRESENT in flags:
            slow = (
                SFloat.from_raw(reader.u16("spo2pr_slow.spo2")),
                SFloat.from_raw(reader.u16("spo2pr_slow.pulse_rate")),
            )
        status = None
        if PlxContinuousFlags.MEASUREMENT_STATUS_PRESENT in flags:
            status = MeasurementStatus(reader.u16("measurement_status") & MEASUREMENT_STATUS_MASK)
        device = None
        if PlxContinuousFlags.DEVICE_SENSOR_STATUS_PRESENT in flags:
            device = DeviceSensorStatus(
                reader.u24("device_sensor_status") & DEVICE_SENSOR_STATUS_MASK
            )
        pai = None
        if PlxContinuousFlags.PULSE_AMPLITUDE_INDEX_PRESENT in flags:
            pai = SFloat.from_raw(reader.u16("pulse_amplitude_index"))
        return cls(spo2, pulse_rate, fast, slow, status, device, pai)

    def __bytes__(self) -> bytes:
        out = bytearray((self.flags,))
        out += bytes(self.spo2) + bytes(self.pulse_rate)
        for pair in (self.spo2pr_fast, self.spo2pr_slow):
            if pair is not None:
                out += bytes(pair[0]) + bytes(pair[1])
        if self.measurement_status is not None:
            out += self.measurement_status.to_bytes(2, "little")
        if self.device_sensor_status is not None:
            out += self.device_sensor_status.to_bytes(3, "little")
        if self.pulse_amplitude_index is not None:
            out += bytes(self.pulse_amplitude_index)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class PlxFeatures:
    """PLX Features (0x2A60).

    Layout: Supported Features ``uint16``; Measurement Status Support ``uint16`` present
    exactly when bit 0 is set; Device and Sensor Status Support ``uint24`` present exactly
    when bit 1 is set. The support fields use the bit layouts of :class:`MeasurementStatus`
    and :class:`DeviceSensorStatus`. Reserved bits are dropped by the decoder and rejected
    by the constructor.
    """

    supported_features: int
    measurement_status_support: int | None = None
    device_sensor_status_support: int | None = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        uint_check(name, "supported_features", self.supported_features, 16)
        allowed_bits_check(
            name, "supported_features", self.supported_features, SUPPORTED_FEATURES_MASK
        )
        _check_status(
            name,
            "measurement_status_support",
            self.measurement_status_support,
            16,
            MEASUREMENT_STATUS_MASK,
        )
        _check_status(
            name,
            "device_sensor_status_support",
            self.device_sensor_status_support,
            24,
            DEVICE_SENSOR_STATUS_MASK,
        )
        for field, bit in (
            ("measurement_status_support", PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORT_PRESENT),
            (
                "device_sensor_status_support",
                PlxSupportedFeatures.DEVICE_SENSOR_STATUS_SUPPORT_PRESENT,
            ),
        ):
            present = getattr(self, field) is not None
            if present != bool(self.supported_features & bit):
                raise PayloadError(
                    b"",
                    f"{name}.{field}",
                    f"must be present exactly when supported_features bit {bit.bit_length() - 1}"
                    f" is set (bit is {'set' if not present else 'clear'}, field is "
                    f"{'present' if present else 'absent'})",
                )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode strictly; reserved bits are ignored."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        features = PlxSupportedFeatures(reader.u16("supported_features") & SUPPORTED_FEATURES_MASK)
        status = device = None
        if PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORT_PRESENT in features:
            status = MeasurementStatus(
                reader.u16("measurement_status_support") & MEASUREMENT_STATUS_MASK
            )
        if PlxSupportedFeatures.DEVICE_SENSOR_STATUS_SUPPORT_PRESENT in features:
            device = DeviceSensorStatus(
                reader.u24("device_sensor_status_support") & DEVICE_SENSOR_STATUS_MASK
            )
        return cls(features, status, device)

    def __bytes__(self) -> bytes:
        out = bytearray(self.supported_features.to_bytes(2, "little"))
        if self.measurement_status_support is not None:
            out += self.measurement_status_support.to_bytes(2, "little")
        if self.device_sensor_status_support is not None:
            out += self.device_sensor_status_support.to_bytes(3, "little")
        return bytes(out)
