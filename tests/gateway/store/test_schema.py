"""Migrations: a fresh store, an upgrade from version 1, and stores this code must refuse."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from gateway.store import Store, StoreError, StoreVersionError, schema
from wearable_core.contracts.streams import Stream

from ._support import WATCH_A, make_records

HR = Stream.HEART_RATE


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def test_fresh_store_is_at_the_latest_version(store_path: Path) -> None:
    Store(store_path).close()
    with raw(store_path) as conn:
        assert schema.schema_version(conn) == schema.SCHEMA_VERSION == len(schema.MIGRATIONS)
        assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    assert {"devices", "record_blocks", "inbox", "stream_state", "gaps", "rejections"} <= tables
    assert {"sync_state", "protected"} <= tables


def test_connection_settings(store: Store) -> None:
    conn = store.db.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_upgrade_from_version_1_keeps_the_data(store_path: Path) -> None:
    # A version-1 store as the first release wrote it: schema v1 only, with data.
    with raw(store_path) as conn:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        assert schema.migrate(conn, target=1) == 0
        assert schema.schema_version(conn) == 1
        conn.execute("INSERT INTO devices (key, id, name) VALUES (1, ?, 'old watch')", (WATCH_A,))
        conn.executemany(
            "INSERT INTO records VALUES (1, ?, ?, ?, ?, ?, ?, 0)",
            [
                (
                    HR.wire_id,
                    r.seq,
                    r.watch_time_ms,
                    r.gateway_time_ms,
                    r.aligned_time_ms,
                    r.payload,
                )
                for r in make_records(range(10))
            ],
        )
        conn.execute(
            "INSERT INTO stream_state (device, stream, frontier, top, stored) "
            "VALUES (1, ?, 10, 10, 10)",
            (HR.wire_id,),
        )
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
        assert "sync_state" not in tables
    with Store(store_path) as store:
        assert store.records.sequences(WATCH_A, HR) == set(range(10))
        assert store.records.frontier(WATCH_A, HR) == 10
        assert store.records.synced_seq(WATCH_A, HR) == 0
        assert store.devices.list()[0].backlog == 10
        # Version-2 features work on the upgraded data.
        store.records.mark_synced(WATCH_A, HR, 6)
        store.retention.protect(WATCH_A, HR, 0, 2, "alert 1")
        assert store.devices.list()[0].backlog == 4
        assert store.records.add(make_records(range(8, 12))) == 2
        assert store.verify() == []
    with raw(store_path) as conn:
        assert schema.schema_version(conn) == schema.SCHEMA_VERSION


def test_store_from_a_newer_version_is_refused(store_path: Path) -> None:
    Store(store_path).close()
    with raw(store_path) as conn:
        conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    with pytest.raises(StoreVersionError, match="newer gateway") as info:
        Store(store_path)
    assert "Upgrade the gateway" in str(info.value)
    assert isinstance(info.value, StoreError)
    with raw(store_path) as conn:  # untouched
        assert schema.schema_version(conn) == schema.SCHEMA_VERSION + 1


def test_failed_migration_leaves_the_old_version(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(store_path).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    with raw(store_path) as conn:
        with pytest.raises(RuntimeError, match="migration bug"):
            schema.migrate(conn, target=schema.SCHEMA_VERSION + 1)
        assert schema.schema_version(conn) == schema.SCHEMA_VERSION
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_schema")}
        assert "half_done" not in names


def test_other_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with raw(path) as conn:
        conn.execute("CREATE TABLE notes (text)")
    with pytest.raises(StoreError, match="not a gateway store"):
        Store(path)


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a database"):
        Store(path)
