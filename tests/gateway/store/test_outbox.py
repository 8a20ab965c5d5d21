"""The store's sync tables (schema v5): window summaries, outbox, status, privacy budget."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from gateway.store import Store, StoreError, WindowSummary, schema

from ._support import WATCH_A, WATCH_B


def _window(start_ms: int, notable: bool = False) -> WindowSummary:
    return WindowSummary(
        start_ms,
        "m1",
        np.arange(25, dtype=np.float32),
        np.linspace(0, 1, 6, dtype=np.float32),
        rules=2,
        faults=1,
        notable=notable,
    )


def test_window_summaries_are_saved_with_detection_progress(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.detection_state.save(
            WATCH_A, 120_000, {}, windows=[_window(0), _window(60_000, True)], assessed_ms=7
        )
        store.detection_state.save(WATCH_B, 60_000, {}, windows=[_window(0)], assessed_ms=8)
        pending = store.outbox.pending_windows(WATCH_A)
        assert [(w.device, w.summary.start_ms, w.assessed_ms) for w in pending] == [
            (WATCH_A, 0, 7),
            (WATCH_A, 60_000, 7),
        ]
        first = pending[0].summary
        np.testing.assert_array_equal(first.features, np.arange(25, dtype=np.float32))
        assert first.outputs is not None and first.outputs[-1] == 1.0
        assert (first.rules, first.faults, first.notable, pending[1].summary.notable) == (
            2,
            1,
            False,
            True,
        )
        assert store.outbox.pending_window_count() == 3


def test_outbox_add_consumes_its_windows_atomically_and_once(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.detection_state.save(
            WATCH_A, 180_000, {}, windows=[_window(t) for t in (0, 60_000, 120_000)]
        )
        ids = [w.id for w in store.outbox.pending_windows()]
        alert = store.alerts.add(WATCH_A, "af", "warning", 5, 0, 5, 0.5, None, "m1")
        assert store.outbox.add(
            "aggregates",
            1,
            "a/1",
            b"x",
            10,
            covers={WATCH_A: 120_000},
            consumed_windows=ids[:2],
            alert_states={alert: "open:open"},
        )
        assert [w.id for w in store.outbox.pending_windows()] == ids[2:]
        assert list(store.outbox.pending_window_ages()) == [WATCH_A]
        assert store.alerts.unsynced() == []
        # The same name (the same bytes) again: not queued twice, inputs consumed anyway.
        assert not store.outbox.add("aggregates", 1, "a/1", b"x", 11, consumed_windows=ids[2:])
        assert store.outbox.pending_window_count() == 0
        [item] = store.outbox.items()
        assert (item.name, item.payload, dict(item.covers), item.attempts) == (
            "a/1",
            b"x",
            {WATCH_A: 120_000},
            0,
        )
        store.alerts.close(alert, 99)
        assert store.alerts.unsynced() == [(alert, WATCH_A, "open:open")]


def test_outbox_order_retry_fail_and_rewrite(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.outbox.add("diagnostics", 2, "d/1", b"ddd", 1)
        store.outbox.add("aggregates", 1, "a/1", b"aa", 2)
        store.outbox.add("alerts", 0, "l/1", b"l", 3)
        assert [i.name for i in store.outbox.due(0)] == ["l/1", "a/1", "d/1"]
        assert [i.name for i in store.outbox.due(0, max_priority=1)] == ["l/1", "a/1"]
        a = store.outbox.due(0)[1]
        store.outbox.retry(a.id, 500, "503")
        assert [i.name for i in store.outbox.due(499)] == ["l/1", "d/1"]
        assert [i.name for i in store.outbox.due(500)] == ["l/1", "a/1", "d/1"]
        with pytest.raises(StoreError, match="already attempted"):
            store.outbox.rewrite(a.id, "a/2", b"a")
        d = store.outbox.due(0)[-1]
        store.outbox.rewrite(d.id, "d/2", b"d")
        store.outbox.fail(store.outbox.due(0)[0].id, "conflict")
        usage = store.outbox.usage()
        assert usage.items == {"aggregates": 1, "alerts": 1, "diagnostics": 1}
        assert usage.total_bytes == 2 + 1 + 1 and usage.failed == 1 and usage.oldest_created_ms == 1
        assert [i.name for i in store.outbox.due(10**6)] == ["a/1", "d/2"]
        assert store.outbox.requeue_failed() == 1
        store.outbox.done(store.outbox.due(10**6)[0].id)
        assert [i.name for i in store.outbox.items()] == ["d/2", "a/1"]  # oldest first


def test_status_counters_and_privacy_budget(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.sync.update_status(last_error="x", network="metered")
        store.sync.count(uploaded_objects=2)
        store.sync.count(uploaded_objects=3, uploaded_bytes=10)
        assert store.sync.status() == {
            "last_error": "x",
            "network": "metered",
            "uploaded_objects": 5,
            "uploaded_bytes": 10,
        }
        assert store.privacy.spend("p", 1, 0.25, 1.0)
        assert all(store.privacy.spend("p", 1, 0.25, 1.0) for _ in range(3))
        assert not store.privacy.spend("p", 1, 0.25, 1.0)
        assert store.privacy.spend("p", 2, 1.0, 1.0)
        assert store.privacy.spent("p", 1) == pytest.approx(1.0)


def test_upgrade_from_version_4_keeps_alerts_and_queues_them_for_sync(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        schema.migrate(conn, target=4)
        conn.execute("INSERT INTO devices (key, id) VALUES (1, ?)", (WATCH_A,))
        conn.execute(
            "INSERT INTO alerts (device, type, severity, opened_ms, evidence_start_ms, "
            "evidence_end_ms, status_changed_ms) VALUES (1, 'fall', 'critical', 5, 0, 5, 5)"
        )
    with Store(path) as store:
        [alert] = store.alerts.list()
        assert store.alerts.unsynced() == [(alert.id, WATCH_A, None)]
        assert store.outbox.items() == [] and store.sync.status() == {}
    with closing(sqlite3.connect(path)) as conn:
        assert schema.schema_version(conn) == schema.SCHEMA_VERSION >= 5
