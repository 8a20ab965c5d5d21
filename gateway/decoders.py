"""Strict, pure decoding of everything a watch sends to the gateway.

Every function here takes the raw bytes of one notification, indication or read and
returns either the decoded value or a :class:`Rejection` saying why the bytes were
refused. None of them raises, whatever the input: a BLE callback that raised would lose
the error in the event loop and, worse, could stop the notification stream. Rejections are
counted by a :class:`RejectionCounter` so a misbehaving watch shows up in the service's
status instead of silently losing data.

Decoding is the contract codecs of :mod:`wearable_core.contracts.gatt` (byte layouts in
``docs/formats/gatt.md``) plus plausibility checks the codecs cannot make on their own:

* a record's ``watch_time_ms`` must fall in [2000-01-01, 2100-01-01) UTC;
* a record's ``seq`` cannot exceed the number of records its stream could have produced
  between 2000-01-01 and the record's own timestamp (one per
  :attr:`~wearable_core.contracts.streams.Stream.record_period_s`, with 0.1 % slack for the
  watch crystal);
* no attribute value may exceed the 512-byte ATT maximum.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from wearable_core.contracts.gatt import uuids
from wearable_core.contracts.gatt.battery import BatteryLevel
from wearable_core.contracts.gatt.current_time import CurrentTime
from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.health_thermometer import TemperatureMeasurement
from wearable_core.contracts.gatt.record_access import (
    RacpRecordCount,
    RacpResponse,
    racp_indication_decode,
)
from wearable_core.contracts.gatt.record_envelope import (
    PAYLOAD_TYPE_BY_STREAM,
    SequencedRecord,
    StreamPayload,
)
from wearable_core.contracts.gatt.storage_status import StorageStatus
from wearable_core.contracts.streams import Stream

__all__ = [
    "MAX_ATTRIBUTE_BYTES",
    "WATCH_TIME_MAX_MS",
    "WATCH_TIME_MIN_MS",
    "DecodedRecord",
    "RejectReason",
    "Rejection",
    "RejectionCounter",
    "battery_decode",
    "current_time_decode",
    "notification_decode",
    "racp_decode",
    "storage_status_decode",
    "timestamp_is_plausible",
]

T = TypeVar("T")

#: Largest attribute value ATT allows (Core spec Vol 3 Part F 3.2.9). No notification,
#: indication or read of a conforming server can be longer.
MAX_ATTRIBUTE_BYTES: Final = 512
#: 2000-01-01T00:00:00Z in Unix ms: the earliest watch time we accept.
WATCH_TIME_MIN_MS: Final = 946_684_800_000
#: 2100-01-01T00:00:00Z in Unix ms: watch times must be strictly before this.
WATCH_TIME_MAX_MS: Final = 4_102_444_800_000
#: How much faster than nominal a watch may have produced records when bounding ``seq``:
#: the firmware accepts crystals off by up to ±1000 ppm.
_SEQ_RATE_SLACK: Final = 1.001


class RejectReason(StrEnum):
    """Why a payload was refused. The value is the name used in counters and logs."""

    #: Not a bytes-like object (bytes, bytearray, memoryview).
    NOT_BYTES = "not_bytes"
    #: Zero bytes: every characteristic we decode carries at least one.
    EMPTY = "empty"
    #: Longer than the 512-byte ATT attribute maximum.
    TOO_LARGE = "too_large"
    #: The characteristic is not one :func:`notification_decode` routes.
    UNKNOWN_CHARACTERISTIC = "unknown_characteristic"
    #: A record characteristic's value is shorter than the 12-byte header plus one byte.
    ENVELOPE = "envelope"
    #: The codec refused the payload (truncated, trailing bytes, out-of-range field...).
    PAYLOAD = "payload"
    #: ``seq`` is more than the stream could have produced by the record's timestamp.
    SEQUENCE_OUT_OF_RANGE = "sequence_out_of_range"
    #: ``watch_time_ms`` is outside [2000-01-01, 2100-01-01).
    TIMESTAMP_IMPLAUSIBLE = "timestamp_implausible"
    #: A decoder raised something other than ``PayloadError``: a bug in our code, turned
    #: into a rejection so one bad payload cannot stop the service, but kept distinct so
    #: tests and the fuzz benchmark can insist that it never happens.
    DECODER_BUG = "decoder_bug"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A payload the gateway refused.

    Attributes
    ----------
    reason
        The category, for counting.
    detail
        Human-readable specifics (the codec's field path and reason where there is one).
    payload
        The bytes exactly as received (``b""`` when the input was not bytes-like).
    characteristic
        The UUID of the characteristic they came from, as given by the caller.
    """

    reason: RejectReason
    detail: str
    payload: bytes
    characteristic: str


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """One decoded measurement.

    Attributes
    ----------
    stream
        Which stream the measurement belongs to.
    seq
        The watch's sequence number, or ``None`` from a standard characteristic (which
        carries none; the store assigns one).
    watch_time_ms
        The watch clock's Unix ms at the start of the period the record covers; ``None``
        when the payload carries no usable time (see :func:`notification_decode`).
    payload
        The standard payload (or accelerometer frame) byte-exact as received, without the
        record envelope: what :class:`wearable_core.records.IngestRecord` stores.
    value
        The decoded contract dataclass.
    """

    stream: Stream
    seq: int | None
    watch_time_ms: int | None
    payload: bytes
    value: StreamPayload


