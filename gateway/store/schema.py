"""The store's schema and its versioned migrations.

The schema version lives in SQLite's ``PRAGMA user_version``. :data:`MIGRATIONS` lists one
function per version, in order: ``MIGRATIONS[0]`` turns an empty file into version 1,
``MIGRATIONS[1]`` turns version 1 into version 2, and so on. :func:`migrate` applies the
missing ones inside **one** transaction together with the new ``user_version``, so a crash
half-way leaves the file at its old version, never at a mix of two.

Rules for adding a migration (never edit a released one: stores in the field ran it):
append a function, keep it idempotent within its own transaction, and make it work on a
store holding weeks of data (prefer ``ALTER TABLE ... ADD COLUMN`` to table rebuilds).

Storage choices that keep a watch-day small (see ``docs/store.md``): every row carries a
compact integer device key (``devices.key``) and the stream's one-byte wire identifier
instead of the 17-character address and the stream name; since version 8 records are
kept as compressed blocks of consecutive sequence numbers (``record_blocks``, a
``WITHOUT ROWID`` table clustered on ``(device, stream, start_seq)`` with no secondary
index: every lookup the store makes is a range of that key). New records are appended
to ``inbox`` and moved into blocks in large sorted batches (see ``RecordLog.flush``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from gateway.store.errors import NotAStoreError, StoreError, StoreVersionError
from gateway.store.record_blocks import BlockRow, block_encode, block_records, layout_for

#: ``PRAGMA application_id`` of a gateway store ("WHGS"), so that opening some other
#: SQLite file by mistake is refused instead of being migrated.
APPLICATION_ID = 0x57484753

Migration = Callable[[sqlite3.Connection], None]


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run the statements of ``script`` one by one inside the caller's transaction.

    ``Connection.executescript`` would COMMIT the pending transaction first, which would
    make a migration non-atomic.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement.strip()[:60]}")


def _v1_core(conn: sqlite3.Connection) -> None:
    """Version 1: devices, records, per-stream state, gaps and rejections."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    _execute_script(
        conn,
        """
        CREATE TABLE devices (
            key              INTEGER PRIMARY KEY,   -- compact id stored in every row below
            id               TEXT NOT NULL UNIQUE,  -- BLE identity address, e.g. C4:12:...
            name             TEXT,
            kind             TEXT CHECK (kind IN ('sequenced', 'standard')),
            first_seen_ms    INTEGER,
            last_seen_ms     INTEGER,
            battery_pct      INTEGER CHECK (battery_pct BETWEEN 0 AND 100),
            connection_state TEXT,
            extra            TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(extra))
        );

        -- One row per record; an accelerometer record is one 1 s frame (one BLOB).
        CREATE TABLE records (
            device          INTEGER NOT NULL REFERENCES devices (key),
            stream          INTEGER NOT NULL,       -- Stream.wire_id
            seq             INTEGER NOT NULL CHECK (seq >= 0),
            watch_time_ms   INTEGER NOT NULL,
            gateway_time_ms INTEGER NOT NULL,
            aligned_time_ms INTEGER NOT NULL,
            payload         BLOB NOT NULL,
            backfilled      INTEGER NOT NULL DEFAULT 0 CHECK (backfilled IN (0, 1)),
            PRIMARY KEY (device, stream, seq)
        ) WITHOUT ROWID;

        -- Records land here first: appending to one table touches a few pages per batch,
        -- whereas inserting into records touches one page per (device, stream) in the
        -- batch. Store.flush moves them into records, sorted, many at a time.
        CREATE TABLE inbox (
            device          INTEGER NOT NULL,
            stream          INTEGER NOT NULL,
            seq             INTEGER NOT NULL CHECK (seq >= 0),
            watch_time_ms   INTEGER NOT NULL,
            gateway_time_ms INTEGER NOT NULL,
            aligned_time_ms INTEGER NOT NULL,
            payload         BLOB NOT NULL,
            backfilled      INTEGER NOT NULL
        );

        -- frontier: every seq below it is stored, declared a gap, or retired by retention.
        -- top: one past the highest seq ever stored or declared a gap (>= frontier).
        -- stored: rows of this stream in records and inbox (kept so status is O(1)).
        CREATE TABLE stream_state (
            device         INTEGER NOT NULL REFERENCES devices (key),
            stream         INTEGER NOT NULL,
            frontier       INTEGER NOT NULL DEFAULT 0,
            top            INTEGER NOT NULL DEFAULT 0,
            next_local_seq INTEGER NOT NULL DEFAULT 0,
            stored         INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (device, stream)
        ) WITHOUT ROWID;

        -- Declared gaps [start_seq, end_seq): records known to be lost. Disjoint, and never
        -- overlapping stored records (a declaration is clipped to what is missing, and a
        -- record that arrives after all is cut out of its gap).
        CREATE TABLE gaps (
            device      INTEGER NOT NULL REFERENCES devices (key),
            stream      INTEGER NOT NULL,
            start_seq   INTEGER NOT NULL,
            end_seq     INTEGER NOT NULL,
            reason      TEXT NOT NULL,
            detected_ms INTEGER NOT NULL,
            CHECK (0 <= start_seq AND start_seq < end_seq),
            PRIMARY KEY (device, stream, start_seq)
        ) WITHOUT ROWID;

        -- Every payload the decoders rejected, counted by device and reason.
        CREATE TABLE rejections (
            device           INTEGER NOT NULL REFERENCES devices (key),
            reason           TEXT NOT NULL,
            count            INTEGER NOT NULL,
            first_ms         INTEGER NOT NULL,
            last_ms          INTEGER NOT NULL,
            last_payload_hex TEXT NOT NULL,
            PRIMARY KEY (device, reason)
        ) WITHOUT ROWID;
        """,
    )


