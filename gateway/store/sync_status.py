"""The sync status (``sync_status``): last attempt, last success, last error, counters.

Persisted so ``wearable gateway sync --status`` and the next run see what the last
sync did (``docs/sync.md``).
"""

from __future__ import annotations

import json

from gateway.store.database import Database

__all__ = ["SyncStatus"]


class SyncStatus:
    """The ``sync_status`` table: JSON values by key."""

    def __init__(self, db: Database) -> None:
        """Use ``db``'s connection."""
        self._db = db

    def status(self) -> dict[str, object]:
        """The persisted sync status (last attempt, last success, last error, counters)."""
        rows = self._db.connection().execute("SELECT key, value FROM sync_status")
        return {str(k): json.loads(v) for k, v in rows}

    def update_status(self, **fields: object) -> None:
        """Set status fields (JSON values); counters are added with :meth:`count`."""
        with self._db.write() as conn:
            conn.executemany(
                "INSERT INTO sync_status (key, value) VALUES (?, ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value",
                [(k, json.dumps(v)) for k, v in fields.items()],
            )

    def count(self, **increments: int) -> None:
        """Add to integer counters in the sync status (e.g. ``uploaded_objects=1``)."""
        with self._db.write() as conn:
            for key, n in increments.items():
                row = conn.execute("SELECT value FROM sync_status WHERE key = ?", (key,)).fetchone()
                value = int(json.loads(row[0])) if row is not None else 0
                conn.execute(
                    "INSERT INTO sync_status (key, value) VALUES (?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET value = excluded.value",
                    (key, json.dumps(value + n)),
                )
