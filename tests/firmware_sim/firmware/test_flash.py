from __future__ import annotations

import pytest

from firmware_sim.firmware.flash import RECORD_OVERHEAD_BYTES, FlashRingBuffer
from wearable_core.contracts.gatt.record_envelope import HEADER_SIZE
from wearable_core.contracts.streams import Stream

PAYLOAD = bytes(20)
SIZE = HEADER_SIZE + len(PAYLOAD) + RECORD_OVERHEAD_BYTES


def test_sequences_are_per_stream_and_contiguous() -> None:
    flash = FlashRingBuffer(64 * 1024)
    for i in range(5):
        flash.append(Stream.HEART_RATE, 1000 + i, PAYLOAD)
    flash.append(Stream.SPO2, 1000, PAYLOAD)
    assert [r.seq for r in flash.records_from(Stream.HEART_RATE)] == [0, 1, 2, 3, 4]
    assert [r.seq for r in flash.records_from(Stream.SPO2)] == [0]
    assert flash.next_seq(Stream.HEART_RATE) == 5
    assert flash.next_seq(Stream.ACCEL) == 0
    assert flash.oldest_seq(Stream.ACCEL) == 0
    assert flash.count(Stream.ACCEL) == 0


def test_budget_overwrites_oldest_across_streams_and_counts() -> None:
    flash = FlashRingBuffer(SIZE * 40)
    for i in range(30):
        flash.append(Stream.HEART_RATE, i, PAYLOAD)
        flash.append(Stream.SPO2, i, PAYLOAD)
    # 60 records written into room for 40: the 20 oldest (10 of each) are gone.
    assert flash.used_bytes == SIZE * 40
    assert flash.overwritten(Stream.HEART_RATE) == 10
    assert flash.overwritten(Stream.SPO2) == 10
    assert flash.oldest_seq(Stream.HEART_RATE) == 10
    assert [r.seq for r in flash.records_from(Stream.HEART_RATE, 0)][:2] == [10, 11]
    assert flash.count(Stream.HEART_RATE, 25) == 5


def test_records_from_is_a_snapshot() -> None:
    frame = bytes(200)
    flash = FlashRingBuffer((HEADER_SIZE + len(frame) + RECORD_OVERHEAD_BYTES) * 10)
    for i in range(10):
        flash.append(Stream.ACCEL, i, frame)
    iterator = flash.records_from(Stream.ACCEL, 5)
    for i in range(10):  # overwrite everything while a backfill iterates
        flash.append(Stream.ACCEL, 100 + i, frame)
    assert [r.seq for r in iterator] == [5, 6, 7, 8, 9]


def test_rejects_impossible_budgets() -> None:
    with pytest.raises(ValueError, match="too small"):
        FlashRingBuffer(100)
