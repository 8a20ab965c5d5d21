"""Clinicians' review of alerts: acknowledge, confirm, dismiss, reopen, and its history.

A mixin of :class:`gateway.store.Store` (schema version 6; ``docs/alerts.md``).
``confirmed`` and ``dismissed`` are *verdicts*: sync carries them to the cloud, where
they become training labels. A verdict therefore only changes on purpose:

* acknowledging a confirmed or dismissed alert records the acknowledgement and keeps
  the verdict (an acknowledgement says "seen", not "no longer true");
* confirming a dismissed alert, or dismissing a confirmed one, is refused with
  :class:`ReviewRefused`: the clinician reopens it first, with a note saying why;
* reopening withdraws the verdict and puts the alert back to ``open``, so it shows up
  again among the alerts waiting for review.

Every accepted action, repeats included, is kept in ``verdict_transitions`` with its
time, the status before and after, and its note, in the same transaction as the new
status: the history and the status can never disagree.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.store.errors import ReviewRefused, StoreError

if TYPE_CHECKING:
    from gateway.store.store import AlertRow

__all__ = [
    "ACTIONS",
    "VERDICTS",
    "ReviewMixin",
    "ReviewRefused",
    "VerdictTransition",
    "review_next_status",
]

#: Review actions and the status each one asks for.
ACTIONS: Mapping[str, str] = {
    "acknowledge": "acknowledged",
    "confirm": "confirmed",
    "dismiss": "dismissed",
    "reopen": "open",
}
#: The statuses that are training labels.
VERDICTS = frozenset({"confirmed", "dismissed"})
#: The action that asks for each status (the older status-based API, ``set_alert_status``).
_ACTION_OF_STATUS = {status: action for action, status in ACTIONS.items()}


@dataclass(frozen=True)
class VerdictTransition:
    """One accepted review action on an alert (a row of ``verdict_transitions``).

    ``from_status`` is ``None`` for the ``migrated`` row a store upgraded from schema
    version 5 holds: only the status the alert had then is known, not how it got there.
    """

    id: int
    alert: int
    at_ms: int
    action: str
    from_status: str | None
    to_status: str
    note: str


def review_next_status(alert_id: int, current: str, action: str, note: str | None) -> str:
    """The status ``action`` leaves an alert in that is ``current`` now.

    Raises :class:`ReviewRefused` when the action would change a verdict without a
    reopen, reopen an alert that has no verdict, or reopen without a note, and
    :class:`StoreError` for an unknown action.

    Examples
    --------
    >>> review_next_status(1, "confirmed", "acknowledge", None)
    'confirmed'
    >>> review_next_status(1, "confirmed", "reopen", "wrong patient")
    'open'
    """
    wanted = ACTIONS.get(action)
    if wanted is None:
        raise StoreError(f"unknown review action {action!r}: use one of {', '.join(ACTIONS)}")
    if action == "reopen":
        if current not in VERDICTS:
            raise ReviewRefused(
                f"alert {alert_id} is {current}: it has no verdict to reopen (reopen only "
                "withdraws a confirm or dismiss)"
            )
        if not (note or "").strip():
            raise ReviewRefused(
                f"reopening alert {alert_id} withdraws its {current} verdict, a training "
                "label: give a note saying why (--note on the command line)"
            )
        return wanted
    if current in VERDICTS:
        if wanted == "acknowledged" or wanted == current:
            # Seen again, or the same verdict again: the verdict stands.
            return current
        verb = "confirm" if current == "confirmed" else "dismiss"
        raise ReviewRefused(
            f"alert {alert_id} is already {current}; to {action} it instead, reopen it "
            f"first with a note saying why (`wearable gateway alerts reopen {alert_id} "
            f'--note "..."`), then {action} it. The {verb} verdict is kept until then.'
        )
    return wanted


class ReviewMixin:
    """Review methods of :class:`gateway.store.Store` (uses its connection helpers)."""

    # Provided by Store.
    def _connection(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def get_alert(self, alert_id: int) -> AlertRow:
        raise NotImplementedError

    def review_alert(
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
        with self._write() as conn:
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
        return self.get_alert(alert_id)

    def set_alert_status(
        self, alert_id: int, status: str, note: str | None = None, now_ms: int | None = None
    ) -> AlertRow:
        """Ask for a status (``acknowledged``, ``confirmed``, ``dismissed``, ``open``).

        The status-based form of :meth:`review_alert` (``open`` means reopen), under the
        same rules: acknowledging keeps a verdict, and changing one needs a reopen first.
        """
        action = _ACTION_OF_STATUS.get(status)
        if action is None:
            statuses = ", ".join(_ACTION_OF_STATUS)
            raise StoreError(f"unknown alert status {status!r}: use one of {statuses}")
        return self.review_alert(alert_id, action, note, now_ms)

    def alert_history(self, alert_id: int) -> list[VerdictTransition]:
        """Every recorded review action on one alert, oldest first.

        Raises :class:`StoreError` if no alert has that id.
        """
        conn = self._connection()
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