def _v2_sync_and_protection(conn: sqlite3.Connection) -> None:
    """Version 2: the sync watermark and the ranges retention must keep."""
    _execute_script(
        conn,
        """
        -- synced_seq: every seq below it has been synced (exclusive, like the frontier).
        -- synced_rows: rows of records with seq < synced_seq (so backlog is O(1)).
        CREATE TABLE sync_state (
            device      INTEGER NOT NULL REFERENCES devices (key),
            stream      INTEGER NOT NULL,
            synced_seq  INTEGER NOT NULL DEFAULT 0,
            synced_rows INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (device, stream)
        ) WITHOUT ROWID;

        -- Ranges [start_seq, end_seq) that retention never deletes (e.g. an alert's evidence).
        CREATE TABLE protected (
            device     INTEGER NOT NULL REFERENCES devices (key),
            stream     INTEGER NOT NULL,
            start_seq  INTEGER NOT NULL,
            end_seq    INTEGER NOT NULL,
            reason     TEXT NOT NULL,
            CHECK (0 <= start_seq AND start_seq < end_seq),
            PRIMARY KEY (device, stream, start_seq, end_seq)
        ) WITHOUT ROWID;

        -- A version-1 store already has streams: give each its (empty) watermark.
        INSERT INTO sync_state (device, stream) SELECT device, stream FROM stream_state;
        """,
    )


