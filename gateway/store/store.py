"""The gateway's local store: every record the gateway accepted, durably, exactly once.

One SQLite file in WAL mode with ``synchronous=NORMAL``. Durability trade-off: a
transaction that :meth:`Store.add` committed survives the process being killed (even
``kill -9``), because it is in the WAL file that the next open replays; what
``NORMAL`` gives up against ``FULL`` is an fsync per commit, so a *power loss* may lose
the last commits. Those records are not lost for good: the watch still holds them in its
flash, and on reconnect backfill asks for everything from the stored frontier on. The
file is never corrupted by either kind of crash.

The service is one asyncio process: one connection does all writes, each call is one
short synchronous transaction, and the caller batches records. Per-stream state that
every batch needs (device keys, frontier, top, sync watermark) is cached in memory;
``PRAGMA data_version`` tells when another connection (a CLI export, a test) committed,
and the cache is reloaded then.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from gateway.store import retention
from gateway.store.errors import (
    NotAStoreError,
    StoreDamagedError,
    StoreError,
    StoreVersionError,
)
from gateway.store.outbox import SyncTablesMixin, WindowSummary
from gateway.store.ranges import Range, runs, subtract
from gateway.store.readonly import check_store_file, shm_path, wal_path
from gateway.store.review import ReviewMixin
from gateway.store.schema import check_readable, migrate
from wearable_core.contracts.streams import Stream
from wearable_core.private_files import private_dir, private_file, private_tighten
from wearable_core.records import IngestRecord

__all__ = [
    "ALERT_STATUSES",
    "AlertRow",
    "DataQualityRow",
    "DeviceStatus",
    "Gap",
    "Rejection",
    "RetentionResult",
    "Store",
    "StoreError",
    "StoreUsage",
    "StoreVersionError",
    "StreamHorizon",
]

RetentionResult = retention.RetentionResult

#: Device kinds: ``sequenced`` watches number their own records (our record service);
#: ``standard`` devices have none, so the gateway assigns them (:meth:`next_local_seq`).
DEVICE_KINDS = ("sequenced", "standard")
#: How long a write waits for another connection's lock before failing.
BUSY_TIMEOUT_MS = 5_000
#: The WAL file is truncated back to this size after checkpoints.
JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024
#: Reason of the gaps declared for local sequence numbers reserved but never stored.
RESERVED_UNUSED = "reserved-unused"
#: Rejected payloads keep at most this many bytes as evidence.
MAX_EVIDENCE_BYTES = 512
#: SQLite's page cache per connection, KiB. SQLite's default, 2,000, fills up in a
#: gateway with 100 watches; the service reads back what it wrote a minute earlier,
#: and the operating system's file cache holds the pages a smaller cache drops.
CACHE_KIB = 512
#: Rows fetched per query while walking the frontier past stored records.
_WALK_CHUNK = 1024

#: Inbox rows that trigger a flush into ``records`` (about a minute of 100 watches).
FLUSH_ROWS = 16_384

#: Database files this process has open through a :class:`Store`, by (device, inode):
#: a read-only open does not read their header again (``check_store_file``), because
#: closing any descriptor of a file drops the process's POSIX locks on it.
_open_files: Counter[tuple[int, int]] = Counter()
_open_files_lock = threading.Lock()

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


#: Clinician workflow states of an alert (``confirmed``/``dismissed`` are training labels).
ALERT_STATUSES = ("open", "acknowledged", "confirmed", "dismissed")
#: Records this far around an alert's evidence window are protected as well (frames
#: carry their start time; clocks are aligned to within a second or two).
EVIDENCE_MARGIN_MS = 5_000


@dataclass(frozen=True)
class AlertRow:
    """One row of ``alerts`` (see ``docs/alerts.md``).

    ``revision`` counts the review actions recorded on the alert
    (``gateway.store.review``); sync sends it so the cloud can order revisions.
    """

    id: int
    device: str
    type: str
    severity: str
    opened_ms: int
    closed_ms: int | None
    evidence_start_ms: int
    evidence_end_ms: int
    peak_score: float | None
    rule: str | None
    status: str
    status_changed_ms: int
    note: str
    model_version: str | None
    revision: int = 0
    #: Mean heart rate over the active windows that opened the alert, bpm (for AF: the
    #: ventricular rate; above 100 bpm, AF with rapid ventricular response).
    rate_bpm: float | None = None


@dataclass(frozen=True)
class DataQualityRow:
    """One row of ``data_quality_events``."""

    id: int
    device: str
    fault: str
    opened_ms: int
    closed_ms: int | None


_ALERT_COLUMNS = (
    "a.id, d.id, a.type, a.severity, a.opened_ms, a.closed_ms, a.evidence_start_ms, "
    "a.evidence_end_ms, a.peak_score, a.rule, a.status, a.status_changed_ms, a.note, "
    "a.model_version, (SELECT count(*) FROM verdict_transitions AS v WHERE v.alert = a.id), "
    "a.rate_bpm"
)


@dataclass(frozen=True)
class Rejection:
    """Payloads of one device rejected for one reason: how many, and the last one."""

    device: str
    reason: str
    count: int
    first_ms: int
    last_ms: int
    last_payload_hex: str


@dataclass(frozen=True)
class DeviceStatus:
    """One device as the store knows it.

    ``records`` counts stored records per stream; ``backlog`` counts stored records not
    yet synced; ``rejected`` counts rejected payloads; ``gaps`` counts declared gaps and
    ``missing`` the records they cover; ``frontier`` is the backfill point per stream.
    """

    id: str
    name: str | None
    kind: str | None
    connection_state: str | None
    first_seen_ms: int | None
    last_seen_ms: int | None
    battery_pct: int | None
    backlog: int
    rejected: int
    gaps: int
    missing: int
    records: dict[Stream, int] = field(default_factory=dict)
    frontier: dict[Stream, int] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreUsage:
    """How much space the store takes.

    ``file_bytes`` is what is on disk (database plus WAL file). ``live_bytes`` counts the
    database pages in use: what the budget is compared with, and what the file shrinks to
    after retention's vacuum and checkpoint. ``free_bytes`` is pages on the free list.
    ``record_bytes`` is the page-based estimate of the records table (``live_bytes``
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


@dataclass(frozen=True)
class RecordTotals:
    """What :meth:`Store.record_totals` counts."""

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
    """Cached per-stream state (the database is the truth; see ``_load_cache``)."""

    frontier: int
    top: int
    synced: int


StreamKey = tuple[int, int]


class Store(ReviewMixin, SyncTablesMixin):
    """The gateway's local store (see the module docstring and ``docs/store.md``)."""

    def __init__(
        self, path: str | Path, *, budget_bytes: int | None = None, read_only: bool = False
    ) -> None:
        """Open (creating directories and file if needed) and migrate the store at ``path``.

        With ``read_only`` (the tools that only read: status, export, alert listing) the
        file is opened with SQLite's ``mode=ro`` and never created, migrated or written:
        :func:`gateway.store.readonly.check_store_file` refuses a missing, empty or
        foreign file and a WAL store copied without its ``-wal``, and every write method
        raises :class:`StoreError`. Records still in the inbox are read as if flushed.

        Raises :class:`StoreVersionError` for a store written by a newer gateway and
        :class:`StoreError` (or one of its subclasses in :mod:`gateway.store.errors`)
        when ``path`` cannot hold, or does not hold, a store.
        """
        if budget_bytes is not None and budget_bytes <= 0:
            raise StoreError(f"budget_bytes must be positive, got {budget_bytes}")
        self.path = Path(path)
        self.budget_bytes = budget_bytes
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = None
        self._file_key: tuple[int, int] | None = None
        if read_only:
            check_store_file(self.path, read_header=_file_key(self.path) not in _open_files)
            conn = self._connect_read_only()
        else:
            if self.path.is_dir():
                raise StoreError(f"{self.path} is a directory: pass the path of the store file")
            try:
                private_dir(self.path.parent)
            except OSError as exc:
                raise StoreError(f"cannot create the directory of {self.path}: {exc}") from exc
            try:
                # Created 0600 here, before SQLite would create it 0644 under the usual
                # umask; SQLite gives its -wal and -shm the mode of the database file.
                private_file(self.path)
            except OSError as exc:
                raise StoreError(
                    f"cannot create {self.path}: {exc.strerror}; check the path and that the "
                    "gateway's user may write its directory"
                ) from exc
            conn = self._connect()
            for companion in (wal_path(self.path), shm_path(self.path)):
                private_tighten(companion)  # a store created by an older gateway
        self._conn = conn
        self._keys: dict[str, int] = {}
        self._addresses: dict[int, str] = {}
        self._streams: dict[StreamKey, _StreamState] = {}
        # Sequence numbers waiting in the inbox, per stream, and how many rows that is.
        self._pending: dict[StreamKey, set[int]] = {}
        self._pending_rows = 0
        # Streams whose reservations of earlier runs were already reconciled.
        self._reserving: set[StreamKey] = set()
        try:
            self._data_version = self._read_data_version()
            self._load_cache()
        except sqlite3.DatabaseError as exc:
            self._conn = None
            conn.close()
            raise _read_error(str(self.path), exc) from exc
        self._file_key = _file_key(self.path)
        if self._file_key is not None:
            with _open_files_lock:
                _open_files[self._file_key] += 1

    @classmethod
    def open(cls, path: str | Path, *, budget_bytes: int | None = None) -> Store:
        """Alias of the constructor."""
        return cls(path, budget_bytes=budget_bytes)

    @classmethod
    def open_read_only(cls, path: str | Path) -> Store:
        """Open an existing store for reading only (see ``read_only`` in the constructor)."""
        return cls(path, read_only=True)

    # -- connection and transactions ----------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        where = str(self.path)
        try:
            # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
            conn = sqlite3.connect(where, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {where}: {exc}; check the path and permissions") from exc
        try:
            # Must come before the first table exists; a no-op on an existing file.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"{where}: SQLite refused WAL mode (got {mode!r}); put the store on a "
                    "local file system"
                )
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            # Zero deleted cells when that costs no extra writes; a full overwrite of
            # every freed page would double retention's flash wear.
            conn.execute("PRAGMA secure_delete = FAST")
            migrate(conn, where=where)
        except StoreError:
            conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"cannot open {where} as a gateway store: {exc}. If the file is not a "
                "gateway store, pass another path; if it is locked, stop the other gateway "
                "process."
            ) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_read_only(self) -> sqlite3.Connection:
        where = str(self.path)
        uri = self.path.resolve().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {where}: {exc}; check the path and permissions") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            check_readable(conn, where=where)
            # Nothing may be written, so the inbox cannot be flushed: read it as if it
            # were. The temporary view shadows ``records`` for this connection only.
            conn.execute(
                "CREATE TEMP VIEW records AS "
                "SELECT * FROM main.records UNION ALL SELECT * FROM main.inbox"
            )
        except StoreError:
            conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _read_error(where, exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store {self.path} is closed: open a new Store")
        return self._conn

    def _read_data_version(self) -> int:
        return int(self._connection().execute("PRAGMA data_version").fetchone()[0])

    def _refresh(self) -> None:
        """Reload the cache if another connection committed since we last looked."""
        version = self._read_data_version()
        if version != self._data_version:
            self._data_version = version
            self._load_cache()

    def _load_cache(self) -> None:
        conn = self._connection()
        self._keys = {str(a): int(k) for k, a in conn.execute("SELECT key, id FROM devices")}
        self._addresses = {k: a for a, k in self._keys.items()}
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

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; on any failure it is rolled back and the cache reloaded."""
        if self.read_only:
            raise StoreError(
                f"the store {self.path} was opened read-only: open it with Store(path) to change it"
            )
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            self._refresh()
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # The cache may hold state of the rolled back transaction: reload it now, or
            # (if even that fails) at the next call.
            try:
                self._load_cache()
            except sqlite3.Error:
                self._data_version = -1
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise

    def _error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if "full" in text:
            hint = "the disk is full: free space, or lower the budget and enforce retention"
        elif "locked" in text or "busy" in text:
            hint = "another process holds the write lock: stop the other gateway process"
        elif isinstance(exc, sqlite3.IntegrityError):
            hint = "a value is out of range (a negative sequence number?)"
        else:
            hint = "check the file system; the store rolled the transaction back"
        return StoreError(f"store {self.path}: {text}: {hint}")

    def close(self) -> None:
        """Close the connection (idempotent). Committed data is already durable.

        The last writer to close switches the file out of WAL mode (checkpointing the
        WAL into it), so a stopped gateway's store is one self-contained file and a
        WAL header without a ``-wal`` beside it can only be a copy that lost its commits
        (:func:`gateway.store.readonly.check_store_file`). While another connection is
        open the switch is not possible and is skipped: the WAL then stays on disk.
        """
        if self._conn is None:
            return
        if not self.read_only:
            # Tidy, not needed: the inbox is durable and is flushed by the next run anyway.
            with contextlib.suppress(StoreError):
                self.flush()
            with contextlib.suppress(sqlite3.Error):  # only statistics; closing matters more
                self._conn.execute("PRAGMA optimize")
            with contextlib.suppress(sqlite3.Error):  # another connection is open
                self._conn.execute("PRAGMA busy_timeout = 0")
                self._conn.execute("PRAGMA journal_mode = DELETE").fetchall()
        self._conn.close()
        self._conn = None
        if self._file_key is not None:
            with _open_files_lock:
                _open_files[self._file_key] -= 1
                if _open_files[self._file_key] <= 0:
                    del _open_files[self._file_key]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- keys ---------------------------------------------------------------------------

    def _device_key(self, conn: sqlite3.Connection, address: str, seen_ms: int | None) -> int:
        """The device's key, creating the device (inside the caller's transaction)."""
        key = self._keys.get(address)
        if key is not None:
            return key
        if not address:
            raise StoreError("empty device address: pass the device's BLE address")
        key = int(
            conn.execute(
                "INSERT INTO devices (id, first_seen_ms, last_seen_ms) VALUES (?, ?, ?) "
                "RETURNING key",
                (address, seen_ms, seen_ms),
            ).fetchone()[0]
        )
        self._keys[address] = key
        self._addresses[key] = address
        return key

    def _stream_state(self, conn: sqlite3.Connection, key: StreamKey) -> _StreamState:
        state = self._streams.get(key)
        if state is None:
            conn.execute("INSERT INTO stream_state (device, stream) VALUES (?, ?)", key)
            conn.execute("INSERT INTO sync_state (device, stream) VALUES (?, ?)", key)
            state = self._streams[key] = _StreamState(0, 0, 0)
        return state

    def _known(self, device: str, stream: Stream) -> tuple[StreamKey, _StreamState] | None:
        """Key and state of a stream the store has seen, else None (read paths)."""
        self._refresh()
        dev = self._keys.get(device)
        if dev is None:
            return None
        key = (dev, stream.wire_id)
        state = self._streams.get(key)
        return None if state is None else (key, state)

    # -- ingest -------------------------------------------------------------------------

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
        with self._write() as conn:
            groups: dict[StreamKey, list[_Row]] = {}
            for r in records:
                dev = self._keys.get(r.device)
                if dev is None:
                    dev = self._device_key(conn, r.device, r.gateway_time_ms)
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
                state = self._stream_state(conn, key)
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
        if self.read_only:
            return 0  # the inbox is read through the ``records`` view instead
        self._refresh()
        if not self._pending_rows:
            return 0  # no write lock taken: readers of a busy store do not wait
        with self._write() as conn:
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
        known = self._known(device, stream)
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
        known = self._known(device, stream)
        if known is None:
            return []
        key, state = known
        if state.top <= state.frontier:
            return []
        return self._uncovered(self._connection(), key, state.frontier, state.top)[:limit]

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
        with self._write() as conn:
            dev = self._device_key(conn, device, None)
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
        state = self._stream_state(conn, key)
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
        self._refresh()
        sql = (
            "SELECT d.id, g.stream, g.start_seq, g.end_seq, g.reason, g.detected_ms "
            "FROM gaps AS g JOIN devices AS d ON d.key = g.device"
        )
        where, args = self._filter(device, stream, "g")
        if where is None:
            return []
        rows = self._connection().execute(
            sql + where + " ORDER BY d.id, g.stream, g.start_seq", args
        )
        return [
            Gap(str(d), Stream.from_wire_id(s), int(a), int(b), str(r), int(t))
            for d, s, a, b, r, t in rows
        ]

    def gap_count(self, device: str | None = None, stream: Stream | None = None) -> int:
        """How many gaps were declared (ranges, not records: see :attr:`Gap.length`)."""
        self._refresh()
        where, args = self._filter(device, stream, "g")
        if where is None:
            return 0
        row = self._connection().execute("SELECT count(*) FROM gaps AS g" + where, args).fetchone()
        return int(row[0])

    def _filter(
        self, device: str | None, stream: Stream | None, alias: str
    ) -> tuple[str | None, tuple[int, ...]]:
        """A WHERE clause on device and stream (None when the device is unknown)."""
        clauses: list[str] = []
        args: list[int] = []
        if device is not None:
            dev = self._keys.get(device)
            if dev is None:
                return None, ()
            clauses.append(f"{alias}.device = ?")
            args.append(dev)
        if stream is not None:
            clauses.append(f"{alias}.stream = ?")
            args.append(stream.wire_id)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)

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
        with self._write() as conn:
            dev = self._device_key(conn, device, None)
            key = (dev, stream.wire_id)
            state = self._stream_state(conn, key)
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

    # -- devices and rejections ---------------------------------------------------------

    def upsert_device(
        self,
        device: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        battery_pct: int | None = None,
        connection_state: str | None = None,
        last_seen_ms: int | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        """Create or update a device; ``None`` leaves a field as it is.

        ``extra`` is merged into the device's JSON attributes (a key set to ``None`` is
        removed). ``first_seen_ms`` is set from the first ``last_seen_ms`` known.
        """
        if not device:
            raise StoreError("empty device address: pass the device's BLE address")
        if kind is not None and kind not in DEVICE_KINDS:
            raise StoreError(f"device kind {kind!r} unknown: use one of {', '.join(DEVICE_KINDS)}")
        if battery_pct is not None and not 0 <= battery_pct <= 100:
            raise StoreError(f"battery_pct {battery_pct} outside 0..100")
        try:
            patch = json.dumps(dict(extra or {}))
        except (TypeError, ValueError) as exc:
            raise StoreError(f"extra must be JSON-serializable: {exc}") from exc
        with self._write() as conn:
            key = int(
                conn.execute(
                    "INSERT INTO devices (id, name, kind, battery_pct, connection_state, "
                    "first_seen_ms, last_seen_ms, extra) VALUES (?, ?, ?, ?, ?, ?, ?, "
                    "json_patch('{}', ?)) ON CONFLICT (id) DO UPDATE SET "
                    "name = coalesce(excluded.name, name), "
                    "kind = coalesce(excluded.kind, kind), "
                    "battery_pct = coalesce(excluded.battery_pct, battery_pct), "
                    "connection_state = coalesce(excluded.connection_state, connection_state), "
                    "first_seen_ms = coalesce(first_seen_ms, excluded.first_seen_ms), "
                    "last_seen_ms = coalesce(excluded.last_seen_ms, last_seen_ms), "
                    "extra = json_patch(extra, ?) RETURNING key",
                    (
                        device,
                        name,
                        kind,
                        battery_pct,
                        connection_state,
                        last_seen_ms,
                        last_seen_ms,
                        patch,
                        patch,
                    ),
                ).fetchone()[0]
            )
            self._keys[device] = key
            self._addresses[key] = device

    def count_rejection(self, device: str, reason: str, payload: bytes, now_ms: int) -> None:
        """Count one rejected payload of ``device`` under ``reason``; keep it as evidence."""
        if not reason:
            raise StoreError("a rejection needs a reason (e.g. the decoder's error kind)")
        evidence = bytes(payload[:MAX_EVIDENCE_BYTES]).hex()
        with self._write() as conn:
            dev = self._device_key(conn, device, now_ms)
            conn.execute(
                "INSERT INTO rejections (device, reason, count, first_ms, last_ms, "
                "last_payload_hex) VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (device, reason) DO "
                "UPDATE SET count = count + 1, last_ms = excluded.last_ms, "
                "last_payload_hex = excluded.last_payload_hex",
                (dev, reason, now_ms, now_ms, evidence),
            )

    def rejections(self, device: str | None = None) -> list[Rejection]:
        """Rejection counts by device and reason."""
        self._refresh()
        where, args = self._filter(device, None, "r")
        if where is None:
            return []
        rows = self._connection().execute(
            "SELECT d.id, r.reason, r.count, r.first_ms, r.last_ms, r.last_payload_hex "
            "FROM rejections AS r JOIN devices AS d ON d.key = r.device"
            + where
            + " ORDER BY d.id, r.reason",
            args,
        )
        return [
            Rejection(str(d), str(r), int(c), int(f), int(la), str(h)) for d, r, c, f, la, h in rows
        ]

    def addresses(self) -> list[str]:
        """Addresses of every device the store knows, sorted."""
        self._refresh()
        return sorted(self._keys)

    def devices(self) -> list[DeviceStatus]:
        """Every device with its counters, ordered by address."""
        self._refresh()
        conn = self._connection()
        streams: dict[int, list[tuple[Stream, int, int, int]]] = {}
        for dev, code, stored, frontier, synced_rows in conn.execute(
            "SELECT s.device, s.stream, s.stored, s.frontier, y.synced_rows "
            "FROM stream_state AS s JOIN sync_state AS y USING (device, stream)"
        ):
            streams.setdefault(int(dev), []).append(
                (Stream.from_wire_id(int(code)), int(stored), int(frontier), int(synced_rows))
            )
        gaps = {
            int(d): (int(n), int(m))
            for d, n, m in conn.execute(
                "SELECT device, count(*), sum(end_seq - start_seq) FROM gaps GROUP BY device"
            )
        }
        rejected = {
            int(d): int(n)
            for d, n in conn.execute("SELECT device, sum(count) FROM rejections GROUP BY device")
        }
        out = []
        for key, address, name, kind, state, first, last, battery, extra in conn.execute(
            "SELECT key, id, name, kind, connection_state, first_seen_ms, last_seen_ms, "
            "battery_pct, extra FROM devices ORDER BY id"
        ):
            per_stream = sorted(streams.get(int(key), []), key=lambda s: s[0].wire_id)
            n_gaps, missing = gaps.get(int(key), (0, 0))
            out.append(
                DeviceStatus(
                    id=str(address),
                    name=name,
                    kind=kind,
                    connection_state=state,
                    first_seen_ms=first,
                    last_seen_ms=last,
                    battery_pct=battery,
                    backlog=sum(stored - synced for _, stored, _, synced in per_stream),
                    rejected=rejected.get(int(key), 0),
                    gaps=n_gaps,
                    missing=missing,
                    records={s: stored for s, stored, _, _ in per_stream},
                    frontier={s: f for s, _, f, _ in per_stream},
                    extra=json.loads(extra),
                )
            )
        return out

    # -- reading ------------------------------------------------------------------------

    def sequences(self, device: str, stream: Stream) -> set[int]:
        """Stored sequence numbers of one stream (for tests and evidence)."""
        self.flush()
        known = self._known(device, stream)
        if known is None:
            return set()
        rows = self._connection().execute(
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
            self._connection()
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
        conn = self._connection()
        addresses = sorted(self._keys) if device is None else [device]
        codes = sorted(s.wire_id for s in (Stream if stream is None else [stream]))
        for address in addresses:
            dev = self._keys.get(address)
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
        known = self._known(device, stream)
        if known is None or end_ms <= start_ms:
            return []
        key = known[0]
        conn = self._connection()
        lo = _first_seq_at(conn, key, start_ms)
        if lo is None:
            return []
        hi = _first_seq_at(conn, key, end_ms)
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
        known = self._known(device, stream)
        if known is None:
            return None, None
        key = known[0]
        conn = self._connection()
        at = _first_seq_at(conn, key, t_ms)
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
        known = self._known(device, stream)
        if known is None:
            return None
        key, state = known
        conn = self._connection()
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

    # -- detection progress -------------------------------------------------------------

    def detection_state(self, device: str) -> tuple[int, dict[str, object]] | None:
        """``(processed_until_ms, state)`` saved by detection for a device, or ``None``."""
        self._refresh()
        dev = self._keys.get(device)
        if dev is None:
            return None
        row = (
            self._connection()
            .execute(
                "SELECT processed_until_ms, state FROM detection_state WHERE device = ?", (dev,)
            )
            .fetchone()
        )
        if row is None:
            return None
        return int(row[0]), dict(json.loads(row[1]))

    def save_detection_state(
        self,
        device: str,
        processed_until_ms: int,
        state: Mapping[str, object],
        *,
        windows: Sequence[WindowSummary] = (),
        assessed_ms: int = 0,
    ) -> None:
        """Record that detection assessed ``device`` up to ``processed_until_ms``.

        ``windows`` (the step's window summaries, for sync) are stored in the same
        transaction, so a crash cannot leave them without the progress that produced
        them, which would assess and upload those windows twice.
        """
        with self._write() as conn:
            dev = self._device_key(conn, device, None)
            if windows:
                self._insert_windows(conn, dev, assessed_ms, windows)
            conn.execute(
                "INSERT INTO detection_state (device, processed_until_ms, state) "
                "VALUES (?, ?, ?) ON CONFLICT (device) DO UPDATE SET "
                "processed_until_ms = excluded.processed_until_ms, state = excluded.state",
                (dev, processed_until_ms, json.dumps(dict(state), sort_keys=True)),
            )

    # -- sync and protection ------------------------------------------------------------

    def mark_synced(self, device: str, stream: Stream, up_to_seq: int) -> None:
        """Record that every seq below ``up_to_seq`` (exclusive) has been synced.

        The watermark only moves forward and never passes the frontier: a record that has
        not arrived cannot have been synced, and a late backfill below the frontier must
        still count as backlog. Exclusive on purpose: passing the last synced seq instead
        keeps one record too many, never deletes one too early.
        """
        self.flush()
        with self._write() as conn:
            dev = self._keys.get(device)
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
            known = self._known(device, stream)
            if known is None:
                continue
            conn = self._connection()
            seq = _first_seq_at(conn, known[0], until_ms)
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
        known = self._known(device, stream)
        return 0 if known is None else known[1].synced

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
        with self._write() as conn:
            dev = self._device_key(conn, device, None)
            key = (dev, stream.wire_id)
            self._stream_state(conn, key)
            conn.execute(
                "INSERT OR IGNORE INTO protected (device, stream, start_seq, end_seq, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                (*key, start_seq, end_seq, reason),
            )

    def protected(self, device: str, stream: Stream) -> list[tuple[int, int, str]]:
        """Protected ranges ``(start, end, reason)`` of one stream."""
        known = self._known(device, stream)
        if known is None:
            return []
        rows = self._connection().execute(
            "SELECT start_seq, end_seq, reason FROM protected WHERE device = ? AND stream = ? "
            "ORDER BY start_seq, end_seq",
            known[0],
        )
        return [(int(a), int(b), str(r)) for a, b, r in rows]

    # -- alerts -------------------------------------------------------------------------

    def add_alert(
        self,
        device: str,
        type: str,
        severity: str,
        opened_ms: int,
        evidence_start_ms: int,
        evidence_end_ms: int,
        peak_score: float | None = None,
        rule: str | None = None,
        model_version: str | None = None,
        rate_bpm: float | None = None,
    ) -> int:
        """Record a newly opened alert and protect its evidence; return the alert id.

        Every stored record of ``device`` whose aligned time lies in the evidence window
        (widened by :data:`EVIDENCE_MARGIN_MS`) is protected from retention, reason
        ``alert <id>``. Alert rows themselves are never deleted.
        """
        if evidence_start_ms > evidence_end_ms:
            raise StoreError(
                f"evidence window [{evidence_start_ms}, {evidence_end_ms}] ends before it starts"
            )
        self.flush()  # the evidence may still be in the inbox
        with self._write() as conn:
            dev = self._device_key(conn, device, None)
            alert_id = int(
                conn.execute(
                    "INSERT INTO alerts (device, type, severity, opened_ms, evidence_start_ms, "
                    "evidence_end_ms, peak_score, rule, status_changed_ms, model_version, "
                    "rate_bpm) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (
                        dev,
                        str(type),
                        str(severity),
                        opened_ms,
                        evidence_start_ms,
                        evidence_end_ms,
                        peak_score,
                        rule,
                        opened_ms,
                        model_version,
                        rate_bpm,
                    ),
                ).fetchone()[0]
            )
            lo_ms = evidence_start_ms - EVIDENCE_MARGIN_MS
            hi_ms = evidence_end_ms + EVIDENCE_MARGIN_MS
            for (stream,) in conn.execute(
                "SELECT stream FROM stream_state WHERE device = ?", (dev,)
            ).fetchall():
                key = (dev, int(stream))
                start = _first_seq_at(conn, key, lo_ms)
                end = _first_seq_at(conn, key, hi_ms + 1)
                if start is not None and (end is None or start < end):
                    if end is None:
                        end = _max_seq(conn, key) + 1
                    conn.execute(
                        "INSERT OR IGNORE INTO protected "
                        "(device, stream, start_seq, end_seq, reason) VALUES (?, ?, ?, ?, ?)",
                        (*key, start, end, f"alert {alert_id}"),
                    )
        return alert_id

    def close_alert(self, alert_id: int, closed_ms: int) -> None:
        """Mark the alert's condition as over (its clinician status is unchanged)."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE alerts SET closed_ms = ? WHERE id = ? AND closed_ms IS NULL",
                (closed_ms, alert_id),
            )
            if cursor.rowcount == 0 and not _exists(conn, "alerts", alert_id):
                raise StoreError(f"no alert with id {alert_id}")

    def get_alert(self, alert_id: int) -> AlertRow:
        """One alert by id (raises :class:`StoreError` if there is none)."""
        row = (
            self._connection()
            .execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts AS a JOIN devices AS d ON d.key = a.device "
                "WHERE a.id = ?",
                (alert_id,),
            )
            .fetchone()
        )
        if row is None:
            raise StoreError(f"no alert with id {alert_id}")
        return AlertRow(*row)

    def list_alerts(self, device: str | None = None, status: str | None = None) -> list[AlertRow]:
        """Alerts, oldest first, optionally of one device and/or one status."""
        sql = f"SELECT {_ALERT_COLUMNS} FROM alerts AS a JOIN devices AS d ON d.key = a.device"
        where, params = [], []
        if device is not None:
            where.append("d.id = ?")
            params.append(device)
        if status is not None:
            where.append("a.status = ?")
            params.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._connection().execute(sql + " ORDER BY a.opened_ms, a.id", params)
        return [AlertRow(*row) for row in rows]

    def add_quality_event(self, device: str, fault: str, opened_ms: int) -> int:
        """Record the start of a sensor fault; return its id."""
        with self._write() as conn:
            dev = self._device_key(conn, device, None)
            return int(
                conn.execute(
                    "INSERT INTO data_quality_events (device, fault, opened_ms) "
                    "VALUES (?, ?, ?) RETURNING id",
                    (dev, fault, opened_ms),
                ).fetchone()[0]
            )

    def close_quality_event(self, event_id: int, closed_ms: int) -> None:
        """Record the end of a sensor fault."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE data_quality_events SET closed_ms = ? WHERE id = ? AND closed_ms IS NULL",
                (closed_ms, event_id),
            )
            if cursor.rowcount == 0 and not _exists(conn, "data_quality_events", event_id):
                raise StoreError(f"no data-quality event with id {event_id}")

    def list_quality_events(self, device: str | None = None) -> list[DataQualityRow]:
        """Data-quality events, oldest first, optionally of one device."""
        sql = (
            "SELECT q.id, d.id, q.fault, q.opened_ms, q.closed_ms FROM data_quality_events AS q "
            "JOIN devices AS d ON d.key = q.device"
        )
        params: tuple[str, ...] = ()
        if device is not None:
            sql += " WHERE d.id = ?"
            params = (device,)
        rows = self._connection().execute(sql + " ORDER BY q.opened_ms, q.id", params)
        return [DataQualityRow(*row) for row in rows]

    # -- space --------------------------------------------------------------------------

    def usage(self) -> StoreUsage:
        """Bytes on disk, pages in use, and records per stream."""
        conn = self._connection()
        live = retention.live_bytes(conn)
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0]) * page_size
        db_bytes = _file_size(self.path)
        wal_bytes = _file_size(self.path.with_name(self.path.name + "-wal"))
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
                "AND name != 'records'"
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

    def enforce_retention(self) -> RetentionResult:
        """Delete the oldest synced, unprotected records until the budget is met.

        See :mod:`gateway.store.retention` for the policy. Returns what was deleted and,
        if the budget cannot be met, why.
        """
        self.flush()
        conn = self._connection()
        try:
            return retention.enforce(conn, self.budget_bytes)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def checkpoint(self) -> None:
        """Flush the inbox, copy the WAL into the database file and truncate it.

        The service calls it on shutdown.
        """
        self.flush()
        try:
            self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    # -- consistency --------------------------------------------------------------------

    def quick_check(self, limit: int = 20) -> list[str]:
        """``PRAGMA quick_check``: up to ``limit`` problems, none when the pages are sound.

        Reads every page of the file once (no record recount, unlike :meth:`verify`), so
        it is cheap enough for ``gateway status`` and ``gateway export``.
        """
        try:
            rows = self._connection().execute(f"PRAGMA quick_check({int(limit)})").fetchall()
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        return [str(row[0]) for row in rows if row[0] != "ok"]

    def verify(self) -> list[str]:
        """Check the store's invariants; return the problems found (empty when sound).

        Recounts every stream (a full pass over the records): for tests, and for an
        operator after a crash.
        """
        self.flush()
        conn = self._connection()
        problems = [f"integrity: {problem}" for problem in self.quick_check()]
        problems += [
            f"foreign key: {tuple(row)}" for row in conn.execute("PRAGMA foreign_key_check")
        ]
        for dev, code, frontier, top, stored, synced, synced_rows in conn.execute(
            "SELECT s.device, s.stream, s.frontier, s.top, s.stored, y.synced_seq, y.synced_rows "
            "FROM stream_state AS s JOIN sync_state AS y USING (device, stream)"
        ).fetchall():
            name = f"{self._addresses.get(int(dev), dev)}/{Stream.from_wire_id(int(code))}"
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


def _read_error(where: str, exc: sqlite3.DatabaseError) -> StoreError:
    """The store error for SQLite failing to read ``where``, with what to do about it."""
    text = str(exc)
    if "not a database" in text:
        return NotAStoreError(
            f"{where} is not a gateway store ({text}): pass the path of the gateway's store"
        )
    if "malformed" in text or "corrupt" in text:
        return StoreDamagedError(
            f"{where} is damaged ({text}): restore it from a backup, or salvage what is "
            "readable with `sqlite3 FILE .recover`"
        )
    return StoreError(f"cannot read {where}: {text}; check the file and its permissions")


def read_error(store: Store, exc: sqlite3.DatabaseError) -> StoreError:
    """The :class:`StoreError` to raise when reading ``store`` failed with ``exc``."""
    return _read_error(str(store.path), exc)


def _exists(conn: sqlite3.Connection, table: str, row_id: int) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone() is not None


def _max_seq(conn: sqlite3.Connection, key: StreamKey) -> int:
    sql = "SELECT max(seq) FROM records WHERE device = ? AND stream = ?"
    return int(conn.execute(sql, key).fetchone()[0])


def _first_seq_at(conn: sqlite3.Connection, key: StreamKey, t_ms: int) -> int | None:
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


def _file_key(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; ``None`` when there is none."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
