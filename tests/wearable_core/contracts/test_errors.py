"""PayloadError: carries the offending bytes and survives pickling."""

from __future__ import annotations

import pickle

import pytest

from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.gatt.record_access import RacpRequestError, RacpResponseCode


def test_carries_payload_field_and_reason() -> None:
    error = PayloadError(b"\x16\x48", "HeartRateMeasurement.rr_intervals", "odd length")
    assert isinstance(error, ValueError)
    assert error.payload == b"\x16\x48"
    assert error.field == "HeartRateMeasurement.rr_intervals"
    assert error.reason == "odd length"
    assert str(error) == ("HeartRateMeasurement.rr_intervals: odd length (payload, 2 bytes: 16 48)")


def test_message_without_payload_omits_it() -> None:
    assert str(PayloadError(b"", "BatteryLevel.level", "101 is outside 0..100")) == (
        "BatteryLevel.level: 101 is outside 0..100"
    )


def test_long_payload_is_abbreviated_in_message_but_kept_whole() -> None:
    error = PayloadError(bytes(range(200)), "X.y", "bad")
    assert "200 bytes" in str(error)
    assert str(error).endswith("…)")
    assert len(error.payload) == 200


def test_accepts_bytearray_and_stores_bytes() -> None:
    error = PayloadError(bytearray(b"\x01"), "X.y", "bad")  # type: ignore[arg-type]
    assert type(error.payload) is bytes


def test_with_payload_returns_copy_naming_the_bytes() -> None:
    error = PayloadError(b"", "X.y", "bad")
    attached = error.with_payload(b"\xab")
    assert attached.payload == b"\xab"
    assert "ab" in str(attached)
    assert error.payload == b""


@pytest.mark.parametrize(
    "error",
    [
        PayloadError(b"\x01\x02", "X.y", "bad"),
        RacpRequestError(
            b"\x01",
            "RacpRequest.operator",
            "missing",
            request_opcode=1,
            response_code=RacpResponseCode.INVALID_OPERATOR,
        ),
    ],
)
def test_pickles_with_attributes(error: PayloadError) -> None:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert (clone.payload, clone.field, clone.reason, str(clone)) == (
        error.payload,
        error.field,
        error.reason,
        str(error),
    )
    assert clone.__dict__ == error.__dict__