def _v3_alerts(conn: sqlite3.Connection) -> None:
    """Version 3: medical alerts and data-quality events (``docs/alerts.md``).

    Alert rows are never deleted (retention only deletes ``records``); the records inside
    an alert's evidence window are kept through ``protected`` ranges.
    """
    _execute_script(
        conn,
        """
        CREATE TABLE alerts (
            id                INTEGER PRIMARY KEY,
            device            INTEGER NOT NULL REFERENCES devices (key),
            type              TEXT NOT NULL,        -- AlertType value, e.g. 'tachycardia'
            severity          TEXT NOT NULL,        -- 'info' | 'warning' | 'critical'
            opened_ms         INTEGER NOT NULL,
            closed_ms         INTEGER,              -- NULL while the condition lasts
            evidence_start_ms INTEGER NOT NULL,
            evidence_end_ms   INTEGER NOT NULL,
            peak_score        REAL,
            rule              TEXT,                 -- safety rule that fired, if any
            status            TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'acknowledged', 'confirmed', 'dismissed')),
            status_changed_ms INTEGER NOT NULL,
            note              TEXT NOT NULL DEFAULT '',
            model_version     TEXT,
            CHECK (evidence_start_ms <= evidence_end_ms)
        );
        CREATE INDEX alerts_by_device ON alerts (device, opened_ms);

        -- Sensor faults (off-wrist, dropout, flat line, motion artifact): never alerts.
        CREATE TABLE data_quality_events (
            id        INTEGER PRIMARY KEY,
            device    INTEGER NOT NULL REFERENCES devices (key),
            fault     TEXT NOT NULL,
            opened_ms INTEGER NOT NULL,
            closed_ms INTEGER
        );
        CREATE INDEX data_quality_by_device ON data_quality_events (device, opened_ms);
        """,
    )


def _v4_detection(conn: sqlite3.Connection) -> None:
    """Version 4: how far detection has processed each device (``docs/detection.md``).

    ``processed_until_ms`` is the end of the last window assessed (aligned time);
    ``state`` is the detector's small JSON state (e.g. the skin-temperature baseline),
    so a restart resumes instead of re-alerting or forgetting a person's baseline.
    """
    _execute_script(
        conn,
        """
        CREATE TABLE detection_state (
            device             INTEGER PRIMARY KEY REFERENCES devices (key),
            processed_until_ms INTEGER NOT NULL,
            state              TEXT NOT NULL DEFAULT '{}'
        );
        """,
    )


def _v5_sync(conn: sqlite3.Connection) -> None:
    """Version 5: privacy-preserving sync (``docs/sync.md``).

    ``window_summaries`` holds each assessed window's features and model outputs until
    the aggregator batches it; ``outbox`` holds encoded batches until the bucket has
    them (store-and-forward); ``sync_status`` is the honest record of the last attempt
    and success; ``privacy_budget`` accounts differential-privacy spending per person
    and day; ``alerts.synced_state`` is the alert state last put in the outbox.
    """
    _execute_script(
        conn,
        """
        CREATE TABLE window_summaries (
            id            INTEGER PRIMARY KEY,
            device        INTEGER NOT NULL REFERENCES devices (key),
            start_ms      INTEGER NOT NULL,     -- aligned time; never uploaded as such
            assessed_ms   INTEGER NOT NULL,     -- gateway clock
            model_version TEXT,
            features      BLOB NOT NULL,        -- float32 x FEATURE_NAMES
            outputs       BLOB,                 -- float32 x ANOMALY_TYPES, NULL: no model
            rules         INTEGER NOT NULL,     -- bitmask over ANOMALY_TYPES
            faults        INTEGER NOT NULL,     -- bitmask over FAULT_KINDS
            notable       INTEGER NOT NULL CHECK (notable IN (0, 1))
        );
        CREATE INDEX window_summaries_by_device ON window_summaries (device, id);

        CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY,
            kind            TEXT NOT NULL,      -- BatchKind
            priority        INTEGER NOT NULL,   -- 0 uploads first
            name            TEXT NOT NULL UNIQUE,
            payload         BLOB NOT NULL,
            created_ms      INTEGER NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_ms INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT,
            failed          INTEGER NOT NULL DEFAULT 0 CHECK (failed IN (0, 1)),
            covers          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(covers)),
            compacted       INTEGER NOT NULL DEFAULT 0 CHECK (compacted IN (0, 1))
        );
        CREATE INDEX outbox_by_priority ON outbox (failed, priority, id);

        CREATE TABLE sync_status (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE privacy_budget (
            pseudonym TEXT NOT NULL,
            day       INTEGER NOT NULL,         -- days since the Unix epoch (UTC)
            spent     REAL NOT NULL,
            PRIMARY KEY (pseudonym, day)
        ) WITHOUT ROWID;

        ALTER TABLE alerts ADD COLUMN synced_state TEXT;
        """,
    )


