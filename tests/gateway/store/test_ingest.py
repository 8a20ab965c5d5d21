"""Ingest: idempotence, frontiers, holes, gaps, local sequence numbers, device status."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import gateway.store.records as records_module
from gateway.store import RESERVED_UNUSED, Store, StoreError
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

from ._support import WATCH_A, WATCH_B, make_records

HR = Stream.HEART_RATE


def test_same_batch_twice_is_inserted_once(store: Store) -> None:
    batch = make_records(range(100))
    assert store.records.add(batch) == 100
    assert store.records.add(batch) == 0
    assert store.records.add(batch + make_records(range(100, 110))) == 10
    assert store.records.sequences(WATCH_A, HR) == set(range(110))
    assert store.devices.list()[0].records[HR] == 110
    assert store.verify() == []


def test_duplicates_within_a_batch_count_once(store: Store) -> None:
    batch = make_records([5, 5, 0, 1, 1, 2])
    assert store.records.add(batch) == 4
    assert store.records.sequences(WATCH_A, HR) == {0, 1, 2, 5}
    assert store.records.frontier(WATCH_A, HR) == 3


def test_records_round_trip_exactly(store: Store) -> None:
    batch = make_records(range(3), payload_bytes=40, backfilled=True)
    batch += make_records(range(2), device=WATCH_B, stream=Stream.ACCEL, payload_bytes=160)
    store.records.add(batch)
    got = list(store.records.iter_records(batch=2))
    # Ordered by device, stream, seq: WATCH_A < WATCH_B.
    assert got == sorted(batch, key=lambda r: (r.device, r.stream.wire_id, r.seq))
    assert list(store.records.iter_records(device=WATCH_B)) == batch[3:]
    assert list(store.records.iter_records(stream=Stream.SPO2)) == []
    assert list(store.records.iter_records(device="C4:12:FF:FF:FF:FF")) == []


def test_frontier_with_out_of_order_arrival_and_holes(store: Store) -> None:
    assert store.records.frontier(WATCH_A, HR) == 0
    store.records.add(make_records(range(10, 20)))  # live records while backfill is pending
    assert store.records.frontier(WATCH_A, HR) == 0
    assert store.records.holes(WATCH_A, HR) == [(0, 10)]
    store.records.add(make_records(range(0, 4)))  # backfill, first part
    assert store.records.frontier(WATCH_A, HR) == 4
    store.records.add(make_records([6, 7, 25]))
    assert store.records.frontier(WATCH_A, HR) == 4
    assert store.records.holes(WATCH_A, HR) == [(4, 6), (8, 10), (20, 25)]
    assert store.records.holes(WATCH_A, HR, limit=2) == [(4, 6), (8, 10)]
    store.records.add(make_records([4, 5, 8, 9]))  # closes the holes: frontier runs through 19
    assert store.records.frontier(WATCH_A, HR) == 20
    assert store.records.holes(WATCH_A, HR) == [(20, 25)]
    assert store.verify() == []


def test_frontier_walks_across_flushed_and_pending_records(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records_module, "FLUSH_ROWS", 5)
    store.records.add(make_records(range(10, 16)))  # flushed into records
    store.records.add(make_records(range(16, 18)))  # stays in the inbox
    store.records.add(make_records(range(1, 10)))
    assert store.records.frontier(WATCH_A, HR) == 0
    store.records.add(make_records([0]))
    assert store.records.frontier(WATCH_A, HR) == 18
    assert store.verify() == []


def test_streams_and_devices_are_independent(store: Store) -> None:
    store.records.add(make_records(range(5)) + make_records(range(3), stream=Stream.SPO2))
    store.records.add(make_records(range(2, 4), device=WATCH_B))
    assert store.records.frontier(WATCH_A, HR) == 5
    assert store.records.frontier(WATCH_A, Stream.SPO2) == 3
    assert store.records.frontier(WATCH_A, Stream.ACCEL) == 0
    assert store.records.frontier(WATCH_B, HR) == 0
    assert store.records.holes(WATCH_B, HR) == [(0, 2)]


def test_gap_advances_frontier_and_is_counted(store: Store) -> None:
    store.records.add(make_records(range(0, 10)))
    store.records.add(make_records(range(50, 60)))
    store.records.record_gap(WATCH_A, HR, 10, 50, "overwritten", now_ms=123)
    assert store.records.frontier(WATCH_A, HR) == 60
    assert store.records.holes(WATCH_A, HR) == []
    [gap] = store.records.gaps()
    assert (gap.device, gap.stream, gap.start_seq, gap.end_seq) == (WATCH_A, HR, 10, 50)
    assert (gap.reason, gap.detected_ms, gap.length) == ("overwritten", 123, 40)
    assert store.records.gap_count() == store.records.gap_count(WATCH_A) == 1
    assert store.records.gap_count(WATCH_B) == 0
    status = store.devices.list()[0]
    assert (status.gaps, status.missing) == (1, 40)
    # Idempotent: declaring it again changes nothing.
    store.records.record_gap(WATCH_A, HR, 10, 50, "overwritten")
    assert store.records.gap_count() == 1


def test_gap_is_clipped_to_what_is_missing(store: Store) -> None:
    # Live records 30..39 arrived; the watch then reports everything below 35 overwritten.
    store.records.add(make_records(range(30, 40)))
    store.records.record_gap(WATCH_A, HR, 0, 35, "overwritten")
    assert [(g.start_seq, g.end_seq) for g in store.records.gaps()] == [(0, 30)]
    assert store.records.frontier(WATCH_A, HR) == 40
    # Overlapping declarations only add the part not yet covered.
    store.records.record_gap(WATCH_A, HR, 38, 45, "overwritten")
    assert [(g.start_seq, g.end_seq) for g in store.records.gaps()] == [(0, 30), (40, 45)]
    assert store.records.frontier(WATCH_A, HR) == 45
    assert store.verify() == []


def test_record_arriving_inside_a_gap_is_cut_out_of_it(store: Store) -> None:
    # Records 10..19 were received live but not yet stored when the watch reported
    # everything below 15 overwritten.
    store.records.record_gap(WATCH_A, HR, 0, 15, "overwritten")
    assert store.records.frontier(WATCH_A, HR) == 15
    store.records.add(make_records(range(10, 20)))
    assert [(g.start_seq, g.end_seq) for g in store.records.gaps()] == [(0, 10)]
    store.records.record_gap(WATCH_A, HR, 30, 40, "overwritten")
    store.records.add(make_records([33, 34, 36]))
    assert [(g.start_seq, g.end_seq, g.reason) for g in store.records.gaps()][1:] == [
        (30, 33, "overwritten"),
        (35, 36, "overwritten"),
        (37, 40, "overwritten"),
    ]
    assert store.records.frontier(WATCH_A, HR) == 20
    assert store.devices.list()[0].missing == 10 + 7
    assert store.verify() == []


def test_gap_above_frontier_waits_for_the_records_below(store: Store) -> None:
    store.records.record_gap(WATCH_A, HR, 5, 8, "overwritten")
    assert store.records.frontier(WATCH_A, HR) == 0
    assert store.records.holes(WATCH_A, HR) == [(0, 5)]
    store.records.add(make_records(range(5)))
    assert store.records.frontier(WATCH_A, HR) == 8


def test_bad_gaps_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="empty or negative"):
        store.records.record_gap(WATCH_A, HR, 5, 5, "overwritten")
    with pytest.raises(StoreError, match="reason"):
        store.records.record_gap(WATCH_A, HR, 0, 5, "")


def test_next_local_seq_is_durable_across_reopen(store_path: Path) -> None:
    standard = "C4:12:00:00:00:5D"
    with Store(store_path) as store:
        first = store.records.next_local_seq(standard, HR, count=3)
        assert first == 0
        store.records.add(make_records(range(first, first + 3), device=standard))
        assert store.records.next_local_seq(standard, HR) == 3  # reserved, then the process dies
    with Store(store_path) as store:
        # Never reused: seq 3 was handed out before.
        assert store.records.next_local_seq(standard, HR, count=2) == 4
        # Seq 3 can never arrive (it lived in the dead process): declared, not a hole.
        assert [(g.start_seq, g.end_seq, g.reason) for g in store.records.gaps(standard)] == [
            (3, 4, RESERVED_UNUSED)
        ]
        store.records.add(make_records([4, 5], device=standard))
        assert store.records.frontier(standard, HR) == 6
        assert store.records.next_local_seq(standard, Stream.SPO2) == 0
        with pytest.raises(StoreError, match="at least 1"):
            store.records.next_local_seq(standard, HR, count=0)


def test_everything_survives_reopen(store_path: Path) -> None:
    with Store(store_path) as store:
        store.records.add(make_records(range(0, 5)) + make_records(range(8, 12)))
        store.records.record_gap(WATCH_A, HR, 20, 22, "overwritten")
        store.records.mark_synced(WATCH_A, HR, 3)
        holes = store.records.holes(WATCH_A, HR)
    with Store(store_path) as store:
        assert store.records.sequences(WATCH_A, HR) == {0, 1, 2, 3, 4, 8, 9, 10, 11}
        assert store.records.frontier(WATCH_A, HR) == 5
        assert store.records.holes(WATCH_A, HR) == holes == [(5, 8), (12, 20)]
        assert store.records.synced_seq(WATCH_A, HR) == 3
        assert store.records.gap_count() == 1
        assert store.verify() == []


def test_mark_synced_is_monotonic_and_never_passes_the_frontier(store: Store) -> None:
    store.records.add(make_records(range(0, 10)) + make_records(range(20, 30)))
    store.records.mark_synced(WATCH_A, HR, 25)
    assert store.records.synced_seq(WATCH_A, HR) == 10  # 10..19 have not arrived
    assert store.devices.list()[0].backlog == 10
    store.records.mark_synced(WATCH_A, HR, 4)
    assert store.records.synced_seq(WATCH_A, HR) == 10
    store.records.add(make_records(range(10, 20)))
    store.records.mark_synced(WATCH_A, HR, 25)
    assert store.records.synced_seq(WATCH_A, HR) == 25
    assert store.devices.list()[0].backlog == 5
    store.records.mark_synced(WATCH_B, HR, 5)  # unknown device: nothing to do
    assert store.records.synced_seq(WATCH_B, HR) == 0
    assert store.verify() == []


def test_rejections_are_counted_by_reason(store: Store) -> None:
    store.devices.count_rejection(WATCH_A, "truncated", b"\x01\x02", now_ms=10)
    store.devices.count_rejection(WATCH_A, "truncated", b"\x03", now_ms=20)
    store.devices.count_rejection(WATCH_A, "reserved-bits", b"\xff" * 600, now_ms=30)
    store.devices.count_rejection(WATCH_B, "truncated", b"", now_ms=40)
    got = {(r.device, r.reason): r for r in store.devices.rejections()}
    assert got[(WATCH_A, "truncated")].count == 2
    assert got[(WATCH_A, "truncated")].first_ms == 10
    assert got[(WATCH_A, "truncated")].last_ms == 20
    assert got[(WATCH_A, "truncated")].last_payload_hex == "03"
    assert len(got[(WATCH_A, "reserved-bits")].last_payload_hex) == 2 * 512
    assert [r.reason for r in store.devices.rejections(WATCH_B)] == ["truncated"]
    status = {d.id: d for d in store.devices.list()}
    assert status[WATCH_A].rejected == 3
    assert status[WATCH_B].rejected == 1


def test_device_status(store: Store) -> None:
    store.devices.upsert(WATCH_A, name="WearSim-0000", kind="sequenced", last_seen_ms=1000)
    store.devices.upsert(
        WATCH_A, battery_pct=80, connection_state="connected", extra={"fw": "1.2", "rssi": -60}
    )
    store.devices.upsert(WATCH_A, last_seen_ms=2000, extra={"rssi": None})
    store.records.add(make_records(range(6)) + make_records(range(2), stream=Stream.TEMPERATURE))
    store.records.mark_synced(WATCH_A, HR, 4)
    [status] = store.devices.list()
    assert status.id == WATCH_A
    assert (status.name, status.kind, status.connection_state) == (
        "WearSim-0000",
        "sequenced",
        "connected",
    )
    assert (status.first_seen_ms, status.last_seen_ms, status.battery_pct) == (1000, 2000, 80)
    assert status.records == {HR: 6, Stream.TEMPERATURE: 2}
    assert status.frontier == {HR: 6, Stream.TEMPERATURE: 2}
    assert status.backlog == 4  # hr 4, 5 and both temperature records
    assert status.extra == {"fw": "1.2"}
    assert (status.rejected, status.gaps, status.missing) == (0, 0, 0)


def test_device_validation(store: Store) -> None:
    with pytest.raises(StoreError, match="kind"):
        store.devices.upsert(WATCH_A, kind="smart")
    with pytest.raises(StoreError, match="battery"):
        store.devices.upsert(WATCH_A, battery_pct=101)
    with pytest.raises(StoreError, match="JSON"):
        store.devices.upsert(WATCH_A, extra={"x": object()})
    with pytest.raises(StoreError, match="address"):
        store.records.add([IngestRecord("", HR, 0, 0, 0, 0, b"\x00")])


def test_invalid_record_rolls_back_the_whole_batch(store: Store) -> None:
    batch = make_records(range(3))
    bad = IngestRecord(WATCH_A, HR, -1, 0, 0, 0, b"\x00")
    with pytest.raises(StoreError, match="out of range"):
        store.records.add([*batch, bad])
    assert store.records.sequences(WATCH_A, HR) == set()
    assert store.records.frontier(WATCH_A, HR) == 0
    assert store.records.add(batch) == 3  # the store still works


def test_store_sees_commits_of_another_connection(store_path: Path) -> None:
    with Store(store_path) as first, Store(store_path) as second:
        first.records.add(make_records(range(5)))
        assert second.records.frontier(WATCH_A, HR) == 5
        second.records.add(make_records(range(5, 8)))
        assert first.records.frontier(WATCH_A, HR) == 8
        assert first.records.add(make_records(range(8))) == 0
        assert first.verify() == []


def test_closed_store_says_so(store_path: Path) -> None:
    store = Store(store_path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.records.add(make_records(range(1)))


def test_open_creates_directories_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"
    with Store.open(path, budget_bytes=1 << 20) as store:
        store.records.add(make_records(range(3)))
        assert store.budget_bytes == 1 << 20
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        finally:
            conn.close()
    # Closed cleanly: out of WAL mode, one self-contained file (readonly.store_file_check).
    assert path.read_bytes()[18:20] == b"\x01\x01"
    assert sorted(p.name for p in path.parent.iterdir()) == ["store.db"]


def test_store_refuses_a_directory_and_bad_budget(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="positive"):
        Store(tmp_path / "s.db", budget_bytes=0)


def test_usage_reports_rows_and_bytes(store: Store) -> None:
    store.records.add(make_records(range(100), stream=Stream.ACCEL, payload_bytes=160))
    store.checkpoint()
    usage = store.retention.usage()
    assert usage.rows[Stream.ACCEL] == 100
    assert usage.rows[HR] == 0
    assert usage.wal_bytes == 0  # checkpoint truncated it
    assert usage.file_bytes == usage.db_bytes >= usage.live_bytes > 16_000
    assert 16_000 < usage.record_bytes <= usage.live_bytes
    assert not usage.over_budget
