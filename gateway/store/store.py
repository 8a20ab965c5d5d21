"""The gateway's local store: every record the gateway accepted, durably, exactly once.

One SQLite file in WAL mode with ``synchronous=NORMAL``. Durability trade-off: a
transaction that :meth:`RecordLog.add` committed survives the process being killed (even
``kill -9``), because it is in the WAL file that the next open replays; what
``NORMAL`` gives up against ``FULL`` is an fsync per commit, so a *power loss* may lose
the last commits. Those records are not lost for good: the watch still holds them in its
flash, and on reconnect backfill asks for everything from the stored frontier on. The
file is never corrupted by either kind of crash.

:class:`Store` is a composition: it opens the one connection (:mod:`.database`) and
exposes one repository per group of tables, each in a module of its own:

- ``store.records``, :class:`RecordLog`: records, inbox, frontiers, gaps, watermarks;
- ``store.devices``, :class:`Devices`: devices and rejected payloads;
- ``store.detection_state``, :class:`DetectionStates`: detection's progress per device;
- ``store.alerts``, :class:`Alerts`: alerts and their verdicts;
- ``store.quality_events``, :class:`QualityEvents`: sensor faults;
- ``store.outbox``, :class:`Outbox`: window summaries and batches for the bucket;
- ``store.sync``, :class:`SyncStatus`: the persisted sync status;
- ``store.privacy``, :class:`PrivacyBudget`: differential-privacy epsilon spent;
- ``store.retention``, :class:`Retention`: protected ranges, usage, the byte budget.

The service is one asyncio process: one connection does all writes, each call is one
short synchronous transaction, and the caller batches records.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Self

from gateway.store.alerts import Alerts
from gateway.store.database import Database, failed_read_error
from gateway.store.detection_state import DetectionStates
from gateway.store.devices import Devices
from gateway.store.errors import StoreError
from gateway.store.outbox import Outbox
from gateway.store.privacy_budget import PrivacyBudget
from gateway.store.quality_events import QualityEvents
from gateway.store.records import RecordLog
from gateway.store.retention import Retention
from gateway.store.sync_status import SyncStatus

__all__ = ["Store", "store_read_error"]


class Store:
    """The gateway's local store (see the module docstring and ``docs/store.md``)."""

    def __init__(
        self, path: str | Path, *, budget_bytes: int | None = None, read_only: bool = False
    ) -> None:
        """Open (creating directories and file if needed) and migrate the store at ``path``.

        With ``read_only`` (the tools that only read: status, export, alert listing) the
        file is opened with SQLite's ``mode=ro`` and never created, migrated or written:
        :func:`gateway.store.readonly.store_file_check` refuses a missing, empty or
        foreign file and a WAL store copied without its ``-wal``, and every write method
        raises :class:`StoreError`. Records still in the inbox are read as if flushed.

        Raises :class:`StoreVersionError` for a store written by a newer gateway and
        :class:`StoreError` (or one of its subclasses in :mod:`gateway.store.errors`)
        when ``path`` cannot hold, or does not hold, a store.
        """
        if budget_bytes is not None and budget_bytes <= 0:
            raise StoreError(f"budget_bytes must be positive, got {budget_bytes}")
        self.path = Path(path)
        self.read_only = read_only
        self.db = Database(self.path, read_only=read_only)
        self.devices = Devices(self.db)
        self.records = RecordLog(self.db, self.devices)
        self.outbox = Outbox(self.db)
        self.detection_state = DetectionStates(self.db, self.devices, self.outbox)
        self.alerts = Alerts(self.db, self.devices, self.records)
        self.quality_events = QualityEvents(self.db, self.devices)
        self.sync = SyncStatus(self.db)
        self.privacy = PrivacyBudget(self.db)
        self.retention = Retention(self.db, self.devices, self.records, budget_bytes)
        self.db.start()

    @property
    def budget_bytes(self) -> int | None:
        """The byte budget retention keeps the store within (``None``: no budget)."""
        return self.retention.budget_bytes

    @classmethod
    def open(cls, path: str | Path, *, budget_bytes: int | None = None) -> Store:
        """Alias of the constructor."""
        return cls(path, budget_bytes=budget_bytes)

    @classmethod
    def open_read_only(cls, path: str | Path) -> Store:
        """Open an existing store for reading only (see ``read_only`` in the constructor)."""
        return cls(path, read_only=True)

    def close(self) -> None:
        """Close the connection (idempotent). Committed data is already durable.

        The last writer to close switches the file out of WAL mode (checkpointing the
        WAL into it), so a stopped gateway's store is one self-contained file and a
        WAL header without a ``-wal`` beside it can only be a copy that lost its commits
        (:func:`gateway.store.readonly.store_file_check`). While another connection is
        open the switch is not possible and is skipped: the WAL then stays on disk.
        """
        if self.db.closed:
            return
        if not self.read_only:
            # Tidy, not needed: the inbox is durable and is flushed by the next run anyway.
            with contextlib.suppress(StoreError):
                self.records.flush()
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the whole file -------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Flush the inbox, copy the WAL into the database file and truncate it.

        The service calls it on shutdown.
        """
        self.records.flush()
        try:
            self.db.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:
            raise self.db.error(exc) from exc

    def quick_check(self, limit: int = 20) -> list[str]:
        """``PRAGMA quick_check``: up to ``limit`` problems, none when the pages are sound.

        Reads every page of the file once (no record recount, unlike :meth:`verify`), so
        it is cheap enough for ``gateway status`` and ``gateway export``.
        """
        try:
            rows = self.db.connection().execute(f"PRAGMA quick_check({int(limit)})").fetchall()
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        return [str(row[0]) for row in rows if row[0] != "ok"]

    def verify(self) -> list[str]:
        """Check the store's invariants; return the problems found (empty when sound).

        Recounts every stream (a full pass over the records): for tests, and for an
        operator after a crash.
        """
        self.records.flush()
        conn = self.db.connection()
        problems = [f"integrity: {problem}" for problem in self.quick_check()]
        problems += [
            f"foreign key: {tuple(row)}" for row in conn.execute("PRAGMA foreign_key_check")
        ]
        problems += self.records.verify()
        return problems


def store_read_error(store: Store, exc: sqlite3.DatabaseError) -> StoreError:
    """The :class:`StoreError` to raise when reading ``store`` failed with ``exc``."""
    return failed_read_error(str(store.path), exc)
