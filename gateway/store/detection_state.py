"""Detection's progress per device (``detection_state``): how far it assessed, and its state.

The state is the detector's JSON (personal baselines, ``docs/detection.md``). Saving it
also stores the step's window summaries for sync, in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from gateway.store.database import Database
from gateway.store.devices import Devices
from gateway.store.outbox import Outbox, WindowSummary

__all__ = ["DetectionStates"]


class DetectionStates:
    """The ``detection_state`` table (one row per device)."""

    def __init__(self, db: Database, devices: Devices, outbox: Outbox) -> None:
        """Use ``db``'s connection, ``devices``' keys and ``outbox`` (for window summaries)."""
        self._db = db
        self._devices = devices
        self._outbox = outbox

    def get(self, device: str) -> tuple[int, dict[str, object]] | None:
        """``(processed_until_ms, state)`` saved by detection for a device, or ``None``."""
        self._db.refresh()
        dev = self._devices.key(device)
        if dev is None:
            return None
        row = (
            self._db.connection()
            .execute(
                "SELECT processed_until_ms, state FROM detection_state WHERE device = ?", (dev,)
            )
            .fetchone()
        )
        if row is None:
            return None
        return int(row[0]), dict(json.loads(row[1]))

    def save(
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
        with self._db.write() as conn:
            dev = self._devices.ensure(conn, device, None)
            if windows:
                self._outbox.insert_windows(conn, dev, assessed_ms, windows)
            conn.execute(
                "INSERT INTO detection_state (device, processed_until_ms, state) "
                "VALUES (?, ?, ?) ON CONFLICT (device) DO UPDATE SET "
                "processed_until_ms = excluded.processed_until_ms, state = excluded.state",
                (dev, processed_until_ms, json.dumps(dict(state), sort_keys=True)),
            )
