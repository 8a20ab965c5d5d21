"""The record block codec: lossless for any rows, compact for real ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.store.record_blocks import (
    BLOCK_RECORDS,
    SMALL_BLOCK_RECORDS,
    BlockError,
    BlockRow,
    SampleLayout,
    block_decode,
    block_encode,
    block_records,
    layout_for,
    pieces,
)
from wearable_core.contracts.streams import Stream

ACCEL = layout_for(Stream.ACCEL.wire_id)
times = st.integers(-(2**62), 2**62)


def rows_of(payloads: list[bytes], data: st.DataObject) -> list[BlockRow]:
    return [
        (data.draw(times), data.draw(times), data.draw(times), p, data.draw(st.booleans()))
        for p in payloads
    ]


@settings(max_examples=200, deadline=None)
@given(
    payloads=st.one_of(
        st.lists(st.binary(max_size=40), min_size=1, max_size=30),  # any lengths
        st.integers(1, 40).flatmap(  # one length for all
            lambda n: st.lists(st.binary(min_size=n, max_size=n), min_size=1, max_size=30)
        ),
        st.lists(st.binary(min_size=155, max_size=155), min_size=1, max_size=30),
    ),
    layout=st.sampled_from([None, ACCEL, SampleLayout(1, 2), SampleLayout(0, 1)]),
    data=st.data(),
)
def test_any_rows_decode_to_themselves(
    payloads: list[bytes], layout: SampleLayout | None, data: st.DataObject
) -> None:
    rows = rows_of(payloads, data)
    assert block_decode(block_encode(rows, layout)).rows() == rows


def test_accelerometer_frames_use_the_sample_transform_and_shrink() -> None:
    rng = np.random.default_rng(7)
    # 25 samples of (x, y, z) a frame: gravity plus a random walk, as a wrist gives.
    walk = np.cumsum(rng.normal(0, 80, size=(BLOCK_RECORDS * 25, 3)), axis=0) % 4000
    samples = (walk + np.array([0, 0, -2048])).astype("<i2").reshape(BLOCK_RECORDS, 75)
    header = bytes([25, 0, 0, 8, 25])
    rows: list[BlockRow] = [
        (1000 * i, 1000 * i + 300, 1000 * i + 300, header + samples[i].tobytes(), False)
        for i in range(BLOCK_RECORDS)
    ]
    blob = block_encode(rows, ACCEL)
    assert block_decode(blob).rows() == rows
    assert len(blob) < 0.6 * sum(len(r[3]) for r in rows)
    assert len(blob) < len(block_encode(rows, None))


def test_slices_of_a_decoded_block() -> None:
    rows: list[BlockRow] = [(i, i + 1, i + 2, bytes([i]), i % 2 == 0) for i in range(10)]
    block = block_decode(block_encode(rows))
    assert len(block) == 10
    assert block.rows(3, 5) == rows[3:5]
    assert block.aligned_ms.tolist() == [i + 2 for i in range(10)]


def test_damaged_blocks_raise_block_error() -> None:
    blob = block_encode([(1, 2, 3, b"abc", False)])
    for bad in (b"", b"\x09" + blob[1:], blob[:-3], blob[:1] + b"not zlib at all"):
        with pytest.raises(BlockError):
            block_decode(bad)
    with pytest.raises(BlockError):
        block_encode([])


def test_pieces_break_at_skips_and_chunk_starts() -> None:
    b = BLOCK_RECORDS
    seqs = np.array([0, 1, 2, 5, 6, b - 1, b, b + 1, 3 * b], dtype=np.int64)
    assert pieces(seqs) == [(0, 3), (3, 5), (5, 6), (6, 8), (8, 9)]
    assert pieces(np.array([], dtype=np.int64)) == []
    assert pieces(seqs, 3 * b) == [(0, 3), (3, 5), (5, 8), (8, 9)]


def test_block_sizes() -> None:
    assert block_records(Stream.ACCEL.wire_id) == BLOCK_RECORDS
    assert {block_records(s.wire_id) for s in Stream if s is not Stream.ACCEL} == {
        SMALL_BLOCK_RECORDS
    }


def test_only_the_accelerometer_has_a_sample_layout() -> None:
    assert [s for s in Stream if layout_for(s.wire_id) is not None] == [Stream.ACCEL]
