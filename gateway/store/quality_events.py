"""Data-quality events (``data_quality_events``): sensor faults that suppressed alerts.

Never medical alerts: off-wrist, flat line or motion open one of these instead
(``docs/alerts.md``).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from gateway.store.database import Database, row_close
from gateway.store.devices import Devices
from gateway.store.errors import StoreError

__all__ = ["DataQualityRow", "QualityEvents"]


@dataclass(frozen=True)
class DataQualityRow:
    """One row of ``data_quality_events``."""

    id: int
    device: str
    fault: str
    opened_ms: int
    closed_ms: int | None


class QualityEvents:
    """The ``data_quality_events`` table."""

    def __init__(self, db: Database, devices: Devices) -> None:
        """Use ``db``'s connection and ``devices``' keys."""
        self._db = db
        self._devices = devices

    def add(self, device: str, fault: str, opened_ms: int) -> int:
        """Record the start of a sensor fault; return its id."""
        with self._db.write() as conn:
            dev = self._devices.ensure(conn, device, None)
            return int(
                conn.execute(
                    "INSERT INTO data_quality_events (device, fault, opened_ms) "
                    "VALUES (?, ?, ?) RETURNING id",
                    (dev, fault, opened_ms),
                ).fetchone()[0]
            )

    def close(self, event_id: int, closed_ms: int) -> None:
        """Record the end of a sensor fault."""
        with self._db.write() as conn:
            if not row_close(conn, "data_quality_events", event_id, closed_ms):
                raise StoreError(f"no data-quality event with id {event_id}")

    def list(self, device: str | None = None) -> builtins.list[DataQualityRow]:
        """Data-quality events, oldest first, optionally of one device."""
        sql = (
            "SELECT q.id, d.id, q.fault, q.opened_ms, q.closed_ms FROM data_quality_events AS q "
            "JOIN devices AS d ON d.key = q.device"
        )
        params: tuple[str, ...] = ()
        if device is not None:
            sql += " WHERE d.id = ?"
            params = (device,)
        rows = self._db.connection().execute(sql + " ORDER BY q.opened_ms, q.id", params)
        return [DataQualityRow(*row) for row in rows]
