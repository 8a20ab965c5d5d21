"""Shared decoding machinery: a bounds-checked reader and the range checks.

Private to the package: the public surface is each payload's ``from_bytes``/``__bytes__``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from .errors import PayloadError

T = TypeVar("T")

#: Largest attribute value ATT allows (Core spec Vol 3 Part F 3.2.9). A notification can
#: carry at most ATT_MTU - 3 bytes of it, which the sender must check against the MTU it
#: actually negotiated; the codecs only enforce the absolute limit.
MAX_ATTRIBUTE_VALUE_SIZE = 512


def int_check(owner: str, field: str, value: object, low: int, high: int, hint: str = "") -> int:
    """Raise :class:`PayloadError` unless ``low <= value <= high``; return ``value``."""
    if not isinstance(value, int):
        raise PayloadError(
            b"", f"{owner}.{field}", f"must be an int, got {type(value).__name__} {value!r}"
        )
    if not low <= value <= high:
        reason = f"{value} is outside {low}..{high}"
        raise PayloadError(b"", f"{owner}.{field}", f"{reason}; {hint}" if hint else reason)
    return value


def uint_check(owner: str, field: str, value: object, bits: int) -> int:
    """Raise :class:`PayloadError` unless ``value`` fits an unsigned field of ``bits`` bits."""
    return int_check(owner, field, value, 0, (1 << bits) - 1, f"it is a uint{bits}")


def allowed_bits_check(owner: str, field: str, value: int, allowed: int) -> None:
    """Reject bits of ``value`` outside ``allowed``: the RFU bits, which we never emit."""
    if value & ~allowed:
        raise PayloadError(
            b"",
            f"{owner}.{field}",
            f"bits 0x{value & ~allowed:X} are reserved for future use; only bits in mask "
            f"0x{allowed:X} may be set",
        )


class Reader:
    """Sequential little-endian reader over one payload.

    Every read that would run past the end raises :class:`PayloadError` naming the field,
    so decoders never leak ``IndexError``/``struct.error``.
    """

    def __init__(self, data: bytes, owner: str) -> None:
        self.data = bytes(data)
        self.owner = owner
        self.offset = 0

    @property
    def remaining(self) -> int:
        """Bytes not yet consumed."""
        return len(self.data) - self.offset

    @contextmanager
    def within(self, field: str) -> Iterator[Reader]:
        """Name errors of a nested structure ``<owner>.<field>.<inner field>``."""
        saved = self.owner
        self.owner = f"{saved}.{field}"
        try:
            yield self
        finally:
            self.owner = saved

    def error(self, field: str, reason: str) -> PayloadError:
        """Build (not raise) an error about ``field`` of this payload."""
        return PayloadError(self.data, f"{self.owner}.{field}", reason)

    def take(self, size: int, field: str) -> bytes:
        """Consume exactly ``size`` bytes for ``field``."""
        end = self.offset + size
        if end > len(self.data):
            raise self.error(
                field,
                f"truncated: needs {size} byte(s) at offset {self.offset} but the payload is "
                f"{len(self.data)} bytes long",
            )
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def uint(self, size: int, field: str) -> int:
        """Consume an unsigned little-endian integer of ``size`` bytes."""
        return int.from_bytes(self.take(size, field), "little")

    def u8(self, field: str) -> int:
        """Consume a uint8."""
        return self.uint(1, field)

    def u16(self, field: str) -> int:
        """Consume a little-endian uint16."""
        return self.uint(2, field)

    def u24(self, field: str) -> int:
        """Consume a little-endian uint24."""
        return self.uint(3, field)

    def u32(self, field: str) -> int:
        """Consume a little-endian uint32."""
        return self.uint(4, field)

    def u64(self, field: str) -> int:
        """Consume a little-endian uint64."""
        return self.uint(8, field)

    def rest(self) -> bytes:
        """Consume everything that is left (possibly nothing)."""
        chunk = self.data[self.offset :]
        self.offset = len(self.data)
        return chunk

    def finish(self) -> None:
        """Reject trailing bytes: every format here has an exact length."""
        if self.remaining:
            raise self.error(
                "<end>",
                f"{self.remaining} unexpected trailing byte(s) after offset {self.offset}",
            )


@contextmanager
def attaching_payload(data: bytes) -> Iterator[None]:
    """Attach ``data`` to constructor range-check errors raised inside the block."""
    try:
        yield
    except PayloadError as exc:
        if exc.payload:
            raise
        raise exc.with_payload(data) from None


def decode(data: bytes, owner: str, read: Callable[[Reader], T]) -> T:
    """Run ``read`` over the whole of ``data`` and insist that it consumed every byte."""
    reader = Reader(data, owner)
    with attaching_payload(reader.data):
        value = read(reader)
        reader.finish()
    return value
