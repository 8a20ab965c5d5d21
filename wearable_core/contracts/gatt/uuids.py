"""GATT UUIDs used by the watch: Bluetooth SIG 16-bit ones and our custom 128-bit ones.

SIG UUIDs come in two spellings: ``*_16`` ints (the assigned number) and the full
128-bit lowercase string on the Bluetooth Base UUID, which is what bleak reports and
bumble accepts. Characteristics, SIG and custom alike, end in ``_CHAR``
(``BATTERY_LEVEL_CHAR``, ``HR_RECORD_CHAR``); services end in ``_SERVICE``. Our custom
UUIDs only exist as 128-bit strings.
"""

from __future__ import annotations

from typing import Final

from ..streams import Stream

#: The Bluetooth Base UUID (Core spec Vol 3 Part B 2.5.1) with the 16-bit slot zeroed.
_SIG_BASE_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"
#: Base of this project's vendor UUIDs; the 16-bit slot after ``b5e1`` is ours to assign.
_CUSTOM_BASE_SUFFIX: Final = "-2f6c-4c8e-9a57-3d1f0e4a6b20"
_CUSTOM_PREFIX: Final = "b5e1"


def sig_uuid(short: int) -> str:
    """Return the 128-bit string form of a 16-bit SIG UUID, e.g. ``0x180D`` ->
    ``"0000180d-0000-1000-8000-00805f9b34fb"``."""
    if not isinstance(short, int) or not 0 <= short <= 0xFFFF:
        raise ValueError(f"a 16-bit SIG UUID must be an int in 0..0xFFFF, got {short!r}")
    return f"0000{short:04x}{_SIG_BASE_SUFFIX}"


def custom_uuid(short: int) -> str:
    """Return the project UUID ``b5e1XXXX-2f6c-4c8e-9a57-3d1f0e4a6b20`` for ``XXXX = short``."""
    if not isinstance(short, int) or not 0 <= short <= 0xFFFF:
        raise ValueError(f"a custom UUID slot must be an int in 0..0xFFFF, got {short!r}")
    return f"{_CUSTOM_PREFIX}{short:04x}{_CUSTOM_BASE_SUFFIX}"


def sig_short(uuid: str) -> int | None:
    """Return the 16-bit assigned number of a SIG UUID string, or ``None`` if ``uuid`` is
    not on the Bluetooth Base UUID. Accepts any case and the bare 4-hex-digit form."""
    text = uuid.strip().lower()
    if len(text) == 4:
        try:
            return int(text, 16)
        except ValueError:
            return None
    if len(text) == 36 and text.startswith("0000") and text.endswith(_SIG_BASE_SUFFIX):
        try:
            return int(text[4:8], 16)
        except ValueError:
            return None
    return None


# --- SIG services ------------------------------------------------------------------------
HEART_RATE_SERVICE_16: Final = 0x180D
PULSE_OXIMETER_SERVICE_16: Final = 0x1822
HEALTH_THERMOMETER_SERVICE_16: Final = 0x1809
BATTERY_SERVICE_16: Final = 0x180F
DEVICE_INFORMATION_SERVICE_16: Final = 0x180A
CURRENT_TIME_SERVICE_16: Final = 0x1805

HEART_RATE_SERVICE: Final = sig_uuid(HEART_RATE_SERVICE_16)
PULSE_OXIMETER_SERVICE: Final = sig_uuid(PULSE_OXIMETER_SERVICE_16)
HEALTH_THERMOMETER_SERVICE: Final = sig_uuid(HEALTH_THERMOMETER_SERVICE_16)
BATTERY_SERVICE: Final = sig_uuid(BATTERY_SERVICE_16)
DEVICE_INFORMATION_SERVICE: Final = sig_uuid(DEVICE_INFORMATION_SERVICE_16)
CURRENT_TIME_SERVICE: Final = sig_uuid(CURRENT_TIME_SERVICE_16)

