"""A simulated clinician who reviews the gateway's alerts against the ground truth.

In the field a clinician opens the patient page, looks at the evidence and confirms or
dismisses each alert; those verdicts travel with sync and become training labels. The
demo knows the ground truth, so its clinician is always right: an alert that matches a
real episode (the evaluation's matching rule, ``docs/evaluation.md``) is confirmed, any
other is dismissed. Verdicts go through the same call the notebooks use
(:func:`wearable.analysis.patient.alert_review`). The learning-curve experiment uses the
same clinician made fallible: a share of wrong verdicts and of alerts left unreviewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gateway.store import AlertRow, Store
from wearable.analysis.patient import alert_review
from wearable.evaluation.metrics import ScoredAlert, TruthEpisode, alert_outcomes

NOTE = "demo clinician: checked against the simulation's ground truth"


@dataclass(frozen=True)
class Review:
    """What the clinician decided in one round.

    ``wrong`` of the confirmed and dismissed verdicts contradict the ground truth (a
    fallible clinician); ``unreviewed`` alerts were left open.
    """

    confirmed: int
    dismissed: int
    wrong: int = 0
    unreviewed: int = 0


def _scored(alert: AlertRow) -> ScoredAlert:
    return ScoredAlert(
        alert.device,
        alert.type,
        alert.opened_ms,
        alert.evidence_start_ms,
        alert.evidence_end_ms,
        alert.closed_ms,
    )


def clinician_review(
    store: Store,
    episodes: Sequence[TruthEpisode],
    *,
    error_rate: float = 0.0,
    unreviewed: float = 0.0,
    rng: np.random.Generator | None = None,
    confirm_duplicates: bool = False,
    note: str = NOTE,
) -> Review:
    """Confirm every unreviewed alert that matches an episode; dismiss the others.

    Alerts already confirmed or dismissed are left as they are; all alerts take part in
    the matching, so a second alert on one episode is a duplicate and is dismissed.

    The demo's clinician is always right. A real one is not, and does not review
    everything: with ``rng``, each alert (in store order) is first left unreviewed with
    probability ``unreviewed``, and a reviewed one gets the wrong verdict with
    probability ``error_rate`` (the learning-curve experiment, ``docs/learning.md``).
    ``confirm_duplicates`` confirms a second alert on a real episode (the condition it
    names is there) instead of dismissing it as the demo does; a dismissal would label
    hours of a real episode negative for training.
    """
    if (error_rate > 0 or unreviewed > 0) and rng is None:
        raise ValueError("a fallible clinician needs an rng (seed it: runs must repeat)")
    alerts = store.alerts.list()
    outcomes = alert_outcomes(episodes, [_scored(a) for a in alerts])
    confirmed = dismissed = wrong = skipped = 0
    for alert, outcome in zip(alerts, outcomes, strict=True):
        if alert.status in ("confirmed", "dismissed"):
            continue
        # Both draws are made for every alert, so changing one rate does not reshuffle
        # which alerts the other one hits.
        skip, err = rng.random(2) if rng is not None else (1.0, 1.0)
        if skip < unreviewed:
            skipped += 1
            continue
        right = outcome == "true" or (confirm_duplicates and outcome == "duplicate")
        flipped = bool(err < error_rate)
        decision = "confirmed" if right != flipped else "dismissed"
        alert_review(store, alert.id, decision, note)
        wrong += int(flipped)
        if decision == "confirmed":
            confirmed += 1
        else:
            dismissed += 1
    return Review(confirmed, dismissed, wrong, skipped)
