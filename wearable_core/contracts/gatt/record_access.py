"""Our Record Access Control Point: the standard RACP (0x2A52) procedure shape with a
stream-and-sequence operand instead of the standard filter types."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Final, Self

from ..streams import Stream
from ._codec import Reader, decode, uint_check
from .errors import PayloadError

#: ATT error (Core Spec Supplement Part B) when a RACP procedure is already running.
ATT_ERROR_PROCEDURE_ALREADY_IN_PROGRESS: Final = 0xFE
#: ATT error when the client writes the RACP without enabling its indications.
ATT_ERROR_CCCD_IMPROPERLY_CONFIGURED: Final = 0xFD


class RacpOpcode(enum.IntEnum):
    """RACP op codes we use (values as in the standard RACP)."""

    REPORT_STORED_RECORDS = 0x01
    ABORT = 0x03
    REPORT_NUMBER_OF_STORED_RECORDS = 0x04
    NUMBER_OF_STORED_RECORDS_RESPONSE = 0x05
    RESPONSE_CODE = 0x06


class RacpOperator(enum.IntEnum):
    """RACP operators we support (values as in the standard RACP)."""

    NULL = 0x00
    ALL = 0x01
    GREATER_OR_EQUAL = 0x03


class RacpResponseCode(enum.IntEnum):
    """Response Code Values of the standard RACP."""

    SUCCESS = 0x01
    OPCODE_NOT_SUPPORTED = 0x02
    INVALID_OPERATOR = 0x03
    OPERATOR_NOT_SUPPORTED = 0x04
    INVALID_OPERAND = 0x05
    NO_RECORDS_FOUND = 0x06
    ABORT_UNSUCCESSFUL = 0x07
    PROCEDURE_NOT_COMPLETED = 0x08
    OPERAND_NOT_SUPPORTED = 0x09


_KNOWN_OPCODES: Final = frozenset(int(o) for o in RacpOpcode)
_KNOWN_OPERATORS: Final = frozenset(int(o) for o in RacpOperator)
_REQUEST_OPCODES: Final = frozenset(
    {
        RacpOpcode.REPORT_STORED_RECORDS,
        RacpOpcode.ABORT,
        RacpOpcode.REPORT_NUMBER_OF_STORED_RECORDS,
    }
)
#: Operators the standard RACP defines (<=, within range, first, last) that we don't offer:
#: they earn OPERATOR_NOT_SUPPORTED rather than INVALID_OPERATOR.
_STANDARD_UNSUPPORTED_OPERATORS: Final = frozenset({0x02, 0x04, 0x05, 0x06})


class RacpRequestError(PayloadError):
    """A RACP request the server must refuse, with the response code to indicate.

    The server answers ``RacpResponse(error.request_opcode, error.response_code)``.
    """

    def __init__(
        self,
        payload: bytes,
        field: str,
        reason: str,
        *,
        request_opcode: int,
        response_code: RacpResponseCode,
    ) -> None:
        self.request_opcode = request_opcode
        self.response_code = response_code
        super().__init__(payload, field, f"{reason} [-> {response_code.name}]")


def _refuse(field: str, reason: str, opcode: int, code: RacpResponseCode) -> RacpRequestError:
    return RacpRequestError(
        b"", f"RacpRequest.{field}", reason, request_opcode=opcode, response_code=code
    )


@dataclass(frozen=True, slots=True)
class RacpRequest:
    """A request written by the gateway to RECORD_ACCESS_CONTROL_POINT_CHAR.

    Layout: op code ``uint8``, operator ``uint8``, operand:

    * ``REPORT_STORED_RECORDS`` / ``REPORT_NUMBER_OF_STORED_RECORDS`` with ``ALL``: stream
      wire id ``uint8``; with ``GREATER_OR_EQUAL``: stream wire id ``uint8`` + ``min_seq``
      ``uint32``;
    * ``ABORT``: operator ``NULL``, no operand.

    Invalid requests raise :class:`RacpRequestError` carrying the response code the server
    should indicate.
    """

    opcode: RacpOpcode
    operator: RacpOperator
    stream: Stream | None = None
    min_seq: int | None = None

    def __post_init__(self) -> None:
        opcode = int(self.opcode)
        if opcode not in _REQUEST_OPCODES:
            raise _refuse(
                "opcode",
                f"0x{opcode:02X} is not a request op code (01, 03, 04)",
                opcode,
                RacpResponseCode.OPCODE_NOT_SUPPORTED,
            )
        # Plain ints are accepted but stored as the enums so that reprs and ``.name`` work.
        object.__setattr__(self, "opcode", RacpOpcode(opcode))
        if int(self.operator) in _KNOWN_OPERATORS:
            object.__setattr__(self, "operator", RacpOperator(self.operator))
        if self.opcode == RacpOpcode.ABORT:
            if self.operator != RacpOperator.NULL:
                raise _refuse(
                    "operator",
                    "ABORT takes the NULL operator",
                    opcode,
                    RacpResponseCode.INVALID_OPERATOR,
                )
            if self.stream is not None or self.min_seq is not None:
                raise _refuse(
                    "stream", "ABORT takes no operand", opcode, RacpResponseCode.INVALID_OPERAND
                )
            return
        if self.operator not in (RacpOperator.ALL, RacpOperator.GREATER_OR_EQUAL):
            raise _refuse(
                "operator",
                f"{RacpOpcode(opcode).name} needs operator ALL or GREATER_OR_EQUAL",
                opcode,
                RacpResponseCode.INVALID_OPERATOR,
            )
        if not isinstance(self.stream, Stream):
            raise _refuse(
                "stream", "a stream is required", opcode, RacpResponseCode.INVALID_OPERAND
            )
        if self.operator == RacpOperator.ALL and self.min_seq is not None:
            raise _refuse(
                "min_seq",
                "ALL takes no min_seq; use GREATER_OR_EQUAL",
                opcode,
                RacpResponseCode.INVALID_OPERAND,
            )
        if self.operator == RacpOperator.GREATER_OR_EQUAL:
            if self.min_seq is None:
                raise _refuse(
                    "min_seq",
                    "GREATER_OR_EQUAL needs min_seq",
                    opcode,
                    RacpResponseCode.INVALID_OPERAND,
                )
            try:
                uint_check("RacpRequest", "min_seq", self.min_seq, 32)
            except PayloadError as exc:
                raise _refuse(
                    "min_seq", exc.reason, opcode, RacpResponseCode.INVALID_OPERAND
                ) from None

    @classmethod
    def report_records(cls, stream: Stream, min_seq: int | None = None) -> Self:
        """Request replay of ``stream``'s stored records (all, or those with seq >= min_seq)."""
        operator = RacpOperator.ALL if min_seq is None else RacpOperator.GREATER_OR_EQUAL
        return cls(RacpOpcode.REPORT_STORED_RECORDS, operator, stream, min_seq)

    @classmethod
    def count_records(cls, stream: Stream, min_seq: int | None = None) -> Self:
        """Request the number of ``stream``'s stored records (all, or seq >= min_seq)."""
        operator = RacpOperator.ALL if min_seq is None else RacpOperator.GREATER_OR_EQUAL
        return cls(RacpOpcode.REPORT_NUMBER_OF_STORED_RECORDS, operator, stream, min_seq)

    @classmethod
    def abort(cls) -> Self:
        """Request that the running report procedure stop."""
        return cls(RacpOpcode.ABORT, RacpOperator.NULL)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode a written request; raise :class:`RacpRequestError` (a
        :class:`PayloadError`) with the response code for anything we must refuse."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        def refuse(field: str, reason: str, opcode: int, code: RacpResponseCode) -> Exception:
            return RacpRequestError(
                reader.data,
                f"RacpRequest.{field}",
                reason,
                request_opcode=opcode,
                response_code=code,
            )

        if not reader.remaining:
            raise refuse("opcode", "empty write", 0, RacpResponseCode.OPCODE_NOT_SUPPORTED)
        opcode = reader.u8("opcode")
        if opcode not in _REQUEST_OPCODES:
            raise refuse(
                "opcode",
                f"0x{opcode:02X} is not a supported request op code (01, 03, 04)",
                opcode,
                RacpResponseCode.OPCODE_NOT_SUPPORTED,
            )
        if not reader.remaining:
            raise refuse("operator", "missing", opcode, RacpResponseCode.INVALID_OPERATOR)
        raw_operator = reader.u8("operator")
        if raw_operator in _STANDARD_UNSUPPORTED_OPERATORS:
            raise refuse(
                "operator",
                f"0x{raw_operator:02X} is not supported (only NULL, ALL, GREATER_OR_EQUAL)",
                opcode,
                RacpResponseCode.OPERATOR_NOT_SUPPORTED,
            )
        try:
            operator = RacpOperator(raw_operator)
        except ValueError:
            raise refuse(
                "operator",
                f"0x{raw_operator:02X} is not an operator",
                opcode,
                RacpResponseCode.INVALID_OPERATOR,
            ) from None
        operand = reader.rest()
        request_opcode = RacpOpcode(opcode)
        if operator == RacpOperator.NULL:
            if operand:
                raise refuse(
                    "operand",
                    f"NULL operator takes no operand, got {len(operand)} byte(s)",
                    opcode,
                    RacpResponseCode.INVALID_OPERAND,
                )
            return cls(request_opcode, operator)
        expected = 1 if operator == RacpOperator.ALL else 5
        if len(operand) != expected:
            raise refuse(
                "operand",
                f"{operator.name} takes a {expected}-byte operand, got {len(operand)}",
                opcode,
                RacpResponseCode.INVALID_OPERAND,
            )
        try:
            stream = Stream.from_wire_id(operand[0])
        except ValueError:
            raise refuse(
                "stream",
                f"unknown stream id 0x{operand[0]:02X}",
                opcode,
                RacpResponseCode.OPERAND_NOT_SUPPORTED,
            ) from None
        min_seq = int.from_bytes(operand[1:], "little") if expected == 5 else None
        return cls(request_opcode, operator, stream, min_seq)

    def __bytes__(self) -> bytes:
        out = bytearray((self.opcode, self.operator))
        if self.stream is not None:
            out.append(self.stream.wire_id)
        if self.min_seq is not None:
            out += self.min_seq.to_bytes(4, "little")
        return bytes(out)


