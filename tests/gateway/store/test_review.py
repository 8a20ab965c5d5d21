"""Clinicians' verdicts: kept unless reopened, every transition recorded, v5 stores upgraded."""

from __future__ import annotations

import doctest
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from gateway.store import ReviewRefused, Store, StoreError, review, schema

WATCH = "C4:12:00:00:00:0A"


def _alert(store: Store) -> int:
    return store.alerts.add(WATCH, "tachycardia", "warning", 100, 40, 100, 0.9)


def test_ack_after_a_verdict_keeps_it_and_a_direct_change_is_refused(store_path: Path) -> None:
    with Store(store_path) as store:
        alert = _alert(store)
        store.alerts.review(alert, "confirm", "ward round", now_ms=200)
        with pytest.raises(ReviewRefused, match=rf"reopen {alert} --note"):
            store.alerts.review(alert, "dismiss", now_ms=300)
        row = store.alerts.review(alert, "acknowledge", now_ms=400)
        assert (row.status, row.status_changed_ms, row.note) == ("confirmed", 200, "ward round")
    # What is on disk, read back by a new connection: the verdict survived.
    with Store(store_path) as store:
        assert store.alerts.get(alert).status == "confirmed"
        history = [
            (t.at_ms, t.action, t.from_status, t.to_status, t.note)
            for t in store.alerts.history(alert)
        ]
    assert history == [
        (200, "confirm", "open", "confirmed", "ward round"),
        (400, "acknowledge", "confirmed", "confirmed", ""),
    ]


def test_reopen_needs_a_verdict_and_a_note_then_allows_a_new_verdict(store: Store) -> None:
    alert = _alert(store)
    with pytest.raises(ReviewRefused, match="no verdict to reopen"):
        store.alerts.review(alert, "reopen", "why", now_ms=150)
    store.alerts.review(alert, "acknowledge", now_ms=160)
    store.alerts.review(alert, "dismiss", "motion", now_ms=200)
    with pytest.raises(ReviewRefused, match="give a note"):
        store.alerts.review(alert, "reopen", "  ", now_ms=250)
    assert store.alerts.review(alert, "reopen", "ECG shows AF", now_ms=300).status == "open"
    assert [a.id for a in store.alerts.list(status="open")] == [alert]
    assert store.alerts.review(alert, "confirm", now_ms=400).status == "confirmed"
    assert [(t.action, t.from_status, t.to_status) for t in store.alerts.history(alert)] == [
        ("acknowledge", "open", "acknowledged"),
        ("dismiss", "acknowledged", "dismissed"),
        ("reopen", "dismissed", "open"),
        ("confirm", "open", "confirmed"),
    ]


def test_status_api_follows_the_same_rules(store: Store) -> None:
    alert = _alert(store)
    store.alerts.set_status(alert, "dismissed", "artefact")
    assert store.alerts.set_status(alert, "acknowledged").status == "dismissed"
    with pytest.raises(ReviewRefused):
        store.alerts.set_status(alert, "confirmed")
    assert store.alerts.set_status(alert, "open", "re-review").status == "open"
    with pytest.raises(StoreError, match="unknown alert status"):
        store.alerts.set_status(alert, "resolved")
    with pytest.raises(StoreError, match="no alert with id 99"):
        store.alerts.history(99)


def test_a_version_5_store_keeps_its_verdicts_as_history(store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(store_path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        schema.migrate(conn, target=5)
        conn.execute("INSERT INTO devices (key, id) VALUES (1, ?)", (WATCH,))
        for alert, status in ((1, "open"), (2, "confirmed"), (3, "acknowledged")):
            conn.execute(
                "INSERT INTO alerts (id, device, type, severity, opened_ms, evidence_start_ms, "
                "evidence_end_ms, status, status_changed_ms, note) "
                "VALUES (?, 1, 'fall', 'critical', 10, 10, 10, ?, ?, ?)",
                (alert, status, 100 * alert, f"note {alert}"),
            )
    with Store(store_path) as store:
        assert schema.schema_version(store.db.connection()) == schema.SCHEMA_VERSION >= 6
        assert store.alerts.history(1) == []
        [(migrated)] = store.alerts.history(2)
        assert (migrated.action, migrated.from_status, migrated.to_status) == (
            "migrated",
            None,
            "confirmed",
        )
        assert (migrated.at_ms, migrated.note) == (200, "note 2")
        assert [t.to_status for t in store.alerts.history(3)] == ["acknowledged"]
        # The upgraded verdict is protected like a new one.
        assert store.alerts.review(2, "acknowledge").status == "confirmed"
        with pytest.raises(ReviewRefused):
            store.alerts.review(2, "dismiss")


def test_docstring_examples() -> None:
    assert doctest.testmod(review).failed == 0
