"""The record log: every record the gateway accepted, per device and stream, exactly once.

Holds ``records`` and its ``inbox``, the per-stream ``stream_state`` (frontier, top,
local sequence numbers), declared ``gaps`` and the sync watermark (``sync_state``).
See ``docs/store.md`` for the frontier, holes, gaps and the inbox. Per-stream state
that every batch needs is cached in memory and reloaded with the other caches
(:class:`gateway.store.database.Database`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gateway.store.database import Database
from gateway.store.devices import Devices
from gateway.store.errors import StoreError
from gateway.store.ranges import Range, runs, subtract
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
    "first_seq_at",
    "max_seq",
]

#: Reason of the gaps declared for local sequence numbers reserved but never stored.
RESERVED_UNUSED = "reserved-unused"
#: Rows fetched per query while walking the frontier past stored records.
_WALK_CHUNK = 1024
#: Inbox rows that trigger a flush into ``records`` (about a minute of 100 watches).
FLUSH_ROWS = 16_384

_INSERT_INBOX = "INSERT INTO inbox VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
#: device, stream, seq, watch_time_ms, gateway_time_ms, aligned_time_ms, payload, backfilled
_Row = tuple[int, int, int, int, int, int, bytes, int]
# Runs of consecutive stored sequence numbers in a range ("gaps and islands"), computed
# inside SQLite so a hole listing costs one pass over the range, not a row per record.
_RUNS = (
    "SELECT min(seq), max(seq) + 1 FROM (SELECT seq, seq - row_number() OVER (ORDER BY seq) "
    "AS island FROM records WHERE device = ? AND stream = ? AND seq >= ? AND seq < ?) "
    "GROUP BY island ORDER BY 1"
)
#: (device key, stream wire id)
StreamKey = tuple[int, int]


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
            stored = {
                int(q)
                for (q,) in conn.execute(
                    "SELECT seq FROM records WHERE device = ? AND stream = ? "
                    "AND seq IN (SELECT value FROM json_each(?))",
                    (*key, json.dumps([row[2] for row in maybe])),
                )
            }
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
        """Move the inbox into ``records`` (one transaction); return how many rows moved.

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
            before = conn.total_changes
            # Sorted, so each (device, stream) run is appended to its pages in one go.
            conn.execute(
                "INSERT OR IGNORE INTO records SELECT * FROM inbox ORDER BY device, stream, seq"
            )
            moved = conn.total_changes - before
            conn.execute("DELETE FROM inbox")
            if moved != self._pending_rows:
                # Cannot happen while only Store writes the file; if it does, the counters
                # are recomputed rather than left wrong.
                conn.execute(
                    "UPDATE stream_state SET stored = (SELECT count(*) FROM records AS r "
                    "WHERE r.device = stream_state.device AND r.stream = stream_state.stream)"
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
            moved = False
            for (seq,) in conn.execute(
                "SELECT seq FROM records WHERE device = ? AND stream = ? AND seq >= ? "
                f"ORDER BY seq LIMIT {_WALK_CHUNK}",
                (*key, frontier),
            ):
                while frontier in pending:
                    frontier += 1
                if seq != frontier:
                    break
                frontier += 1
                moved = True
            if not moved:
                return frontier

    def frontier(self, device: str, stream: Stream) -> int:
        """Every seq below this is stored, declared a gap or retired: backfill from here."""
        known = self.known(device, stream)
        return 0 if known is None else known[1].frontier

    def _uncovered(self, conn: sqlite3.Connection, key: StreamKey, lo: int, hi: int) -> list[Range]:
        """Parts of ``[lo, hi)`` holding neither a stored record nor a declared gap."""
        covered = [(int(a), int(b)) for a, b in conn.execute(_RUNS, (*key, lo, hi))]
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
        rows = self._db.connection().execute(
            "SELECT seq FROM records WHERE device = ? AND stream = ?", known[0]
        )
        return {int(seq) for (seq,) in rows}

    def record_totals(self) -> RecordTotals:
        """Rows, distinct contents and payload bytes of every stored record (for evidence).

        ``duplicates`` counts rows whose device, stream, watch time and payload equal an
        earlier row's under another sequence number: the same reading stored twice.
        """
        self.flush()
        rows, distinct, payload = (
            self._db.connection()
            .execute(
                "SELECT COUNT(*), "
                "(SELECT COUNT(*) FROM (SELECT DISTINCT device, stream, watch_time_ms, payload "
                "FROM records)), COALESCE(SUM(LENGTH(payload)), 0) FROM records"
            )
            .fetchone()
        )
        return RecordTotals(int(rows), int(rows) - int(distinct), int(payload))

    def iter_records(
        self, device: str | None = None, stream: Stream | None = None, batch: int = 5000
    ) -> Iterator[IngestRecord]:
        """Stored records ordered by device address, stream and seq, ``batch`` rows a query.

        Pages by primary key, so memory stays flat however large the store is.
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
                after = -1
                while True:
                    rows = conn.execute(
                        "SELECT seq, watch_time_ms, gateway_time_ms, aligned_time_ms, payload, "
                        "backfilled FROM records WHERE device = ? AND stream = ? AND seq > ? "
                        "ORDER BY seq LIMIT ?",
                        (dev, code, after, batch),
                    ).fetchall()
                    for seq, watch, gateway, aligned, payload, backfilled in rows:
                        yield IngestRecord(
                            address, kind, seq, watch, gateway, aligned, payload, bool(backfilled)
                        )
                    if len(rows) < batch:
                        break
                    after = int(rows[-1][0])

    def records_between(
        self, device: str, stream: Stream, start_ms: int, end_ms: int
    ) -> list[IngestRecord]:
        """Stored records of one stream whose aligned time is in ``[start_ms, end_ms)``.

        Aligned time grows with seq within a stream, so both ends are found by binary
        search over the primary key and the rows are one key range (no scan, no index).
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
        rows = conn.execute(
            "SELECT seq, watch_time_ms, gateway_time_ms, aligned_time_ms, payload, backfilled "
            "FROM records WHERE device = ? AND stream = ? AND seq >= ? AND seq < ? ORDER BY seq",
            (*key, lo, (1 << 62) if hi is None else hi),
        ).fetchall()
        return [
            IngestRecord(device, stream, seq, watch, gateway, aligned, payload, bool(backfilled))
            for seq, watch, gateway, aligned, payload, backfilled in rows
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
        select = "SELECT aligned_time_ms FROM records WHERE device = ? AND stream = ? "
        if at is None:
            before = conn.execute(select + "ORDER BY seq DESC LIMIT 1", key).fetchone()
            return (None if before is None else int(before[0])), None
        after = conn.execute(select + "AND seq = ?", (*key, at)).fetchone()
        before = conn.execute(
            select + "AND seq < ? ORDER BY seq DESC LIMIT 1", (*key, at)
        ).fetchone()
        return (None if before is None else int(before[0])), int(after[0])

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
        select = "SELECT aligned_time_ms FROM records WHERE device = ? AND stream = ? "
        first = conn.execute(select + "ORDER BY seq LIMIT 1", key).fetchone()
        latest = conn.execute(select + "ORDER BY seq DESC LIMIT 1", key).fetchone()
        if first is None or latest is None:
            return None
        below = conn.execute(
            select + "AND seq < ? ORDER BY seq DESC LIMIT 1", (*key, state.frontier)
        ).fetchone()
        latest_ms = int(latest[0]) + period_ms
        complete_ms = int(first[0]) if below is None else int(below[0]) + period_ms
        return StreamHorizon(int(first[0]), min(complete_ms, latest_ms), latest_ms)

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
            newly = int(
                conn.execute(
                    "SELECT count(*) FROM records WHERE device = ? AND stream = ? "
                    "AND seq >= ? AND seq < ?",
                    (*key, state.synced, target),
                ).fetchone()[0]
            )
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
                top = conn.execute(
                    "SELECT max(seq) FROM records WHERE device = ? AND stream = ?", known[0]
                ).fetchone()[0]
                if top is None:
                    continue
                seq = int(top) + 1
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
            count, high = conn.execute(
                "SELECT count(*), max(seq) FROM records WHERE device = ? AND stream = ?", key
            ).fetchone()
            below = conn.execute(
                "SELECT count(*) FROM records WHERE device = ? AND stream = ? AND seq < ?",
                (*key, synced),
            ).fetchone()[0]
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
                inside = conn.execute(
                    "SELECT count(*) FROM records WHERE device = ? AND stream = ? "
                    "AND seq >= ? AND seq < ?",
                    (*key, a, b),
                ).fetchone()[0]
                if inside:
                    problems.append(f"{name}: gap [{a}, {b}) holds {inside} stored records")
        return problems


def max_seq(conn: sqlite3.Connection, key: StreamKey) -> int:
    """The highest stored seq of a stream that has records."""
    sql = "SELECT max(seq) FROM records WHERE device = ? AND stream = ?"
    return int(conn.execute(sql, key).fetchone()[0])


def first_seq_at(conn: sqlite3.Connection, key: StreamKey, t_ms: int) -> int | None:
    """The lowest stored seq of a stream whose aligned time is ``>= t_ms`` (None if none).

    Aligned time grows with seq within a stream, so this is a binary search over the
    primary key: O(log n) lookups, no scan (there is no index on aligned time).
    """
    # Two key lookups: min()/max() with a WHERE on the key prefix can scan the range.
    first = conn.execute(
        "SELECT seq FROM records WHERE device = ? AND stream = ? ORDER BY seq LIMIT 1", key
    ).fetchone()
    if first is None:
        return None
    last = conn.execute(
        "SELECT seq FROM records WHERE device = ? AND stream = ? ORDER BY seq DESC LIMIT 1", key
    ).fetchone()
    lo, hi = int(first[0]), int(last[0]) + 1
    found: int | None = None
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute(
            "SELECT seq, aligned_time_ms FROM records WHERE device = ? AND stream = ? "
            "AND seq >= ? ORDER BY seq LIMIT 1",
            (*key, mid),
        ).fetchone()
        if row is not None and int(row[1]) >= t_ms:
            found = int(row[0])
            hi = mid
        else:
            lo = (int(row[0]) if row is not None else mid) + 1
    return found
