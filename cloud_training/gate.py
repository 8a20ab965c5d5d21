"""Champion / challenger: publish a new model only if it is not worse than the serving one.

Both models are scored by the LiteRT interpreter (what gateways run) on the labelled
validation cohort in the bucket (``docs/formats/cohort.md``), each at its own calibrated
thresholds. The **gate metrics**, per anomaly type, on windows without a sensor fault:

* ``recall``: detected positive windows / positive windows;
* ``fpr``: windows flagged among negative windows (what becomes false alerts).

The challenger passes when, for every type, its recall is at least the champion's minus
:data:`RECALL_MARGIN` and its false-positive rate at most the champion's plus
:data:`FPR_MARGIN` (non-inferiority: noise on a finite cohort must not block every
release, a real regression must). A type without positives in the cohort is judged on
``fpr`` only. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wearable.contracts.anomalies import ANOMALY_TYPES

#: A challenger may lose this much window recall on a type and still be "not worse".
RECALL_MARGIN = 0.02
#: ... and flag this much more of the negative windows.
FPR_MARGIN = 0.002


@dataclass(frozen=True)
class TypeScore:
    """Gate metrics of one model on one anomaly type."""

    threshold: float
    positives: int
    negatives: int
    recall: float
    fpr: float


@dataclass(frozen=True)
class GateDecision:
    """The verdict with its reasons (one line per type that failed)."""

    passed: bool
    reasons: tuple[str, ...]
    challenger: dict[str, TypeScore]
    champion: dict[str, TypeScore] | None


def gate_scores(
    scores: npt.NDArray[np.float32],
    Y: npt.NDArray[np.float32],
    thresholds: npt.ArrayLike,
    fault: npt.NDArray[np.bool_] | None = None,
) -> dict[str, TypeScore]:
    """Per-type recall and false-positive rate at ``thresholds`` (NaN labels ignored).

    Examples
    --------
    >>> s = np.array([[0.9] * 6, [0.1] * 6], dtype=np.float32)
    >>> y = np.array([[1] * 6, [0] * 6], dtype=np.float32)
    >>> gate_scores(s, y, [0.5] * 6)["fall"].recall
    1.0
    """
    keep = np.ones(len(Y), dtype=bool) if fault is None else ~np.asarray(fault, dtype=bool)
    th = np.asarray(thresholds, dtype=np.float32)
    flagged = scores >= th
    out: dict[str, TypeScore] = {}
    for j, name in enumerate(ANOMALY_TYPES):
        pos = keep & (Y[:, j] == 1)
        neg = keep & (Y[:, j] == 0)
        out[name] = TypeScore(
            float(th[j]),
            int(pos.sum()),
            int(neg.sum()),
            float(flagged[pos, j].mean()) if pos.any() else math.nan,
            float(flagged[neg, j].mean()) if neg.any() else math.nan,
        )
    return out


def gate_decide(
    challenger: dict[str, TypeScore], champion: dict[str, TypeScore] | None
) -> GateDecision:
    """Apply the non-inferiority rule; no champion (first release) always passes."""
    if champion is None:
        return GateDecision(True, (), challenger, None)
    reasons = []
    for name in ANOMALY_TYPES:
        new, old = challenger[name], champion[name]
        if not math.isnan(old.recall) and new.recall < old.recall - RECALL_MARGIN:
            reasons.append(
                f"{name}: recall {new.recall:.3f} < serving {old.recall:.3f} - {RECALL_MARGIN}"
            )
        if not math.isnan(old.fpr) and new.fpr > old.fpr + FPR_MARGIN:
            reasons.append(
                f"{name}: false-positive rate {new.fpr:.4f} > serving {old.fpr:.4f} + {FPR_MARGIN}"
            )
    return GateDecision(not reasons, tuple(reasons), challenger, champion)