@dataclass(frozen=True, slots=True)
class RacpResponse:
    """The Response Code indication that ends every procedure.

    Layout: ``0x06``, operator ``0x00``, request op code ``uint8``, response code ``uint8``.
    ``request_opcode`` is any byte because a refusal echoes unknown op codes too.
    """

    request_opcode: int
    response_code: RacpResponseCode

    SIZE: ClassVar[int] = 4

    def __post_init__(self) -> None:
        name = type(self).__name__
        uint_check(name, "request_opcode", self.request_opcode, 8)
        uint_check(name, "response_code", self.response_code, 8)
        if not isinstance(self.response_code, RacpResponseCode):
            # Plain ints are accepted (servers often compute codes) but stored as the enum.
            try:
                object.__setattr__(self, "response_code", RacpResponseCode(self.response_code))
            except ValueError:
                raise PayloadError(
                    b"", f"{name}.response_code", f"0x{self.response_code:02X} is not defined"
                ) from None

    @property
    def succeeded(self) -> bool:
        """True for ``SUCCESS``."""
        return self.response_code == RacpResponseCode.SUCCESS

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly 4 bytes; raise :class:`PayloadError` otherwise."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        _expect_header(reader, RacpOpcode.RESPONSE_CODE)
        request_opcode = reader.u8("request_opcode")
        raw_code = reader.u8("response_code")
        try:
            code = RacpResponseCode(raw_code)
        except ValueError:
            raise reader.error("response_code", f"0x{raw_code:02X} is not defined") from None
        if request_opcode in _KNOWN_OPCODES:
            request_opcode = RacpOpcode(request_opcode)
        return cls(request_opcode, code)

    def __bytes__(self) -> bytes:
        return bytes(
            (RacpOpcode.RESPONSE_CODE, RacpOperator.NULL, self.request_opcode, self.response_code)
        )


