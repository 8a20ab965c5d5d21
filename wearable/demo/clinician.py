"""A simulated clinician who reviews the gateway's alerts against the ground truth.

In the field a clinician opens the patient page, looks at the evidence and confirms or
dismisses each alert; those verdicts travel with sync and become training labels. The
demo knows the ground truth, so its clinician is always right: an alert that matches a
real episode (the evaluation's matching rule, ``docs/evaluation.md``) is confirmed, any
other is dismissed. Verdicts go through the same call the notebooks use
(:func:`wearable.analysis.patient.alert_review`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.store.store import AlertRow, Store
from wearable.analysis.patient import alert_review
from wearable.evaluation.metrics import ScoredAlert, TruthEpisode, alert_outcomes

NOTE = "demo clinician: checked against the simulation's ground truth"


@dataclass(frozen=True)
class Review:
    """What the clinician decided in one round."""

    confirmed: int
    dismissed: int


def _scored(alert: AlertRow) -> ScoredAlert:
    return ScoredAlert(
        alert.device,
        alert.type,
        alert.opened_ms,
        alert.evidence_start_ms,
        alert.evidence_end_ms,
        alert.closed_ms,
    )


def clinician_review(store: Store, episodes: Sequence[TruthEpisode]) -> Review:
    """Confirm every unreviewed alert that matches an episode; dismiss the others.

    Alerts already confirmed or dismissed are left as they are; all alerts take part in
    the matching, so a second alert on one episode is a duplicate and is dismissed.
    """
    alerts = store.list_alerts()
    outcomes = alert_outcomes(episodes, [_scored(a) for a in alerts])
    confirmed = dismissed = 0
    for alert, outcome in zip(alerts, outcomes, strict=True):
        if alert.status in ("confirmed", "dismissed"):
            continue
        decision = "confirmed" if outcome == "true" else "dismissed"
        alert_review(store, alert.id, decision, NOTE)
        if decision == "confirmed":
            confirmed += 1
        else:
            dismissed += 1
    return Review(confirmed, dismissed)
