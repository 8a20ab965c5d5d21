"""What the store offers detection: time-range reads, stream horizons, saved progress."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from gateway.store import Store, StreamHorizon, schema
from wearable_core.contracts.streams import Stream

from ._support import T0_MS, WATCH_A, WATCH_B, make_records

HR = Stream.HEART_RATE
TEMP = Stream.TEMPERATURE


def aligned(seq: int) -> int:
    """Aligned time of ``make_records``' record ``seq``."""
    return T0_MS + seq * 1000 + 7


# ---------------------------------------------------------------------- records_between


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (aligned(0), aligned(10), list(range(10))),  # start inclusive, end exclusive
        (aligned(0) + 1, aligned(10) + 1, list(range(1, 11))),
        (aligned(3), aligned(3) + 1, [3]),
        (aligned(3) - 1, aligned(3), []),
        (aligned(3), aligned(3), []),  # empty range
        (aligned(5), aligned(3), []),  # reversed range
        (0, aligned(2), [0, 1]),  # before the first record
        (aligned(95), 1 << 62, list(range(95, 100))),  # past the last record
        (aligned(100), 1 << 62, []),
        (aligned(49) + 1, aligned(50), []),  # between two records
    ],
)
def test_records_between_is_the_half_open_range(
    store: Store, start: int, end: int, expected: list[int]
) -> None:
    store.records.add(make_records(range(100)))
    records = store.records.records_between(WATCH_A, HR, start, end)
    assert [r.seq for r in records] == expected
    assert all(start <= r.aligned_time_ms < end for r in records)


def test_records_between_returns_whole_records_across_holes(store: Store) -> None:
    stored = make_records([*range(0, 10), *range(20, 30), 31, 40], backfilled=True)
    store.records.add(stored)
    store.records.add(make_records(range(5), device=WATCH_B))
    store.records.add(make_records(range(5), stream=TEMP))
    got = store.records.records_between(WATCH_A, HR, aligned(5), aligned(31))
    assert [r.seq for r in got] == [*range(5, 10), *range(20, 30)]
    assert got == [r for r in stored if 5 <= r.seq < 30]  # every field, backfilled too
    hole = store.records.records_between(WATCH_A, HR, aligned(10), aligned(20))
    assert hole == []
    assert [
        r.seq for r in store.records.records_between(WATCH_A, HR, aligned(30), aligned(41))
    ] == [
        31,
        40,
    ]
    # Other devices and streams are separate.
    assert [r.seq for r in store.records.records_between(WATCH_B, HR, 0, 1 << 62)] == list(range(5))
    assert [r.stream for r in store.records.records_between(WATCH_A, TEMP, 0, 1 << 62)] == [
        TEMP
    ] * 5


def test_records_between_sees_records_not_yet_flushed(store: Store) -> None:
    store.records.add(make_records(range(3)))  # still in the inbox
    assert [r.seq for r in store.records.records_between(WATCH_A, HR, 0, 1 << 62)] == [0, 1, 2]


def test_records_between_of_an_unknown_stream_is_empty(store: Store) -> None:
    assert store.records.records_between(WATCH_A, HR, 0, 1 << 62) == []
    store.records.add(make_records(range(3)))
    assert store.records.records_between(WATCH_A, Stream.SPO2, 0, 1 << 62) == []
    assert store.records.records_between("C4:12:00:00:00:FF", HR, 0, 1 << 62) == []


# ----------------------------------------------------------------------- stream_horizon


def test_horizon_of_contiguous_records(store: Store) -> None:
    assert store.records.stream_horizon(WATCH_A, HR) is None
    store.records.add(make_records(range(10)))
    # The record period (1 s for heart rate) is added to the last record's time.
    assert store.records.stream_horizon(WATCH_A, HR) == StreamHorizon(
        aligned(0), aligned(9) + 1000, aligned(9) + 1000
    )
    assert store.records.stream_horizon(WATCH_A, Stream.SPO2) is None
    assert store.records.stream_horizon(WATCH_B, HR) is None


