"""A store written by the release before record blocks (schema 7) opens without loss."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path

from gateway.store import Store, schema
from gateway.store.record_blocks import SMALL_BLOCK_RECORDS
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

from ._support import T0_MS, WATCH_A, WATCH_B

#: The last schema that kept one ``records`` row per record.
ROW_SCHEMA = 7
#: The larger block size: every stream's records cross a chunk boundary.
BLOCK_RECORDS = SMALL_BLOCK_RECORDS


def old_records(rng: random.Random) -> list[IngestRecord]:
    """Records as schema 7 held them: several streams, holes, backfill, chunks crossed."""
    out = []
    for device in (WATCH_A, WATCH_B):
        for stream in (Stream.HEART_RATE, Stream.ACCEL, Stream.TEMPERATURE):
            seqs = set(range(0, 2 * BLOCK_RECORDS + 40)) - set(range(100, 130))
            seqs -= {7, BLOCK_RECORDS, BLOCK_RECORDS + 1}
            for seq in sorted(seqs):
                t = T0_MS + seq * 1000 + rng.randrange(900)
                size = 155 if stream is Stream.ACCEL else rng.randrange(1, 13)
                out.append(
                    IngestRecord(
                        device,
                        stream,
                        seq,
                        t - rng.randrange(5000),
                        t + rng.randrange(500),
                        t,
                        rng.randbytes(size),
                        rng.random() < 0.2,
                    )
                )
    return out


def write_schema_7(path: Path, stored: list[IngestRecord], inbox: list[IngestRecord]) -> None:
    """A schema-7 store as that release wrote it, with raw SQL: records, inbox, state."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        assert schema.migrate(conn, target=ROW_SCHEMA) == 0
        keys = {WATCH_A: 1, WATCH_B: 2}
        for address, key in keys.items():
            conn.execute("INSERT INTO devices (key, id) VALUES (?, ?)", (key, address))

        def row(r: IngestRecord) -> tuple[object, ...]:
            return (
                keys[r.device],
                r.stream.wire_id,
                r.seq,
                r.watch_time_ms,
                r.gateway_time_ms,
                r.aligned_time_ms,
                r.payload,
                int(r.backfilled),
            )

        conn.execute("BEGIN")
        conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)", map(row, stored))
        conn.executemany("INSERT INTO inbox VALUES (?, ?, ?, ?, ?, ?, ?, ?)", map(row, inbox))
        streams = {(keys[r.device], r.stream.wire_id) for r in stored + inbox}
        for dev, code in sorted(streams):
            mine = [
                r.seq for r in stored + inbox if (keys[r.device], r.stream.wire_id) == (dev, code)
            ]
            conn.execute(
                "INSERT INTO stream_state (device, stream, frontier, top, stored) "
                "VALUES (?, ?, 7, ?, ?)",
                (dev, code, max(mine) + 1, len(mine)),
            )
            conn.execute(
                "INSERT INTO sync_state (device, stream, synced_seq, synced_rows) "
                "VALUES (?, ?, 5, 5)",
                (dev, code),
            )
        conn.execute(
            "INSERT INTO gaps VALUES (1, ?, 100, 130, 'overwritten', 1)", (Stream.ACCEL.wire_id,)
        )
        conn.execute("COMMIT")


def key(r: IngestRecord) -> tuple[str, int, int]:
    return (r.device, r.stream.wire_id, r.seq)


def test_a_schema_7_store_migrates_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    records = old_records(random.Random(18))
    inbox = [r for r in records if r.seq >= 2 * BLOCK_RECORDS + 30]  # not flushed yet
    stored = [r for r in records if r.seq < 2 * BLOCK_RECORDS + 30]
    write_schema_7(path, stored, inbox)
    with Store(path) as store:
        got = list(store.records.iter_records())
        assert sorted(got, key=key) == sorted(records, key=key)
        assert [key(r) for r in got] == sorted(key(r) for r in records)
        for stream in (Stream.HEART_RATE, Stream.ACCEL, Stream.TEMPERATURE):
            assert store.records.frontier(WATCH_A, stream) == 7
            assert store.records.synced_seq(WATCH_A, stream) == 5
            assert store.records.holes(WATCH_A, stream)[0] == (7, 8)
        assert [(g.start_seq, g.end_seq) for g in store.records.gaps()] == [(100, 130)]
        assert store.verify() == []
        # Idempotence holds across the migration: nothing stored is stored again.
        assert store.records.add(records) == 0
        with closing(sqlite3.connect(path)) as conn:
            assert schema.schema_version(conn) == schema.SCHEMA_VERSION
            tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_schema")}
            assert "records" not in tables
            blocks = conn.execute("SELECT count(*) FROM record_blocks").fetchone()[0]
        # One row per run within a chunk, not one per record.
        assert blocks < len(records) / 40
    with closing(sqlite3.connect(path)) as conn:
        # The dropped table's pages went back to the file system.
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] < 8


def test_an_empty_schema_7_store_migrates(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    write_schema_7(path, [], [])
    with Store(path) as store:
        assert list(store.records.iter_records()) == []
        assert store.verify() == []
