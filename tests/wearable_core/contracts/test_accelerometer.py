"""AccelerometerFrame: <HHB> header then n x (x, y, z) int16."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wearable_core.contracts.gatt.accelerometer import AccelerometerFrame
from wearable_core.contracts.gatt.errors import PayloadError

from .strategies import FUZZ, PROPERTY, accelerometer_frames

SAMPLES = np.array([[0, 0, 2048], [-1, 256, -32768]], dtype=np.int16)
WIRE = bytes.fromhex("1900000802000000000008ffff00010080")


def test_known_vector() -> None:
    frame = AccelerometerFrame(25, 2048, SAMPLES)
    assert bytes(frame) == WIRE
    decoded = AccelerometerFrame.from_bytes(WIRE)
    assert decoded == frame
    assert decoded.sample_count == 2
    assert decoded.samples.dtype == np.int16
    assert decoded.samples_g.dtype == np.float32
    np.testing.assert_array_equal(decoded.samples_g[0], [0.0, 0.0, 1.0])


def test_samples_are_read_only_and_private() -> None:
    source = SAMPLES.copy()
    frame = AccelerometerFrame(25, 2048, source)
    source[0, 0] = 99
    assert frame.samples[0, 0] == 0
    with pytest.raises(ValueError):
        frame.samples[0, 0] = 1
    assert not AccelerometerFrame.from_bytes(WIRE).samples.flags.writeable


def test_equality_and_hash_follow_values() -> None:
    a = AccelerometerFrame(25, 2048, SAMPLES)
    b = AccelerometerFrame(25, 2048, SAMPLES.astype(">i2"))  # other byte order, same values
    c = AccelerometerFrame(25, 2048, SAMPLES.astype(np.int64))  # integer input that fits
    assert a == b == c
    assert len({a, b, c}) == 1
    assert a != AccelerometerFrame(26, 2048, SAMPLES)
    assert a != AccelerometerFrame(25, 2048, SAMPLES[:1])
    assert a != "frame"


def test_from_g_rounds_and_saturates() -> None:
    frame = AccelerometerFrame.from_g(
        [[0.0, 0.5 / 2048, 1.5 / 2048], [16.0, -16.0, -20.0]], 25, 2048
    )
    # Half to even: 0.5 -> 0, 1.5 -> 2; 16 g saturates to +32767, -16 g is exactly -32768.
    np.testing.assert_array_equal(frame.samples, [[0, 0, 2], [32767, -32768, -32768]])
    with pytest.raises(PayloadError, match="NaN"):
        AccelerometerFrame.from_g([[np.nan, 0, 0]], 25, 2048)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"samples": np.zeros((0, 3), np.int16)}, "outside 1..255"),
        ({"samples": np.zeros((256, 3), np.int16)}, "outside 1..255"),
        ({"samples": np.zeros((2, 2), np.int16)}, "not \\(n, 3\\)"),
        ({"samples": np.zeros(3, np.int16)}, "not \\(n, 3\\)"),
        ({"samples": np.zeros((1, 3), np.float32)}, "from_g"),
        ({"samples": np.array([[40000, 0, 0]])}, "int16"),
        ({"lsb_per_g": 0}, "lsb_per_g"),
        ({"sample_rate_hz": 0x10000}, "sample_rate_hz"),
    ],
)
def test_constructor_checks(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"sample_rate_hz": 25, "lsb_per_g": 2048, "samples": SAMPLES}
    args.update(kwargs)
    with pytest.raises(PayloadError, match=match):
        AccelerometerFrame(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (b"", "sample_rate_hz"),
        (WIRE[:4], "sample_count"),
        (WIRE[:4] + b"\x00", "sample_count"),
        (WIRE[:-1], "samples"),
        (WIRE + b"\x00", "<end>"),
        (WIRE[:2] + b"\x00\x00" + WIRE[4:], "lsb_per_g"),
    ],
)
def test_malformed(wire: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        AccelerometerFrame.from_bytes(wire)
    assert info.value.field == f"AccelerometerFrame.{field}"
    assert info.value.payload == wire


def test_largest_frame() -> None:
    frame = AccelerometerFrame(25, 2048, np.full((255, 3), -7, np.int16))
    assert len(bytes(frame)) == 5 + 6 * 255
    assert AccelerometerFrame.from_bytes(bytes(frame)) == frame


@PROPERTY
@given(accelerometer_frames())
def test_round_trip(frame: AccelerometerFrame) -> None:
    decoded = AccelerometerFrame.from_bytes(bytes(frame))
    assert decoded == frame
    assert hash(decoded) == hash(frame)


@PROPERTY
@given(accelerometer_frames(max_samples=30))
def test_from_g_inverts_samples_g(frame: AccelerometerFrame) -> None:
    again = AccelerometerFrame.from_g(frame.samples_g, frame.sample_rate_hz, frame.lsb_per_g)
    assert again == frame


@FUZZ
@given(st.binary(max_size=40))
def test_arbitrary_bytes_decode_or_raise_payload_error(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        AccelerometerFrame.from_bytes(data)
