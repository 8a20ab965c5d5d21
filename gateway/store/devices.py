"""Devices the store knows (``devices``) and the payloads it rejected (``rejections``).

Records refer to a device by a small integer key, so every repository turns addresses
into keys through :class:`Devices`, which caches them (reloaded with the other caches).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.store.database import Database
from gateway.store.errors import StoreError
from wearable_core.contracts.streams import Stream

__all__ = ["DEVICE_KINDS", "MAX_EVIDENCE_BYTES", "DeviceStatus", "Devices", "Rejection"]

#: Device kinds: ``sequenced`` watches number their own records (our record service);
#: ``standard`` devices have none, so the gateway assigns them
#: (:meth:`gateway.store.records.RecordLog.next_local_seq`).
DEVICE_KINDS = ("sequenced", "standard")
#: Rejected payloads keep at most this many bytes as evidence.
MAX_EVIDENCE_BYTES = 512


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


class Devices:
    """The ``devices`` and ``rejections`` tables, and the address ↔ key cache."""

    def __init__(self, db: Database) -> None:
        """Use ``db``'s connection; the key cache is loaded with the other caches."""
        self._db = db
        self._keys: dict[str, int] = {}
        self._addresses: dict[int, str] = {}
        db.on_reload(self._load)

    def _load(self, conn: sqlite3.Connection) -> None:
        self._keys = {str(a): int(k) for k, a in conn.execute("SELECT key, id FROM devices")}
        self._addresses = {k: a for a, k in self._keys.items()}

    # -- keys (for the other repositories) ----------------------------------------------

    def key(self, address: str) -> int | None:
        """The cached key of ``address``, ``None`` if unknown (no refresh: callers do it)."""
        return self._keys.get(address)

    def address(self, key: int) -> str | None:
        """The cached address of device ``key``."""
        return self._addresses.get(key)

    def ensure(self, conn: sqlite3.Connection, address: str, seen_ms: int | None) -> int:
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

    def where(
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

    # -- devices --------------------------------------------------------------------------

    def upsert(
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
        with self._db.write() as conn:
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

    def addresses(self) -> builtins.list[str]:
        """Addresses of every device the store knows, sorted."""
        self._db.refresh()
        return sorted(self._keys)

    def list(self) -> builtins.list[DeviceStatus]:
        """Every device with its counters, ordered by address."""
        self._db.refresh()
        conn = self._db.connection()
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

    # -- rejections -----------------------------------------------------------------------

    def count_rejection(self, device: str, reason: str, payload: bytes, now_ms: int) -> None:
        """Count one rejected payload of ``device`` under ``reason``; keep it as evidence."""
        if not reason:
            raise StoreError("a rejection needs a reason (e.g. the decoder's error kind)")
        evidence = bytes(payload[:MAX_EVIDENCE_BYTES]).hex()
        with self._db.write() as conn:
            dev = self.ensure(conn, device, now_ms)
            conn.execute(
                "INSERT INTO rejections (device, reason, count, first_ms, last_ms, "
                "last_payload_hex) VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (device, reason) DO "
                "UPDATE SET count = count + 1, last_ms = excluded.last_ms, "
                "last_payload_hex = excluded.last_payload_hex",
                (dev, reason, now_ms, now_ms, evidence),
            )

    def rejections(self, device: str | None = None) -> builtins.list[Rejection]:
        """Rejection counts by device and reason."""
        self._db.refresh()
        where, args = self.where(device, None, "r")
        if where is None:
            return []
        rows = self._db.connection().execute(
            "SELECT d.id, r.reason, r.count, r.first_ms, r.last_ms, r.last_payload_hex "
            "FROM rejections AS r JOIN devices AS d ON d.key = r.device"
            + where
            + " ORDER BY d.id, r.reason",
            args,
        )
        return [
            Rejection(str(d), str(r), int(c), int(f), int(la), str(h)) for d, r, c, f, la, h in rows
        ]