def test_a_hole_holds_complete_back(store: Store) -> None:
    store.records.add(make_records([*range(10), *range(15, 20)]))
    horizon = store.records.stream_horizon(WATCH_A, HR)
    assert horizon == StreamHorizon(aligned(0), aligned(9) + 1000, aligned(19) + 1000)
    store.records.add(make_records(range(10, 15)))  # the hole is filled (backfill)
    assert store.records.stream_horizon(WATCH_A, HR) == StreamHorizon(
        aligned(0), aligned(19) + 1000, aligned(19) + 1000
    )


def test_the_temperature_period_is_a_minute(store: Store) -> None:
    store.records.add(make_records(range(3), stream=TEMP))
    horizon = store.records.stream_horizon(WATCH_A, TEMP)
    assert horizon is not None
    assert (horizon.complete_ms, horizon.latest_ms) == (aligned(2) + 60_000, aligned(2) + 60_000)


def test_a_stream_joined_mid_way_is_complete_only_at_its_start(store: Store) -> None:
    # Records 0..4 were never seen: nothing before the frontier is known complete.
    store.records.add(make_records(range(5, 10)))
    assert store.records.stream_horizon(WATCH_A, HR) == StreamHorizon(
        aligned(5), aligned(5), aligned(9) + 1000
    )


# ------------------------------------------------------------------ detection progress


def test_detection_state_round_trip_and_update(store: Store) -> None:
    assert store.detection_state.get(WATCH_A) is None  # unknown device
    store.records.add(make_records(range(3)))
    assert store.detection_state.get(WATCH_A) is None  # known, never assessed
    state = {"temperature": {"hours": [[1, 33.5]], "current_hour": 2, "current": [33.1]}}
    store.detection_state.save(WATCH_A, T0_MS + 60_000, state)
    assert store.detection_state.get(WATCH_A) == (T0_MS + 60_000, state)
    store.detection_state.save(WATCH_A, T0_MS + 120_000, {})
    assert store.detection_state.get(WATCH_A) == (T0_MS + 120_000, {})
    assert store.detection_state.get(WATCH_B) is None
    # A device detection saves first becomes known to the store.
    store.detection_state.save(WATCH_B, 5, {"x": 1})
    assert store.detection_state.get(WATCH_B) == (5, {"x": 1})
    assert WATCH_B in store.devices.addresses()


def test_detection_state_survives_reopening(store_path: Path) -> None:
    with Store(store_path) as store:
        store.detection_state.save(WATCH_A, 42, {"temperature": {"hours": []}})
    with Store(store_path) as store:
        assert store.detection_state.get(WATCH_A) == (42, {"temperature": {"hours": []}})


def test_addresses_are_sorted(store: Store) -> None:
    assert store.devices.addresses() == []
    store.records.add(make_records(range(2), device=WATCH_B))
    store.records.add(make_records(range(2), device=WATCH_A))
    assert store.devices.addresses() == [WATCH_A, WATCH_B]


# ------------------------------------------------------------------------------ upgrade


def test_upgrade_from_version_3_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        schema.migrate(conn, target=3)
        conn.execute("INSERT INTO devices (key, id) VALUES (1, ?)", (WATCH_A,))
        conn.execute(
            "INSERT INTO alerts (device, type, severity, opened_ms, evidence_start_ms, "
            "evidence_end_ms, status_changed_ms) VALUES (1, 'fever', 'warning', 5, 0, 5, 5)"
        )
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_schema")}
        assert "alerts" in tables and "detection_state" not in tables
    with Store(path) as store:
        assert store.devices.addresses() == [WATCH_A]
        [alert] = store.alerts.list()
        assert (alert.device, alert.type, alert.opened_ms) == (WATCH_A, "fever", 5)
        assert store.detection_state.get(WATCH_A) is None
        store.detection_state.save(WATCH_A, 60_000, {"k": [1]})
        store.records.add(make_records(range(3)))
        assert [r.seq for r in store.records.records_between(WATCH_A, HR, 0, 1 << 62)] == [0, 1, 2]
    with closing(sqlite3.connect(path)) as conn:
        assert schema.schema_version(conn) == schema.SCHEMA_VERSION
    with Store(path) as store:
        assert store.detection_state.get(WATCH_A) == (60_000, {"k": [1]})
