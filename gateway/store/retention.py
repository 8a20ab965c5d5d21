"""Keeping the store within its byte budget: which records may go, and deleting them.

Policy (see ``docs/store.md``):

* Only records that are both *below the frontier* (backfill will never ask for them
  again) and *below the sync watermark* (already synced) may be deleted, and never a
  record inside a protected range (evidence an alert refers to).
* Among those, the oldest go first, by ``aligned_time_ms`` across all devices and
  streams, one time slice at a time until the budget is met.
* Freed pages go back to the file system with an incremental vacuum and a WAL
  checkpoint, so the budget is a bound on the file, not only on its content.

There is no index on ``aligned_time_ms`` (it would cost ~20 bytes per record, a fifth of
a watch-day). Within one stream a record's aligned time grows with its sequence number,
so the oldest records of a stream are its lowest sequence numbers: each slice finds every
stream's oldest deletable record by primary key, and deletes, per stream, the run of
records from there that are older than the slice's cutoff. The cost is proportional to
what is deleted plus one key lookup per stream per slice.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from gateway.store.database import Database
from gateway.store.devices import Devices
from gateway.store.errors import StoreError
from gateway.store.ranges import Range, merge, subtract
from gateway.store.records import (
    RecordLog,
    delete_range,
    first_at_or_after,
    first_stored,
    stored_count,
)
from wearable_core.contracts.streams import Stream

#: First time slice: one minute of every device's data.
INITIAL_SLICE_MS = 60_000
#: Bounds of the slice controller (a second of data .. about a month).
MIN_SLICE_MS = 1_000
MAX_SLICE_MS = 31 * 86_400_000
#: How far one step may grow or shrink the slice.
MAX_GROWTH = 16.0
MIN_GROWTH = 0.1


@dataclass(frozen=True)
class RetentionResult:
    """What one :meth:`Retention.enforce` did.

    ``bytes_before``/``bytes_after`` are the live bytes compared with the budget (pages in
    use); ``deleted`` counts deleted records per stream; every deleted record was older
    (aligned time) than ``deleted_before_ms``. ``met`` says whether the store is within
    budget now; if not, ``reason`` says why and what would help.
    """

    budget_bytes: int | None
    bytes_before: int
    bytes_after: int
    deleted: dict[Stream, int] = field(default_factory=dict)
    deleted_before_ms: int | None = None
    met: bool = True
    reason: str = ""

    @property
    def deleted_rows(self) -> int:
        """Records deleted, all streams."""
        return sum(self.deleted.values())


@dataclass(frozen=True)
class StoreUsage:
    """How much space the store takes.

    ``file_bytes`` is what is on disk (database plus WAL file). ``live_bytes`` counts the
    database pages in use: what the budget is compared with, and what the file shrinks to
    after retention's vacuum and checkpoint. ``free_bytes`` is pages on the free list.
    ``record_bytes`` is the page-based estimate of the record blocks table (``live_bytes``
    minus the pages of every other table and index; ``live_bytes`` itself when SQLite
    lacks the ``dbstat`` table). ``rows`` counts stored records per stream.
    """

    file_bytes: int
    db_bytes: int
    wal_bytes: int
    live_bytes: int
    free_bytes: int
    record_bytes: int
    rows: dict[Stream, int]
    budget_bytes: int | None

    @property
    def over_budget(self) -> bool:
        """True when a budget is set and the live pages exceed it."""
        return self.budget_bytes is not None and self.live_bytes > self.budget_bytes


def next_slice_ms(slice_ms: int, freed_bytes: int, still_over_bytes: int) -> int:
    """The next time slice: scaled so it frees about what is still over budget.

    Pure policy. Freeing nothing (deleted rows shared pages with kept ones) quadruples
    the slice; otherwise the slice is scaled by ``still_over / freed`` (a little more,
    so the last step rarely falls just short), within growth and absolute bounds.
    """
    if freed_bytes <= 0:
        factor = 4.0
    else:
        factor = min(MAX_GROWTH, max(MIN_GROWTH, 1.1 * still_over_bytes / freed_bytes))
    return int(min(MAX_SLICE_MS, max(MIN_SLICE_MS, slice_ms * factor)))


def deletable_ranges(bound: int, protected: list[Range]) -> list[Range]:
    """Sequence numbers retention may delete in one stream: ``[0, bound)`` minus protected.

    ``bound`` is ``min(frontier, synced_seq)``. Pure policy.
    """
    return subtract(0, bound, protected)


def live_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the pages in use (what the file shrinks to after vacuum and checkpoint)."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    return (pages - free) * size


@dataclass
class _Candidate:
    """One stream's deletable ranges, trimmed as the slices advance."""

    device: int
    stream: int
    ranges: list[Range]
    deleted: int = 0


