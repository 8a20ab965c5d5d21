"""Champion / challenger: publish a new model only if it is not worse than the serving one.

Both models are scored by the LiteRT interpreter (what gateways run) on the labelled
validation cohort in the bucket (``docs/formats/cohort.md``), each at its own calibrated
thresholds; the job passes the scores as gateways serve them
(``wearable_core.assessment.served``), so a score the detector would close flags nothing. The
**gate metrics**, per anomaly type, on windows without a sensor fault:

* ``recall``: detected positive windows / positive windows;
* ``fpr``: windows flagged among negative windows (what becomes false alerts).

The challenger passes when, for every type:

* its recall is at least the champion's minus the recall margin (:func:`recall_margin`:
  :data:`RECALL_MARGIN`, or one positive window's worth when the cohort has fewer than
  50 positives of the type), and
* its false-positive rate is at most the champion's plus :data:`FPR_MARGIN`, or else the
  higher rate buys detection: the rate stays within the job's budget (``fpr_budget``, the
  rate it calibrates thresholds to, plus :data:`FPR_MARGIN` for the same noise), the
  challenger is no worse a detector *at the
  champion's own false-positive rate* (its recall there, from a threshold set on the
  validation windows for this comparison only, at least the champion's minus the recall
  margin), and its recall gains at least :data:`RECALL_MARGIN`.

The margins make this a non-inferiority test: noise on a finite cohort must not block
every release, a real regression must. The second way to pass exists because a strict
"no more false positives" rule kept refusing models that clinicians would want: measured
in the demo, a challenger with tachycardia recall 0.976 against 0.722 was refused for a
false-positive rate of 0.0059 against 0.0025, well inside the 0.01 budget. A type
without positives in the cohort is judged on ``fpr`` only. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.anomalies import ANOMALY_TYPES

#: A challenger may lose this much window recall on a type and still be "not worse".
RECALL_MARGIN = 0.02
#: ... and flag this much more of the negative windows.
FPR_MARGIN = 0.002
#: Guards the recall-step arithmetic against float rounding (30/32 vs 31/32 - 1/32).
_EPS = 1e-9


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


def recall_at_fpr(
    scores: npt.NDArray[np.float32],
    Y: npt.NDArray[np.float32],
    fpr: dict[str, float],
    fault: npt.NDArray[np.bool_] | None = None,
) -> dict[str, float]:
    """Per type, the recall at the lowest threshold that flags at most ``fpr[type]`` of the
    negative windows (NaN without positives, negatives or a rate).

    Examples
    --------
    >>> s = np.array([[0.9] * 6, [0.6] * 6, [0.7] * 6, [0.1] * 6], dtype=np.float32)
    >>> y = np.array([[1] * 6, [1] * 6, [0] * 6, [0] * 6], dtype=np.float32)
    >>> recall_at_fpr(s, y, {"fall": 0.0})["fall"], recall_at_fpr(s, y, {"fall": 0.5})["fall"]
    (0.5, 1.0)
    """
    keep = np.ones(len(Y), dtype=bool) if fault is None else ~np.asarray(fault, dtype=bool)
    out: dict[str, float] = {}
    for j, name in enumerate(ANOMALY_TYPES):
        pos = scores[keep & (Y[:, j] == 1), j]
        neg = np.sort(scores[keep & (Y[:, j] == 0), j])[::-1]
        rate = fpr.get(name, math.nan)
        if not len(pos) or not len(neg) or math.isnan(rate):
            out[name] = math.nan
            continue
        allowed = int(np.floor(rate * len(neg) + 1e-9))  # negatives that may be flagged
        # Flag what scores above the first negative that must stay unflagged.
        bar = neg[allowed] if allowed < len(neg) else -np.inf
        out[name] = float((pos > bar).mean())
    return out


def recall_margin(positives: int) -> float:
    """The recall a challenger may lose on a type with ``positives`` positive windows.

    :data:`RECALL_MARGIN`, but never less than one window: with ``n`` positives recall
    moves in steps of ``1/n``, so a finer margin would refuse a model for missing a
    single window that the serving model caught (measured in the demo: desaturation has
    32 positive windows, and 0.938 against 0.969 was one window).

    Examples
    --------
    >>> recall_margin(500), recall_margin(32)
    (0.02, 0.03125)
    """
    return max(RECALL_MARGIN, 1.0 / positives) if positives > 0 else RECALL_MARGIN


def gate_decide(
    challenger: dict[str, TypeScore],
    champion: dict[str, TypeScore] | None,
    *,
    matched_recall: dict[str, float] | None = None,
    fpr_budget: float | None = None,
) -> GateDecision:
    """Apply the rule of the module docstring; no champion (first release) always passes.

    ``matched_recall`` is the challenger's recall at the champion's false-positive rate
    (:func:`recall_at_fpr`); without it and ``fpr_budget``, any false-positive rate above
    the champion's plus :data:`FPR_MARGIN` fails.
    """
    if champion is None:
        return GateDecision(True, (), challenger, None)
    reasons = []
    for name in ANOMALY_TYPES:
        new, old = challenger[name], champion[name]
        margin = recall_margin(new.positives)
        if not math.isnan(old.recall) and new.recall < old.recall - margin - _EPS:
            reasons.append(
                f"{name}: recall {new.recall:.3f} < serving {old.recall:.3f} - {margin:.3f}"
            )
        if math.isnan(old.fpr) or new.fpr <= old.fpr + FPR_MARGIN:
            continue
        why = _higher_fpr_refused(name, new, old, matched_recall, fpr_budget)
        if why:
            reasons.append(
                f"{name}: false-positive rate {new.fpr:.4f} > serving {old.fpr:.4f} + "
                f"{FPR_MARGIN}, {why}"
            )
    return GateDecision(not reasons, tuple(reasons), challenger, champion)


def _higher_fpr_refused(
    name: str,
    new: TypeScore,
    old: TypeScore,
    matched_recall: dict[str, float] | None,
    fpr_budget: float | None,
) -> str:
    """Why a higher false-positive rate is not bought by detection ("" when it is)."""
    if fpr_budget is None or matched_recall is None:
        return "and no budget to trade it for recall"
    if new.fpr > fpr_budget + FPR_MARGIN:
        return f"over the {fpr_budget} budget + {FPR_MARGIN}"
    if math.isnan(old.recall):
        return "and no positives to show a gain"
    matched = matched_recall.get(name, math.nan)
    margin = recall_margin(new.positives)
    if math.isnan(matched) or matched < old.recall - margin - _EPS:
        return (
            f"and at the serving rate it detects less (recall {matched:.3f} < "
            f"{old.recall:.3f} - {margin:.3f})"
        )
    if new.recall < old.recall + RECALL_MARGIN:
        return f"for a recall gain under {RECALL_MARGIN} ({new.recall:.3f} vs {old.recall:.3f})"
    return ""
