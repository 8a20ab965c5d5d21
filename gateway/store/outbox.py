"""The outbox: window summaries waiting to be batched, and batches waiting for the bucket.

Tables ``window_summaries`` and ``outbox`` (schema version 5; ``docs/sync.md``). The
outbox is store-and-forward: a batch enters it in the same transaction that consumes
its window summaries or marks its alert states, and leaves it only after the bucket
confirmed the object, so a crash anywhere loses nothing and re-encodes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.store.database import Database
from gateway.store.errors import StoreError

__all__ = ["Outbox", "OutboxItem", "OutboxUsage", "StoredWindow", "WindowSummary"]


@dataclass(frozen=True)
class WindowSummary:
    """What detection concluded about one window, kept until it is batched for upload."""

    start_ms: int
    model_version: str | None
    features: npt.NDArray[np.float32]
    outputs: npt.NDArray[np.float32] | None
    rules: int
    faults: int
    notable: bool


@dataclass(frozen=True)
class StoredWindow:
    """A :class:`WindowSummary` read back, with its row id and assessment time."""

    id: int
    device: str
    assessed_ms: int
    summary: WindowSummary


@dataclass(frozen=True)
class OutboxItem:
    """One encoded batch waiting for the bucket."""

    id: int
    kind: str
    priority: int
    name: str
    payload: bytes
    created_ms: int
    attempts: int
    next_attempt_ms: int
    last_error: str | None
    failed: bool
    covers: Mapping[str, int]
    compacted: bool


@dataclass(frozen=True)
class OutboxUsage:
    """Items and bytes waiting, per kind, plus failed (quarantined) items."""

    items: Mapping[str, int]
    bytes: Mapping[str, int]
    failed: int
    oldest_created_ms: int | None

    @property
    def total_items(self) -> int:
        """Items waiting, all kinds."""
        return sum(self.items.values())

    @property
    def total_bytes(self) -> int:
        """Payload bytes waiting, all kinds."""
        return sum(self.bytes.values())


_OUTBOX_COLUMNS = (
    "id, kind, priority, name, payload, created_ms, attempts, next_attempt_ms, last_error, "
    "failed, covers, compacted"
)


def _item(row: Sequence[object]) -> OutboxItem:
    (id_, kind, priority, name, payload, created, attempts, nxt, err, failed, covers, comp) = row
    return OutboxItem(
        int(id_),  # type: ignore[call-overload]
        str(kind),
        int(priority),  # type: ignore[call-overload]
        str(name),
        bytes(payload),  # type: ignore[call-overload]
        int(created),  # type: ignore[call-overload]
        int(attempts),  # type: ignore[call-overload]
        int(nxt),  # type: ignore[call-overload]
        None if err is None else str(err),
        bool(failed),
        {str(k): int(v) for k, v in json.loads(str(covers)).items()},
        bool(comp),
    )


class Outbox:
    """Window summaries waiting to be batched, and the batches waiting for the bucket."""

    def __init__(self, db: Database) -> None:
        """Use ``db``'s connection."""
        self._db = db

    # -- window summaries ---------------------------------------------------------------

    def insert_windows(
        self,
        conn: sqlite3.Connection,
        device: int,
        assessed_ms: int,
        windows: Sequence[WindowSummary],
    ) -> None:
        """Store one detection step's window summaries (inside the caller's transaction)."""
        conn.executemany(
            "INSERT INTO window_summaries (device, start_ms, assessed_ms, model_version, "
            "features, outputs, rules, faults, notable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    device,
                    w.start_ms,
                    assessed_ms,
                    w.model_version,
                    np.asarray(w.features, dtype="<f4").tobytes(),
                    None if w.outputs is None else np.asarray(w.outputs, dtype="<f4").tobytes(),
                    w.rules,
                    w.faults,
                    int(w.notable),
                )
                for w in windows
            ],
        )

    def pending_windows(self, device: str | None = None) -> list[StoredWindow]:
        """Window summaries not yet batched, oldest first (one device, or all)."""
        self._db.refresh()
        sql = (
            "SELECT w.id, d.id, w.assessed_ms, w.start_ms, w.model_version, w.features, "
            "w.outputs, w.rules, w.faults, w.notable FROM window_summaries AS w "
            "JOIN devices AS d ON d.key = w.device"
        )
        params: tuple[object, ...] = ()
        if device is not None:
            sql += " WHERE d.id = ?"
            params = (device,)
        rows = self._db.connection().execute(sql + " ORDER BY w.id", params)
        return [
            StoredWindow(
                int(i),
                str(dev),
                int(assessed),
                WindowSummary(
                    int(start),
                    None if model is None else str(model),
                    np.frombuffer(features, dtype="<f4"),
                    None if outputs is None else np.frombuffer(outputs, dtype="<f4"),
                    int(rules),
                    int(faults),
                    bool(notable),
                ),
            )
            for i, dev, assessed, start, model, features, outputs, rules, faults, notable in rows
        ]

    def pending_window_ages(self) -> dict[str, int]:
        """Per device with unbatched windows: when its oldest one was assessed.

        One grouped query over the index, so a sync cycle can decide which devices are
        due without reading every pending window.
        """
        self._db.refresh()
        rows = self._db.connection().execute(
            "SELECT d.id, min(w.assessed_ms) FROM window_summaries AS w "
            "JOIN devices AS d ON d.key = w.device GROUP BY w.device"
        )
        return {str(device): int(oldest) for device, oldest in rows}

    def pending_window_count(self) -> int:
        """Window summaries waiting to be batched (all devices)."""
        row = self._db.connection().execute("SELECT count(*) FROM window_summaries").fetchone()
        return int(row[0])

    # -- outbox -------------------------------------------------------------------------

    def add(
        self,
        kind: str,
        priority: int,
        name: str,
        payload: bytes,
        created_ms: int,
        *,
        covers: Mapping[str, int] | None = None,
        consumed_windows: Sequence[int] = (),
        alert_states: Mapping[int, str] | None = None,
    ) -> bool:
        """Queue one encoded batch, atomically with what it consumed.

        ``consumed_windows`` (window summary ids) are deleted and ``alert_states``
        (alert id -> state) recorded in the same transaction, so after a crash a batch
        is either queued with its inputs consumed or not queued at all. ``covers`` maps
        device address -> aligned time up to which the batch summarises that device's
        records (retention may delete them once the batch is uploaded). Returns False
        if a batch with that name (the same bytes) is already queued: the inputs are
        consumed all the same, since what they hold is on its way.
        """
        with self._db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO outbox (kind, priority, name, payload, created_ms, covers) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (kind, priority, name, payload, created_ms, json.dumps(dict(covers or {}))),
                )
                queued = True
            except sqlite3.IntegrityError:
                queued = False
            self._consume(conn, consumed_windows)
            for alert_id, state in (alert_states or {}).items():
                conn.execute("UPDATE alerts SET synced_state = ? WHERE id = ?", (state, alert_id))
            return queued

    def windows_discard(self, window_ids: Sequence[int]) -> None:
        """Delete window summaries that will never be sent (a withheld DP release)."""
        with self._db.write() as conn:
            self._consume(conn, window_ids)

    @staticmethod
    def _consume(conn: sqlite3.Connection, window_ids: Sequence[int]) -> None:
        for chunk in _chunks(window_ids, 500):
            marks = ",".join("?" * len(chunk))
            conn.execute(f"DELETE FROM window_summaries WHERE id IN ({marks})", chunk)

    def due(self, now_ms: int, max_priority: int = 2, limit: int = 1000) -> list[OutboxItem]:
        """Items ready to upload now, most urgent first (priority, then age)."""
        rows = self._db.connection().execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE failed = 0 AND priority <= ? "
            "AND next_attempt_ms <= ? ORDER BY priority, id LIMIT ?",
            (max_priority, now_ms, limit),
        )
        return [_item(r) for r in rows]

    def items(self) -> list[OutboxItem]:
        """Every queued item (failed ones included), oldest first."""
        rows = self._db.connection().execute(f"SELECT {_OUTBOX_COLUMNS} FROM outbox ORDER BY id")
        return [_item(r) for r in rows]

    def done(self, item_id: int) -> None:
        """The bucket confirmed the object: remove the item (idempotent)."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    def retry(self, item_id: int, next_attempt_ms: int, error: str) -> None:
        """Record a failed attempt; the item is retried at ``next_attempt_ms``."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ? "
                "WHERE id = ?",
                (next_attempt_ms, error[:500], item_id),
            )

    def fail(self, item_id: int, error: str) -> None:
        """Quarantine an item a retry cannot fix (kept, reported, never retried alone)."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, failed = 1, last_error = ? "
                "WHERE id = ?",
                (error[:500], item_id),
            )

    def requeue_failed(self) -> int:
        """Give every quarantined item another chance (operator action); return how many."""
        with self._db.write() as conn:
            cur = conn.execute("UPDATE outbox SET failed = 0, next_attempt_ms = 0 WHERE failed = 1")
            return int(cur.rowcount)

    def drop(self, item_id: int) -> None:
        """Delete an item that was never uploaded (compaction over budget)."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    def rewrite(self, item_id: int, name: str, payload: bytes) -> None:
        """Replace a never-attempted item's batch with a compacted one."""
        with self._db.write() as conn:
            row = conn.execute("SELECT attempts FROM outbox WHERE id = ?", (item_id,)).fetchone()
            if row is None or int(row[0]) != 0:
                raise StoreError(
                    f"outbox item {item_id} was already attempted: rewriting it could leave "
                    "two versions of one batch in the bucket"
                )
            conn.execute(
                "UPDATE outbox SET name = ?, payload = ?, compacted = 1 WHERE id = ?",
                (name, payload, item_id),
            )

    def usage(self) -> OutboxUsage:
        """How much is waiting, per kind."""
        conn = self._db.connection()
        items: dict[str, int] = {}
        sizes: dict[str, int] = {}
        for kind, n, size in conn.execute(
            "SELECT kind, count(*), sum(length(payload)) FROM outbox GROUP BY kind"
        ):
            items[str(kind)] = int(n)
            sizes[str(kind)] = int(size)
        failed, oldest = conn.execute("SELECT sum(failed), min(created_ms) FROM outbox").fetchone()
        return OutboxUsage(items, sizes, int(failed or 0), None if oldest is None else int(oldest))


def _chunks(values: Sequence[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(values), size):
        yield list(values[i : i + size])
