"""Storage Status: how much of each stream the watch still holds, for replay planning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..streams import Stream
from ._codec import Reader, decode, int_check, uint_check
from .errors import PayloadError


@dataclass(frozen=True, slots=True)
class StreamStorageStatus:
    """Stored-record window of one stream.

    Layout (13 bytes, little-endian): stream wire id ``uint8``, ``oldest_seq`` ``uint32``
    (oldest record still stored), ``next_seq`` ``uint32`` (seq the next record will get),
    ``overwritten`` ``uint32`` (records lost to ring-buffer wrap since boot). Records
    ``oldest_seq .. next_seq - 1`` can be replayed; ``oldest_seq == next_seq`` means empty.
    """

    stream: Stream
    oldest_seq: int
    next_seq: int
    overwritten: int = 0

    SIZE: ClassVar[int] = 13

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.stream, Stream):
            raise PayloadError(b"", f"{name}.stream", f"{self.stream!r} is not a Stream")
        uint_check(name, "next_seq", self.next_seq, 32)
        int_check(
            name, "oldest_seq", self.oldest_seq, 0, self.next_seq, "it cannot exceed next_seq"
        )
        uint_check(name, "overwritten", self.overwritten, 32)

    @property
    def stored_count(self) -> int:
        """Number of records available for replay."""
        return self.next_seq - self.oldest_seq

    @property
    def is_empty(self) -> bool:
        """True when nothing is stored."""
        return self.oldest_seq == self.next_seq

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly 13 bytes; raise :class:`PayloadError` otherwise."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        wire_id = reader.u8("stream")
        try:
            stream = Stream.from_wire_id(wire_id)
        except ValueError:
            raise reader.error("stream", f"unknown stream id 0x{wire_id:02X}") from None
        return cls(
            stream, reader.u32("oldest_seq"), reader.u32("next_seq"), reader.u32("overwritten")
        )

    def __bytes__(self) -> bytes:
        return (
            bytes((self.stream.wire_id,))
            + self.oldest_seq.to_bytes(4, "little")
            + self.next_seq.to_bytes(4, "little")
            + self.overwritten.to_bytes(4, "little")
        )


@dataclass(frozen=True, slots=True)
class StorageStatus:
    """Storage Status characteristic: ``count`` ``uint8`` then ``count`` entries of
    :class:`StreamStorageStatus`. Each stream appears at most once."""

    entries: tuple[StreamStorageStatus, ...]

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.entries, tuple):
            object.__setattr__(self, "entries", tuple(self.entries))
        int_check(name, "entries", len(self.entries), 0, 0xFF, "the count is a uint8")
        seen: set[Stream] = set()
        for entry in self.entries:
            if not isinstance(entry, StreamStorageStatus):
                raise PayloadError(
                    b"", f"{name}.entries", f"{entry!r} is not a StreamStorageStatus"
                )
            if entry.stream in seen:
                raise PayloadError(
                    b"", f"{name}.entries", f"stream {entry.stream.value!r} appears twice"
                )
            seen.add(entry.stream)

    def for_stream(self, stream: Stream) -> StreamStorageStatus | None:
        """The entry for ``stream``, or ``None`` if the watch did not report it."""
        return next((e for e in self.entries if e.stream == stream), None)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly ``1 + 13 * count`` bytes; raise :class:`PayloadError` otherwise."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        count = reader.u8("count")
        if reader.remaining != count * StreamStorageStatus.SIZE:
            raise reader.error(
                "entries",
                f"count {count} needs {count * StreamStorageStatus.SIZE} bytes of entries, "
                f"got {reader.remaining}",
            )
        entries = []
        for index in range(count):
            with reader.within(f"entries[{index}]"):
                entries.append(StreamStorageStatus._read(reader))
        return cls(tuple(entries))

    def __bytes__(self) -> bytes:
        return bytes((len(self.entries),)) + b"".join(bytes(e) for e in self.entries)