#: Standard SIG measurement characteristics and the stream their payloads belong to.
_STREAM_BY_STANDARD_CHAR: Final[dict[str, Stream]] = {
    uuids.HEART_RATE_MEASUREMENT_CHAR: Stream.HEART_RATE,
    uuids.PLX_CONTINUOUS_MEASUREMENT_CHAR: Stream.SPO2,
    uuids.TEMPERATURE_MEASUREMENT_CHAR: Stream.TEMPERATURE,
}
#: Characteristic UUID -> (stream, whether it carries the sequenced record envelope).
_ROUTES: Final[dict[str, tuple[Stream, bool]]] = {
    **{char: (stream, True) for char, stream in uuids.STREAM_BY_RECORD_CHAR.items()},
    **{char: (stream, False) for char, stream in _STREAM_BY_STANDARD_CHAR.items()},
}
#: Each stream's strict payload decoder, typed once so callers get ``StreamPayload`` back.
_DECODER_BY_STREAM: Final[dict[Stream, Callable[[bytes], StreamPayload]]] = {
    stream: payload_type.from_bytes for stream, payload_type in PAYLOAD_TYPE_BY_STREAM.items()
}
#: Precomputed per-stream bound on ``seq`` per millisecond of watch time since 2000.
_SEQ_PER_MS: Final[dict[Stream, float]] = {
    stream: _SEQ_RATE_SLACK / (stream.record_period_s * 1000.0) for stream in Stream
}


def timestamp_is_plausible(watch_time_ms: int) -> bool:
    """Whether a watch timestamp lies in [2000-01-01, 2100-01-01) UTC.

    Parameters
    ----------
    watch_time_ms
        Unix epoch milliseconds by the watch's clock.

    Returns
    -------
    bool
        ``True`` if the gateway can believe the watch's clock was set.

    Examples
    --------
    >>> timestamp_is_plausible(1_700_000_000_000)  # 2023-11-14
    True
    >>> timestamp_is_plausible(0)  # 1970: a clock that was never set
    False
    """
    return WATCH_TIME_MIN_MS <= watch_time_ms < WATCH_TIME_MAX_MS


def _normalise_uuid(characteristic_uuid: str) -> str:
    # bleak reports lowercase 128-bit strings; accept any case and the bare 16-bit form so
    # that a caller's spelling never turns a good payload into "unknown characteristic".
    text = characteristic_uuid.strip().lower()
    short = uuids.sig_short(text)
    return uuids.sig_uuid(short) if short is not None else text


def _as_bytes(data: object) -> bytes | None:
    # bytes(int) would build a zero-filled buffer and bytes(str) raises: only convert what
    # really is a byte buffer (bleak hands us bytearray).
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        try:
            return bytes(data)
        except (TypeError, ValueError):  # e.g. a released memoryview
            return None
    return None


def _reject(reason: RejectReason, detail: str, data: bytes, characteristic: str) -> Rejection:
    return Rejection(reason, detail, data, characteristic)


def _precheck(data: object, characteristic: str) -> bytes | Rejection:
    """Turn the input into bytes, refusing non-buffers, empty and oversized values."""
    raw = _as_bytes(data)
    return _not_bytes(data, characteristic) if raw is None else _check_size(raw, characteristic)


