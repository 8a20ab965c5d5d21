"""Battery Level (0x2A19) of the Battery Service (0x180F)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from ._codec import Reader, decode, int_check


@dataclass(frozen=True, slots=True)
class BatteryLevel:
    """Remaining charge in percent: one ``uint8``, 0..100.

    101..255 are reserved for future use by the specification; they are rejected rather
    than clamped because a watch sending them is misbehaving.
    """

    level: int

    def __post_init__(self) -> None:
        int_check(type(self).__name__, "level", self.level, 0, 100, "it is a percentage")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly one byte; raise :class:`PayloadError` otherwise."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        return cls(reader.u8("level"))

    def __bytes__(self) -> bytes:
        return bytes((self.level,))
