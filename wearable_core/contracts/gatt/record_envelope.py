"""The sequenced record: our envelope around each stream's payload, for replay/dedup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Self, TypeAlias

from ..streams import Stream
from ._codec import Reader, decode, uint_check
from .accelerometer import AccelerometerFrame
from .errors import PayloadError
from .health_thermometer import TemperatureMeasurement
from .heart_rate import HeartRateMeasurement
from .pulse_oximeter import PlxContinuousMeasurement

#: Bytes before the payload: ``seq`` uint32 + ``watch_time_ms`` uint64.
HEADER_SIZE: Final = 12

#: What a record's payload is, per stream.
StreamPayload: TypeAlias = (
    HeartRateMeasurement | PlxContinuousMeasurement | TemperatureMeasurement | AccelerometerFrame
)

PAYLOAD_TYPE_BY_STREAM: Final[dict[Stream, type[StreamPayload]]] = {
    Stream.HEART_RATE: HeartRateMeasurement,
    Stream.SPO2: PlxContinuousMeasurement,
    Stream.TEMPERATURE: TemperatureMeasurement,
    Stream.ACCEL: AccelerometerFrame,
}


@dataclass(frozen=True, slots=True)
class SequencedRecord:
    """One record of a stream, as notified on that stream's record characteristic.

    Layout (little-endian): ``seq`` uint32, ``watch_time_ms`` uint64 (Unix epoch ms by the
    watch's own clock), then the payload to the end: the byte-exact standard payload
    (Heart Rate Measurement, PLX Continuous Measurement, Temperature Measurement) or an
    :class:`AccelerometerFrame`. ``seq`` increases by one per record within a stream and
    is what RACP "greater or equal" filters on. The payload must not be empty.
    """

    seq: int
    watch_time_ms: int
    payload: bytes

    def __post_init__(self) -> None:
        name = type(self).__name__
        uint_check(name, "seq", self.seq, 32)
        uint_check(name, "watch_time_ms", self.watch_time_ms, 64)
        if not isinstance(self.payload, bytes):
            # bytearray/memoryview accepted but frozen to bytes so the record stays hashable.
            object.__setattr__(self, "payload", bytes(self.payload))
        if not self.payload:
            raise PayloadError(b"", f"{name}.payload", "is empty; every stream payload has bytes")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode the header and take the rest as the (opaque) payload."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        seq = reader.u32("seq")
        watch_time_ms = reader.u64("watch_time_ms")
        return cls(seq, watch_time_ms, reader.rest())

    def __bytes__(self) -> bytes:
        return (
            self.seq.to_bytes(4, "little")
            + self.watch_time_ms.to_bytes(8, "little")
            + (self.payload)
        )

    @classmethod
    def wrap(cls, seq: int, watch_time_ms: int, payload: StreamPayload) -> Self:
        """Build a record around an encoded payload object."""
        return cls(seq, watch_time_ms, bytes(payload))

    def decode_payload(self, stream: Stream) -> StreamPayload:
        """Decode ``payload`` as the type ``stream`` carries (see :func:`stream_payload_decode`)."""
        return stream_payload_decode(stream, self.payload)


def stream_payload_decode(stream: Stream, payload: bytes) -> StreamPayload:
    """Decode a record payload of ``stream``; raise :class:`PayloadError` if malformed."""
    return PAYLOAD_TYPE_BY_STREAM[stream].from_bytes(payload)