def _not_bytes(data: object, characteristic: str) -> Rejection:
    return _reject(
        RejectReason.NOT_BYTES,
        f"expected bytes, bytearray or memoryview, got {type(data).__name__}",
        b"",
        characteristic,
    )


def _check_size(raw: bytes, characteristic: str) -> bytes | Rejection:
    if not raw:
        return _reject(RejectReason.EMPTY, "empty value", raw, characteristic)
    if len(raw) > MAX_ATTRIBUTE_BYTES:
        return _reject(
            RejectReason.TOO_LARGE,
            f"{len(raw)} bytes, beyond the {MAX_ATTRIBUTE_BYTES}-byte ATT attribute maximum",
            raw,
            characteristic,
        )
    return raw


def _guarded(
    decode: Callable[[bytes], T], raw: bytes, characteristic: str, reason: RejectReason
) -> T | Rejection:
    """Run a codec, mapping ``PayloadError`` to ``reason`` and anything else to a bug."""
    try:
        return decode(raw)
    except PayloadError as exc:
        return _reject(reason, f"{exc.field}: {exc.reason}", raw, characteristic)
    except Exception as exc:  # the never-raise contract; counted apart as a bug
        return _reject(
            RejectReason.DECODER_BUG, f"{type(exc).__name__}: {exc}", raw, characteristic
        )


def _standard_temperature_time_ms(value: TemperatureMeasurement) -> int | None:
    # Standard thermometers often run with an unset or wrong clock, and the reading itself
    # is still good: rather than reject it, report no watch time and let the gateway fall
    # back to its receive time, as it does for every other standard characteristic.
    stamp = value.timestamp
    if stamp is None or not stamp.is_complete:
        return None
    try:
        # This project writes UTC to the watch (docs/formats/gatt.md, Current Time).
        instant = stamp.to_datetime(dt.UTC)
    except PayloadError:
        return None
    ms = int(instant.timestamp()) * 1000
    return ms if timestamp_is_plausible(ms) else None


def _decode_record(stream: Stream, raw: bytes, characteristic: str) -> DecodedRecord | Rejection:
    # The envelope goes through the contract codec, the one description of its layout; it
    # refuses anything shorter than the 12-byte header plus a payload byte.
    record = _guarded(SequencedRecord.from_bytes, raw, characteristic, RejectReason.ENVELOPE)
    if isinstance(record, Rejection):
        return record
    seq, watch_time_ms, payload = record.seq, record.watch_time_ms, record.payload
    if not timestamp_is_plausible(watch_time_ms):
        return _reject(
            RejectReason.TIMESTAMP_IMPLAUSIBLE,
            f"watch_time_ms {watch_time_ms} is outside [2000-01-01, 2100-01-01)",
            raw,
            characteristic,
        )
    max_seq = int((watch_time_ms - WATCH_TIME_MIN_MS) * _SEQ_PER_MS[stream])
    if seq > max_seq:
        return _reject(
            RejectReason.SEQUENCE_OUT_OF_RANGE,
            f"seq {seq} exceeds {max_seq}, the most {stream.value} records a watch can have "
            f"produced between 2000-01-01 and its timestamp {watch_time_ms}",
            raw,
            characteristic,
        )
    value = _guarded(_DECODER_BY_STREAM[stream], payload, characteristic, RejectReason.PAYLOAD)
    if isinstance(value, Rejection):
        # Report the whole notification, not only the inner payload, so the log shows
        # exactly what arrived.
        return _reject(value.reason, value.detail, raw, characteristic)
    return DecodedRecord(stream, seq, watch_time_ms, payload, value)


