"""Date Time (0x2A08): the 7-byte calendar timestamp embedded in many SIG payloads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar, Self

from ._codec import Reader, decode, int_check
from .errors import PayloadError


@dataclass(frozen=True, slots=True)
class DateTime:
    """A wall-clock date and time with no time zone, as the GATT Date Time field.

    Layout (little-endian, 7 bytes): year ``uint16`` (1582..9999, 0 = unknown), month
    ``uint8`` (1..12, 0 = unknown), day ``uint8`` (1..31, 0 = unknown), hours, minutes,
    seconds ``uint8`` each. Only the per-field ranges are checked: a day of 31 in a
    30-day month is a valid payload and only fails in :meth:`to_datetime`.
    """

    year: int
    month: int
    day: int
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    SIZE: ClassVar[int] = 7

    def __post_init__(self) -> None:
        name = type(self).__name__
        int_check(name, "year", self.year, 0, 9999)
        if 0 < self.year < 1582:
            raise PayloadError(
                b"", f"{name}.year", f"{self.year} is before 1582; use 0 for an unknown year"
            )
        int_check(name, "month", self.month, 0, 12, "0 means unknown")
        int_check(name, "day", self.day, 0, 31, "0 means unknown")
        int_check(name, "hours", self.hours, 0, 23)
        int_check(name, "minutes", self.minutes, 0, 59)
        int_check(name, "seconds", self.seconds, 0, 59)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly 7 bytes; raise :class:`PayloadError` otherwise."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        return cls(
            year=reader.u16("year"),
            month=reader.u8("month"),
            day=reader.u8("day"),
            hours=reader.u8("hours"),
            minutes=reader.u8("minutes"),
            seconds=reader.u8("seconds"),
        )

    def __bytes__(self) -> bytes:
        return self.year.to_bytes(2, "little") + bytes(
            (self.month, self.day, self.hours, self.minutes, self.seconds)
        )

    @property
    def is_complete(self) -> bool:
        """True when year, month and day are all known (non-zero)."""
        return self.year != 0 and self.month != 0 and self.day != 0

    @classmethod
    def from_datetime(cls, value: dt.datetime) -> Self:
        """Take the wall-clock fields of ``value`` as they are (no time-zone conversion);
        sub-second precision is dropped."""
        return cls(value.year, value.month, value.day, value.hour, value.minute, value.second)

    def to_datetime(self, tzinfo: dt.tzinfo | None = None) -> dt.datetime:
        """Return the instant as a ``datetime`` carrying ``tzinfo`` (naive by default).

        Raises :class:`PayloadError` if a date field is unknown (0) or the date does not
        exist in the calendar (e.g. 31 April).
        """
        name = type(self).__name__
        if not self.is_complete:
            raise PayloadError(
                bytes(self), name, "year, month or day is 0 (unknown); cannot build a datetime"
            )
        try:
            return dt.datetime(
                self.year,
                self.month,
                self.day,
                self.hours,
                self.minutes,
                self.seconds,
                tzinfo=tzinfo,
            )
        except ValueError as exc:
            raise PayloadError(bytes(self), f"{name}.day", f"not a calendar date: {exc}") from None
