"""Clinicians' review of alerts: acknowledge, confirm, dismiss, reopen, and its history.

The rules of :class:`gateway.store.alerts.Alerts` (schema version 6; ``docs/alerts.md``).
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

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.store.errors import ReviewRefused, StoreError

__all__ = [
    "ACTIONS",
    "ACTION_OF_STATUS",
    "VERDICTS",
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
#: The action that asks for each status (the status-based API, ``Alerts.set_status``).
ACTION_OF_STATUS = {status: action for action, status in ACTIONS.items()}


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