def notification_decode(characteristic_uuid: str, data: bytes) -> DecodedRecord | Rejection:
    """Decode one notification or indication of a measurement characteristic.

    Routes by characteristic:

    * a record characteristic (``HR_RECORD_CHAR``, ``SPO2_RECORD_CHAR``,
      ``TEMPERATURE_RECORD_CHAR``, ``ACCEL_RECORD_CHAR``): a 12-byte sequenced envelope
      (``seq``, ``watch_time_ms``) and the stream's payload, which must decode strictly
      with that stream's codec; the timestamp and sequence number must be plausible;
    * a standard characteristic (Heart Rate Measurement 0x2A37, PLX Continuous
      Measurement 0x2A5F, Temperature Measurement 0x2A1C): the SIG payload alone, with
      ``seq=None``. ``watch_time_ms`` is ``None`` except for a Temperature Measurement
      carrying a complete, plausible Time Stamp (read as UTC); an unusable Time Stamp
      does not reject the reading.

    Never raises, whatever ``data`` is.

    Parameters
    ----------
    characteristic_uuid
        The characteristic's UUID; 128-bit string in any case, or the 4-hex-digit form of
        a SIG UUID.
    data
        The value as received (``bytes``; ``bytearray`` and ``memoryview`` are accepted).

    Returns
    -------
    DecodedRecord or Rejection
        The measurement, or why it was refused.

    Examples
    --------
    >>> from wearable_core.contracts.gatt import HeartRateMeasurement, SequencedRecord
    >>> from wearable_core.contracts.gatt.uuids import HR_RECORD_CHAR
    >>> hr = HeartRateMeasurement(72, sensor_contact=True, rr_intervals=(850,))
    >>> note = bytes(SequencedRecord.wrap(7, 1_700_000_000_000, hr))
    >>> record = notification_decode(HR_RECORD_CHAR, note)
    >>> record.stream, record.seq, record.value.heart_rate
    (<Stream.HEART_RATE: 'hr'>, 7, 72)
    >>> notification_decode(HR_RECORD_CHAR, note[:5]).reason
    <RejectReason.ENVELOPE: 'envelope'>
    """
    if not isinstance(characteristic_uuid, str):
        return _reject(
            RejectReason.UNKNOWN_CHARACTERISTIC,
            f"characteristic UUID must be a str, got {type(characteristic_uuid).__name__}",
            _as_bytes(data) or b"",
            repr(characteristic_uuid),
        )
    raw = _as_bytes(data)
    if raw is None:
        return _not_bytes(data, characteristic_uuid)
    # bleak reports the exact lowercase spelling the routing table uses: look that up
    # first and normalise only on a miss. Routing comes before the size checks: bytes on
    # the wrong characteristic are a routing problem whatever their length.
    route = _ROUTES.get(characteristic_uuid) or _ROUTES.get(_normalise_uuid(characteristic_uuid))
    if route is None:
        return _reject(
            RejectReason.UNKNOWN_CHARACTERISTIC,
            f"{characteristic_uuid} is not a record or standard measurement characteristic",
            raw,
            characteristic_uuid,
        )
    sized = _check_size(raw, characteristic_uuid)
    if isinstance(sized, Rejection):
        return sized
    stream, is_record = route
    if is_record:
        return _decode_record(stream, raw, characteristic_uuid)
    value = _guarded(_DECODER_BY_STREAM[stream], raw, characteristic_uuid, RejectReason.PAYLOAD)
    if isinstance(value, Rejection):
        return value
    watch_time_ms = None
    if isinstance(value, TemperatureMeasurement):
        watch_time_ms = _standard_temperature_time_ms(value)
    return DecodedRecord(stream, None, watch_time_ms, raw, value)


def current_time_decode(data: bytes) -> int | Rejection:
    """Decode a Current Time (0x2A2B) read: the watch clock's reading in Unix ms.

    A date the watch does not know (zero fields) or that is not a calendar date is
    refused. Never raises.

    Examples
    --------
    >>> current_time_decode(bytes(CurrentTime.from_epoch_ms(1_767_571_200_500)))
    1767571200500
    >>> current_time_decode(b"\\x00" * 10).reason
    <RejectReason.PAYLOAD: 'payload'>
    """
    char = uuids.CURRENT_TIME_CHAR
    raw = _precheck(data, char)
    if isinstance(raw, Rejection):
        return raw
    return _guarded(
        lambda b: CurrentTime.from_bytes(b).to_epoch_ms(), raw, char, RejectReason.PAYLOAD
    )


def battery_decode(data: bytes) -> int | Rejection:
    """Decode a Battery Level (0x2A19) read or notification.

    Parameters
    ----------
    data
        The value as received: exactly one byte, 0..100.

    Returns
    -------
    int or Rejection
        The charge in percent, or why the value was refused. Never raises.

    Examples
    --------
    >>> battery_decode(b"\\x57")
    87
    >>> battery_decode(b"\\xff").reason
    <RejectReason.PAYLOAD: 'payload'>
    """
    char = uuids.BATTERY_LEVEL_CHAR
    raw = _precheck(data, char)
    if isinstance(raw, Rejection):
        return raw
    level = _guarded(BatteryLevel.from_bytes, raw, char, RejectReason.PAYLOAD)
    return level if isinstance(level, Rejection) else level.level


