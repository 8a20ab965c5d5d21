"""Build the watch's GATT services: standard SIG services and our custom record services.

Each builder returns the bumble ``Service`` plus the characteristics the server needs to
notify. Values that change (battery, current time) are read through callbacks so the
GATT database never holds stale copies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bumble import gatt
from bumble.core import UUID
from bumble.device import Connection, Device

from firmware_sim.gatt.security import secure_characteristic
from wearable_core.contracts.gatt import uuids
from wearable_core.contracts.gatt.health_thermometer import TemperatureType
from wearable_core.contracts.gatt.heart_rate import BodySensorLocation
from wearable_core.contracts.gatt.pulse_oximeter import (
    DeviceSensorStatus,
    MeasurementStatus,
    PlxFeatures,
)
from wearable_core.contracts.streams import Stream

_P = gatt.Characteristic.Properties
_OPEN_READ = gatt.Characteristic.Permissions.READABLE

ReadCallback = Callable[[Connection], bytes]
WriteCallback = Callable[[Connection, bytes], None] | Callable[[Connection, bytes], Awaitable[None]]


@dataclass(frozen=True)
class DeviceInformation:
    """Device Information Service strings."""

    manufacturer: str
    model: str
    serial: str
    hardware_revision: str
    firmware_revision: str
    software_revision: str


@dataclass
class WatchCharacteristics:
    """The characteristics the server notifies or indicates."""

    heart_rate_measurement: gatt.Characteristic[Any]
    plx_continuous: gatt.Characteristic[Any]
    temperature_measurement: gatt.Characteristic[Any]
    battery_level: gatt.Characteristic[Any]
    current_time: gatt.Characteristic[Any]
    records: dict[Stream, gatt.Characteristic[Any]]
    record_access_control_point: gatt.Characteristic[Any]


def _uuid(value: str) -> UUID:
    return UUID(value)


def services_build(
    device: Device,
    info: DeviceInformation,
    *,
    read_battery: ReadCallback,
    read_current_time: ReadCallback,
    write_current_time: WriteCallback,
    write_hr_control_point: WriteCallback,
    read_storage_status: ReadCallback,
    write_racp: WriteCallback,
) -> tuple[list[gatt.Service], WatchCharacteristics]:
    """Create every service of the watch, wired to the given callbacks."""

    def dyn(read: ReadCallback | None = None, write: WriteCallback | None = None) -> Any:
        return gatt.CharacteristicValue(read=read, write=write)

    # Heart Rate Service (0x180D): measurement is notify-only by spec.
    hr_measurement = secure_characteristic(
        device, _uuid(uuids.HEART_RATE_MEASUREMENT_CHAR), _P.NOTIFY
    )
    body_location = gatt.Characteristic(
        _uuid(uuids.BODY_SENSOR_LOCATION_CHAR),
        _P.READ,
        _OPEN_READ,
        bytes([BodySensorLocation.WRIST]),
    )
    hr_control = secure_characteristic(
        device,
        _uuid(uuids.HEART_RATE_CONTROL_POINT_CHAR),
        _P.WRITE,
        dyn(write=write_hr_control_point),
        writable=True,
    )
    heart_rate = gatt.Service(
        _uuid(uuids.HEART_RATE_SERVICE), [hr_measurement, body_location, hr_control]
    )

    # Pulse Oximeter Service (0x1822): continuous measurement plus the mandatory features.
    plx_continuous = secure_characteristic(
        device, _uuid(uuids.PLX_CONTINUOUS_MEASUREMENT_CHAR), _P.NOTIFY
    )
    features = PlxFeatures(
        supported_features=0x0003,  # measurement status + device and sensor status supported
        measurement_status_support=int(MeasurementStatus.MEASUREMENT_UNAVAILABLE),
        device_sensor_status_support=int(DeviceSensorStatus.SENSOR_UNCONNECTED_TO_USER),
    )
    plx_features = secure_characteristic(
        device, _uuid(uuids.PLX_FEATURES_CHAR), _P.READ, bytes(features), readable=True
    )
    pulse_oximeter = gatt.Service(
        _uuid(uuids.PULSE_OXIMETER_SERVICE), [plx_continuous, plx_features]
    )

    # Health Thermometer Service (0x1809): measurement is indicate-only by spec.
    temperature = secure_characteristic(
        device, _uuid(uuids.TEMPERATURE_MEASUREMENT_CHAR), _P.INDICATE
    )
    temperature_type = gatt.Characteristic(
        _uuid(uuids.TEMPERATURE_TYPE_CHAR),
        _P.READ,
        _OPEN_READ,
        bytes([TemperatureType.BODY_GENERAL]),
    )
    interval = gatt.Characteristic(
        _uuid(uuids.MEASUREMENT_INTERVAL_CHAR), _P.READ, _OPEN_READ, (60).to_bytes(2, "little")
    )
    thermometer = gatt.Service(
        _uuid(uuids.HEALTH_THERMOMETER_SERVICE), [temperature, temperature_type, interval]
    )

    # Battery Service (0x180F): level is not health data, readable without pairing.
    battery_level = gatt.Characteristic(
        _uuid(uuids.BATTERY_LEVEL_CHAR), _P.READ | _P.NOTIFY, _OPEN_READ, dyn(read=read_battery)
    )
    battery = gatt.Service(_uuid(uuids.BATTERY_SERVICE), [battery_level])

    # Device Information Service (0x180A).
    def text(uuid: str, value: str) -> gatt.Characteristic[Any]:
        return gatt.Characteristic(_uuid(uuid), _P.READ, _OPEN_READ, value.encode())

    device_information = gatt.Service(
        _uuid(uuids.DEVICE_INFORMATION_SERVICE),
        [
            text(uuids.MANUFACTURER_NAME_CHAR, info.manufacturer),
            text(uuids.MODEL_NUMBER_CHAR, info.model),
            text(uuids.SERIAL_NUMBER_CHAR, info.serial),
            text(uuids.HARDWARE_REVISION_CHAR, info.hardware_revision),
            text(uuids.FIRMWARE_REVISION_CHAR, info.firmware_revision),
            text(uuids.SOFTWARE_REVISION_CHAR, info.software_revision),
        ],
    )

    # Current Time Service (0x1805): anyone may read the time; setting it needs pairing.
    current_time = secure_characteristic(
        device,
        _uuid(uuids.CURRENT_TIME_CHAR),
        _P.READ | _P.WRITE | _P.NOTIFY,
        dyn(read=read_current_time, write=write_current_time),
        writable=True,
    )
    current_time.permissions |= gatt.Characteristic.Permissions.READABLE
    time_service = gatt.Service(_uuid(uuids.CURRENT_TIME_SERVICE), [current_time])

    # Our record services: sequenced copies of every stream, with backfill.
    records = {
        stream: secure_characteristic(device, _uuid(uuids.RECORD_CHAR_BY_STREAM[stream]), _P.NOTIFY)
        for stream in Stream
    }
    racp = secure_characteristic(
        device,
        _uuid(uuids.RECORD_ACCESS_CONTROL_POINT_CHAR),
        _P.WRITE | _P.INDICATE,
        dyn(write=write_racp),
        writable=True,
    )
    storage_status = secure_characteristic(
        device,
        _uuid(uuids.STORAGE_STATUS_CHAR),
        _P.READ,
        dyn(read=read_storage_status),
        readable=True,
    )
    record_service = gatt.Service(
        _uuid(uuids.RECORDS_SERVICE),
        [
            records[Stream.HEART_RATE],
            records[Stream.SPO2],
            records[Stream.TEMPERATURE],
            racp,
            storage_status,
        ],
    )
    motion_service = gatt.Service(_uuid(uuids.MOTION_SERVICE), [records[Stream.ACCEL]])

    services = [
        heart_rate,
        pulse_oximeter,
        thermometer,
        battery,
        device_information,
        time_service,
        record_service,
        motion_service,
    ]
    chars = WatchCharacteristics(
        heart_rate_measurement=hr_measurement,
        plx_continuous=plx_continuous,
        temperature_measurement=temperature,
        battery_level=battery_level,
        current_time=current_time,
        records=records,
        record_access_control_point=racp,
    )
    return services, chars
