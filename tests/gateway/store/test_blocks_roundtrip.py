"""Property: whatever arrives, in any order, the store reads back exactly what it kept.

Records with random times and payloads (the accelerometer's fixed frames, the heart
rate's varying lengths) arrive out of order, duplicated (the first copy wins), as
backfill, around declared gaps, across block chunks, with flushes and reopenings in
between; every read path returns the records a plain dictionary says it should.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.store.records as records_module
from gateway.store import Store
from gateway.store.record_blocks import BLOCK_RECORDS, SMALL_BLOCK_RECORDS
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

from ._support import T0_MS, WATCH_A, WATCH_B

Key = tuple[str, Stream, int]
STREAMS = (Stream.HEART_RATE, Stream.ACCEL)
DEVICES = (WATCH_A, WATCH_B)
#: Sequence numbers around chunk boundaries (both sizes), where blocks split and merge.
SEQS = st.one_of(
    st.integers(0, 30),
    st.integers(BLOCK_RECORDS - 12, BLOCK_RECORDS + 12),
    st.integers(2 * BLOCK_RECORDS - 5, 2 * BLOCK_RECORDS + 5),
    st.integers(SMALL_BLOCK_RECORDS - 6, SMALL_BLOCK_RECORDS + 6),
)


@st.composite
def records(draw: st.DrawFn) -> IngestRecord:
    device = draw(st.sampled_from(DEVICES))
    stream = draw(st.sampled_from(STREAMS))
    seq = draw(SEQS)
    # Aligned time grows with seq within a stream (the store's premise); the rest is free.
    aligned = T0_MS + seq * 1000 + draw(st.integers(0, 999))
    size = 155 if stream is Stream.ACCEL else draw(st.integers(1, 12))
    return IngestRecord(
        device,
        stream,
        seq,
        aligned - draw(st.integers(-(10**6), 10**6)),
        aligned + draw(st.integers(0, 5000)),
        aligned,
        draw(st.binary(min_size=size, max_size=size)),
        draw(st.booleans()),
    )


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(records(), max_size=30)),
        st.tuples(
            st.just("gap"),
            st.tuples(st.sampled_from(DEVICES), st.sampled_from(STREAMS), SEQS, st.integers(1, 8)),
        ),
        st.tuples(st.just("flush"), st.none()),
        st.tuples(st.just("reopen"), st.none()),
    ),
    max_size=14,
)


def order(r: IngestRecord) -> tuple[str, int, int]:
    return (r.device, r.stream.wire_id, r.seq)


def check_reads(store: Store, kept: dict[Key, IngestRecord]) -> None:
    """Every read path against the model."""
    expected = sorted(kept.values(), key=order)
    assert list(store.records.iter_records(batch=7)) == expected
    for device in DEVICES:
        for stream in STREAMS:
            mine = [r for r in expected if (r.device, r.stream) == (device, stream)]
            assert store.records.sequences(device, stream) == {r.seq for r in mine}
            assert list(store.records.iter_records(device, stream)) == mine
            for lo_ms, hi_ms in ((0, 1 << 60), (T0_MS + 5_500, T0_MS + 20_000)):
                between = [r for r in mine if lo_ms <= r.aligned_time_ms < hi_ms]
                assert store.records.records_between(device, stream, lo_ms, hi_ms) == between
            for r in mine[:: max(1, len(mine) // 6)]:  # a window starting on a record
                t = r.aligned_time_ms
                assert store.records.records_between(device, stream, t, t + 1) == [r]
                assert store.records.data_around(device, stream, t)[1] == t
            t = T0_MS + (BLOCK_RECORDS + 2) * 1000
            before = [r.aligned_time_ms for r in mine if r.aligned_time_ms < t]
            after = [r.aligned_time_ms for r in mine if r.aligned_time_ms >= t]
            assert store.records.data_around(device, stream, t) == (
                max(before, default=None),
                min(after, default=None),
            )
            horizon = store.records.stream_horizon(device, stream)
            if mine:
                assert horizon is not None
                assert horizon.first_ms == mine[0].aligned_time_ms
            else:
                assert horizon is None
    totals = store.records.record_totals()
    assert (totals.rows, totals.payload_bytes) == (
        len(expected),
        sum(len(r.payload) for r in expected),
    )
    assert store.verify() == []


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(ops=operations, flush_rows=st.sampled_from([1, 5, 10_000]))
def test_reads_return_exactly_what_was_kept(ops: list[tuple[str, object]], flush_rows: int) -> None:
    kept: dict[Key, IngestRecord] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        mock.patch.object(records_module, "FLUSH_ROWS", flush_rows),
    ):
        path = Path(tmp) / "store.db"
        store = Store(path)
        try:
            for kind, arg in ops:
                if kind == "add":
                    assert isinstance(arg, list)
                    new = 0
                    for r in arg:
                        if (r.device, r.stream, r.seq) not in kept:
                            kept[(r.device, r.stream, r.seq)] = r  # the first copy wins
                            new += 1
                    assert store.records.add(arg) == new
                elif kind == "gap":
                    assert isinstance(arg, tuple)
                    device, stream, start, length = arg
                    store.records.record_gap(device, stream, start, start + length, "overwritten")
                elif kind == "flush":
                    store.records.flush()
                else:
                    store.close()
                    store = Store(path)
            check_reads(store, kept)
            # A read-only reader sees the same, flushed or not.
            store.records.add([])
            with Store(path, read_only=True) as reader:
                assert list(reader.records.iter_records()) == sorted(kept.values(), key=order)
        finally:
            store.close()


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(
    batch=st.lists(records(), min_size=1, max_size=40),
    synced=st.integers(0, SMALL_BLOCK_RECORDS + 7),
    protect=st.tuples(SEQS, st.integers(1, 20)),
)
def test_retention_keeps_exactly_the_unsynced_and_protected_records(
    batch: list[IngestRecord], synced: int, protect: tuple[int, int]
) -> None:
    """Retention with a budget it cannot meet deletes every deletable record and only
    those, splitting blocks where a protected range or the watermark cuts them."""
    kept: dict[Key, IngestRecord] = {}
    for r in batch:
        kept.setdefault((r.device, r.stream, r.seq), r)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.db"
        with Store(path) as store:
            store.records.add(batch)
            for device in DEVICES:
                for stream in STREAMS:
                    store.records.mark_synced(device, stream, synced)
                    store.retention.protect(device, stream, protect[0], sum(protect), "alert 1")
        with Store(path, budget_bytes=1) as store:
            store.retention.enforce()
            frontier = {(d, s): store.records.frontier(d, s) for d in DEVICES for s in STREAMS}
            left = {
                k: r
                for k, r in kept.items()
                if r.seq >= min(synced, frontier[(r.device, r.stream)])
                or protect[0] <= r.seq < sum(protect)
            }
            check_reads(store, left)
