"""The single exception type raised for malformed or out-of-range GATT payloads."""

from __future__ import annotations

import copy
from typing import Any, Self

#: Longest payload prefix rendered into an error message; the full bytes stay on ``payload``.
_MAX_HEX_BYTES = 48


class PayloadError(ValueError):
    """A GATT payload, or a value about to be encoded into one, violates its format.

    Every decoder in :mod:`wearable_core.contracts.gatt` raises this (never ``IndexError`` or
    ``struct.error``), and so does every constructor range check. Like bleak's errors it
    carries the offending value so callers can log or quarantine it:

    * ``payload`` - the bytes being decoded (``b""`` when a constructor rejected a value);
    * ``field`` - ``"<Type>.<field>"``, the part of the format that is wrong;
    * ``reason`` - what is wrong and, where possible, what would be accepted.
    """

    payload: bytes
    field: str
    reason: str

    def __init__(self, payload: bytes, field: str, reason: str) -> None:
        self.payload = bytes(payload)
        self.field = field
        self.reason = reason
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.payload:
            return f"{self.field}: {self.reason}"
        shown = self.payload[:_MAX_HEX_BYTES].hex(" ")
        if len(self.payload) > _MAX_HEX_BYTES:
            shown += " …"
        return f"{self.field}: {self.reason} (payload, {len(self.payload)} bytes: {shown})"

    def with_payload(self, payload: bytes) -> Self:
        """Return a copy of this error that names ``payload`` as the offending bytes.

        Decoders use this to attach the received bytes to a range-check failure raised by
        a constructor, which only sees field values.
        """
        clone = copy.copy(self)
        clone.payload = bytes(payload)
        clone.args = (clone._render(),)
        return clone

    def __reduce__(self) -> tuple[Any, ...]:
        # The default exception pickling calls ``cls(*args)`` with the rendered message,
        # which does not match our signature; rebuild from the attributes instead so the
        # error survives multiprocessing queues.
        return (_rebuild, (type(self), self.__dict__.copy(), self.args))


def _rebuild(cls: type[PayloadError], state: dict[str, Any], args: tuple[Any, ...]) -> PayloadError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    error.args = args
    return error
