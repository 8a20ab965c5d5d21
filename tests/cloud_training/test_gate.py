"""Champion / challenger gate: non-inferiority per type, NaN labels and faults ignored."""

from __future__ import annotations

import doctest
import math

import numpy as np

from cloud_training import gate
from cloud_training.gate import (
    FPR_MARGIN,
    RECALL_MARGIN,
    TypeScore,
    gate_decide,
    gate_scores,
    recall_at_fpr,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES


def _scores(recall: float, fpr: float, positives: int = 50) -> dict[str, TypeScore]:
    return {t: TypeScore(0.5, positives, 1000, recall, fpr) for t in ANOMALY_TYPES}


def test_metrics_ignore_unknown_labels_and_fault_windows() -> None:
    scores = np.array([[0.9] * 6, [0.9] * 6, [0.1] * 6, [0.9] * 6], dtype=np.float32)
    Y = np.array([[1] * 6, [np.nan] * 6, [0] * 6, [0] * 6], dtype=np.float32)
    fault = np.array([False, False, False, True])
    result = gate_scores(scores, Y, [0.5] * 6, fault)["af"]
    assert (result.positives, result.negatives, result.recall, result.fpr) == (1, 1, 1.0, 0.0)


def test_first_release_passes_without_a_champion() -> None:
    assert gate_decide(_scores(0.1, 0.5), None).passed


def test_within_the_margins_passes_beyond_them_fails_with_reasons() -> None:
    old = _scores(0.90, 0.010)
    assert gate_decide(_scores(0.90 - RECALL_MARGIN / 2, 0.010 + FPR_MARGIN / 2), old).passed
    worse_recall = _scores(0.85, 0.010)
    decision = gate_decide(worse_recall, old)
    assert not decision.passed and len(decision.reasons) == len(ANOMALY_TYPES)
    assert "recall 0.850 < serving 0.900" in decision.reasons[0]
    decision = gate_decide(_scores(0.95, 0.02), old)
    assert not decision.passed and "false-positive rate" in decision.reasons[0]


def test_one_missed_window_of_a_rare_type_is_within_the_margin_two_are_not() -> None:
    # The demo's desaturation: 32 positive windows, so recall moves in steps of 1/32.
    old = _scores(31 / 32, 0.001, positives=32)
    assert gate_decide(_scores(30 / 32, 0.001, positives=32), old).passed
    decision = gate_decide(_scores(29 / 32, 0.001, positives=32), old)
    assert not decision.passed and "recall 0.906 < serving 0.969 - 0.031" in decision.reasons[0]
    # With many positives the fixed margin rules: 1/32 of recall is then many windows.
    assert not gate_decide(_scores(30 / 32, 0.001, positives=3200), _scores(31 / 32, 0.001)).passed


def _all(value: float) -> dict[str, float]:
    return dict.fromkeys(ANOMALY_TYPES, value)


def test_more_false_positives_pass_only_when_they_buy_detection_within_the_budget() -> None:
    # The demo's case: recall 0.72 -> 0.98 for 0.0025 -> 0.0059 of negatives flagged.
    old = _scores(0.72, 0.0025)
    better = _scores(0.98, 0.0059)
    assert gate_decide(better, old, matched_recall=_all(0.90), fpr_budget=0.01).passed
    # Without a budget, the strict rule.
    assert not gate_decide(better, old).passed
    # Over the budget.
    decision = gate_decide(_scores(0.98, 0.013), old, matched_recall=_all(0.9), fpr_budget=0.01)
    assert not decision.passed and "over the 0.01 budget" in decision.reasons[0]
    assert gate_decide(_scores(0.98, 0.0115), old, matched_recall=_all(0.9), fpr_budget=0.01).passed
    # No better a detector at the champion's own rate: only the threshold moved.
    decision = gate_decide(better, old, matched_recall=_all(0.60), fpr_budget=0.01)
    assert not decision.passed and "at the serving rate it detects less" in decision.reasons[0]
    # More false positives for (almost) no more detection.
    decision = gate_decide(_scores(0.73, 0.0059), old, matched_recall=_all(0.72), fpr_budget=0.01)
    assert not decision.passed and "recall gain under" in decision.reasons[0]


def test_recall_at_a_false_positive_rate() -> None:
    rng = np.random.default_rng(0)
    pos = rng.uniform(0.3, 1.0, 200)
    neg = rng.uniform(0.0, 0.5, 1000)
    scores = np.repeat(np.concatenate([pos, neg])[:, None], 6, axis=1).astype(np.float32)
    Y = np.repeat(np.r_[np.ones(200), np.zeros(1000)][:, None], 6, axis=1).astype(np.float32)
    got = recall_at_fpr(scores, Y, _all(0.01))["af"]
    # The threshold leaves at most 10 of 1,000 negatives above it.
    bar = np.sort(neg)[::-1][10]
    assert got == float((pos > bar).mean())
    assert recall_at_fpr(scores, Y, _all(1.0))["af"] == 1.0
    assert recall_at_fpr(scores, Y, _all(0.0))["af"] == float((pos > neg.max()).mean())


def test_a_type_without_positives_is_judged_on_false_positives_only() -> None:
    old = _scores(math.nan, 0.01, positives=0)
    assert gate_decide(_scores(math.nan, 0.01, positives=0), old).passed


def test_docstring_examples() -> None:
    assert doctest.testmod(gate).failed == 0
