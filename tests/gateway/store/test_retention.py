"""Retention: oldest synced records go first; unsynced and protected records never do."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gateway.store import Store
from gateway.store.retention import (
    INITIAL_SLICE_MS,
    MAX_GROWTH,
    MIN_SLICE_MS,
    deletable_ranges,
    next_slice_ms,
)
from wearable_core.contracts.streams import Stream

from ._support import WATCH_A, WATCH_B, make_records

ACCEL = Stream.ACCEL
N = 3000  # records per device: ~1 MB of accelerometer frames in all


def fill(path: Path, *, synced: int = N) -> int:
    """Two watches, interleaved in time; returns the store's live bytes."""
    with Store(path) as store:
        for start in range(0, N, 500):
            seqs = range(start, start + 500)
            store.records.add(make_records(seqs, stream=ACCEL, payload_bytes=160))
            # Watch B's records start half a second after watch A's.
            store.records.add(
                make_records(seqs, device=WATCH_B, stream=ACCEL, payload_bytes=160, offset_ms=500)
            )
        store.records.mark_synced(WATCH_A, ACCEL, synced)
        store.records.mark_synced(WATCH_B, ACCEL, synced)
        store.checkpoint()
        return store.retention.usage().live_bytes


def aligned_times(store: Store, device: str) -> dict[int, int]:
    return {r.seq: r.aligned_time_ms for r in store.records.iter_records(device=device)}


def test_without_budget_nothing_is_deleted(store_path: Path) -> None:
    fill(store_path)
    with Store(store_path) as store:
        result = store.retention.enforce()
        assert result.met
        assert result.deleted_rows == 0
        assert len(store.records.sequences(WATCH_A, ACCEL)) == N


def test_within_budget_nothing_is_deleted(store_path: Path) -> None:
    live = fill(store_path)
    with Store(store_path, budget_bytes=live + 4096) as store:
        result = store.retention.enforce()
        assert (result.met, result.deleted_rows, result.reason) == (True, 0, "")


def test_oldest_records_go_first_until_the_budget_is_met(store_path: Path) -> None:
    live = fill(store_path)
    with Store(store_path) as store:
        all_a, all_b = aligned_times(store, WATCH_A), aligned_times(store, WATCH_B)
    budget = live // 2
    with Store(store_path, budget_bytes=budget) as store:
        result = store.retention.enforce()
        assert result.met, result.reason
        assert result.bytes_before >= live  # (closing may add statistics pages)
        assert result.bytes_after <= budget
        usage = store.retention.usage()
        assert usage.file_bytes <= budget  # pages went back to the file system
        assert not usage.over_budget
        kept_a, kept_b = aligned_times(store, WATCH_A), aligned_times(store, WATCH_B)
        deleted = [t for s, t in all_a.items() if s not in kept_a]
        deleted += [t for s, t in all_b.items() if s not in kept_b]
        assert len(deleted) == result.deleted_rows == result.deleted[ACCEL]
        # Oldest first, across both watches.
        assert max(deleted) < min([*kept_a.values(), *kept_b.values()])
        assert result.deleted_before_ms is not None
        assert max(deleted) < result.deleted_before_ms
        # Not much more than needed: about half the rows stay.
        assert len(kept_a) + len(kept_b) > 0.4 * 2 * N
        # Frontiers do not move; nothing looks missing; counters stay exact.
        assert store.records.frontier(WATCH_A, ACCEL) == store.records.frontier(WATCH_B, ACCEL) == N
        assert store.records.holes(WATCH_A, ACCEL) == []
        assert store.devices.list()[0].records[ACCEL] == len(kept_a)
        assert store.verify() == []


def test_unsynced_records_are_never_deleted(store_path: Path) -> None:
    fill(store_path, synced=1000)
    with Store(store_path, budget_bytes=16_384) as store:
        result = store.retention.enforce()
        assert not result.met
        assert "not yet synced" in result.reason and "4000 records" in result.reason
        assert result.deleted_rows == 2000
        assert store.records.sequences(WATCH_A, ACCEL) == set(range(1000, N))
        assert store.records.sequences(WATCH_B, ACCEL) == set(range(1000, N))
        assert store.devices.list()[0].backlog == N - 1000
        assert store.verify() == []


