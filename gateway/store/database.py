"""The store's one SQLite connection, shared by every repository of :class:`Store`.

Opening (pragmas, migration, or the read-only checks), the write transaction, and the
in-memory caches' lifecycle live here; what the tables mean lives in the repositories
(``records.py``, ``devices.py``, ``alerts.py``, ...). The repositories keep caches of
per-device and per-stream state; :class:`Database` tells them when to reload: when
``PRAGMA data_version`` says another connection committed, and after a rolled back
write (the cache may hold that transaction's state).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.store.errors import NotAStoreError, StoreDamagedError, StoreError
from gateway.store.readonly import shm_path, store_file_check, wal_path
from gateway.store.record_blocks import block_encode
from gateway.store.schema import RECORD_BLOCKS_VERSION, migrate, readable_check
from wearable_core.private_files import private_dir, private_file, private_tighten

__all__ = [
    "BUSY_TIMEOUT_MS",
    "CACHE_KIB",
    "JOURNAL_SIZE_LIMIT",
    "Database",
    "failed_read_error",
    "row_close",
]

#: How long a write waits for another connection's lock before failing.
BUSY_TIMEOUT_MS = 5_000
#: The WAL file is truncated back to this size after checkpoints.
JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024
#: SQLite's page cache per connection, KiB. SQLite's default, 2,000, fills up in a
#: gateway with 100 watches; the service reads back what it wrote a minute earlier,
#: and the operating system's file cache holds the pages a smaller cache drops.
CACHE_KIB = 512

#: Database files this process has open through a :class:`Database`, by (device, inode):
#: a read-only open does not read their header again (``store_file_check``), because
#: closing any descriptor of a file drops the process's POSIX locks on it.
_open_files: Counter[tuple[int, int]] = Counter()
_open_files_lock = threading.Lock()


class Database:
    """One connection to the store file, its write transactions and cache reloads.

    Repositories register a loader with :meth:`on_reload`; :meth:`load_caches` runs
    them all (at open, when another connection committed, after a rollback).
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open the store file at ``path``: create and migrate it, or check and read it.

        See :class:`gateway.store.Store` for what ``read_only`` means and what is raised.
        """
        self.path = path
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = None
        self._file_key: tuple[int, int] | None = None
        self._loaders: list[Callable[[sqlite3.Connection], None]] = []
        self._data_version = -1
        if read_only:
            store_file_check(path, read_header=_file_key(path) not in _open_files)
            self._conn = _connect_read_only(path)
        else:
            _create_private(path)
            self._conn = _connect(path)
            for companion in (wal_path(path), shm_path(path)):
                private_tighten(companion)  # a store created by an older gateway

    def on_reload(self, loader: Callable[[sqlite3.Connection], None]) -> None:
        """Run ``loader`` whenever the repositories' caches must be reloaded."""
        self._loaders.append(loader)

    def start(self) -> None:
        """Load every cache for the first time and count the file as open.

        Called once every repository registered its loader. On a read error the
        connection is closed and the :class:`StoreError` for it raised.
        """
        conn = self.connection()
        try:
            self._data_version = self._read_data_version()
            self.load_caches()
        except sqlite3.DatabaseError as exc:
            self._conn = None
            conn.close()
            raise failed_read_error(str(self.path), exc) from exc
        self._file_key = _file_key(self.path)
        if self._file_key is not None:
            with _open_files_lock:
                _open_files[self._file_key] += 1

    def connection(self) -> sqlite3.Connection:
        """The open connection (raises :class:`StoreError` once closed)."""
        if self._conn is None:
            raise StoreError(f"the store {self.path} is closed: open a new Store")
        return self._conn

    def _read_data_version(self) -> int:
        return int(self.connection().execute("PRAGMA data_version").fetchone()[0])

    def load_caches(self) -> None:
        """Reload every repository's cache from the database."""
        conn = self.connection()
        for loader in self._loaders:
            loader(conn)

    def refresh(self) -> None:
        """Reload the caches if another connection committed since we last looked."""
        version = self._read_data_version()
        if version != self._data_version:
            self._data_version = version
            self.load_caches()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; on any failure it is rolled back and the caches reloaded."""
        if self.read_only:
            raise StoreError(
                f"the store {self.path} was opened read-only: open it with Store(path) to change it"
            )
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self.error(exc) from exc
        try:
            self.refresh()
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # The caches may hold state of the rolled back transaction: reload them now,
            # or (if even that fails) at the next call.
            try:
                self.load_caches()
            except sqlite3.Error:
                self._data_version = -1
            if isinstance(exc, sqlite3.Error):
                raise self.error(exc) from exc
            raise

    def error(self, exc: sqlite3.Error) -> StoreError:
        """The :class:`StoreError` for a failed write, with what to do about it."""
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

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._conn is None

    def close(self) -> None:
        """Close the connection (idempotent); the last writer leaves WAL mode first.

        See :meth:`gateway.store.Store.close` for why.
        """
        if self._conn is None:
            return
        if not self.read_only:
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


def _create_private(path: Path) -> None:
    """Create the store's directory and an empty file, both private to the user."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory: pass the path of the store file")
    try:
        private_dir(path.parent)
    except OSError as exc:
        raise StoreError(f"cannot create the directory of {path}: {exc}") from exc
    try:
        # Created 0600 here, before SQLite would create it 0644 under the usual umask;
        # SQLite gives its -wal and -shm the mode of the database file.
        private_file(path)
    except OSError as exc:
        raise StoreError(
            f"cannot create {path}: {exc.strerror}; check the path and that the "
            "gateway's user may write its directory"
        ) from exc


