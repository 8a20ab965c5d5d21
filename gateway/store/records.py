"""The record log: every record the gateway accepted, per device and stream, exactly once.

Holds ``record_blocks`` (runs of consecutive records of one stream, each one compressed
BLOB keyed by its sequence range; the codec is ``record_blocks.py``) and its ``inbox``,
the per-stream ``stream_state`` (frontier, top, local sequence numbers), declared
``gaps`` and the sync watermark (``sync_state``).
See ``docs/store.md`` for the frontier, holes, gaps and the inbox. Per-stream state
that every batch needs is cached in memory and reloaded with the other caches
(:class:`gateway.store.database.Database`).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from gateway.store.database import Database
from gateway.store.devices import Devices
from gateway.store.errors import StoreError
from gateway.store.ranges import Range, merge, runs, subtract
from gateway.store.record_blocks import (
    BLOCK_RECORDS,
    BlockError,
    BlockRow,
    DecodedBlock,
    block_decode,
    block_encode,
    block_records,
    layout_for,
    pieces,
)
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

__all__ = [
    "FLUSH_ROWS",
    "RESERVED_UNUSED",
    "Gap",
    "RecordLog",
    "RecordTotals",
    "StreamHorizon",
    "StreamKey",
    "delete_range",
    "first_at_or_after",
    "first_seq_at",
    "first_stored",
    "max_seq",
    "stored_count",
    "stored_ranges",
]

#: Reason of the gaps declared for local sequence numbers reserved but never stored.
RESERVED_UNUSED = "reserved-unused"
#: Inbox rows that trigger a flush into ``records`` (about a minute of 100 watches).
FLUSH_ROWS = 16_384

_INSERT_INBOX = "INSERT INTO inbox VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
#: device, stream, seq, watch_time_ms, gateway_time_ms, aligned_time_ms, payload, backfilled
_Row = tuple[int, int, int, int, int, int, bytes, int]
#: (device key, stream wire id)
StreamKey = tuple[int, int]
#: The highest sequence number a query bound may need (SQLite integers are 64-bit).
_NO_END = 1 << 62
_STREAM = "WHERE device = ? AND stream = ? "


@dataclass(frozen=True)
class Gap:
    """Records ``[start_seq, end_seq)`` of a stream declared lost, and why."""

    device: str
    stream: Stream
    start_seq: int
    end_seq: int
    reason: str
    detected_ms: int

    @property
    def length(self) -> int:
        """How many records the gap covers."""
        return self.end_seq - self.start_seq


@dataclass(frozen=True)
class RecordTotals:
    """What :meth:`RecordLog.record_totals` counts."""

    rows: int
    duplicates: int
    payload_bytes: int


@dataclass(frozen=True)
class StreamHorizon:
    """How far one stream's stored data reaches (aligned time, Unix ms).

    ``first_ms``: start of the oldest stored record. ``complete_ms``: every record that
    covers time before it is stored or declared lost (the end of the last stored record
    below the frontier), so a window ending there can be assessed. ``latest_ms``: end of
    the newest stored record.
    """

    first_ms: int
    complete_ms: int
    latest_ms: int


@dataclass(slots=True)
class _StreamState:
    """Cached per-stream state (the database is the truth; see ``RecordLog._load``)."""

    frontier: int
    top: int
    synced: int


class RecordLog:
    """Records, their inbox, frontiers, gaps and sync watermarks of every stream."""

    def __init__(self, db: Database, devices: Devices) -> None:
        """Use ``db``'s connection and ``devices``' keys; the stream cache loads with them."""
        self._db = db
        self._devices = devices
        self._streams: dict[StreamKey, _StreamState] = {}
        # Sequence numbers waiting in the inbox, per stream, and how many rows that is.
        self._pending: dict[StreamKey, set[int]] = {}
        self._pending_rows = 0
        # Streams whose reservations of earlier runs were already reconciled.
        self._reserving: set[StreamKey] = set()
        db.on_reload(self._load)

    def _load(self, conn: sqlite3.Connection) -> None:
        self._streams = {
            (int(d), int(s)): _StreamState(int(f), int(t), int(y))
            for d, s, f, t, y in conn.execute(
                "SELECT s.device, s.stream, s.frontier, s.top, y.synced_seq "
                "FROM stream_state AS s JOIN sync_state AS y USING (device, stream)"
            )
        }
        self._pending = {}
        self._pending_rows = 0
        for d, s, q in conn.execute("SELECT device, stream, seq FROM inbox"):
            self._pending.setdefault((int(d), int(s)), set()).add(int(q))
            self._pending_rows += 1

    def stream_state(self, conn: sqlite3.Connection, key: StreamKey) -> _StreamState:
        """The cached state of a stream, creating its rows (inside the caller's transaction)."""
        state = self._streams.get(key)
        if state is None:
            conn.execute("INSERT INTO stream_state (device, stream) VALUES (?, ?)", key)
            conn.execute("INSERT INTO sync_state (device, stream) VALUES (?, ?)", key)
            state = self._streams[key] = _StreamState(0, 0, 0)
        return state

    def known(self, device: str, stream: Stream) -> tuple[StreamKey, _StreamState] | None:
        """Key and state of a stream the store has seen, else None (read paths)."""
        self._db.refresh()
        dev = self._devices.key(device)
        if dev is None:
            return None
        key = (dev, stream.wire_id)
        state = self._streams.get(key)
        return None if state is None else (key, state)

    def add(self, records: Sequence[IngestRecord]) -> int:
        """Store ``records`` in one transaction and return how many were new.

        Idempotent on (device, stream, seq): a record already stored (or repeated within
        the batch) is ignored, so redelivery and overlapping backfill are harmless.
        Frontiers advance past every run of records that closes the gap above them. New
        records are appended to the inbox; every :data:`FLUSH_ROWS` they are moved into
        ``records`` (:meth:`flush`), so an occasional call takes longer.
        """
        if not records:
            return 0
        with self._db.write() as conn:
            groups: dict[StreamKey, list[_Row]] = {}
            for r in records:
                dev = self._devices.key(r.device)
                if dev is None:
                    dev = self._devices.ensure(conn, r.device, r.gateway_time_ms)
                code = r.stream.wire_id
                row = (
                    dev,
                    code,
                    r.seq,
                    r.watch_time_ms,
                    r.gateway_time_ms,
                    r.aligned_time_ms,
                    r.payload,
                    1 if r.backfilled else 0,
                )
                rows = groups.get((dev, code))
                if rows is None:
                    groups[(dev, code)] = [row]
                else:
                    rows.append(row)
            fresh: list[_Row] = []
            updates: list[tuple[int, int, int, int, int]] = []
            synced_updates: list[tuple[int, int, int]] = []
            for key, rows in groups.items():
                state = self.stream_state(conn, key)
                new = self._new_rows(conn, key, state, rows)
                if not new:
                    continue
                fresh += new
                seqs = {row[2] for row in new}
                if min(seqs) < state.top:
                    # A record declared lost arrived after all (it was in flight when the
                    # watch reported it overwritten): it is not missing any more.
                    self._unclaim_gaps(conn, key, seqs)
                pending = self._pending.setdefault(key, set())
                pending |= seqs
                if state.synced and min(seqs) < state.synced:
                    # Rare (a retired record delivered again): it counts as synced.
                    below = sum(1 for q in seqs if q < state.synced)
                    synced_updates.append((below, *key))
                old_top = state.top
                state.top = max(old_top, max(seqs) + 1)
                if state.frontier in seqs:
                    frontier = state.frontier
                    while frontier in pending:
                        frontier += 1
                    if frontier < old_top:
                        # Records or gaps stored earlier may continue the run.
                        frontier = self._walk(conn, key, frontier)
                    state.frontier = frontier
                updates.append((len(new), state.frontier, state.top, *key))
            conn.executemany(_INSERT_INBOX, fresh)
            conn.executemany(
                "UPDATE stream_state SET stored = stored + ?, frontier = ?, top = ? "
                "WHERE device = ? AND stream = ?",
                updates,
            )
            if synced_updates:
                conn.executemany(
                    "UPDATE sync_state SET synced_rows = synced_rows + ? "
                    "WHERE device = ? AND stream = ?",
                    synced_updates,
                )
            self._pending_rows += len(fresh)
        if self._pending_rows >= FLUSH_ROWS:
            self.flush()
        return len(fresh)

    def _new_rows(
        self, conn: sqlite3.Connection, key: StreamKey, state: _StreamState, rows: list[_Row]
    ) -> list[_Row]:
        """The rows of one stream that are stored neither in the inbox nor in records."""
        pending = self._pending.get(key, set())
        seen: set[int] = set()
        new: list[_Row] = []
        maybe: list[_Row] = []
        for row in rows:
            seq = row[2]
            if seq in seen or seq in pending:
                continue
            seen.add(seq)
            # At or above top nothing was ever stored: no lookup needed (live records).
            (maybe if seq < state.top else new).append(row)
        if maybe:
            seqs = [row[2] for row in maybe]
            ranges = stored_ranges(conn, key, min(seqs), max(seqs) + 1)
            stored = _in_ranges(seqs, ranges)
            new += [row for row in maybe if row[2] not in stored]
        return new

    def _unclaim_gaps(self, conn: sqlite3.Connection, key: StreamKey, seqs: set[int]) -> None:
        """Cut ``seqs`` out of the declared gaps that contain them."""
        for start, end, reason, detected in conn.execute(
            "SELECT start_seq, end_seq, reason, detected_ms FROM gaps WHERE device = ? "
            "AND stream = ? AND end_seq > ? AND start_seq <= ?",
            (*key, min(seqs), max(seqs)),
        ).fetchall():
            arrived = [q for q in seqs if start <= q < end]
            if not arrived:
                continue
            conn.execute(
                "DELETE FROM gaps WHERE device = ? AND stream = ? AND start_seq = ?",
                (*key, start),
            )
            conn.executemany(
                "INSERT INTO gaps (device, stream, start_seq, end_seq, reason, detected_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(*key, a, b, reason, detected) for a, b in subtract(start, end, runs(arrived))],
            )

    def flush(self) -> int:
        """Move the inbox into ``record_blocks`` (one transaction); return how many moved.

        Called by :meth:`add` every :data:`FLUSH_ROWS` records and before reads that scan
        ``records``; the service may also call it when idle. Nothing is lost if it never
        runs: the inbox is as durable as ``records``.
        """
        if self._db.read_only:
            return 0  # the inbox is read through the ``records`` view instead
        self._db.refresh()
        if not self._pending_rows:
            return 0  # no write lock taken: readers of a busy store do not wait
        with self._db.write() as conn:
            if not self._pending_rows:
                return 0
            moved = 0
            inbox = conn.execute("SELECT * FROM inbox ORDER BY device, stream, seq").fetchall()
            for (dev, code), group in itertools.groupby(inbox, key=lambda r: (r[0], r[1])):
                key = (int(dev), int(code))
                rows = list(group)
                seqs = [int(r[2]) for r in rows]
                # As INSERT OR IGNORE did: a seq stored already (or twice in the inbox)
                # is skipped, and the counters below are recomputed.
                stored = _in_ranges(seqs, stored_ranges(conn, key, seqs[0], seqs[-1] + 1))
                keep = [
                    i
                    for i, q in enumerate(seqs)
                    if q not in stored and (i == 0 or q != seqs[i - 1])
                ]
                moved += rows_write(
                    conn,
                    key,
                    [seqs[i] for i in keep],
                    [(r[3], r[4], r[5], r[6], bool(r[7])) for r in (rows[i] for i in keep)],
                )
            conn.execute("DELETE FROM inbox")
            if moved != self._pending_rows:
                # Cannot happen while only Store writes the file; if it does, the counters
                # are recomputed rather than left wrong.
                conn.execute(
                    "UPDATE stream_state SET stored = (SELECT coalesce(sum(end_seq - start_seq), "
                    "0) FROM record_blocks AS r WHERE r.device = stream_state.device "
                    "AND r.stream = stream_state.stream)"
                )
            self._pending.clear()
            self._pending_rows = 0
        return moved

    def _walk(self, conn: sqlite3.Connection, key: StreamKey, frontier: int) -> int:
        """Advance ``frontier`` past stored records and declared gaps that start at it."""
        pending = self._pending.get(key, set())
        while True:
            if frontier in pending:
                frontier += 1
                continue
            row = conn.execute(
                "SELECT end_seq FROM gaps WHERE device = ? AND stream = ? AND start_seq <= ? "
                "ORDER BY start_seq DESC LIMIT 1",
                (*key, frontier),
            ).fetchone()
            if row is not None and int(row[0]) > frontier:
                frontier = int(row[0])
                continue
            block = conn.execute(
                "SELECT end_seq FROM record_blocks " + _STREAM + "AND start_seq <= ? "
                "ORDER BY start_seq DESC LIMIT 1",
                (*key, frontier),
            ).fetchone()
            if block is not None and int(block[0]) > frontier:
                frontier = int(block[0])
                continue
            return frontier

    def frontier(self, device: str, stream: Stream) -> int:
        """Every seq below this is stored, declared a gap or retired: backfill from here."""
        known = self.known(device, stream)
        return 0 if known is None else known[1].frontier

    def _uncovered(self, conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int) -> list[Range]:
        """Parts of ``[lo, hi)`` holding neither a stored record nor a declared gap."""
        covered = stored_ranges(conn, key, lo, hi)
        covered += [
            (int(a), int(b))
            for a, b in conn.execute(
                "SELECT start_seq, end_seq FROM gaps WHERE device = ? AND stream = ? "
                "AND end_seq > ? AND start_seq < ?",
                (*key, lo, hi),
            )
        ]
        covered += runs(q for q in self._pending.get(key, ()) if lo <= q < hi)
        return subtract(lo, hi, covered)

    def holes(self, device: str, stream: Stream, limit: int = 1000) -> list[tuple[int, int]]:
        """Missing ranges ``[start, end)`` above the frontier and below the highest record.

        Neither stored nor declared a gap: what backfill still has to fetch (or declare
        lost). At most ``limit`` ranges, lowest first.
        """
        known = self.known(device, stream)
        if known is None:
            return []
        key, state = known
        if state.top <= state.frontier:
            return []
        return self._uncovered(self._db.connection(), key, state.frontier, state.top)[:limit]

    def record_gap(
        self,
        device: str,
        stream: Stream,
        start_seq: int,
        end_seq: int,
        reason: str,
        *,
        now_ms: int | None = None,
    ) -> None:
        """Declare records ``[start_seq, end_seq)`` lost (e.g. overwritten in the watch's flash).

        Only the part above the frontier that is neither stored nor already declared is
        recorded, so a declaration is idempotent and never hides a stored record. The
        frontier advances past it. ``now_ms`` (default: the wall clock) is when the gap
        was detected.
        """
        if not 0 <= start_seq < end_seq:
            raise StoreError(
                f"gap [{start_seq}, {end_seq}) is empty or negative: need 0 <= start < end"
            )
        if not reason:
            raise StoreError("a gap needs a reason (e.g. 'overwritten')")
        detected = int(time.time() * 1000) if now_ms is None else now_ms
        with self._db.write() as conn:
            dev = self._devices.ensure(conn, device, None)
            key = (dev, stream.wire_id)
            self._declare_gaps(conn, key, start_seq, end_seq, reason, detected)

    def _declare_gaps(
        self,
        conn: sqlite3.Connection,
        key: StreamKey,
        start: int,
        end: int,
        reason: str,
        now_ms: int,
    ) -> None:
        state = self.stream_state(conn, key)
        # Below the frontier everything is accounted for already; what is absent there was
        # retired by retention, not lost.
        start = max(start, state.frontier)
        if start >= end:
            return
        missing = self._uncovered(conn, key, start, end)
        conn.executemany(
            "INSERT INTO gaps (device, stream, start_seq, end_seq, reason, detected_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(*key, a, b, reason, now_ms) for a, b in missing],
        )
        state.top = max(state.top, end)
        if start <= state.frontier < end:
            state.frontier = self._walk(conn, key, state.frontier)
        conn.execute(
            "UPDATE stream_state SET frontier = ?, top = ? WHERE device = ? AND stream = ?",
            (state.frontier, state.top, *key),
        )

    def gaps(self, device: str | None = None, stream: Stream | None = None) -> list[Gap]:
        """Declared gaps, ordered by device, stream and start."""
        self._db.refresh()
        sql = (
            "SELECT d.id, g.stream, g.start_seq, g.end_seq, g.reason, g.detected_ms "
            "FROM gaps AS g JOIN devices AS d ON d.key = g.device"
        )
        where, args = self._devices.where(device, stream, "g")
        if where is None:
            return []
        rows = self._db.connection().execute(
            sql + where + " ORDER BY d.id, g.stream, g.start_seq", args
        )
        return [
            Gap(str(d), Stream.from_wire_id(s), int(a), int(b), str(r), int(t))
            for d, s, a, b, r, t in rows
        ]

    def gap_count(self, device: str | None = None, stream: Stream | None = None) -> int:
        """How many gaps were declared (ranges, not records: see :attr:`Gap.length`)."""
        self._db.refresh()
        where, args = self._devices.where(device, stream, "g")
        if where is None:
            return 0
        row = (
            self._db.connection().execute("SELECT count(*) FROM gaps AS g" + where, args).fetchone()
        )
        return int(row[0])

    def next_local_seq(self, device: str, stream: Stream, count: int = 1) -> int:
        """Reserve ``count`` sequence numbers for a standard device; return the first.

        Durable (committed before returning), so a restarted gateway never reuses a
        number. Reserve only what you are about to :meth:`add`. Numbers an earlier run
        reserved but never stored cannot arrive any more (they existed only in that
        process): the first reservation of a run declares them a gap
        (:data:`RESERVED_UNUSED`), so the frontier does not stall on them.
        """
        if count < 1:
            raise StoreError(f"count must be at least 1, got {count}")
        with self._db.write() as conn:
            dev = self._devices.ensure(conn, device, None)
            key = (dev, stream.wire_id)
            state = self.stream_state(conn, key)
            reserved = int(
                conn.execute(
                    "SELECT next_local_seq FROM stream_state WHERE device = ? AND stream = ?", key
                ).fetchone()[0]
            )
            if key not in self._reserving:
                if reserved > state.frontier:
                    now_ms = int(time.time() * 1000)
                    self._declare_gaps(conn, key, state.frontier, reserved, RESERVED_UNUSED, now_ms)
                self._reserving.add(key)
            first = max(reserved, state.top)
            conn.execute(
                "UPDATE stream_state SET next_local_seq = ? WHERE device = ? AND stream = ?",
                (first + count, *key),
            )
        return first

    def sequences(self, device: str, stream: Stream) -> set[int]:
        """Stored sequence numbers of one stream (for tests and evidence)."""
        self.flush()
        known = self.known(device, stream)
        if known is None:
            return set()
        ranges = stored_ranges(self._db.connection(), known[0], 0, _NO_END)
        return {q for a, b in ranges for q in range(a, b)}

    def record_totals(self) -> RecordTotals:
        """Rows, distinct contents and payload bytes of every stored record (for evidence).

        ``duplicates`` counts rows whose device, stream, watch time and payload equal an
        earlier row's under another sequence number: the same reading stored twice.
        """
        self.flush()
        rows = payload = distinct = 0
        conn = self._db.connection()
        keys = conn.execute("SELECT device, stream FROM stream_state").fetchall()
        for dev, code in keys:
            # Duplicates are within one (device, stream): one set per stream at a time.
            seen: set[tuple[int, bytes]] = set()
            for block in _iter_blocks(conn, (int(dev), int(code)), 0, _NO_END):
                decoded = block.decode()
                rows += len(decoded)
                payload += sum(map(len, decoded.payloads))
                seen.update(zip(decoded.watch_ms.tolist(), decoded.payloads, strict=True))
            distinct += len(seen)
        return RecordTotals(rows, rows - distinct, payload)

    def iter_records(
        self, device: str | None = None, stream: Stream | None = None, batch: int = 5000
    ) -> Iterator[IngestRecord]:
        """Stored records ordered by device address, stream and seq, ``batch`` rows a query.

        Pages by primary key, about ``batch`` records (whole blocks) a query, so memory
        stays flat however large the store is.
        """
        if batch < 1:
            raise StoreError(f"batch must be at least 1, got {batch}")
        self.flush()
        conn = self._db.connection()
        addresses = self._devices.addresses() if device is None else [device]
        codes = sorted(s.wire_id for s in (Stream if stream is None else [stream]))
        for address in addresses:
            dev = self._devices.key(address)
            if dev is None:
                continue
            for code in codes:
                kind = Stream.from_wire_id(code)
                page = max(1, batch // BLOCK_RECORDS)
                for block in _iter_blocks(conn, (dev, code), 0, _NO_END, page):
                    rows = block.decode().rows()
                    for seq, (watch, gateway, aligned, payload, backfilled) in zip(
                        range(block.start, block.end), rows, strict=True
                    ):
                        yield IngestRecord(
                            address, kind, seq, watch, gateway, aligned, payload, backfilled
                        )

    def records_between(
        self, device: str, stream: Stream, start_ms: int, end_ms: int
    ) -> list[IngestRecord]:
        """Stored records of one stream whose aligned time is in ``[start_ms, end_ms)``.

        Aligned time grows with seq within a stream, so both ends are found by binary
        search over the blocks' primary key and the rows are one key range (no scan, no
        index); only the blocks holding them are decoded.
        """
        self.flush()
        known = self.known(device, stream)
        if known is None or end_ms <= start_ms:
            return []
        key = known[0]
        conn = self._db.connection()
        lo = first_seq_at(conn, key, start_ms)
        if lo is None:
            return []
        hi = first_seq_at(conn, key, end_ms)
        rows = rows_read(conn, key, lo, _NO_END if hi is None else hi)
        return [
            IngestRecord(device, stream, seq, watch, gateway, aligned, payload, backfilled)
            for seq, (watch, gateway, aligned, payload, backfilled) in rows
        ]

    def data_around(self, device: str, stream: Stream, t_ms: int) -> tuple[int | None, int | None]:
        """Aligned times of the stream's newest record before ``t_ms`` and first at or after.

        ``None`` where there is none. Lets a reader jump over empty time to the next data
        instead of stepping through it. O(log n) primary-key lookups, as
        :meth:`records_between`.
        """
        self.flush()
        known = self.known(device, stream)
        if known is None:
            return None, None
        key = known[0]
        conn = self._db.connection()
        at = first_seq_at(conn, key, t_ms)
        if at is None:
            return aligned_before(conn, key, _NO_END), None
        found = first_stored(conn, key, at, at + 1)
        if found is None:  # cannot happen: ``at`` is a stored seq
            raise StoreError(f"record {at} vanished while reading")
        return aligned_before(conn, key, at), found[1]

    def stream_horizon(self, device: str, stream: Stream) -> StreamHorizon | None:
        """How far one stream's stored data reaches, in aligned time; ``None`` if empty.

        A record covers ``stream.record_period_s`` from its aligned time; see
        :class:`StreamHorizon`. Three primary-key lookups, no scan.
        """
        self.flush()
        known = self.known(device, stream)
        if known is None:
            return None
        key, state = known
        conn = self._db.connection()
        period_ms = int(stream.record_period_s * 1000)
        first = _edge(conn, key, last=False)
        latest = _edge(conn, key, last=True)
        if first is None or latest is None:
            return None
        below = aligned_before(conn, key, state.frontier)
        latest_ms = latest[3] + period_ms
        complete_ms = first[2] if below is None else below + period_ms
        return StreamHorizon(first[2], min(complete_ms, latest_ms), latest_ms)

    def mark_synced(self, device: str, stream: Stream, up_to_seq: int) -> None:
        """Record that every seq below ``up_to_seq`` (exclusive) has been synced.

        The watermark only moves forward and never passes the frontier: a record that has
        not arrived cannot have been synced, and a late backfill below the frontier must
        still count as backlog. Exclusive on purpose: passing the last synced seq instead
        keeps one record too many, never deletes one too early.
        """
        self.flush()
        with self._db.write() as conn:
            dev = self._devices.key(device)
            state = None if dev is None else self._streams.get((dev, stream.wire_id))
            if dev is None or state is None:
                return
            key = (dev, stream.wire_id)
            target = min(up_to_seq, state.frontier)
            if target <= state.synced:
                return
            newly = stored_count(conn, key, state.synced, target)
            conn.execute(
                "UPDATE sync_state SET synced_seq = ?, synced_rows = synced_rows + ? "
                "WHERE device = ? AND stream = ?",
                (target, newly, *key),
            )
            state.synced = target

    def mark_synced_until(self, device: str, until_ms: int) -> None:
        """Mark every stream's records with aligned time before ``until_ms`` as synced.

        Called once the bucket holds the aggregates that summarise them: the records
        themselves never leave the gateway, and retention may now delete them.
        """
        self.flush()
        for stream in Stream:
            known = self.known(device, stream)
            if known is None:
                continue
            conn = self._db.connection()
            seq = first_seq_at(conn, known[0], until_ms)
            if seq is None:  # every stored record is older (or there are none)
                last = _edge(conn, known[0], last=True)
                if last is None:
                    continue
                seq = last[1]
            self.mark_synced(device, stream, seq)

    def synced_seq(self, device: str, stream: Stream) -> int:
        """The sync watermark: every seq below it has been synced (0 if nothing)."""
        known = self.known(device, stream)
        return 0 if known is None else known[1].synced

    def verify(self) -> list[str]:
        """Check every stream's counters, watermarks, frontier and gaps against the records.

        A full pass over the records (see :meth:`gateway.store.Store.verify`).
        """
        self.flush()
        conn = self._db.connection()
        problems: list[str] = []
        for dev, code, frontier, top, stored, synced, synced_rows in conn.execute(
            "SELECT s.device, s.stream, s.frontier, s.top, s.stored, y.synced_seq, y.synced_rows "
            "FROM stream_state AS s JOIN sync_state AS y USING (device, stream)"
        ).fetchall():
            name = f"{self._devices.address(int(dev)) or dev}/{Stream.from_wire_id(int(code))}"
            key = (int(dev), int(code))
            count, high = 0, None
            previous_end = -1
            for block in _iter_blocks(conn, key, 0, _NO_END):
                # Blocks: disjoint, within one chunk, and their BLOB what their key says.
                if block.start < previous_end or block.start >= block.end:
                    problems.append(f"{name}: block [{block.start}, {block.end}) overlaps")
                size = block_records(code)
                if (block.end - 1) // size != block.start // size:
                    problems.append(f"{name}: block [{block.start}, {block.end}) spans chunks")
                previous_end = block.end
                try:
                    aligned = block.decode().aligned_ms
                except StoreError as exc:
                    problems.append(f"{name}: {exc}")
                    continue
                if (int(aligned[0]), int(aligned[-1])) != (block.first_ms, block.last_ms):
                    problems.append(f"{name}: block {block.start} times disagree with its key")
                count += block.end - block.start
                high = block.end - 1
            below = stored_count(conn, key, 0, synced)
            if count != stored:
                problems.append(f"{name}: stored counter {stored} but {count} records")
            if below != synced_rows:
                problems.append(f"{name}: synced_rows {synced_rows} but {below} records below")
            if high is not None and high >= top:
                problems.append(f"{name}: record {high} at or above top {top}")
            if not synced <= frontier <= top:
                problems.append(f"{name}: need synced {synced} <= frontier {frontier} <= top {top}")
            if self._walk(conn, key, frontier) != frontier:
                problems.append(f"{name}: frontier {frontier} could advance")
            previous_end = -1
            for a, b in conn.execute(
                "SELECT start_seq, end_seq FROM gaps WHERE device = ? AND stream = ? "
                "ORDER BY start_seq",
                key,
            ).fetchall():
                if a < previous_end:
                    problems.append(f"{name}: gaps overlap at {a}")
                previous_end = b
                inside = stored_count(conn, key, a, b)
                if inside:
                    problems.append(f"{name}: gap [{a}, {b}) holds {inside} stored records")
        return problems


# Block access. ``record_blocks`` holds, per stream, disjoint blocks of consecutive sequence
# numbers ``[start_seq, end_seq)``; ``first_ms``/``last_ms`` are the aligned times of a
# block's first and last record, so a search by time reads a block only where it ends.


@dataclass(frozen=True, slots=True)
class _Block:
    """One row of ``record_blocks`` (``data`` is the encoded BLOB)."""

    start: int
    end: int
    first_ms: int
    last_ms: int
    data: bytes

    def decode(self) -> DecodedBlock:
        """The block's records; a damaged BLOB is a :class:`StoreError`."""
        try:
            block = _decode(self.data)
        except BlockError as exc:
            raise StoreError(
                f"record block [{self.start}, {self.end}) is damaged ({exc}): run "
                "`Store.verify()`, restore the store from a backup or salvage it"
            ) from exc
        if len(block) != self.end - self.start:
            raise StoreError(f"record block [{self.start}, {self.end}) holds {len(block)} records")
        return block

    def aligned_at(self, seq: int) -> int:
        """Aligned time of record ``seq`` of this block (decodes only for inner records)."""
        if seq == self.start:
            return self.first_ms
        if seq == self.end - 1:
            return self.last_ms
        return int(self.decode().aligned_ms[seq - self.start])


#: Decoded blocks kept for the next read. A window read finds its ends and then reads
#: its records, all in the same one or two blocks, and detection reads consecutive
#: windows: without this every block would be decoded three or more times. Keyed by the
#: BLOB itself, so a block rewritten by a flush or by retention can never be served stale.
_DECODED_BLOCKS = 32


@functools.lru_cache(maxsize=_DECODED_BLOCKS)
def _decode(data: bytes) -> DecodedBlock:
    return block_decode(data)


_BLOCK_COLUMNS = "start_seq, end_seq, first_ms, last_ms, data FROM record_blocks "


def _block(row: tuple[int, int, int, int, bytes]) -> _Block:
    return _Block(int(row[0]), int(row[1]), int(row[2]), int(row[3]), bytes(row[4]))


def _first_start(conn: sqlite3.Connection, key: StreamKey, lo: int) -> int:
    """Start of the block holding ``lo`` if any, else ``lo``: where a range query begins."""
    row = conn.execute(
        "SELECT start_seq, end_seq FROM record_blocks " + _STREAM + "AND start_seq <= ? "
        "ORDER BY start_seq DESC LIMIT 1",
        (*key, lo),
    ).fetchone()
    return lo if row is None or int(row[1]) <= lo else int(row[0])


def stored_ranges(conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int) -> list[Range]:
    """The stored sequence numbers of a stream within ``[lo, hi)``, as sorted ranges.

    One key-range query over the blocks' bounds (no BLOB is read).
    """
    rows = conn.execute(
        "SELECT start_seq, end_seq FROM record_blocks " + _STREAM + "AND start_seq >= ? "
        "AND start_seq < ? ORDER BY start_seq",
        (*key, _first_start(conn, key, lo), hi),
    )
    return merge((max(int(a), lo), min(int(b), hi)) for a, b in rows)


def stored_count(conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int) -> int:
    """How many records of a stream are stored in ``[lo, hi)``."""
    return sum(b - a for a, b in stored_ranges(conn, key, lo, hi))


def _blocks(conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int) -> list[_Block]:
    """The blocks holding any sequence number in ``[lo, hi)``, in order."""
    rows = conn.execute(
        "SELECT " + _BLOCK_COLUMNS + _STREAM + "AND start_seq >= ? AND start_seq < ? "
        "ORDER BY start_seq",
        (*key, _first_start(conn, key, lo), hi),
    ).fetchall()
    return [b for b in map(_block, rows) if b.end > lo]


def _iter_blocks(
    conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int, page: int = 64
) -> Iterator[_Block]:
    """The blocks holding any sequence number in ``[lo, hi)``, ``page`` rows a query.

    Memory stays flat however many blocks the stream has.
    """
    after = _first_start(conn, key, lo) - 1
    while True:
        rows = conn.execute(
            "SELECT " + _BLOCK_COLUMNS + _STREAM + "AND start_seq > ? AND start_seq < ? "
            "ORDER BY start_seq LIMIT ?",
            (*key, after, hi, page),
        ).fetchall()
        for block in map(_block, rows):
            if block.end > lo:
                yield block
        if len(rows) < page:
            return
        after = int(rows[-1][0])


#: start_seq, end_seq, first_ms, last_ms of a block: what a search needs, without the BLOB
#: (reading it would read its overflow pages).
_Bounds = tuple[int, int, int, int]
_BOUNDS = "SELECT start_seq, end_seq, first_ms, last_ms FROM record_blocks "


def _edge(conn: sqlite3.Connection, key: StreamKey, *, last: bool) -> _Bounds | None:
    """Bounds of the stream's first (or last) block."""
    order = "DESC" if last else ""
    row = conn.execute(_BOUNDS + _STREAM + f"ORDER BY start_seq {order} LIMIT 1", key).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _block_starting(conn: sqlite3.Connection, key: StreamKey, start: int) -> _Block:
    """The block that starts at ``start`` (known to exist), with its BLOB."""
    row = conn.execute(
        "SELECT " + _BLOCK_COLUMNS + _STREAM + "AND start_seq = ?", (*key, start)
    ).fetchone()
    if row is None:
        raise StoreError(f"record block {start} vanished while reading")
    return _block(row)


def _block_at_or_after(conn: sqlite3.Connection, key: StreamKey, seq: int) -> _Block | None:
    """The block holding ``seq``, else the first block above it."""
    row = conn.execute(
        "SELECT " + _BLOCK_COLUMNS + _STREAM + "AND start_seq >= ? ORDER BY start_seq LIMIT 1",
        (*key, _first_start(conn, key, seq)),
    ).fetchone()
    return None if row is None else _block(row)


def first_stored(
    conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int
) -> tuple[int, int] | None:
    """The lowest stored seq of a stream in ``[lo, hi)`` and its aligned time, else None."""
    block = _block_at_or_after(conn, key, lo)
    if block is None:
        return None
    seq = max(lo, block.start)
    return (seq, block.aligned_at(seq)) if seq < hi else None


def aligned_before(conn: sqlite3.Connection, key: StreamKey, seq: int) -> int | None:
    """Aligned time of the stream's highest stored record below ``seq`` (None if none)."""
    row = conn.execute(
        _BOUNDS + _STREAM + "AND start_seq < ? ORDER BY start_seq DESC LIMIT 1", (*key, seq)
    ).fetchone()
    if row is None:
        return None
    start, end, _, last_ms = (int(v) for v in row)
    if end <= seq:
        return last_ms  # the block's last record: no need to decode
    return _block_starting(conn, key, start).aligned_at(seq - 1)


def rows_read(
    conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int
) -> list[tuple[int, BlockRow]]:
    """The stored records of a stream in ``[lo, hi)`` as ``(seq, row)``, in order."""
    out: list[tuple[int, BlockRow]] = []
    for block in _blocks(conn, key, lo, hi):
        a, b = max(lo, block.start), min(hi, block.end)
        rows = block.decode().rows(a - block.start, b - block.start)
        out += zip(range(a, b), rows, strict=True)
    return out


def _encoded(key: StreamKey, start: int, rows: Sequence[BlockRow]) -> tuple[object, ...]:
    """A ``record_blocks`` row for ``rows``, the records ``start, start + 1, ...``."""
    data = block_encode(rows, layout_for(key[1]))
    return (*key, start, start + len(rows), rows[0][2], rows[-1][2], data)


_INSERT_BLOCK = "INSERT INTO record_blocks VALUES (?, ?, ?, ?, ?, ?, ?)"
_DELETE_BLOCK = "DELETE FROM record_blocks WHERE device = ? AND stream = ? AND start_seq = ?"


def rows_write(
    conn: sqlite3.Connection, key: StreamKey, seqs: Sequence[int], rows: Sequence[BlockRow]
) -> int:
    """Store records ``seqs`` (sorted, distinct, none stored yet) of one stream as blocks.

    A run that is still filling its chunk (:func:`block_records`) at the stream's tail
    becomes a block of its own. A run that reaches the end of its chunk, or closes a hole
    before a block of its chunk, is packed together with every block of the chunk it
    joins into one. So a chunk live records fill a few at a time is encoded once more
    when it is complete, not once per flush (re-encoding the growing block at every
    flush cost ~25 encodings per record with 100 watches). Returns how many records
    were written. Inside the caller's transaction.
    """
    array = np.fromiter(seqs, dtype=np.int64, count=len(seqs))
    size = block_records(key[1])
    for i, j in pieces(array, size):
        start, end = int(array[i]), int(array[j - 1]) + 1
        chunk = start - start % size
        run: list[BlockRow] = list(rows[i:j])
        if end % size and (
            conn.execute(
                "SELECT 1 FROM record_blocks " + _STREAM + "AND start_seq = ?", (*key, end)
            ).fetchone()
            is None
        ):
            conn.execute(_INSERT_BLOCK, _encoded(key, start, run))
            continue
        chunk_blocks = [
            _block(row)
            for row in conn.execute(
                "SELECT " + _BLOCK_COLUMNS + _STREAM + "AND start_seq >= ? AND start_seq < ? "
                "ORDER BY start_seq",
                (*key, chunk, chunk + size),
            ).fetchall()
        ]
        before: list[_Block] = []
        for block in reversed(chunk_blocks):
            if block.end == (before[0].start if before else start):
                before.insert(0, block)
        after: list[_Block] = []
        for block in chunk_blocks:
            if block.start == (after[-1].end if after else end):
                after.append(block)
        merged: list[BlockRow] = []
        for block in before:
            merged += block.decode().rows()
        merged += run
        for block in after:
            merged += block.decode().rows()
        for block in before + after:
            conn.execute(_DELETE_BLOCK, (*key, block.start))
        first = before[0].start if before else start
        conn.execute(_INSERT_BLOCK, _encoded(key, first, merged))
    return len(seqs)


def delete_range(conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int) -> int:
    """Delete a stream's stored records in ``[lo, hi)``; return how many were deleted.

    Blocks inside the range go whole; a block crossing an end is re-encoded without the
    deleted records. Inside the caller's transaction.
    """
    deleted = 0
    for block in _blocks(conn, key, lo, hi):
        a, b = max(lo, block.start), min(hi, block.end)
        deleted += b - a
        conn.execute(_DELETE_BLOCK, (*key, block.start))
        if a == block.start and b == block.end:
            continue
        decoded = block.decode()
        if block.start < a:
            conn.execute(
                _INSERT_BLOCK, _encoded(key, block.start, decoded.rows(0, a - block.start))
            )
        if b < block.end:
            conn.execute(_INSERT_BLOCK, _encoded(key, b, decoded.rows(b - block.start)))
    return deleted


def first_at_or_after(
    conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int, t_ms: int
) -> int | None:
    """The lowest stored seq in ``[lo, hi)`` whose aligned time is ``>= t_ms``, else None.

    Walks the blocks from ``lo`` by their bounds and decodes only the block where the
    time is crossed: the cost is what lies before it (retention deletes exactly that).
    """
    for block in _iter_blocks(conn, key, lo, hi):
        if block.last_ms < t_ms:
            continue
        a, b = max(lo, block.start), min(hi, block.end)
        aligned = block.decode().aligned_ms[a - block.start : b - block.start]
        later = np.flatnonzero(aligned >= t_ms)
        if len(later):
            return a + int(later[0])
    return None


def max_seq(conn: sqlite3.Connection, key: StreamKey) -> int:
    """The highest stored seq of a stream that has records."""
    last = _edge(conn, key, last=True)
    if last is None:
        raise StoreError("max_seq of a stream without records")
    return last[1] - 1


def first_seq_at(conn: sqlite3.Connection, key: StreamKey, t_ms: int) -> int | None:
    """The lowest stored seq of a stream whose aligned time is ``>= t_ms`` (None if none).

    Aligned time grows with seq within a stream, so this is a binary search over the
    blocks' primary key by their last record's time (O(log n) key lookups, no scan; there
    is no index on aligned time), then a search within the one block found.
    """
    first = _edge(conn, key, last=False)
    last = _edge(conn, key, last=True)
    if first is None or last is None or last[3] < t_ms:
        return None
    # Search the blocks for the first one whose last record is at or after ``t_ms``
    # (aligned time grows with seq). A probe reads the block holding ``mid``, or the last
    # one before it. Aligned time is nearly linear in seq, so every other probe
    # interpolates (a day's search takes ~3 probes instead of ~17); the others bisect,
    # which bounds the worst case. Any probe order gives the same answer.
    lo, hi = first[0], last[0] + 1  # the answer's block starts in [lo, hi), or is ``found``
    lo_ms, hi_ms = first[2], last[3]
    found: int | None = None
    step = 0
    while lo < hi:
        if step % 2 == 0 and hi_ms > lo_ms:
            mid = lo + max(0, t_ms - lo_ms) * (hi - lo) // (hi_ms - lo_ms)
            mid = min(max(mid, lo), hi - 1)
        else:
            mid = (lo + hi) // 2
        step += 1
        row = conn.execute(
            _BOUNDS + _STREAM + "AND start_seq <= ? ORDER BY start_seq DESC LIMIT 1", (*key, mid)
        ).fetchone()
        if row is None:  # cannot happen at or above the first block's start
            break
        start, first_ms, last_ms = int(row[0]), int(row[2]), int(row[3])
        if last_ms >= t_ms:
            found, hi, hi_ms = start, start, first_ms
        else:
            lo, lo_ms = mid + 1, last_ms
    if found is None:
        return None
    bounds = conn.execute(_BOUNDS + _STREAM + "AND start_seq = ?", (*key, found)).fetchone()
    if int(bounds[2]) >= t_ms:
        return found
    aligned = _block_starting(conn, key, found).decode().aligned_ms
    return found + int(np.searchsorted(aligned, t_ms, side="left"))


def _in_ranges(seqs: Iterable[int], ranges: list[Range]) -> set[int]:
    """The members of ``seqs`` inside one of the sorted, disjoint ``ranges``."""
    starts = [a for a, _ in ranges]
    out = set()
    for q in seqs:
        i = bisect.bisect_right(starts, q) - 1
        if i >= 0 and q < ranges[i][1]:
            out.add(q)
    return out
