"""Champion / challenger gate: refused only on a regression the cohort shows beyond its
confidence intervals; NaN labels and faults ignored; fever counted per episode."""

from __future__ import annotations

import dataclasses
import doctest
import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud_training import gate
from cloud_training.gate import (
    FPR_MARGIN,
    RECALL_MARGIN,
    GateDecision,
    TypeScore,
    compare_delays,
    episode_delays,
    episodes_count,
    gate_decide,
    gate_intervals,
    gate_scores,
    newcombe_interval,
    recall_at_fpr,
    wilson_interval,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES

#: Large enough that the margins, not the noise, decide: the intervals of 0.0025 and
#: 0.0059 on 100,000 negatives are about 0.0003 wide.
NEGATIVES = 100_000


def _scores(
    recall: float, fpr: float, positives: int = 2000, negatives: int = NEGATIVES
) -> dict[str, TypeScore]:
    return {t: TypeScore(0.5, positives, negatives, recall, fpr) for t in ANOMALY_TYPES}


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
    within = gate_decide(_scores(0.90 - RECALL_MARGIN / 2, 0.010 + FPR_MARGIN / 2), old)
    assert within.passed
    # On 100,000 negatives 0.011 against 0.010 is beyond noise: the margin forgives it.
    assert within.notes[0].endswith(": a rise within the 0.002 margin")
    assert ": the drop is within noise;" in within.notes[0]
    worse_recall = _scores(0.85, 0.010)
    decision = gate_decide(worse_recall, old)
    assert not decision.passed and len(decision.reasons) == len(ANOMALY_TYPES)
    assert decision.reasons[0].startswith("refused: tachycardia recall 0.850 [")
    assert "vs serving 0.900 [" in decision.reasons[0]
    decision = gate_decide(_scores(0.95, 0.02), old)
    assert not decision.passed and "false-positive rate" in decision.reasons[0]


def test_one_missed_window_of_a_rare_type_is_noise_a_collapse_is_not() -> None:
    # The demo's desaturation: 32 positive windows, so recall moves in steps of 1/32 and
    # a 95 % interval is about 0.2 wide: two missed windows are noise there.
    old = _scores(31 / 32, 0.001, positives=32)
    assert gate_decide(_scores(30 / 32, 0.001, positives=32), old).passed
    assert gate_decide(_scores(29 / 32, 0.001, positives=32), old).passed
    decision = gate_decide(_scores(20 / 32, 0.001, positives=32), old)
    assert not decision.passed
    assert "recall 0.625 [0.453–0.771] vs serving 0.969 [0.843–0.994]" in decision.reasons[0]
    assert "on 32 positive windows" in decision.reasons[0]
    # With many positives the same two windows' worth of recall is a real regression.
    many = _scores(29 / 32, 0.001, positives=3200)
    assert not gate_decide(many, _scores(31 / 32, 0.001, positives=3200)).passed


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
    assert not decision.passed and "recall gain of" in decision.reasons[0]
    assert "not shown to exceed 0.02" in decision.reasons[0]


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


def test_intervals_widen_as_the_cohort_shrinks() -> None:
    widths = [np.subtract(*wilson_interval(n * 6 // 10, n)[::-1]) for n in (1000, 100, 10)]
    assert widths[0] < widths[1] < widths[2]
    # Newcombe's interval of a difference does the same, and covers the observed one.
    for n in (1000, 100, 10):
        lo, hi = newcombe_interval(n * 6 // 10, n, n * 7 // 10, n)
        assert lo < -0.1 < hi
    gaps = [
        np.subtract(*newcombe_interval(n * 6 // 10, n, n * 7 // 10, n)[::-1]) for n in (1000, 10)
    ]
    assert gaps[0] < gaps[1]
    # The same rates on a smaller cohort: a drop the large cohort refuses is noise.
    assert not gate_decide(_scores(0.80, 0.001, 1000), _scores(0.90, 0.001, 1000)).passed
    assert gate_decide(_scores(0.80, 0.001, 20), _scores(0.90, 0.001, 20)).passed


def test_noise_on_a_small_cohort_passes_with_a_note_a_clear_regression_is_refused() -> None:
    small = {"positives": 30, "negatives": 2000}
    old = _scores(30 / 30, 2 / 2000, **small)
    decision = gate_decide(_scores(27 / 30, 5 / 2000, **small), old)
    assert decision.passed and not decision.reasons
    assert len(decision.notes) == len(ANOMALY_TYPES)
    assert decision.notes[1] == (
        "bradycardia: recall 0.900 [0.744–0.965] vs serving 1.000 [0.886–1.000] on 30 "
        "positive windows: the drop is within noise; false-positive rate 0.0025 "
        "[0.0011–0.0058] vs serving 0.0010 [0.0003–0.0036]: the rise is within noise"
    )
    decision = gate_decide(_scores(12 / 30, 2 / 2000, **small), old)
    assert not decision.passed and len(decision.reasons) == len(ANOMALY_TYPES)
    assert decision.reasons[5] == (
        "refused: fall recall 0.400 [0.246–0.577] vs serving 1.000 [0.886–1.000] on 30 "
        "positive windows, a drop of [-0.754, -0.390]: more than noise and the 0.02 margin"
    )


def test_a_refused_false_positive_rate_says_which_budget_and_by_how_much() -> None:
    old = _scores(0.72, 0.0012)
    decision = gate_decide(_scores(0.98, 0.0141), old, matched_recall=_all(0.9), fpr_budget=0.01)
    assert decision.reasons[5] == (
        "refused: fall false-positive rate 0.0141 [0.0134–0.0148] vs serving 0.0012 "
        "[0.0010–0.0014], a rise of [+0.0122, +0.0137]: more than noise and the 0.002 "
        "margin, and over the 0.01 budget (+ 0.002) beyond noise"
    )


def test_the_same_data_gives_the_same_decision() -> None:
    cohort = _cohort(np.random.default_rng(7), 400)
    first, second = _decide(*cohort), _decide(*cohort)
    assert first == second
    assert first.reasons == second.reasons and first.notes == second.notes


Cohort = tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.bool_],
    npt.NDArray[np.int32],
    npt.NDArray[np.float64],
]


def _cohort(rng: np.random.Generator, n: int) -> Cohort:
    """Scores of two models on ``n`` windows of up to 4 people, with episodes (runs)."""
    device = np.sort(rng.integers(0, 4, n)).astype(np.int32)
    start_s = np.zeros(n)
    for d in np.unique(device):
        rows = device == d
        start_s[rows] = 60.0 * np.arange(rows.sum())
    # Labels as runs: flip state with probability 0.1 per window.
    Y = (np.cumsum(rng.random((n, 6)) < 0.1, axis=0) % 2).astype(np.float32)
    Y[rng.random((n, 6)) < 0.02] = np.nan
    fault = rng.random(n) < 0.05
    old = (0.6 * Y + 0.5 * rng.random((n, 6))).astype(np.float32)
    new = (0.6 * Y + 0.5 * rng.random((n, 6))).astype(np.float32)
    return new, old, Y, fault, device, start_s


def _decide(
    new: npt.NDArray[np.float32],
    old: npt.NDArray[np.float32],
    Y: npt.NDArray[np.float32],
    fault: npt.NDArray[np.bool_],
    device: npt.NDArray[np.int32],
    start_s: npt.NDArray[np.float64],
) -> GateDecision:
    """What the job does with the served scores of both models."""
    who = {"device": device, "start_s": start_s}
    challenger = gate_scores(new, Y, [0.55] * 6, fault, **who)
    champion = gate_scores(old, Y, [0.6] * 6, fault, **who)
    rates = {t: s.fpr for t, s in champion.items()}
    matched = recall_at_fpr(new, Y, rates, fault, **who)
    return gate_decide(challenger, champion, matched_recall=matched, fpr_budget=0.01)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 300))
def test_the_decision_does_not_depend_on_the_order_of_the_windows(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    cohort = _cohort(rng, n)
    order = rng.permutation(n)
    shuffled = tuple(a[order] for a in cohort)
    assert _decide(*cohort) == _decide(*shuffled)  # type: ignore[arg-type]


def test_episodes_are_runs_of_one_person_split_by_negatives_not_by_faults() -> None:
    positive = [1, 1, 0, 1, 1, 1, 1]
    flagged = [0, 0, 0, 0, 1, 0, 0]
    device = [0, 0, 0, 0, 0, 1, 1]
    assert episodes_count(positive, flagged, device, [0, 60, 120, 180, 240, 0, 60]) == (3, 1)
    # Order does not matter; a person boundary splits a run.
    assert episodes_count(
        positive[::-1], flagged[::-1], device[::-1], [60, 0, 240, 180, 120, 60, 0]
    ) == (3, 1)
    # A fault window inside a fever is left out by gate_scores and does not split it.
    Y = np.zeros((5, 6), dtype=np.float32)
    Y[:, 4] = [1, 1, 1, 0, 1]
    fault = np.array([False, True, False, False, False])
    fever = gate_scores(
        np.zeros((5, 6), dtype=np.float32),
        Y,
        [0.5] * 6,
        fault,
        device=[0] * 5,
        start_s=[0, 60, 120, 180, 240],
    )["fever"]
    assert (fever.positives, fever.episodes, fever.episodes_detected) == (3, 2, 0)


def test_fever_is_judged_per_episode_where_windows_mislead() -> None:
    # 6 people, one 4-hour fever each (240 windows) among 1,000 windows per person. The
    # serving model flags half of each fever's windows, the challenger a tenth of them
    # (from the same first window): per window a collapse, per episode the same 6 of 6
    # detected, as early.
    per, fever_len = 1000, 240
    n = 6 * per
    device = np.repeat(np.arange(6), per)
    start_s = np.tile(60.0 * np.arange(per), 6)
    Y = np.zeros((n, 6), dtype=np.float32)
    in_fever = np.tile(np.r_[np.zeros(300), np.ones(fever_len), np.zeros(per - 300 - fever_len)], 6)
    Y[:, 4] = in_fever
    position = np.tile(
        np.r_[np.zeros(300), np.arange(fever_len), np.zeros(per - 300 - fever_len)], 6
    )
    old = np.zeros((n, 6), dtype=np.float32)
    new = np.zeros((n, 6), dtype=np.float32)
    old[:, 4] = (in_fever == 1) & (position < fever_len // 2)
    new[:, 4] = (in_fever == 1) & (position < fever_len // 10)
    fault = np.zeros(n, dtype=bool)
    by_window = gate_decide(gate_scores(new, Y, [0.5] * 6), gate_scores(old, Y, [0.5] * 6))
    assert not by_window.passed and "refused: fever recall 0.100" in by_window.reasons[0]
    decision = _decide(new, old, Y, fault, device.astype(np.int32), start_s)
    assert decision.passed, decision.reasons
    fever = decision.challenger["fever"]
    assert fever.by_episode and (fever.episodes, fever.episodes_detected) == (6, 6)
    assert (
        "fever: recall 1.000 [0.610–1.000] vs serving 1.000 [0.610–1.000] on 6 positive episodes"
        in decision.notes[4]
    )
    report = gate_intervals(decision.challenger, decision.champion)["fever"]
    assert report["recall_by"] == "episode" and report["challenger"]["recall_n"] == 6
    assert report["challenger"]["recall_interval"] == [0.6097, 1.0]
    # The other types stay per window.
    assert gate_intervals(decision.challenger, decision.champion)["af"]["recall_by"] == "window"


def test_windows_of_one_episode_or_one_false_alarm_count_once() -> None:
    # The demo's AF: 480 positive windows in 12 episodes. Per independent window a drop
    # from 0.96 to 0.90 is a regression; on 12 episodes it is noise.
    old = TypeScore(0.5, 480, 10_000, 0.96, 0.0011)
    new = TypeScore(0.5, 480, 10_000, 0.90, 0.0026)
    refused = gate_decide(dict.fromkeys(ANOMALY_TYPES, new), dict.fromkeys(ANOMALY_TYPES, old))
    assert not refused.passed and "on 480 positive windows," in refused.reasons[0]
    old, new = (dataclasses.replace(s, episodes=12, false_alarms=11) for s in (old, new))
    assert new.recall_counts == (pytest.approx(10.8), 12.0)
    decision = gate_decide(dict.fromkeys(ANOMALY_TYPES, new), dict.fromkeys(ANOMALY_TYPES, old))
    assert decision.passed
    assert "on 480 positive windows in 12 episodes: the drop is within noise" in decision.notes[0]
    # 26 flagged windows in 2 runs are 2 false alarms: the rate's interval widens.
    bunched = dataclasses.replace(new, false_alarms=2)
    assert bunched.fpr_counts == (2, pytest.approx(10_000 * 2 / 26))
    low, high = wilson_interval(*bunched.fpr_counts)
    assert high - low > np.subtract(*wilson_interval(*new.fpr_counts)[::-1]) * 2
    # gate_scores counts the runs: two false alarms of 2 and 1 windows, one person.
    Y = np.zeros((6, 6), dtype=np.float32)
    scores = np.array([[0.9], [0.9], [0.1], [0.9], [0.1], [0.1]] * np.ones(6), dtype=np.float32)
    af = gate_scores(scores, Y, [0.5] * 6, device=[0] * 6, start_s=60.0 * np.arange(6))["af"]
    assert (af.flagged, af.false_alarms, af.fpr_counts) == (3, 2, (2, 4.0))


def _bradycardia_cohort(
    first_flag: list[int], length: int = 10
) -> tuple[
    npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.float64]
]:
    """One bradycardia episode of ``length`` windows per person after 20 negative windows;
    person ``i``'s model flags the episode from window ``first_flag[i]`` on (``>= length``:
    never). Returns scores, labels, device, start_s."""
    per = 20 + length + 20
    n = len(first_flag) * per
    Y = np.zeros((n, 6), dtype=np.float32)
    scores = np.zeros((n, 6), dtype=np.float32)
    for i, first in enumerate(first_flag):
        base = i * per + 20
        Y[base : base + length, 1] = 1
        scores[base + first : base + length, 1] = 0.9
    device = np.repeat(np.arange(len(first_flag)), per).astype(np.int32)
    start_s = np.tile(60.0 * np.arange(per), len(first_flag))
    return scores, Y, device, start_s


def test_episode_delays_are_seconds_to_the_first_flag_in_device_and_time_order() -> None:
    scores, Y, device, start_s = _bradycardia_cohort([0, 3, 12])
    order = np.random.default_rng(0).permutation(len(Y))
    delays = episode_delays(
        Y[order, 1] == 1, scores[order, 1] >= 0.5, device[order], start_s[order]
    )
    assert delays.tolist() == [0.0, 180.0, math.inf]
    assert episodes_count(Y[:, 1] == 1, scores[:, 1] >= 0.5, device, start_s) == (3, 2)


def test_a_challenger_that_detects_the_same_episodes_later_is_refused() -> None:
    # 10 bradycardia episodes; the serving model flags each from its first window, the
    # challenger from its fourth: per-window recall 1.0 -> 0.7, every episode still
    # detected. On 10 episodes that recall drop is within noise; the paired timing is not.
    fault = np.zeros(10 * 50, dtype=bool)
    old, Y, device, start_s = _bradycardia_cohort([0] * 10)
    new, _, _, _ = _bradycardia_cohort([3] * 10)
    decision = _decide(new, old, Y, fault, device, start_s)
    assert not decision.passed
    assert decision.reasons == (
        "refused: bradycardia first detected later in 10 and earlier in 0 of 10 episodes "
        "(sign test p = 0.00195; median time to first detection 180 s vs serving 0 s): "
        "later beyond chance (p < 0.05)",
    )
    brady = gate_intervals(decision.challenger, decision.champion)["bradycardia"]
    assert brady["first_detection"] == {
        "episodes": 10,
        "later": 10,
        "earlier": 0,
        "p_value": 0.002,
        "median_s": 180.0,
        "champion_median_s": 0.0,
    }
    # The same scores without the pairing: the recall interval on 10 episodes passes.
    unpaired = gate_decide(
        {t: dataclasses.replace(v, delays=()) for t, v in decision.challenger.items()},
        {t: dataclasses.replace(v, delays=()) for t, v in (decision.champion or {}).items()},
    )
    assert unpaired.passed, unpaired.reasons


def test_timing_that_moves_both_ways_is_noise_and_says_so() -> None:
    fault = np.zeros(10 * 50, dtype=bool)
    old, Y, device, start_s = _bradycardia_cohort([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    new, _, _, _ = _bradycardia_cohort([1, 0, 1, 0, 1, 0, 1, 0, 0, 2])
    decision = _decide(new, old, Y, fault, device, start_s)
    assert decision.passed, decision.reasons
    assert (
        "first detected later in 5 and earlier in 4 of 10 episodes (sign test p = 1; "
        "median time to first detection 30 s vs serving 30 s)" in decision.notes[1]
    )
    timing = compare_delays(decision.challenger["bradycardia"], decision.champion["bradycardia"])  # type: ignore[index]
    assert timing is not None and not timing.shown_later


def test_missing_an_episode_counts_as_later_than_any_detection() -> None:
    fault = np.zeros(8 * 50, dtype=bool)
    old, Y, device, start_s = _bradycardia_cohort([9] * 8)
    new, _, _, _ = _bradycardia_cohort([10] * 8)  # never flagged
    decision = _decide(new, old, Y, fault, device, start_s)
    assert any("later in 8 and earlier in 0 of 8" in r for r in decision.reasons)
    assert "never (most missed) vs serving 540 s" in " ".join(decision.reasons)