def _candidates(conn: sqlite3.Connection) -> list[_Candidate]:
    protected: dict[tuple[int, int], list[Range]] = {}
    for device, stream, start, end in conn.execute(
        "SELECT device, stream, start_seq, end_seq FROM protected"
    ):
        protected.setdefault((device, stream), []).append((start, end))
    out = []
    for device, stream, bound in conn.execute(
        "SELECT s.device, s.stream, min(s.frontier, y.synced_seq) FROM stream_state AS s "
        "JOIN sync_state AS y USING (device, stream) ORDER BY s.device, s.stream"
    ):
        ranges = deletable_ranges(bound, protected.get((device, stream), []))
        if ranges:
            out.append(_Candidate(device, stream, ranges))
    return out


def _head(conn: sqlite3.Connection, cand: _Candidate) -> int | None:
    """Aligned time of the stream's oldest deletable record (trims empty ranges)."""
    while cand.ranges:
        start, end = cand.ranges[0]
        found = first_stored(conn, (cand.device, cand.stream), start, end)
        if found is None:
            cand.ranges.pop(0)
            continue
        cand.ranges[0] = (found[0], end)
        return found[1]
    return None


def _delete_older(conn: sqlite3.Connection, cand: _Candidate, cutoff_ms: int) -> int:
    """Delete the stream's deletable records from its head that are older than the cutoff."""
    deleted = 0
    key = (cand.device, cand.stream)
    while cand.ranges:
        start, end = cand.ranges[0]
        # Walks from the head and stops at the first record not older than the cutoff,
        # so the cost is what gets deleted.
        stop = first_at_or_after(conn, key, start, end, cutoff_ms)
        deleted += delete_range(conn, key, start, end if stop is None else stop)
        if stop is not None:
            cand.ranges[0] = (stop, end)
            break
        cand.ranges.pop(0)
    return deleted


