"""Encode simulated signals into the byte-exact payloads the watch stores and sends.

Quantization (rounding, saturation, NaN handling) is vectorized over a whole signal
chunk by :func:`quantize_chunk`; the per-record encoders then only pack integers into
the contract dataclasses. Both are pure: the firmware decides when to call them and what
clock time to stamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_sim.physiology.generator import SignalChunk
from wearable_core.contracts.gatt.accelerometer import AccelerometerFrame
from wearable_core.contracts.gatt.date_time import DateTime
from wearable_core.contracts.gatt.health_thermometer import TemperatureMeasurement
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.gatt.ieee11073 import Float32, SFloat
from wearable_core.contracts.gatt.pulse_oximeter import (
    DeviceSensorStatus,
    MeasurementStatus,
    PlxContinuousMeasurement,
)
from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ

#: Accelerometer resolution: ±16 g full scale in int16, so a fall's impact never clips.
ACCEL_LSB_PER_G = 2048
#: One RR unit of the Heart Rate Measurement is 1/1024 s.
RR_UNITS_PER_MS = 1024.0 / 1000.0
#: The spec includes Energy Expended "typically once every 10 measurements".
ENERGY_EXPENDED_EVERY = 10
#: Marks "no value" in the integer arrays of a quantized chunk.
MISSING = -1

IntArray = npt.NDArray[np.int64]

_UNAVAILABLE_STATUS = int(MeasurementStatus.MEASUREMENT_UNAVAILABLE)
_NO_CONTACT_SENSOR = int(DeviceSensorStatus.SENSOR_UNCONNECTED_TO_USER)


def _rounded(values: npt.ArrayLike, lo: int, hi: int, scale: float = 1.0) -> IntArray:
    """Round and saturate to [lo, hi]; NaN becomes :data:`MISSING`."""
    array = np.asarray(values, dtype=np.float64) * scale
    finite = np.isfinite(array)
    out = np.full(array.shape, MISSING, dtype=np.int64)
    out[finite] = np.clip(np.rint(array[finite]), lo, hi).astype(np.int64)
    return out


@dataclass(frozen=True, eq=False)
class QuantizedChunk:
    """A signal chunk as the watch's sensors report it: integers, ready to pack.

    ``beat_edges[i]:beat_edges[i + 1]`` indexes the RR intervals of second ``i``;
    RR intervals the sensor could not measure (the first beat after a gap) are dropped.
    """

    start_s: int
    duration_s: int
    heart_rate: IntArray  # bpm per second, MISSING where no reading
    spo2: IntArray  # whole percent per second, MISSING where no reading
    skin_temp_centi_c: IntArray  # 0.01 °C per minute, MISSING where no reading
    rr_units: IntArray  # 1/1024 s per measured beat
    beat_edges: IntArray  # len duration_s + 1
    accel_raw: npt.NDArray[np.int16]  # (duration_s * 25, 3) counts
    contact: npt.NDArray[np.bool_]
    gap: npt.NDArray[np.bool_]


def quantize_chunk(chunk: SignalChunk) -> QuantizedChunk:
    """Round and saturate every signal of ``chunk`` the way the watch's sensors report it."""
    seconds = np.arange(chunk.start_s, chunk.start_s + chunk.duration_s + 1, dtype=np.float64)
    rr_ms = np.asarray(chunk.rr_ms, dtype=np.float64)
    measured = np.isfinite(rr_ms)
    beat_times = np.asarray(chunk.beat_times_s, dtype=np.float64)[measured]
    accel = np.nan_to_num(np.asarray(chunk.accel_g, dtype=np.float64), nan=0.0)
    return QuantizedChunk(
        start_s=chunk.start_s,
        duration_s=chunk.duration_s,
        heart_rate=_rounded(chunk.hr_bpm, 0, 255),
        spo2=_rounded(chunk.spo2_pct, 0, 100),
        skin_temp_centi_c=_rounded(chunk.skin_temp_c, -(2**23) + 3, 2**23 - 3, 100.0),
        rr_units=_rounded(rr_ms[measured], 0, 0xFFFF, RR_UNITS_PER_MS),
        beat_edges=np.searchsorted(beat_times, seconds, side="left").astype(np.int64),
        accel_raw=np.clip(np.rint(accel * ACCEL_LSB_PER_G), -32768, 32767).astype(np.int16),
        contact=np.asarray(chunk.contact, dtype=bool),
        gap=np.asarray(chunk.gap, dtype=bool),
    )


def heart_rate_encode(
    heart_rate: int, rr_units: tuple[int, ...], contact: bool, energy_expended_kj: int | None
) -> bytes:
    """One Heart Rate Measurement (0x2A37) for one second of signal."""
    if not contact or heart_rate == MISSING:
        # No skin contact (or no reading): report that, no value worth trusting, no RR.
        return bytes(
            HeartRateMeasurement(
                heart_rate=0, sensor_contact=contact, energy_expended_kj=energy_expended_kj
            )
        )
    return bytes(
        HeartRateMeasurement(
            heart_rate=heart_rate,
            sensor_contact=True,
            energy_expended_kj=energy_expended_kj,
            rr_intervals=rr_units or None,
        )
    )


def spo2_encode(spo2: int, pulse_rate: int, contact: bool) -> bytes:
    """One PLX Continuous Measurement (0x2A5F) for one second of signal.

    SpO2 is reported in whole percent, as wrist oximeters do; the measurement and
    device/sensor status fields are always present so a gateway can tell "no skin
    contact" from "no reading".
    """
    sensor = 0 if contact else _NO_CONTACT_SENSOR
    if not contact or spo2 == MISSING:
        return bytes(
            PlxContinuousMeasurement(
                spo2=SFloat.NAN,
                pulse_rate=SFloat.NAN,
                measurement_status=_UNAVAILABLE_STATUS,
                device_sensor_status=sensor,
            )
        )
    rate = SFloat.NAN if pulse_rate == MISSING else SFloat(mantissa=pulse_rate, exponent=0)
    return bytes(
        PlxContinuousMeasurement(
            spo2=SFloat(mantissa=spo2, exponent=0),
            pulse_rate=rate,
            measurement_status=0,
            device_sensor_status=sensor,
        )
    )


def temperature_encode(centi_c: int, timestamp: DateTime) -> bytes:
    """One Temperature Measurement (0x2A1C): Celsius to 0.01 °C, with the watch's timestamp.

    The temperature type is static, so per the Health Thermometer spec it is exposed by
    the Temperature Type characteristic and left out of each measurement.
    """
    value = Float32.NAN if centi_c == MISSING else Float32(mantissa=centi_c, exponent=-2)
    return bytes(TemperatureMeasurement(temperature=value, timestamp=timestamp))


def accel_frame_encode(raw: npt.NDArray[np.int16]) -> bytes:
    """One accelerometer frame (our custom format) from ``(n, 3)`` raw counts."""
    return bytes(AccelerometerFrame(ACCEL_SAMPLE_RATE_HZ, ACCEL_LSB_PER_G, raw))
