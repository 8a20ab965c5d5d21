"""The per-stream CSV record format shared by the simulator's truth files and gateway exports.

One file per stream (``hr.csv``, ``spo2.csv``, ``temp.csv``, ``accel.csv``). Every row is
one sequenced record; the leading columns identify it, the value columns are decoded
from the record's payload by the same decoders the gateway uses. The gateway export
adds ``gateway_timestamp_ms`` after ``watch_timestamp_ms``; everything else is identical,
so a truth file and an export can be compared row for row.
"""

from __future__ import annotations

import math

from wearable_core.contracts.gatt.accelerometer import AccelerometerFrame
from wearable_core.contracts.gatt.health_thermometer import TemperatureMeasurement
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.gatt.pulse_oximeter import PlxContinuousMeasurement
from wearable_core.contracts.streams import Stream

#: Columns identifying a record, in order.
KEY_COLUMNS = ("device", "stream", "sequence", "watch_timestamp_ms")
#: Extra column in gateway exports, right after ``watch_timestamp_ms``.
GATEWAY_TIMESTAMP_COLUMN = "gateway_timestamp_ms"

VALUE_COLUMNS: dict[Stream, tuple[str, ...]] = {
    Stream.HEART_RATE: (
        "heart_rate_bpm",
        "sensor_contact",
        "energy_expended_kj",
        "rr_intervals_1024",
    ),
    Stream.SPO2: ("spo2_pct", "pulse_rate_bpm", "measurement_status", "device_sensor_status"),
    Stream.TEMPERATURE: ("temperature_c", "measurement_time"),
    Stream.ACCEL: ("sample_rate_hz", "lsb_per_g", "x", "y", "z"),
}


def file_name(stream: Stream) -> str:
    """File holding one stream's records, e.g. ``hr.csv``."""
    return f"{stream.value}.csv"


def header(stream: Stream, *, gateway: bool = False) -> list[str]:
    """The header row for one stream's file."""
    keys = list(KEY_COLUMNS)
    if gateway:
        keys.append(GATEWAY_TIMESTAMP_COLUMN)
    return keys + list(VALUE_COLUMNS[stream])


def _num(value: float) -> str:
    if math.isnan(value):
        return ""
    return repr(round(value, 6)) if value != int(value) else str(int(value))


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def record_values(stream: Stream, payload: bytes) -> list[str]:
    """Decode ``payload`` of ``stream`` into the value columns (raises ``PayloadError``)."""
    if stream is Stream.HEART_RATE:
        hr = HeartRateMeasurement.from_bytes(payload)
        contact = "" if hr.sensor_contact is None else str(int(hr.sensor_contact))
        rr = " ".join(str(v) for v in hr.rr_intervals or ())
        return [str(hr.heart_rate), contact, _opt(hr.energy_expended_kj), rr]
    if stream is Stream.SPO2:
        plx = PlxContinuousMeasurement.from_bytes(payload)
        return [
            _num(plx.spo2.value),
            _num(plx.pulse_rate.value),
            _opt(plx.measurement_status),
            _opt(plx.device_sensor_status),
        ]
    if stream is Stream.TEMPERATURE:
        temp = TemperatureMeasurement.from_bytes(payload)
        celsius = temp.temperature.value
        if temp.fahrenheit:
            celsius = (celsius - 32.0) * 5.0 / 9.0
        stamp = "" if temp.timestamp is None else temp.timestamp.to_datetime().isoformat()
        return [_num(celsius), stamp]
    frame = AccelerometerFrame.from_bytes(payload)
    x, y, z = (" ".join(str(int(v)) for v in frame.samples[:, axis]) for axis in range(3))
    return [str(frame.sample_rate_hz), str(frame.lsb_per_g), x, y, z]