def enforce(conn: sqlite3.Connection, budget_bytes: int | None) -> RetentionResult:
    """Delete the oldest deletable records until the store fits ``budget_bytes``.

    ``conn`` is the store's connection in autocommit mode, outside a transaction. Each
    slice is its own transaction (progress survives a crash, ingest is not held up for
    long); counters in ``stream_state``/``sync_state`` change in the same transaction as
    the rows. Frontiers do not move: everything deleted is below them.
    """
    before = live_bytes(conn)
    if budget_bytes is None or before <= budget_bytes:
        return RetentionResult(budget_bytes, before, before)
    candidates = _candidates(conn)
    live = before
    slice_ms = INITIAL_SLICE_MS
    cutoff_ms: int | None = None
    while live > budget_bytes:
        heads = [(t, c) for c in candidates if (t := _head(conn, c)) is not None]
        if not heads:
            break
        cutoff_ms = min(t for t, _ in heads) + slice_ms
        conn.execute("BEGIN IMMEDIATE")
        try:
            changes = []
            for head_ms, cand in heads:
                if head_ms < cutoff_ms and (n := _delete_older(conn, cand, cutoff_ms)):
                    cand.deleted += n
                    changes.append((n, cand.device, cand.stream))
            conn.executemany(
                "UPDATE stream_state SET stored = stored - ? WHERE device = ? AND stream = ?",
                changes,
            )
            # Everything deleted was below the sync watermark, so it was counted there.
            conn.executemany(
                "UPDATE sync_state SET synced_rows = synced_rows - ? "
                "WHERE device = ? AND stream = ?",
                changes,
            )
            now_live = live_bytes(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        slice_ms = next_slice_ms(slice_ms, live - now_live, now_live - budget_bytes)
        live = now_live
        candidates = [c for c in candidates if c.ranges or c.deleted]
    _return_pages(conn)
    after = live_bytes(conn)
    deleted: dict[Stream, int] = {}
    for cand in candidates:
        if cand.deleted:
            stream = Stream.from_wire_id(cand.stream)
            deleted[stream] = deleted.get(stream, 0) + cand.deleted
    met = after <= budget_bytes
    reason = "" if met else _why_not(conn, budget_bytes, after)
    return RetentionResult(budget_bytes, before, after, deleted, cutoff_ms, met, reason)


def _return_pages(conn: sqlite3.Connection) -> None:
    """Give free pages back to the file system (auto_vacuum=INCREMENTAL, then checkpoint)."""
    # executescript steps the pragma to completion; execute() steps it once, and each
    # step frees a single page.
    conn.executescript("PRAGMA incremental_vacuum;")
    # The database file only shrinks when the checkpoint copies the truncated state back;
    # TRUNCATE also empties the WAL file.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _why_not(conn: sqlite3.Connection, budget_bytes: int, live: int) -> str:
    unsynced = int(
        conn.execute(
            "SELECT coalesce(sum(s.stored - y.synced_rows), 0) FROM stream_state AS s "
            "JOIN sync_state AS y USING (device, stream)"
        ).fetchone()[0]
    )
    protected = 0
    by_stream: dict[tuple[int, int, int], list[Range]] = {}
    for device, stream, start, end, bound in conn.execute(
        "SELECT p.device, p.stream, p.start_seq, p.end_seq, min(s.frontier, y.synced_seq) "
        "FROM protected AS p JOIN stream_state AS s USING (device, stream) "
        "JOIN sync_state AS y USING (device, stream)"
    ):
        by_stream.setdefault((device, stream, bound), []).append((start, min(end, bound)))
    for (device, stream, _), ranges in by_stream.items():
        for start, end in merge(ranges):
            protected += stored_count(conn, (device, stream), start, end)
    return (
        f"over budget: {live} bytes in use, budget {budget_bytes}. Everything left may not "
        f"be deleted: {unsynced} records are not yet synced and {protected} synced records "
        "are protected (alert evidence); the rest is device state and schema. Let the sync "
        "catch up, or raise the budget."
    )


class Retention:
    """The byte budget: protected ranges, space used, and deleting what may go."""

    def __init__(
        self, db: Database, devices: Devices, records: RecordLog, budget_bytes: int | None
    ) -> None:
        """Use ``db``'s connection, ``devices``' keys and ``records``' stream state."""
        self._db = db
        self._devices = devices
        self._records = records
        self.budget_bytes = budget_bytes

    def protect(
        self, device: str, stream: Stream, start_seq: int, end_seq: int, reason: str
    ) -> None:
        """Keep records ``[start_seq, end_seq)`` whatever retention needs (idempotent)."""
        if not 0 <= start_seq < end_seq:
            raise StoreError(
                f"protected range [{start_seq}, {end_seq}) is empty or negative: "
                "need 0 <= start < end"
            )
        if not reason:
            raise StoreError("a protected range needs a reason (e.g. the alert id)")
        with self._db.write() as conn:
            dev = self._devices.ensure(conn, device, None)
            key = (dev, stream.wire_id)
            self._records.stream_state(conn, key)
            conn.execute(
                "INSERT OR IGNORE INTO protected (device, stream, start_seq, end_seq, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                (*key, start_seq, end_seq, reason),
            )

    def protected(self, device: str, stream: Stream) -> list[tuple[int, int, str]]:
        """Protected ranges ``(start, end, reason)`` of one stream."""
        known = self._records.known(device, stream)
        if known is None:
            return []
        rows = self._db.connection().execute(
            "SELECT start_seq, end_seq, reason FROM protected WHERE device = ? AND stream = ? "
            "ORDER BY start_seq, end_seq",
            known[0],
        )
        return [(int(a), int(b), str(r)) for a, b, r in rows]

    def usage(self) -> StoreUsage:
        """Bytes on disk, pages in use, and records per stream."""
        conn = self._db.connection()
        live = live_bytes(conn)
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0]) * page_size
        db_bytes = _file_size(self._db.path)
        wal_bytes = _file_size(self._db.path.with_name(self._db.path.name + "-wal"))
        rows: dict[Stream, int] = {s: 0 for s in Stream}
        for code, n in conn.execute("SELECT stream, sum(stored) FROM stream_state GROUP BY stream"):
            rows[Stream.from_wire_id(int(code))] = int(n)
        return StoreUsage(
            file_bytes=db_bytes + wal_bytes,
            db_bytes=db_bytes,
            wal_bytes=wal_bytes,
            live_bytes=live,
            free_bytes=free,
            record_bytes=self._record_bytes(conn, live),
            rows=rows,
            budget_bytes=self.budget_bytes,
        )

    @staticmethod
    def _record_bytes(conn: sqlite3.Connection, live: int) -> int:
        # Measure the small tables (cheap) rather than the records table (a full scan).
        names = [
            str(n)
            for (n,) in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') "
                "AND name != 'record_blocks'"
            )
        ]
        other = int(conn.execute("PRAGMA page_size").fetchone()[0])  # page 1: the header
        try:
            for name in names:
                row = conn.execute(
                    "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ? AND aggregate = 1",
                    (name,),
                ).fetchone()
                other += int(row[0])
        except sqlite3.OperationalError:
            return live  # no dbstat in this SQLite build: an upper bound
        return max(0, live - other)

    def enforce(self) -> RetentionResult:
        """Delete the oldest synced, unprotected records until the budget is met.

        See :mod:`gateway.store.retention` for the policy. Returns what was deleted and,
        if the budget cannot be met, why.
        """
        self._records.flush()
        conn = self._db.connection()
        try:
            return enforce(conn, self.budget_bytes)
        except sqlite3.Error as exc:
            raise self._db.error(exc) from exc


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
