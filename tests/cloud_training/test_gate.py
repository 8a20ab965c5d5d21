"""Champion / challenger gate: non-inferiority per type, NaN labels and faults ignored."""

from __future__ import annotations

import doctest
import math

import numpy as np

from cloud_training import gate
from cloud_training.gate import FPR_MARGIN, RECALL_MARGIN, TypeScore, gate_decide, gate_scores
from wearable.contracts.anomalies import ANOMALY_TYPES


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


def test_a_type_without_positives_is_judged_on_false_positives_only() -> None:
    old = _scores(math.nan, 0.01, positives=0)
    assert gate_decide(_scores(math.nan, 0.01, positives=0), old).passed


def test_docstring_examples() -> None:
    assert doctest.testmod(gate).failed == 0
