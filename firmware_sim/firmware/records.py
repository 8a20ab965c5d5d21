"""Encode simulated signals into the byte-exact payloads the watch stores and sends.

Each function turns one period of a :class:`~firmware_sim.physiology.generator.SignalChunk`
into the standard SIG payload for that stream (or our accelerometer frame). They are
pure: the firmware decides when to call them and what clock time to stamp.
"""

from __future__ import annotations

import math

import numpy as np

from wearable.contracts.gatt.accelerometer import AccelerometerFrame
from wearable.contracts.gatt.date_time import DateTime
from wearable.contracts.gatt.health_thermometer import TemperatureMeasurement
from wearable.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable.contracts.gatt.ieee11073 import Float32, SFloat
from wearable.contracts.gatt.pulse_oximeter import (
    DeviceSensorStatus,
    MeasurementStatus,
    PlxContinuousMeasurement,
)
from wearable.contracts.streams import ACCEL_SAMPLE_RATE_HZ

#: Accelerometer resolution: ±16 g full scale in int16, so a fall's impact never clips.
ACCEL_LSB_PER_G = 2048
#: One RR unit of the Heart Rate Measurement is 1/1024 s.
RR_UNITS_PER_MS = 1024.0 / 1000.0
#: The spec includes Energy Expended "typically once every 10 measurements".
ENERGY_EXPENDED_EVERY = 10

_SPO2_NAN = SFloat.NAN
_ONGOING = MeasurementStatus(0)


def rr_to_units(rr_ms: np.ndarray) -> tuple[int, ...]:
    """RR intervals in ms to Heart Rate Measurement units (1/1024 s), saturating at u16.

    An interval the sensor could not measure (NaN, e.g. the first beat after a gap) is
    not reported rather than reported wrong.
    """
    rr = np.asarray(rr_ms, dtype=float)
    rr = rr[np.isfinite(rr)]
    units = np.clip(np.rint(rr * RR_UNITS_PER_MS), 0, 0xFFFF).astype(np.int64)
    return tuple(int(u) for u in units)


def encode_heart_rate(
    hr_bpm: float,
    rr_ms: np.ndarray,
    contact: bool,
    energy_expended_kj: int | None,
) -> bytes:
    """One Heart Rate Measurement (0x2A37) for one second of signal."""
    if not contact or math.isnan(hr_bpm):
        # No skin contact: report contact lost, no value worth trusting, no RR.
        return bytes(
            HeartRateMeasurement(
                heart_rate=0, sensor_contact=False, energy_expended_kj=energy_expended_kj
            )
        )
    rr = rr_to_units(rr_ms)
    return bytes(
        HeartRateMeasurement(
            heart_rate=int(np.clip(round(hr_bpm), 0, 255)),
            sensor_contact=True,
            energy_expended_kj=energy_expended_kj,
            rr_intervals=rr if rr else None,
        )
    )


def encode_spo2(spo2_pct: float, pulse_rate_bpm: float, contact: bool) -> bytes:
    """One PLX Continuous Measurement (0x2A5F) for one second of signal.

    SpO2 is reported in whole percent, as wrist oximeters do; the measurement and
    device/sensor status fields are always present so a gateway can tell "no finger"
    from "no reading".
    """
    status = _ONGOING
    sensor = DeviceSensorStatus(0)
    if not contact:
        sensor |= DeviceSensorStatus.SENSOR_UNCONNECTED_TO_USER
    if not contact or math.isnan(spo2_pct):
        status |= MeasurementStatus.MEASUREMENT_UNAVAILABLE
        spo2 = pr = _SPO2_NAN
    else:
        spo2 = SFloat(mantissa=int(np.clip(round(spo2_pct), 0, 100)), exponent=0)
        pr = (
            _SPO2_NAN
            if math.isnan(pulse_rate_bpm)
            else SFloat(mantissa=int(np.clip(round(pulse_rate_bpm), 0, 2047)), exponent=0)
        )
    return bytes(
        PlxContinuousMeasurement(
            spo2=spo2,
            pulse_rate=pr,
            measurement_status=int(status),
            device_sensor_status=int(sensor),
        )
    )


def encode_temperature(skin_temp_c: float, timestamp: DateTime) -> bytes:
    """One Temperature Measurement (0x2A1C): Celsius to 0.01 °C, with the watch's timestamp.

    The temperature type is static, so per the Health Thermometer spec it is exposed by
    the Temperature Type characteristic and left out of each measurement.
    """
    value = (
        Float32.NAN
        if math.isnan(skin_temp_c)
        else Float32(mantissa=round(skin_temp_c * 100), exponent=-2)
    )
    return bytes(TemperatureMeasurement(temperature=value, timestamp=timestamp))


def encode_accel_frame(samples_g: np.ndarray) -> bytes:
    """One accelerometer frame (our custom format) from ``(n, 3)`` samples in g."""
    return bytes(AccelerometerFrame.from_g(samples_g, ACCEL_SAMPLE_RATE_HZ, ACCEL_LSB_PER_G))
