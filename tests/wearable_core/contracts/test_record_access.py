"""Our Record Access Control Point: requests, refusals and indications."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from bumble import att
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.record_access import (
    ATT_ERROR_CCCD_IMPROPERLY_CONFIGURED,
    ATT_ERROR_PROCEDURE_ALREADY_IN_PROGRESS,
    RacpOpcode,
    RacpOperator,
    RacpRecordCount,
    RacpRequest,
    RacpRequestError,
    RacpResponse,
    RacpResponseCode,
    racp_indication_decode,
)
from wearable_core.contracts.streams import Stream

from .strategies import FUZZ, PROPERTY, U32, racp_requests

R = RacpResponseCode


@pytest.mark.parametrize(
    ("request_", "wire"),
    [
        (RacpRequest.report_records(Stream.HEART_RATE), bytes([0x01, 0x01, 0x01])),
        (
            RacpRequest.report_records(Stream.SPO2, min_seq=5),
            bytes([0x01, 0x03, 0x02, 0x05, 0x00, 0x00, 0x00]),
        ),
        (RacpRequest.count_records(Stream.ACCEL), bytes([0x04, 0x01, 0x04])),
        (
            RacpRequest.count_records(Stream.TEMPERATURE, 0x01020304),
            bytes([0x04, 0x03, 0x03, 0x04, 0x03, 0x02, 0x01]),
        ),
        (RacpRequest.abort(), bytes([0x03, 0x00])),
        (
            RacpRequest(RacpOpcode.ABORT, RacpOperator.NULL, None, None),
            bytes([0x03, 0x00]),
        ),
    ],
)
def test_request_vectors(request_: RacpRequest, wire: bytes) -> None:
    assert bytes(request_) == wire
    assert RacpRequest.from_bytes(wire) == request_


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        (b"", R.OPCODE_NOT_SUPPORTED),
        (bytes([0x02, 0x01, 0x01]), R.OPCODE_NOT_SUPPORTED),  # standard "delete": not ours
        (bytes([0x7F, 0x01]), R.OPCODE_NOT_SUPPORTED),
        (bytes([0x05, 0x00]), R.OPCODE_NOT_SUPPORTED),  # a response op code sent as request
        (bytes([0x06, 0x00]), R.OPCODE_NOT_SUPPORTED),
        (bytes([0x01]), R.INVALID_OPERATOR),
        (bytes([0x01, 0x00]), R.INVALID_OPERATOR),
        (bytes([0x04, 0x00]), R.INVALID_OPERATOR),
        (bytes([0x01, 0x07, 0x01]), R.INVALID_OPERATOR),
        (bytes([0x03, 0x01, 0x01]), R.INVALID_OPERATOR),  # ABORT needs NULL
        (bytes([0x01, 0x02, 0x01]), R.OPERATOR_NOT_SUPPORTED),  # <=
        (bytes([0x01, 0x04, 0x01]), R.OPERATOR_NOT_SUPPORTED),  # within range
        (bytes([0x01, 0x05]), R.OPERATOR_NOT_SUPPORTED),  # first
        (bytes([0x01, 0x06]), R.OPERATOR_NOT_SUPPORTED),  # last
        (bytes([0x03, 0x00, 0x01]), R.INVALID_OPERAND),
        (bytes([0x01, 0x01]), R.INVALID_OPERAND),
        (bytes([0x01, 0x01, 0x01, 0x00]), R.INVALID_OPERAND),
        (bytes([0x01, 0x03, 0x01]), R.INVALID_OPERAND),
        (bytes([0x01, 0x03, 0x01, 0x05, 0x00, 0x00]), R.INVALID_OPERAND),
        (bytes([0x01, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00]), R.INVALID_OPERAND),
        (bytes([0x01, 0x01, 0x09]), R.OPERAND_NOT_SUPPORTED),
        (bytes([0x04, 0x03, 0x00, 0x05, 0x00, 0x00, 0x00]), R.OPERAND_NOT_SUPPORTED),
    ],
)
def test_refusals_carry_the_response_code(wire: bytes, code: RacpResponseCode) -> None:
    with pytest.raises(RacpRequestError) as info:
        RacpRequest.from_bytes(wire)
    error = info.value
    assert isinstance(error, PayloadError)
    assert error.response_code is code
    assert error.request_opcode == (wire[0] if wire else 0)
    assert error.payload == wire
    # The server's answer is well-formed for every refusal.
    answer = RacpResponse(error.request_opcode, error.response_code)
    assert racp_indication_decode(bytes(answer)) == answer


OPCODES = [int(o) for o in RacpOpcode] + [0x02]
OPERATORS = [int(o) for o in RacpOperator] + [0x02]


@pytest.mark.parametrize(
    ("opcode", "operator", "stream", "min_seq"),
    list(itertools.product(OPCODES, OPERATORS, [None, Stream.HEART_RATE], [None, 9])),
)
def test_every_field_combination_round_trips_or_is_refused(
    opcode: int, operator: int, stream: Stream | None, min_seq: int | None
) -> None:
    valid = (
        opcode == RacpOpcode.ABORT
        and operator == RacpOperator.NULL
        and stream is None
        and min_seq is None
    ) or (
        opcode in (RacpOpcode.REPORT_STORED_RECORDS, RacpOpcode.REPORT_NUMBER_OF_STORED_RECORDS)
        and stream is not None
        and (
            (operator == RacpOperator.ALL and min_seq is None)
            or (operator == RacpOperator.GREATER_OR_EQUAL and min_seq is not None)
        )
    )
    try:
        request = RacpRequest(opcode, operator, stream, min_seq)  # type: ignore[arg-type]
    except RacpRequestError as error:
        assert not valid
        assert error.request_opcode == opcode
        return
    assert valid
    assert RacpRequest.from_bytes(bytes(request)) == request


def test_min_seq_range_is_invalid_operand() -> None:
    with pytest.raises(RacpRequestError) as info:
        RacpRequest.report_records(Stream.HEART_RATE, 1 << 32)
    assert info.value.response_code is R.INVALID_OPERAND


def test_indications() -> None:
    assert bytes(RacpResponse(RacpOpcode.REPORT_STORED_RECORDS, R.SUCCESS)) == bytes(
        [0x06, 0x00, 0x01, 0x01]
    )
    assert bytes(RacpRecordCount(42)) == bytes([0x05, 0x00, 0x2A, 0x00, 0x00, 0x00])
    assert racp_indication_decode(bytes([0x05, 0x00, 0x2A, 0x00, 0x00, 0x00])) == (
        RacpRecordCount(42)
    )
    decoded = racp_indication_decode(bytes([0x06, 0x00, 0x03, 0x06]))
    assert decoded == RacpResponse(RacpOpcode.ABORT, R.NO_RECORDS_FOUND)
    assert isinstance(decoded, RacpResponse) and decoded.request_opcode is RacpOpcode.ABORT
    unknown = RacpResponse.from_bytes(bytes([0x06, 0x00, 0x7F, 0x02]))
    assert unknown.request_opcode == 0x7F and not unknown.succeeded
    assert RacpResponse(1, 1).response_code is R.SUCCESS  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "wire",
    [
        b"",
        bytes([0x01, 0x00]),
        bytes([0x06, 0x00, 0x01]),
        bytes([0x06, 0x00, 0x01, 0x01, 0x00]),
        bytes([0x06, 0x01, 0x01, 0x01]),
        bytes([0x06, 0x00, 0x01, 0x0A]),
        bytes([0x05, 0x00, 0x2A, 0x00, 0x00]),
        bytes([0x05, 0x03, 0x2A, 0x00, 0x00, 0x00]),
    ],
)
def test_malformed_indications(wire: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        racp_indication_decode(wire)
    assert info.value.payload == wire


def test_response_constructor_checks() -> None:
    with pytest.raises(PayloadError):
        RacpResponse(0x100, R.SUCCESS)
    with pytest.raises(PayloadError, match="not defined"):
        RacpResponse(1, 0x0A)  # type: ignore[arg-type]
    with pytest.raises(PayloadError):
        RacpRecordCount(1 << 32)


def test_att_error_codes_match_bumble() -> None:
    assert (
        int(att.ErrorCode.PROCEDURE_ALREADY_IN_PROGRESS) == ATT_ERROR_PROCEDURE_ALREADY_IN_PROGRESS
    )
    assert int(att.ErrorCode.CCCD_IMPROPERLY_CONFIGURED) == ATT_ERROR_CCCD_IMPROPERLY_CONFIGURED


@PROPERTY
@given(racp_requests)
def test_request_round_trip(request_: RacpRequest) -> None:
    assert RacpRequest.from_bytes(bytes(request_)) == request_


@PROPERTY
@given(
    st.one_of(
        st.builds(RacpRecordCount, U32),
        st.builds(RacpResponse, st.integers(0, 255), st.sampled_from(R)),
    )
)
def test_indication_round_trip(indication: RacpResponse | RacpRecordCount) -> None:
    assert racp_indication_decode(bytes(indication)) == indication


@FUZZ
@given(st.binary(max_size=10))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    for decode in (RacpRequest.from_bytes, racp_indication_decode):
        with contextlib.suppress(PayloadError):
            decode(data)
