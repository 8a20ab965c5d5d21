"""Alerts in the store: round trip, statuses, evidence protection, upgrade from v2."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from gateway.store import Store, StoreError, schema
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

HR = Stream.HEART_RATE
WATCH_A = "C4:12:00:00:00:0A"
WATCH_B = "C4:12:00:00:00:0B"
T0_MS = 1_699_920_000_000


def make_records(seqs: range) -> list[IngestRecord]:
    """One heart-rate record per second from T0 (aligned time T0 + seq s + 7 ms)."""
    return [
        IngestRecord(
            WATCH_A,
            HR,
            s,
            T0_MS + s * 1000,
            T0_MS + s * 1000 + 40,
            T0_MS + s * 1000 + 7,
            s.to_bytes(4, "little") * 2,
            False,
        )
        for s in seqs
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "store.db") as s:
        yield s


def test_round_trip_and_statuses(store: Store) -> None:
    a = store.alerts.add(WATCH_A, "tachycardia", "warning", 100, 40, 100, 0.93, None, "m1")
    b = store.alerts.add(WATCH_B, "fall", "critical", 200, 200, 200, 1.0, "impact>=3g_then_still")
    row = store.alerts.get(a)
    assert (row.device, row.type, row.severity, row.status) == (
        WATCH_A,
        "tachycardia",
        "warning",
        "open",
    )
    assert (row.evidence_start_ms, row.evidence_end_ms, row.peak_score) == (40, 100, 0.93)
    assert row.closed_ms is None and row.model_version == "m1" and row.status_changed_ms == 100
    store.alerts.close(a, 500)
    store.alerts.close(a, 900)  # already closed: first close wins
    assert store.alerts.get(a).closed_ms == 500
    updated = store.alerts.set_status(b, "confirmed", "found on the floor", now_ms=300)
    assert (updated.status, updated.note, updated.status_changed_ms) == (
        "confirmed",
        "found on the floor",
        300,
    )
    store.alerts.set_status(b, "acknowledged", now_ms=400)
    assert store.alerts.get(b).note == "found on the floor"  # kept without a new note
    assert [r.id for r in store.alerts.list()] == [a, b]
    assert [r.id for r in store.alerts.list(device=WATCH_B)] == [b]
    assert [r.id for r in store.alerts.list(status="open")] == [a]
    assert store.alerts.list(device=WATCH_A, status="dismissed") == []


def test_bad_ids_and_statuses(store: Store) -> None:
    with pytest.raises(StoreError, match="no alert"):
        store.alerts.set_status(42, "dismissed")
    with pytest.raises(StoreError, match="no alert"):
        store.alerts.close(42, 1)
    a = store.alerts.add(WATCH_A, "af", "warning", 1, 0, 1)
    with pytest.raises(StoreError, match="unknown alert status"):
        store.alerts.set_status(a, "resolved")
    with pytest.raises(StoreError, match="ends before"):
        store.alerts.add(WATCH_A, "af", "warning", 1, 5, 1)


def test_quality_events(store: Store) -> None:
    q = store.quality_events.add(WATCH_A, "off_wrist", 10)
    store.quality_events.close(q, 20)
    [row] = store.quality_events.list(WATCH_A)
    assert (row.fault, row.opened_ms, row.closed_ms) == ("off_wrist", 10, 20)
    assert store.quality_events.list(WATCH_B) == []


def test_evidence_is_protected_from_retention(store: Store) -> None:
    store.records.add(make_records(range(600)))  # one record per second from T0
    alert = store.alerts.add(
        WATCH_A, "tachycardia", "warning", T0_MS + 300_000, T0_MS + 240_000, T0_MS + 300_000
    )
    [(start, end, reason)] = store.retention.protected(WATCH_A, HR)
    assert reason == f"alert {alert}"
    # aligned time is T0 + seq s + 7 ms; 5 s margin each side
    assert (start, end) == (235, 305)
    store.records.mark_synced(WATCH_A, HR, 600)
    store.retention.budget_bytes = 1  # delete everything deletable
    store.retention.enforce()
    assert store.records.sequences(WATCH_A, HR) == set(range(start, end))
    assert store.alerts.get(alert).id == alert  # alert rows are never deleted


def test_evidence_at_the_end_of_the_stream(store: Store) -> None:
    store.records.add(make_records(range(100)))
    store.alerts.add(WATCH_A, "fall", "critical", T0_MS, T0_MS + 99_000, T0_MS + 99_000)
    assert [(a, b) for a, b, _ in store.retention.protected(WATCH_A, HR)] == [(94, 100)]


def test_upgrade_from_version_2(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        schema.migrate(conn, target=2)
        conn.execute("INSERT INTO devices (key, id) VALUES (1, ?)", (WATCH_A,))
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_schema")}
        assert "alerts" not in tables
    with Store(path) as store:
        assert store.devices.list()[0].id == WATCH_A
        a = store.alerts.add(WATCH_A, "fever", "warning", 5, 0, 5)
        assert store.alerts.list()[0].id == a
    with closing(sqlite3.connect(path)) as conn:
        assert schema.schema_version(conn) == schema.SCHEMA_VERSION


def test_an_alert_keeps_its_rate(store: Store) -> None:
    a = store.alerts.add(WATCH_A, "af", "warning", 200, 80, 200, 0.9, None, "m1", rate_bpm=131.5)
    store.alerts.close(a, 900)
    assert store.alerts.get(a).rate_bpm == 131.5
    b = store.alerts.add(WATCH_A, "fall", "critical", 300, 240, 300)
    assert store.alerts.get(b).rate_bpm is None


def test_alerts_of_a_version_6_store_have_no_rate(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        schema.migrate(conn, target=6)
        conn.execute("INSERT INTO devices (key, id) VALUES (1, ?)", (WATCH_A,))
        conn.execute(
            "INSERT INTO alerts (device, type, severity, opened_ms, evidence_start_ms, "
            "evidence_end_ms, status_changed_ms) VALUES (1, 'af', 'warning', 5, 0, 5, 5)"
        )
    with Store(path) as store:
        [row] = store.alerts.list()
        assert (row.type, row.rate_bpm) == ("af", None)
    with closing(sqlite3.connect(path)) as conn:
        assert schema.schema_version(conn) == schema.SCHEMA_VERSION == 8