def _connect(path: Path) -> sqlite3.Connection:
    where = str(path)
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
        old = migrate(conn, where=where)
        if 0 < old < RECORD_BLOCKS_VERSION:
            # The migration dropped the row-per-record table, ~4x the blocks' size: give
            # its pages back now instead of leaving the file at its old size until
            # retention next vacuums. Once, after the migration's transaction.
            conn.executescript("PRAGMA incremental_vacuum;")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
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


def _one_record_block(
    watch_ms: int, gateway_ms: int, aligned_ms: int, payload: bytes, backfilled: int
) -> bytes:
    """An inbox row as the BLOB of a one-record block (the read-only view's SQL function)."""
    return block_encode([(watch_ms, gateway_ms, aligned_ms, bytes(payload), bool(backfilled))])


def _connect_read_only(path: Path) -> sqlite3.Connection:
    where = str(path)
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {where}: {exc}; check the path and permissions") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        readable_check(conn, where=where)
        # Nothing may be written, so the inbox cannot be flushed: read it as if it
        # were, each inbox row as a block of one record. The temporary view shadows
        # ``record_blocks`` for this connection only.
        conn.create_function("record_block", 5, _one_record_block, deterministic=True)
        conn.execute(
            "CREATE TEMP VIEW record_blocks AS "
            "SELECT * FROM main.record_blocks UNION ALL "
            "SELECT device, stream, seq, seq + 1, aligned_time_ms, aligned_time_ms, "
            "record_block(watch_time_ms, gateway_time_ms, aligned_time_ms, payload, "
            "backfilled) FROM main.inbox"
        )
    except StoreError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise failed_read_error(where, exc) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def failed_read_error(where: str, exc: sqlite3.DatabaseError) -> StoreError:
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


def _file_key(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; ``None`` when there is none."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def row_close(conn: sqlite3.Connection, table: str, row_id: int, closed_ms: int) -> bool:
    """Set ``closed_ms`` of row ``row_id`` if it is still open; False if there is no such row.

    For the tables of things that open and close (alerts, data-quality events); ``table``
    is a constant of the caller, never user input. Closing twice keeps the first time.
    """
    cursor = conn.execute(
        f"UPDATE {table} SET closed_ms = ? WHERE id = ? AND closed_ms IS NULL",
        (closed_ms, row_id),
    )
    if cursor.rowcount:
        return True
    return conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone() is not None