def _v6_verdict_transitions(conn: sqlite3.Connection) -> None:
    """Version 6: every change of an alert's review, kept (``gateway.store.review``).

    ``alerts.status`` holds the current state; ``verdict_transitions`` holds how it got
    there, one row per accepted review action, so a verdict (a training label) is never
    changed without a trace. A store of version 5 knows only each alert's current status:
    every reviewed alert gets one ``migrated`` row with that status, its time and its
    note, and ``from_status`` NULL (unknown).
    """
    _execute_script(
        conn,
        """
        CREATE TABLE verdict_transitions (
            id          INTEGER PRIMARY KEY,
            alert       INTEGER NOT NULL REFERENCES alerts (id),
            at_ms       INTEGER NOT NULL,
            action      TEXT NOT NULL,      -- acknowledge | confirm | dismiss | reopen | migrated
            from_status TEXT,               -- NULL: unknown (reviewed before version 6)
            to_status   TEXT NOT NULL
                CHECK (to_status IN ('open', 'acknowledged', 'confirmed', 'dismissed')),
            note        TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX verdict_transitions_by_alert ON verdict_transitions (alert, id);

        INSERT INTO verdict_transitions (alert, at_ms, action, from_status, to_status, note)
            SELECT id, status_changed_ms, 'migrated', NULL, status, note
            FROM alerts WHERE status != 'open' ORDER BY id;
        """,
    )


def _v7_alert_rate(conn: sqlite3.Connection) -> None:
    """Version 7: an alert carries the mean heart rate of its evidence (for AF, the
    ventricular rate: AF with rapid ventricular response is one AF alert that says so).
    Alerts of older stores have none (NULL)."""
    _execute_script(conn, "ALTER TABLE alerts ADD COLUMN rate_bpm REAL;")


#: The version that packs ``records`` into blocks (see ``Database``: it vacuums after).
RECORD_BLOCKS_VERSION = 8
#: Rows read per query while version 8 packs ``records`` into blocks.
_PACK_FETCH = 4096


def _v8_record_blocks(conn: sqlite3.Connection) -> None:
    """Version 8: records as compressed blocks (``record_blocks``) instead of one row each.

    Every ``records`` row is moved, in key order, into blocks of consecutive sequence
    numbers within one chunk of ``block_records`` (the layout ``RecordLog`` writes), then
    ``records`` is dropped. A table rebuild, against the usual rule, because the row per
    record is what took the space; it runs once, in the migration's one transaction, and
    reads the old rows a page at a time.
    """
    _execute_script(
        conn,
        """
        -- Records start_seq .. end_seq - 1 of one stream, all stored, as one BLOB
        -- (gateway/store/record_blocks.py). Disjoint per stream; never across a multiple
        -- of the stream's block size (256 accelerometer, 1024 other records).
        -- first_ms/last_ms: aligned time of the first and last record.
        CREATE TABLE record_blocks (
            device    INTEGER NOT NULL REFERENCES devices (key),
            stream    INTEGER NOT NULL,       -- Stream.wire_id
            start_seq INTEGER NOT NULL CHECK (start_seq >= 0),
            end_seq   INTEGER NOT NULL,
            first_ms  INTEGER NOT NULL,
            last_ms   INTEGER NOT NULL,
            data      BLOB NOT NULL,
            CHECK (start_seq < end_seq),
            PRIMARY KEY (device, stream, start_seq)
        ) WITHOUT ROWID;
        """,
    )
    blocks: list[tuple[object, ...]] = []
    key: tuple[int, int] | None = None
    start = 0
    run: list[BlockRow] = []

    def close() -> None:
        if key is not None and run:
            data = block_encode(run, layout_for(key[1]))
            blocks.append((*key, start, start + len(run), run[0][2], run[-1][2], data))

    cursor = conn.execute(
        "SELECT device, stream, seq, watch_time_ms, gateway_time_ms, aligned_time_ms, "
        "payload, backfilled FROM records ORDER BY device, stream, seq"
    )
    while rows := cursor.fetchmany(_PACK_FETCH):
        for dev, code, seq, watch, gateway, aligned, payload, backfilled in rows:
            here = (int(dev), int(code))
            if here != key or seq != start + len(run) or seq % block_records(code) == 0:
                close()
                key, start, run = here, int(seq), []
            run.append((int(watch), int(gateway), int(aligned), bytes(payload), bool(backfilled)))
        conn.executemany("INSERT INTO record_blocks VALUES (?, ?, ?, ?, ?, ?, ?)", blocks)
        blocks.clear()
    close()
    conn.executemany("INSERT INTO record_blocks VALUES (?, ?, ?, ?, ?, ?, ?)", blocks)
    conn.execute("DROP TABLE records")