@dataclass(frozen=True, slots=True)
class RacpRecordCount:
    """The answer to REPORT_NUMBER_OF_STORED_RECORDS.

    Layout: ``0x05``, operator ``0x00``, count ``uint32`` (the standard RACP uses uint16;
    ours is widened to match the 32-bit sequence numbers).
    """

    count: int

    def __post_init__(self) -> None:
        uint_check(type(self).__name__, "count", self.count, 32)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly 6 bytes; raise :class:`PayloadError` otherwise."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        _expect_header(reader, RacpOpcode.NUMBER_OF_STORED_RECORDS_RESPONSE)
        return cls(reader.u32("count"))

    def __bytes__(self) -> bytes:
        return bytes(
            (RacpOpcode.NUMBER_OF_STORED_RECORDS_RESPONSE, RacpOperator.NULL)
        ) + self.count.to_bytes(4, "little")


def _expect_header(reader: Reader, opcode: RacpOpcode) -> None:
    raw_opcode = reader.u8("opcode")
    if raw_opcode != opcode:
        raise reader.error("opcode", f"expected 0x{opcode:02X}, got 0x{raw_opcode:02X}")
    operator = reader.u8("operator")
    if operator != RacpOperator.NULL:
        raise reader.error("operator", f"expected NULL (0x00), got 0x{operator:02X}")


def racp_indication_decode(data: bytes) -> RacpResponse | RacpRecordCount:
    """Decode an indication from the RACP: a response code or a record count."""
    if data[:1] == bytes((RacpOpcode.RESPONSE_CODE,)):
        return RacpResponse.from_bytes(data)
    if data[:1] == bytes((RacpOpcode.NUMBER_OF_STORED_RECORDS_RESPONSE,)):
        return RacpRecordCount.from_bytes(data)
    raise PayloadError(
        data,
        "RacpIndication.opcode",
        "expected 0x05 (number of stored records) or 0x06 (response code)"
        + ("" if data else "; the indication is empty"),
    )