def test_protected_ranges_are_never_deleted(store_path: Path) -> None:
    fill(store_path)
    with Store(store_path, budget_bytes=16_384) as store:
        store.retention.protect(WATCH_A, ACCEL, 100, 200, "alert 7")
        store.retention.protect(WATCH_A, ACCEL, 150, 250, "alert 8")
        result = store.retention.enforce()
        assert not result.met
        assert "150 synced records are protected" in result.reason
        assert store.records.sequences(WATCH_A, ACCEL) == set(range(100, 250))
        assert store.records.sequences(WATCH_B, ACCEL) == set()
        assert store.retention.protected(WATCH_A, ACCEL) == [
            (100, 200, "alert 7"),
            (150, 250, "alert 8"),
        ]
        assert store.verify() == []


def test_records_above_the_frontier_are_never_deleted(store_path: Path) -> None:
    with Store(store_path, budget_bytes=8192) as store:
        store.records.add(make_records(range(0, 100), stream=ACCEL, payload_bytes=160))
        store.records.add(make_records(range(200, 300), stream=ACCEL, payload_bytes=160))
        store.records.mark_synced(WATCH_A, ACCEL, 300)  # clamped to the frontier, 100
        result = store.retention.enforce()
        assert not result.met
        assert store.records.sequences(WATCH_A, ACCEL) == set(range(200, 300))
        assert store.records.frontier(WATCH_A, ACCEL) == 100
        assert store.records.holes(WATCH_A, ACCEL) == [(100, 200)]


def test_retired_record_delivered_again_keeps_counters_exact(store_path: Path) -> None:
    fill(store_path)
    with Store(store_path, budget_bytes=16_384) as store:
        store.retention.enforce()
        assert store.records.sequences(WATCH_A, ACCEL) == set()
        # Retired is not lost: a late "overwritten" report below the frontier adds no gap.
        store.records.record_gap(WATCH_A, ACCEL, 0, 100, "overwritten")
        assert store.records.gap_count() == 0
        assert store.records.add(make_records(range(5), stream=ACCEL)) == 5
        [status, _] = store.devices.list()
        assert (status.records[ACCEL], status.backlog) == (5, 0)
        assert store.verify() == []


def test_slice_policy() -> None:
    # Nothing freed yet: grow fast.
    assert next_slice_ms(INITIAL_SLICE_MS, 0, 10_000) == 4 * INITIAL_SLICE_MS
    # Freed a tenth of what is still over: grow, but by at most MAX_GROWTH.
    assert next_slice_ms(60_000, 1_000, 10_000) == int(60_000 * 11.0)
    assert next_slice_ms(60_000, 1, 10**9) == int(60_000 * MAX_GROWTH)
    # Little left to free: shrink, never below the minimum.
    assert next_slice_ms(60_000, 10_000, 1_000) == int(60_000 * 0.11)
    assert next_slice_ms(2_000, 10**9, 1) == MIN_SLICE_MS


def test_deletable_ranges() -> None:
    assert deletable_ranges(0, []) == []
    assert deletable_ranges(100, []) == [(0, 100)]
    assert deletable_ranges(100, [(10, 20), (15, 30), (90, 200)]) == [(0, 10), (30, 90)]


def test_months_without_data_cost_no_extra_slices(store_path: Path) -> None:
    """Eleven months between the first quarter of a watch's data and the rest: each
    slice's cutoff starts from the oldest record present, so retention crosses the gap in
    one step instead of stepping through empty time."""
    gap_ms = 335 * 86_400_000
    records = make_records(range(N), stream=ACCEL, payload_bytes=160)
    records = [
        r if r.seq < N // 4 else dataclasses.replace(r, aligned_time_ms=r.aligned_time_ms + gap_ms)
        for r in records
    ]
    with Store(store_path) as store:
        store.records.add(records)
        store.records.mark_synced(WATCH_A, ACCEL, N)
        store.checkpoint()
        live = store.retention.usage().live_bytes
    with Store(store_path, budget_bytes=live // 2) as store:
        slices: list[str] = []
        store.db.connection().set_trace_callback(
            lambda sql: slices.append(sql) if sql.startswith("BEGIN IMMEDIATE") else None
        )
        result = store.retention.enforce()
        assert result.met, result.reason
        kept = aligned_times(store, WATCH_A)
    # Oldest first: the quarter before the gap went, then the oldest records after it.
    assert min(kept) > N // 4
    assert len(slices) <= 6, len(slices)