# --- SIG characteristics (named after their SIG names) -----------------------------------
HEART_RATE_MEASUREMENT_16: Final = 0x2A37
BODY_SENSOR_LOCATION_16: Final = 0x2A38
HEART_RATE_CONTROL_POINT_16: Final = 0x2A39
PLX_CONTINUOUS_MEASUREMENT_16: Final = 0x2A5F
PLX_FEATURES_16: Final = 0x2A60
TEMPERATURE_MEASUREMENT_16: Final = 0x2A1C
TEMPERATURE_TYPE_16: Final = 0x2A1D
MEASUREMENT_INTERVAL_16: Final = 0x2A21
BATTERY_LEVEL_16: Final = 0x2A19
MANUFACTURER_NAME_16: Final = 0x2A29
MODEL_NUMBER_16: Final = 0x2A24
SERIAL_NUMBER_16: Final = 0x2A25
FIRMWARE_REVISION_16: Final = 0x2A26
HARDWARE_REVISION_16: Final = 0x2A27
SOFTWARE_REVISION_16: Final = 0x2A28
CURRENT_TIME_16: Final = 0x2A2B

HEART_RATE_MEASUREMENT_CHAR: Final = sig_uuid(HEART_RATE_MEASUREMENT_16)
BODY_SENSOR_LOCATION_CHAR: Final = sig_uuid(BODY_SENSOR_LOCATION_16)
HEART_RATE_CONTROL_POINT_CHAR: Final = sig_uuid(HEART_RATE_CONTROL_POINT_16)
PLX_CONTINUOUS_MEASUREMENT_CHAR: Final = sig_uuid(PLX_CONTINUOUS_MEASUREMENT_16)
PLX_FEATURES_CHAR: Final = sig_uuid(PLX_FEATURES_16)
TEMPERATURE_MEASUREMENT_CHAR: Final = sig_uuid(TEMPERATURE_MEASUREMENT_16)
TEMPERATURE_TYPE_CHAR: Final = sig_uuid(TEMPERATURE_TYPE_16)
MEASUREMENT_INTERVAL_CHAR: Final = sig_uuid(MEASUREMENT_INTERVAL_16)
BATTERY_LEVEL_CHAR: Final = sig_uuid(BATTERY_LEVEL_16)
MANUFACTURER_NAME_CHAR: Final = sig_uuid(MANUFACTURER_NAME_16)
MODEL_NUMBER_CHAR: Final = sig_uuid(MODEL_NUMBER_16)
SERIAL_NUMBER_CHAR: Final = sig_uuid(SERIAL_NUMBER_16)
FIRMWARE_REVISION_CHAR: Final = sig_uuid(FIRMWARE_REVISION_16)
HARDWARE_REVISION_CHAR: Final = sig_uuid(HARDWARE_REVISION_16)
SOFTWARE_REVISION_CHAR: Final = sig_uuid(SOFTWARE_REVISION_16)
CURRENT_TIME_CHAR: Final = sig_uuid(CURRENT_TIME_16)

# --- Custom (vendor) UUIDs ---------------------------------------------------------------
#: Stored-record replay: the three vital-sign record characteristics, the RACP and the
#: storage status live here.
RECORDS_SERVICE: Final = custom_uuid(0x0001)
#: Accelerometer frames; a separate service so a gateway can skip the high-rate stream.
MOTION_SERVICE: Final = custom_uuid(0x0002)

HR_RECORD_CHAR: Final = custom_uuid(0x0101)
SPO2_RECORD_CHAR: Final = custom_uuid(0x0102)
TEMPERATURE_RECORD_CHAR: Final = custom_uuid(0x0103)
RECORD_ACCESS_CONTROL_POINT_CHAR: Final = custom_uuid(0x0110)
STORAGE_STATUS_CHAR: Final = custom_uuid(0x0111)
ACCEL_RECORD_CHAR: Final = custom_uuid(0x0201)

#: The characteristic that carries each stream's :class:`SequencedRecord` notifications.
RECORD_CHAR_BY_STREAM: dict[Stream, str] = {
    Stream.HEART_RATE: HR_RECORD_CHAR,
    Stream.SPO2: SPO2_RECORD_CHAR,
    Stream.TEMPERATURE: TEMPERATURE_RECORD_CHAR,
    Stream.ACCEL: ACCEL_RECORD_CHAR,
}
#: Inverse of :data:`RECORD_CHAR_BY_STREAM` (keys are lowercase 128-bit strings).
STREAM_BY_RECORD_CHAR: dict[str, Stream] = {v: k for k, v in RECORD_CHAR_BY_STREAM.items()}
