"""Alerts and their clinicians' verdicts: ``alerts`` and ``verdict_transitions``.

An alert protects its evidence records from retention when it opens; alert rows are
never deleted (``docs/alerts.md``). The review rules (which action may follow which
verdict) are :func:`gateway.store.review.review_next_status`; this repository applies
them under the write lock and keeps every accepted action.
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass

from gateway.store.database import Database, row_close
from gateway.store.devices import Devices
from gateway.store.errors import StoreError
from gateway.store.records import RecordLog, first_seq_at, max_seq
from gateway.store.review import ACTION_OF_STATUS, VerdictTransition, review_next_status

__all__ = ["ALERT_STATUSES", "EVIDENCE_MARGIN_MS", "AlertRow", "Alerts"]

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


_ALERT_COLUMNS = (
    "a.id, d.id, a.type, a.severity, a.opened_ms, a.closed_ms, a.evidence_start_ms, "
    "a.evidence_end_ms, a.peak_score, a.rule, a.status, a.status_changed_ms, a.note, "
    "a.model_version, (SELECT count(*) FROM verdict_transitions AS v WHERE v.alert = a.id), "
    "a.rate_bpm"
)


class Alerts:
    """The ``alerts`` table and its review history (``verdict_transitions``)."""

    def __init__(self, db: Database, devices: Devices, records: RecordLog) -> None:
        """Use ``db``'s connection, ``devices``' keys and ``records`` (to protect evidence)."""
        self._db = db
        self._devices = devices
        self._records = records

    def add(
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
        self._records.flush()  # the evidence may still be in the inbox
        with self._db.write() as conn:
            dev = self._devices.ensure(conn, device, None)
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
                start = first_seq_at(conn, key, lo_ms)
                end = first_seq_at(conn, key, hi_ms + 1)
                if start is not None and (end is None or start < end):
                    if end is None:
                        end = max_seq(conn, key) + 1
                    conn.execute(
                        "INSERT OR IGNORE INTO protected "
                        "(device, stream, start_seq, end_seq, reason) VALUES (?, ?, ?, ?, ?)",
                        (*key, start, end, f"alert {alert_id}"),
                    )
        return alert_id

    def close(self, alert_id: int, closed_ms: int) -> None:
        """Mark the alert's condition as over (its clinician status is unchanged)."""
        with self._db.write() as conn:
            if not row_close(conn, "alerts", alert_id, closed_ms):
                raise StoreError(f"no alert with id {alert_id}")

    def get(self, alert_id: int) -> AlertRow:
        """One alert by id (raises :class:`StoreError` if there is none)."""
        row = (
            self._db.connection()
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

    def list(self, device: str | None = None, status: str | None = None) -> builtins.list[AlertRow]:
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
        rows = self._db.connection().execute(sql + " ORDER BY a.opened_ms, a.id", params)
        return [AlertRow(*row) for row in rows]

    def review(
        self, alert_id: int, action: str, note: str | None = None, now_ms: int | None = None
    ) -> AlertRow:
        """Apply one review action (see :data:`ACTIONS`) and record it; return the alert.

        ``note`` (if given) becomes the alert's note and is kept with the transition.
        The status only changes as :func:`review_next_status` allows; the rules are
        checked under the write lock, so two reviewers cannot both change a verdict.

        Raises
        ------
        ReviewRefused
            The action would change a verdict without a reopen (see the module docs).
        StoreError
            No alert has that id, or the action is unknown.
        """
        now = int(time.time() * 1000) if now_ms is None else now_ms
        with self._db.write() as conn:
            row = conn.execute("SELECT status FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            if row is None:
                raise StoreError(f"no alert with id {alert_id}: see `wearable gateway alerts list`")
            current = str(row[0])
            status = review_next_status(alert_id, current, action, note)
            if status != current:
                conn.execute(
                    "UPDATE alerts SET status = ?, status_changed_ms = ? WHERE id = ?",
                    (status, now, alert_id),
                )
            if note is not None:
                conn.execute("UPDATE alerts SET note = ? WHERE id = ?", (note, alert_id))
            conn.execute(
                "INSERT INTO verdict_transitions "
                "(alert, at_ms, action, from_status, to_status, note) VALUES (?, ?, ?, ?, ?, ?)",
                (alert_id, now, action, current, status, note or ""),
            )
        return self.get(alert_id)

    def set_status(
        self, alert_id: int, status: str, note: str | None = None, now_ms: int | None = None
    ) -> AlertRow:
        """Ask for a status (``acknowledged``, ``confirmed``, ``dismissed``, ``open``).

        The status-based form of :meth:`review` (``open`` means reopen), under the
        same rules: acknowledging keeps a verdict, and changing one needs a reopen first.
        """
        action = ACTION_OF_STATUS.get(status)
        if action is None:
            statuses = ", ".join(ACTION_OF_STATUS)
            raise StoreError(f"unknown alert status {status!r}: use one of {statuses}")
        return self.review(alert_id, action, note, now_ms)

    def history(self, alert_id: int) -> builtins.list[VerdictTransition]:
        """Every recorded review action on one alert, oldest first.

        Raises :class:`StoreError` if no alert has that id.
        """
        conn = self._db.connection()
        if conn.execute("SELECT 1 FROM alerts WHERE id = ?", (alert_id,)).fetchone() is None:
            raise StoreError(f"no alert with id {alert_id}: see `wearable gateway alerts list`")
        rows = conn.execute(
            "SELECT id, alert, at_ms, action, from_status, to_status, note "
            "FROM verdict_transitions WHERE alert = ? ORDER BY id",
            (alert_id,),
        )
        return [
            VerdictTransition(
                int(i), int(a), int(t), str(act), f if f is None else str(f), str(to), str(n)
            )
            for i, a, t, act, f, to, n in rows
        ]

    def unsynced(self) -> builtins.list[tuple[int, str, str | None]]:
        """``(alert id, device, synced_state)`` of alerts whose state changed since queued.

        An alert's state is ``"<status>:<open|closed>"``; see
        :func:`gateway.sync.aggregates.alert_state`.
        """
        rows = self._db.connection().execute(
            "SELECT a.id, d.id, a.synced_state, a.status, a.closed_ms FROM alerts AS a "
            "JOIN devices AS d ON d.key = a.device ORDER BY a.id"
        )
        out = []
        for alert_id, device, synced, status, closed in rows:
            state = f"{status}:{'open' if closed is None else 'closed'}"
            if synced != state:
                out.append((int(alert_id), str(device), None if synced is None else str(synced)))
        return out