def storage_status_decode(data: bytes) -> StorageStatus | Rejection:
    """Decode a Storage Status read (our custom characteristic).

    Parameters
    ----------
    data
        The value as received: a count byte and 13 bytes per stream.

    Returns
    -------
    StorageStatus or Rejection
        Each stream's stored window, or why the value was refused. Never raises.

    Examples
    --------
    >>> from wearable_core.contracts.gatt import StorageStatus, StreamStorageStatus
    >>> status = StorageStatus((StreamStorageStatus(Stream.HEART_RATE, 10, 42, 3),))
    >>> storage_status_decode(bytes(status)).for_stream(Stream.HEART_RATE).stored_count
    32
    >>> storage_status_decode(b"\\x01").reason
    <RejectReason.PAYLOAD: 'payload'>
    """
    char = uuids.STORAGE_STATUS_CHAR
    raw = _precheck(data, char)
    if isinstance(raw, Rejection):
        return raw
    return _guarded(StorageStatus.from_bytes, raw, char, RejectReason.PAYLOAD)


def racp_decode(data: bytes) -> RacpResponse | RacpRecordCount | Rejection:
    """Decode an indication of our Record Access Control Point.

    Parameters
    ----------
    data
        The value as received: a response code (``06 00 <op> <code>``) or a record count
        (``05 00 <count: uint32>``).

    Returns
    -------
    RacpResponse or RacpRecordCount or Rejection
        The indication, or why it was refused. Never raises.

    Examples
    --------
    >>> racp_decode(bytes.fromhex("06000101")).succeeded
    True
    >>> racp_decode(bytes.fromhex("05002a000000")).count
    42
    >>> racp_decode(bytes.fromhex("07")).reason
    <RejectReason.PAYLOAD: 'payload'>
    """
    char = uuids.RECORD_ACCESS_CONTROL_POINT_CHAR
    raw = _precheck(data, char)
    if isinstance(raw, Rejection):
        return raw
    return _guarded(racp_indication_decode, raw, char, RejectReason.PAYLOAD)


class RejectionCounter:
    """Counts rejections per device and reason, and keeps the most recent ones.

    Every operation is O(1) except the snapshot methods, which copy what they return.
    Not thread-safe by design: the gateway decodes on its event loop, and a lock would cost
    on every notification for nothing.

    Parameters
    ----------
    keep_last
        How many of the most recent rejections to keep for logs and status.

    Examples
    --------
    >>> counter = RejectionCounter(keep_last=2)
    >>> counter.record("watch-1", battery_decode(b""))
    >>> counter.record("watch-1", battery_decode(b"\\xff"))
    >>> counter.total, counter.counts()[("watch-1", RejectReason.EMPTY)]
    (2, 1)
    """

    def __init__(self, keep_last: int = 50) -> None:
        if keep_last < 0:
            raise ValueError(f"keep_last must be >= 0, got {keep_last}")
        self._counts: Counter[tuple[str, RejectReason]] = Counter()
        self._recent: deque[tuple[str, Rejection]] = deque(maxlen=keep_last)
        self._total = 0

    def record(self, device: str, rejection: Rejection) -> None:
        """Count ``rejection`` against ``device`` and remember it as the most recent."""
        self._counts[(device, rejection.reason)] += 1
        self._recent.append((device, rejection))
        self._total += 1

    @property
    def total(self) -> int:
        """Rejections recorded since creation (or the last :meth:`clear`)."""
        return self._total

    def counts(self) -> dict[tuple[str, RejectReason], int]:
        """A snapshot of the count per ``(device, reason)``."""
        return dict(self._counts)

    def by_reason(self) -> dict[RejectReason, int]:
        """A snapshot of the count per reason, all devices together."""
        totals: Counter[RejectReason] = Counter()
        for (_, reason), count in self._counts.items():
            totals[reason] += count
        return dict(totals)

    def for_device(self, device: str) -> dict[RejectReason, int]:
        """A snapshot of ``device``'s count per reason."""
        return {reason: n for (dev, reason), n in self._counts.items() if dev == device}

    def recent(self) -> list[tuple[str, Rejection]]:
        """The most recent rejections, oldest first, as ``(device, rejection)``."""
        return list(self._recent)

    def clear(self) -> None:
        """Forget every count and kept rejection."""
        self._counts.clear()
        self._recent.clear()
        self._total = 0
