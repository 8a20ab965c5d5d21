"""Current Time Service (0x1805): Current Time (0x2A2B)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import ClassVar, Final, Self

from ._codec import Reader, allowed_bits_check, decode, int_check, uint_check
from .date_time import DateTime
from .errors import PayloadError


class AdjustReason(enum.IntFlag):
    """Adjust Reason flags of Current Time. Bits 4-7 are reserved."""

    MANUAL_TIME_UPDATE = 0x01
    EXTERNAL_REFERENCE_TIME_UPDATE = 0x02
    CHANGE_OF_TIME_ZONE = 0x04
    CHANGE_OF_DST = 0x08


ADJUST_REASON_MASK: Final = 0x0F

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS_PER_SECOND: Final = 1000


@dataclass(frozen=True, slots=True)
class CurrentTime:
    """Current Time (0x2A2B), 10 bytes: Exact Time 256 then Adjust Reason.

    Exact Time 256 is Date Time (7 bytes), Day of Week ``uint8`` (1 = Monday .. 7 =
    Sunday, 0 = unknown) and Fractions256 ``uint8`` (1/256 s). Adjust Reason is a
    ``uint8`` of :class:`AdjustReason` flags; reserved bits are dropped by the decoder and
    rejected by the constructor.

    The specification means local time; this project always writes UTC and does not
    expose Local Time Information, so the epoch helpers treat the fields as UTC.
    """

    date_time: DateTime
    day_of_week: int
    fractions256: int = 0
    adjust_reason: int = 0

    SIZE: ClassVar[int] = 10

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.date_time, DateTime):
            raise PayloadError(b"", f"{name}.date_time", "must be a DateTime")
        int_check(name, "day_of_week", self.day_of_week, 0, 7, "1 = Monday .. 7, 0 = unknown")
        uint_check(name, "fractions256", self.fractions256, 8)
        uint_check(name, "adjust_reason", self.adjust_reason, 8)
        allowed_bits_check(name, "adjust_reason", self.adjust_reason, ADJUST_REASON_MASK)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly 10 bytes; reserved Adjust Reason bits are ignored."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        with reader.within("date_time"):
            date_time = DateTime._read(reader)
        day_of_week = reader.u8("day_of_week")
        fractions = reader.u8("fractions256")
        reason = AdjustReason(reader.u8("adjust_reason") & ADJUST_REASON_MASK)
        return cls(date_time, day_of_week, fractions, reason)

    def __bytes__(self) -> bytes:
        return bytes(self.date_time) + bytes(
            (self.day_of_week, self.fractions256, self.adjust_reason)
        )

    @classmethod
    def from_epoch_ms(cls, ms: int, adjust_reason: int = 0) -> Self:
        """Build the value for the UTC instant ``ms`` milliseconds after the Unix epoch.

        The sub-second part is truncated to whole 1/256 s, losing up to 3.9 ms (1000/256).
        """
        int_check(cls.__name__, "ms", ms, -(2**63), 2**63 - 1)
        seconds, remainder_ms = divmod(ms, _MS_PER_SECOND)
        try:
            moment = _EPOCH + dt.timedelta(seconds=seconds)
        except OverflowError:
            raise PayloadError(
                b"", f"{cls.__name__}.date_time", f"{ms} ms is out of range"
            ) from None
        return cls(
            DateTime.from_datetime(moment),
            moment.isoweekday(),
            remainder_ms * 256 // _MS_PER_SECOND,
            adjust_reason,
        )

    def to_epoch_ms(self) -> int:
        """Milliseconds since the Unix epoch, reading the fields as UTC.

        Rounds the fraction up to a whole millisecond, so that
        ``from_epoch_ms(ct.to_epoch_ms()) == ct`` for any ``ct`` whose day of week matches
        its date; ``to_epoch_ms(from_epoch_ms(ms))`` is at most 3 ms before ``ms``. Raises
        :class:`PayloadError` if the date is unknown or not a calendar date.
        """
        moment = self.date_time.to_datetime(dt.UTC)
        whole_seconds = (moment - _EPOCH) // dt.timedelta(seconds=1)
        fraction_ms = -(-self.fractions256 * _MS_PER_SECOND // 256)
        return whole_seconds * _MS_PER_SECOND + fraction_ms
