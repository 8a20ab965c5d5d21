"""The data streams a watch produces, with the identifiers used on the wire and on disk."""

from __future__ import annotations

import enum


class Stream(enum.StrEnum):
    """One sequenced stream of records produced by a watch.

    The string value is the name used in files and logs; :attr:`wire_id` is the byte
    used in Record Access Control Point operands and storage-status entries.
    """

    HEART_RATE = "hr"
    SPO2 = "spo2"
    TEMPERATURE = "temp"
    ACCEL = "accel"

    @property
    def wire_id(self) -> int:
        return _WIRE_IDS[self]

    @classmethod
    def from_wire_id(cls, wire_id: int) -> Stream:
        """Return the stream for a wire identifier; raise ``ValueError`` if unknown."""
        try:
            return _BY_WIRE_ID[wire_id]
        except KeyError:
            raise ValueError(f"unknown stream id 0x{wire_id:02X}") from None

    @property
    def record_period_s(self) -> float:
        """Seconds of signal one record covers (one notification per period)."""
        return _PERIOD_S[self]


_WIRE_IDS = {Stream.HEART_RATE: 1, Stream.SPO2: 2, Stream.TEMPERATURE: 3, Stream.ACCEL: 4}
_BY_WIRE_ID = {v: k for k, v in _WIRE_IDS.items()}
_PERIOD_S = {Stream.HEART_RATE: 1.0, Stream.SPO2: 1.0, Stream.TEMPERATURE: 60.0, Stream.ACCEL: 1.0}

#: Accelerometer sampling rate; one accelerometer record is a 1 s frame of samples.
ACCEL_SAMPLE_RATE_HZ = 25