#: Migration ``i`` produces schema version ``i + 1``. Append only.
MIGRATIONS: tuple[Migration, ...] = (
    _v1_core,
    _v2_sync_and_protection,
    _v3_alerts,
    _v4_detection,
    _v5_sync,
    _v6_verdict_transitions,
    _v7_alert_rate,
    _v8_record_blocks,
)

#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a new, empty file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, *, target: int | None = None, where: str = "") -> int:
    """Bring the store to schema version ``target`` (default: the latest); return the old one.

    ``conn`` must be in autocommit mode (``isolation_level=None``). All missing migrations
    run in one ``BEGIN IMMEDIATE`` transaction, so a concurrent opener waits (busy
    timeout) and then sees the migrated schema. Raises :class:`StoreVersionError` for a
    store written by a newer gateway and :class:`StoreError` for a SQLite file that is not
    a gateway store; ``where`` names the file in those messages.
    """
    latest = len(MIGRATIONS)
    target = latest if target is None else target
    if not 0 <= target <= latest:
        raise ValueError(f"target version {target} outside 0..{latest}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read under the write lock: another process may have migrated meanwhile.
        current = schema_version(conn)
        _check_identity(conn, current, latest, where)
        for version in range(current + 1, target + 1):
            MIGRATIONS[version - 1](conn)
            conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current


def _check_identity(conn: sqlite3.Connection, current: int, latest: int, where: str) -> None:
    name = where or "the store"
    if current > latest:
        raise StoreVersionError(
            f"{name} has schema version {current}, but this gateway only knows versions up "
            f"to {latest}: it was written by a newer gateway. Upgrade the gateway "
            "software; do not delete or downgrade the store (it holds unsynced records)."
        )
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    if app_id != APPLICATION_ID and (current > 0 or tables > 0):
        raise NotAStoreError(
            f"{name} is a SQLite database but not a gateway store (application_id "
            f"{app_id:#x}): pass the path of a gateway store or of a new file."
        )


def readable_check(conn: sqlite3.Connection, *, where: str = "") -> None:
    """Check, without writing, that ``conn`` holds a gateway store of the current version.

    For read-only connections, which cannot migrate. Raises :class:`StoreVersionError`
    for a newer store and :class:`StoreError` for a file that is not a gateway store or
    holds an older schema.
    """
    name = where or "the store"
    latest = len(MIGRATIONS)
    current = schema_version(conn)
    _check_identity(conn, current, latest, where)
    if current == 0:
        raise NotAStoreError(
            f"{name} is not a gateway store (an empty SQLite database): pass the path of the "
            "gateway's store"
        )
    if current < latest:
        raise StoreError(
            f"{name} has schema version {current}, older than this gateway's {latest}: start "
            "`wearable gateway run` on it once to migrate it, then read it again"
        )
