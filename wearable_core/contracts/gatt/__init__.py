"""Byte-exact GATT payload codecs shared by the simulated watch and the gateway.

Every payload is a frozen dataclass with a strict ``from_bytes`` and a ``__bytes__``;
every failure is a :class:`PayloadError`. Layouts are documented in ``docs/formats/gatt.md``.
"""

from .accelerometer import AccelerometerFrame
from .battery import BatteryLevel
from .current_time import AdjustReason, CurrentTime
from .date_time import DateTime
from .errors import PayloadError
from .health_thermometer import (
    MeasurementInterval,
    TemperatureFlags,
    TemperatureMeasurement,
    TemperatureType,
    temperature_type_decode,
)
from .heart_rate import (
    CONTROL_POINT_NOT_SUPPORTED,
    RESET_ENERGY_EXPENDED,
    BodySensorLocation,
    HeartRateFlags,
    HeartRateMeasurement,
    body_sensor_location_decode,
)
from .ieee11073 import Float32, SFloat, Special
from .pulse_oximeter import (
    DeviceSensorStatus,
    MeasurementStatus,
    PlxContinuousFlags,
    PlxContinuousMeasurement,
    PlxFeatures,
    PlxSupportedFeatures,
)
from .record_access import (
    ATT_ERROR_CCCD_IMPROPERLY_CONFIGURED,
    ATT_ERROR_PROCEDURE_ALREADY_IN_PROGRESS,
    RacpOpcode,
    RacpOperator,
    RacpRecordCount,
    RacpRequest,
    RacpRequestError,
    RacpResponse,
    RacpResponseCode,
    racp_indication_decode,
)
from .record_envelope import (
    HEADER_SIZE,
    PAYLOAD_TYPE_BY_STREAM,
    SequencedRecord,
    StreamPayload,
    stream_payload_decode,
)
from .storage_status import StorageStatus, StreamStorageStatus
from .uuids import RECORD_CHAR_BY_STREAM, STREAM_BY_RECORD_CHAR, custom_uuid, sig_short, sig_uuid

__all__ = [
    "ATT_ERROR_CCCD_IMPROPERLY_CONFIGURED",
    "ATT_ERROR_PROCEDURE_ALREADY_IN_PROGRESS",
    "CONTROL_POINT_NOT_SUPPORTED",
    "HEADER_SIZE",
    "PAYLOAD_TYPE_BY_STREAM",
    "RECORD_CHAR_BY_STREAM",
    "RESET_ENERGY_EXPENDED",
    "STREAM_BY_RECORD_CHAR",
    "AccelerometerFrame",
    "AdjustReason",
    "BatteryLevel",
    "BodySensorLocation",
    "CurrentTime",
    "DateTime",
    "DeviceSensorStatus",
    "Float32",
    "HeartRateFlags",
    "HeartRateMeasurement",
    "MeasurementInterval",
    "MeasurementStatus",
    "PayloadError",
    "PlxContinuousFlags",
    "PlxContinuousMeasurement",
    "PlxFeatures",
    "PlxSupportedFeatures",
    "RacpOpcode",
    "RacpOperator",
    "RacpRecordCount",
    "RacpRequest",
    "RacpRequestError",
    "RacpResponse",
    "RacpResponseCode",
    "SFloat",
    "SequencedRecord",
    "Special",
    "StorageStatus",
    "StreamPayload",
    "StreamStorageStatus",
    "TemperatureFlags",
    "TemperatureMeasurement",
    "TemperatureType",
    "body_sensor_location_decode",
    "custom_uuid",
    "racp_indication_decode",
    "sig_short",
    "sig_uuid",
    "stream_payload_decode",
    "temperature_type_decode",
]
