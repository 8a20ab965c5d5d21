from __future__ import annotations

import dataclasses
import doctest
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wearable.evaluation import metrics
from wearable.evaluation.metrics import (
    DEFAULT_AFTER_MS,
    TARGETS,
    MatchTolerances,
    ScoredAlert,
    TruthEpisode,
    WindowDecision,
    evaluate,
    targets_met,
    targets_report,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES, AnomalyType

S = 1000  # ms per second: the cases below are written in seconds for readability.


def episode(kind: str, onset_s: float, end_s: float, device: str = "w1") -> TruthEpisode:
    return TruthEpisode(device, kind, int(onset_s * S), int(end_s * S), is_fault=False)


def fault(kind: str, onset_s: float, end_s: float, device: str = "w1") -> TruthEpisode:
    return TruthEpisode(device, kind, int(onset_s * S), int(end_s * S), is_fault=True)


def alert(
    kind: str, opened_s: float, device: str = "w1", evidence_s: float = 60, rule: str | None = None
) -> ScoredAlert:
    opened = int(opened_s * S)
    # The gateway opens an alert at the end of its evidence.
    return ScoredAlert(
        device, kind, opened, opened - int(evidence_s * S), opened, closed_ms=None, rule=rule
    )


def window(
    start_s: float, active: bool, device: str = "w1", evaluable: bool = True, length_s: float = 60
) -> WindowDecision:
    return WindowDecision(
        device, int(start_s * S), int((start_s + length_s) * S), active, evaluable
    )


# --- alert matching ---------------------------------------------------------------------


def test_perfect_detection() -> None:
    episodes = [episode(kind, 1000 * n, 1000 * n + 300) for n, kind in enumerate(ANOMALY_TYPES)]
    alerts = [alert(kind, 1000 * n + 45) for n, kind in enumerate(ANOMALY_TYPES)]
    result = evaluate(episodes, alerts, [], user_days=3.0)

    assert list(result["per_type"]) == list(ANOMALY_TYPES)
    for kind in ANOMALY_TYPES:
        assert result["per_type"][kind] == {
            "episodes": 1,
            "detected": 1,
            "borderline_episodes": 0,
            "borderline_detected": 0,
            "alerts": 1,
            "true_alerts": 1,
            "duplicate_alerts": 0,
            "false_alerts": 0,
            "recall": 1.0,
            "precision": 1.0,
            "false_alerts_per_user_day": 0.0,
            "median_latency_s": 45.0,
            "p95_latency_s": 45.0,
        }
    assert result["false_alerts"] == 0
    assert result["false_alerts_per_user_day"] == 0.0
    assert result["fault_medical_alerts"] == 0
    assert result["missed_episode_details"] == []
    assert result["user_days"] == 3.0


def test_a_missed_episode() -> None:
    episodes = [episode("af", 0, 600), episode("af", 10_000, 10_600)]
    result = evaluate(episodes, [alert("af", 120)], [], user_days=1.0)

    af = result["per_type"]["af"]
    assert (af["episodes"], af["detected"], af["recall"]) == (2, 1, 0.5)
    assert (af["alerts"], af["true_alerts"], af["precision"]) == (1, 1, 1.0)
    assert af["median_latency_s"] == 120.0
    assert result["missed_episode_details"] == [
        {"device": "w1", "kind": "af", "onset_ms": 10_000_000, "end_ms": 10_600_000}
    ]


def test_a_false_alert() -> None:
    episodes = [episode("bradycardia", 0, 300)]
    alerts = [alert("bradycardia", 30), alert("bradycardia", 5000)]
    result = evaluate(episodes, alerts, [], user_days=4.0)

    brady = result["per_type"]["bradycardia"]
    assert (brady["alerts"], brady["true_alerts"], brady["false_alerts"]) == (2, 1, 1)
    assert brady["precision"] == 0.5
    assert brady["recall"] == 1.0
    assert brady["false_alerts_per_user_day"] == 0.25
    assert result["false_alerts"] == 1
    assert result["false_alerts_per_user_day"] == 0.25


def test_a_duplicate_after_cooldown_is_true_but_no_new_detection() -> None:
    episodes = [episode("tachycardia", 0, 1800)]
    # Opened at 60 s, closed, re-opened at 1000 s after the cooldown: same episode.
    alerts = [alert("tachycardia", 1000), alert("tachycardia", 60)]
    result = evaluate(episodes, alerts, [], user_days=1.0)

    tachy = result["per_type"]["tachycardia"]
    assert tachy["episodes"] == 1
    assert tachy["detected"] == 1
    assert tachy["alerts"] == 2
    assert tachy["true_alerts"] == 2
    assert tachy["duplicate_alerts"] == 1
    assert tachy["false_alerts"] == 0
    assert tachy["precision"] == 1.0
    # Latency is from the first alert, whatever the input order.
    assert tachy["median_latency_s"] == 60.0


def test_alerts_on_the_wrong_device_or_type_do_not_match() -> None:
    episodes = [episode("desaturation", 0, 300, device="w1")]
    alerts = [alert("desaturation", 60, device="w2"), alert("tachycardia", 60, device="w1")]
    result = evaluate(episodes, alerts, [], user_days=2.0)

    desat = result["per_type"]["desaturation"]
    assert (desat["detected"], desat["recall"]) == (0, 0.0)
    assert (desat["alerts"], desat["false_alerts"], desat["precision"]) == (1, 1, 0.0)
    assert desat["median_latency_s"] is None
    tachy = result["per_type"]["tachycardia"]
    assert (tachy["episodes"], tachy["alerts"], tachy["false_alerts"]) == (0, 1, 1)
    assert tachy["recall"] is None
    assert result["false_alerts"] == 2
    assert result["false_alerts_per_user_day"] == 1.0


@pytest.mark.parametrize(
    ("kind", "opened_s", "matches"),
    [
        ("fall", 1000 - 60, True),  # onset - before: the straddling window
        ("fall", 1000 - 60.001, False),
        ("fall", 1100 + 120, True),  # end + after for acute types
        ("fall", 1100 + 120.001, False),
        ("af", 1100 + 300, True),
        ("af", 1100 + 300.001, False),
        ("fever", 1100 + 3600, True),
        ("fever", 1100 + 3600.001, False),
    ],
)
def test_tolerance_bounds_are_inclusive(kind: str, opened_s: float, matches: bool) -> None:
    result = evaluate([episode(kind, 1000, 1100)], [alert(kind, opened_s)], [], user_days=1.0)
    assert result["per_type"][kind]["detected"] == int(matches)
    assert result["per_type"][kind]["false_alerts"] == int(not matches)


def test_latency_may_be_negative() -> None:
    result = evaluate([episode("fall", 1000, 1001)], [alert("fall", 970)], [], user_days=1.0)
    assert result["per_type"]["fall"]["median_latency_s"] == -30.0


def test_latency_median_and_p95() -> None:
    latencies = [10, 20, 30, 40, 100]
    episodes = [episode("fall", 10_000 * n, 10_000 * n + 1) for n in range(5)]
    alerts = [alert("fall", 10_000 * n + lat) for n, lat in enumerate(latencies)]
    fall = evaluate(episodes, alerts, [], user_days=1.0)["per_type"]["fall"]

    assert fall["median_latency_s"] == 30.0
    # Linear interpolation: rank 0.95 * 4 = 3.8, between 40 and 100.
    assert fall["p95_latency_s"] == pytest.approx(88.0)


def test_an_alert_goes_to_the_earliest_unmatched_episode() -> None:
    # Two overlapping AF labels; the first alert takes the earlier, the second the later.
    episodes = [episode("af", 200, 900), episode("af", 100, 800)]
    alerts = [alert("af", 300), alert("af", 400), alert("af", 500)]
    result = evaluate(episodes, alerts, [], user_days=1.0)

    af = result["per_type"]["af"]
    assert (af["detected"], af["true_alerts"], af["duplicate_alerts"]) == (2, 3, 1)
    # Latencies 300 - 100 and 400 - 200.
    assert af["median_latency_s"] == 200.0


def test_input_order_of_alerts_does_not_matter() -> None:
    episodes = [episode("af", 100, 800), episode("af", 200, 900), episode("fever", 0, 7200)]
    alerts = [alert("af", s) for s in (300, 400, 500, 5000)] + [alert("fever", 2000)]
    expected = evaluate(episodes, alerts, [], user_days=1.0)
    shuffled = list(alerts)
    random.Random(7).shuffle(shuffled)
    assert evaluate(episodes, shuffled, [], user_days=1.0) == expected


def test_custom_tolerances_change_matching_and_are_reported() -> None:
    episodes = [episode("af", 0, 600)]
    alerts = [alert("af", 1200)]  # 600 s after the end: beyond the default 300 s
    assert evaluate(episodes, alerts, [], user_days=1.0)["per_type"]["af"]["detected"] == 0

    tolerances = MatchTolerances(after_ms={"af": 600_000})
    result = evaluate(episodes, alerts, [], user_days=1.0, tolerances=tolerances)
    assert result["per_type"]["af"]["detected"] == 1
    assert result["matching"]["after_ms"] == {**DEFAULT_AFTER_MS, "af": 600_000}
    assert result["matching"]["before_ms"] == 60_000
    assert result["matching"]["af_positive_fraction"] == 0.5


def test_default_tolerances() -> None:
    assert dict(MatchTolerances().after_ms) == {
        "tachycardia": 120_000,
        "bradycardia": 120_000,
        "af": 300_000,
        "desaturation": 120_000,
        "fever": 3_600_000,
        "fall": 120_000,
    }
    assert MatchTolerances().before_ms == 60_000
    assert hash(MatchTolerances()) == hash(MatchTolerances())


def test_anomaly_type_members_are_accepted() -> None:
    episodes = [TruthEpisode("w1", AnomalyType.AF, 0, 600_000, is_fault=False)]
    alerts = [ScoredAlert("w1", AnomalyType.AF, 60_000, 0, 60_000, closed_ms=None)]
    result = evaluate(episodes, alerts, [], user_days=1.0)
    assert result["per_type"]["af"]["detected"] == 1
    assert type(episodes[0].kind) is str


# --- faults -----------------------------------------------------------------------------


def test_fault_overlapping_false_alerts_are_counted() -> None:
    episodes = [
        episode("tachycardia", 0, 300),
        fault("off_wrist", 1000, 1500),
        fault("motion_artifact", 1100, 1200),
        fault("flat_line", 3000, 3100, device="w2"),
    ]
    alerts = [
        alert("tachycardia", 60, evidence_s=60),  # true alert: not counted even if faulty
        alert("desaturation", 1150, evidence_s=60),  # overlaps both faults on w1
        alert("af", 1000, evidence_s=60),  # evidence [940, 1000] only touches: no overlap
        alert("fall", 1560, evidence_s=60),  # evidence [1500, 1560] only touches: no overlap
        alert("fever", 3050, evidence_s=60),  # w1; the flat line is on w2
        alert("bradycardia", 3050, device="w2", evidence_s=60, rule="hr<=40bpm"),
    ]
    result = evaluate(episodes, alerts, [], user_days=1.0)

    assert result["false_alerts"] == 5
    assert result["fault_medical_alerts"] == 2
    assert result["fault_medical_alert_details"] == [
        {
            "device": "w1",
            "type": "desaturation",
            "opened_ms": 1_150_000,
            "fault_kinds": ["motion_artifact", "off_wrist"],
            "rule": None,  # the model opened it
        },
        {
            "device": "w2",
            "type": "bradycardia",
            "opened_ms": 3_050_000,
            "fault_kinds": ["flat_line"],
            "rule": "hr<=40bpm",
        },
    ]
    assert [(a["type"], a["rule"]) for a in result["false_alert_details"]][-1] == (
        "bradycardia",
        "hr<=40bpm",
    )


def test_faults_are_not_medical_episodes() -> None:
    episodes = [fault("off_wrist", 0, 600)]
    result = evaluate(episodes, [], [], user_days=1.0)
    assert all(entry["episodes"] == 0 for entry in result["per_type"].values())


# --- AF windows -------------------------------------------------------------------------


def test_af_window_sensitivity_and_specificity() -> None:
    episodes = [
        episode("af", 100, 250),
        # w2: an episode covering exactly half of its window counts as positive.
        episode("af", 60, 1000, device="w2"),
        # Another type's episode says nothing about AF windows.
        episode("tachycardia", 0, 60),
    ]
    windows = [
        window(0, False),  # negative, correctly inactive: TN
        window(60, True),  # overlap 20 s of 60: partial, excluded
        window(120, True),  # fully covered, active: TP
        window(180, False),  # fully covered, inactive: FN
        window(240, True),  # overlap 10 s: partial, excluded
        window(300, True),  # negative, active: FP
        window(360, True, evaluable=False),  # suppressed: excluded
        window(120, True, evaluable=False),  # covered but suppressed: excluded
        window(30, True, device="w2"),  # overlap 30 s of 60 (50 %): TP
        window(0, False, device="w3"),  # no AF episodes on w3: TN
    ]
    af = evaluate(episodes, [], windows, user_days=1.0)["af_window"]

    assert af == {
        "sensitivity": 2 / 3,
        "specificity": 2 / 3,
        "positive_windows": 3,
        "negative_windows": 3,
        "excluded_windows": 4,
        "true_positive_windows": 2,
        "true_negative_windows": 2,
        "excluded_partial_windows": 2,
        "excluded_not_evaluable_windows": 2,
    }


def test_overlapping_af_labels_are_not_counted_twice() -> None:
    # Both cover the same 20 s of the window: 20/60 covered, not 40/60.
    episodes = [episode("af", 0, 20), episode("af", 0, 20), episode("af", 5, 15)]
    af = evaluate(episodes, [], [window(0, True)], user_days=1.0)["af_window"]
    assert (af["positive_windows"], af["negative_windows"], af["excluded_windows"]) == (0, 0, 1)


def test_af_positive_fraction_is_configurable() -> None:
    episodes = [episode("af", 0, 20)]
    tolerances = MatchTolerances(af_positive_fraction=0.25)
    af = evaluate(episodes, [], [window(0, True)], user_days=1.0, tolerances=tolerances)
    assert af["af_window"]["sensitivity"] == 1.0


def _reference_overlap(start: int, end: int, intervals: list[tuple[int, int]]) -> int:
    covered = 0
    cursor = start
    for onset, stop in sorted(intervals):
        lo, hi = max(onset, cursor), min(stop, end)
        if hi > lo:
            covered += hi - lo
            cursor = hi
    return covered


@settings(max_examples=200, deadline=None)
@given(
    labels=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 20), st.sampled_from(["a", "b"])),
        max_size=6,
    ),
    windows_=st.lists(
        st.tuples(
            st.integers(0, 60), st.integers(1, 20), st.booleans(), st.sampled_from(["a", "b"])
        ),
        max_size=30,
    ),
)
def test_af_window_counts_match_a_brute_force_reference(
    labels: list[tuple[int, int, str]], windows_: list[tuple[int, int, bool, str]]
) -> None:
    episodes = [TruthEpisode(d, "af", on, on + length, False) for on, length, d in labels]
    decisions = [WindowDecision(d, s, s + n, active, True) for s, n, active, d in windows_]
    af = evaluate(episodes, [], decisions, user_days=1.0)["af_window"]

    positive = negative = 0
    for w in decisions:
        intervals = [(e.onset_ms, e.end_ms) for e in episodes if e.device == w.device]
        overlap = _reference_overlap(w.start_ms, w.end_ms, intervals)
        positive += 2 * overlap >= w.end_ms - w.start_ms
        negative += overlap == 0
    assert (af["positive_windows"], af["negative_windows"]) == (positive, negative)
    assert af["excluded_windows"] == len(decisions) - positive - negative


@settings(max_examples=200, deadline=None)
@given(
    labels=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 600)), max_size=5),
    opened=st.lists(st.integers(0, 6000), max_size=8),
)
def test_counts_are_consistent(labels: list[tuple[int, int]], opened: list[int]) -> None:
    episodes = [episode("af", on, on + length) for on, length in labels]
    result = evaluate(episodes, [alert("af", t) for t in opened], [], user_days=2.0)
    af = result["per_type"]["af"]
    assert af["detected"] <= af["episodes"]
    assert af["true_alerts"] == af["detected"] + af["duplicate_alerts"]
    assert af["true_alerts"] + af["false_alerts"] == af["alerts"] == len(opened)
    assert len(result["missed_episode_details"]) == af["episodes"] - af["detected"]


# --- empty inputs, output format, validation ----------------------------------------------


def test_empty_inputs() -> None:
    result = evaluate([], [], [], user_days=1.5)
    for kind in ANOMALY_TYPES:
        assert result["per_type"][kind] == {
            "episodes": 0,
            "detected": 0,
            "borderline_episodes": 0,
            "borderline_detected": 0,
            "alerts": 0,
            "true_alerts": 0,
            "duplicate_alerts": 0,
            "false_alerts": 0,
            "recall": None,
            "precision": None,
            "false_alerts_per_user_day": 0.0,
            "median_latency_s": None,
            "p95_latency_s": None,
        }
    assert result["af_window"]["sensitivity"] is None
    assert result["af_window"]["specificity"] is None
    assert result["af_window"]["positive_windows"] == 0
    assert result["fault_medical_alerts"] == 0
    assert result["false_alerts"] == 0
    assert result["user_days"] == 1.5


def _busy_result() -> dict[str, Any]:
    episodes = [
        episode("af", 100, 400),
        episode("fall", 1000, 1001),
        episode("fever", 0, 5000, device="w2"),
        fault("off_wrist", 2000, 2600),
    ]
    alerts = [alert("af", 160), alert("af", 700), alert("fall", 2300), alert("fever", 1900, "w2")]
    windows = [window(s, s >= 120, evaluable=s != 240) for s in range(0, 600, 60)]
    return evaluate(episodes, alerts, windows, user_days=0.5)


def test_output_is_json_serialisable() -> None:
    result = _busy_result()
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result
    # The report says how it matched, so a reader need not know this module's defaults.
    assert set(result["matching"]) >= {"before_ms", "after_ms", "af_positive_fraction"}
    for key in ("per_type", "af_window", "fault_medical_alerts", "false_alerts"):
        assert key in result


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="user_days"):
        evaluate([], [], [], user_days=0.0)
    with pytest.raises(ValueError, match="user_days"):
        evaluate([], [], [], user_days=float("nan"))
    with pytest.raises(ValueError, match="alert type"):
        ScoredAlert("w1", "off_wrist", 0, 0, 0, closed_ms=None)
    with pytest.raises(ValueError, match="medical episode kind"):
        TruthEpisode("w1", "off_wrist", 0, 1, is_fault=False)
    with pytest.raises(ValueError, match="ends before"):
        TruthEpisode("w1", "af", 10, 5, is_fault=False)
    with pytest.raises(ValueError, match="empty"):
        WindowDecision("w1", 10, 10, af_active=False, evaluable=True)
    with pytest.raises(ValueError, match="unknown types"):
        MatchTolerances(after_ms={"afib": 1})
    with pytest.raises(ValueError, match="negative"):
        MatchTolerances(before_ms=-1)
    with pytest.raises(ValueError, match="af_positive_fraction"):
        MatchTolerances(af_positive_fraction=0.0)


def test_tolerances_do_not_alias_the_callers_mapping() -> None:
    given_ = {"af": 1}
    tolerances = MatchTolerances(after_ms=given_)
    given_["af"] = 2
    assert tolerances.after_ms["af"] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        tolerances.before_ms = 0  # type: ignore[misc]


# --- targets ------------------------------------------------------------------------------


def _passing_result() -> dict[str, Any]:
    latency_s = {"af": 170, "fever": 1700}
    episodes = [episode(kind, 10_000 * n, 10_000 * n + 600) for n, kind in enumerate(ANOMALY_TYPES)]
    alerts = [
        alert(kind, 10_000 * n + latency_s.get(kind, 55)) for n, kind in enumerate(ANOMALY_TYPES)
    ]
    # One false alert over 10 user-days: 0.1 per day, the target's bound.
    alerts.append(alert("fall", 90_000))
    return evaluate(episodes, alerts, [], user_days=10.0)


def test_targets_met_on_a_passing_result() -> None:
    met = targets_met(_passing_result())
    assert list(met) == list(TARGETS)
    assert all(met.values()), met


def test_targets_met_on_a_failing_result() -> None:
    episodes = [
        episode("af", 0, 600),
        episode("af", 10_000, 10_600),  # missed: AF recall 0.5
        episode("fever", 20_000, 25_000),
        episode("tachycardia", 30_000, 30_600),
        fault("off_wrist", 40_000, 41_000),
    ]
    alerts = [
        alert("af", 120),
        alert("fever", 20_000 + 2000),  # 2000 s > 1800 s
        alert("tachycardia", 30_000 + 61),  # 61 s > 60 s
        alert("desaturation", 40_500),  # false, during the fault
    ]
    met = targets_met(evaluate(episodes, alerts, [], user_days=1.0))

    assert met["recall.af"] is False
    assert met["recall.fever"] is True
    assert met["latency.af"] is True
    assert met["latency.fever"] is False
    assert met["latency.tachycardia"] is False
    assert met["false_alerts_per_user_day"] is False  # 1 per day
    assert met["fault_medical_alerts"] is False
    # Undefined metrics (no bradycardia episodes) are not shown to be met.
    assert met["recall.bradycardia"] is False
    assert met["latency.bradycardia"] is False


def test_a_latency_spread_beyond_twice_the_median_is_not_met() -> None:
    episodes = [episode("tachycardia", 10_000 * n, 10_000 * n + 900) for n in range(10)]
    # Nine alerts 30 s after onset, one 300 s after: p95 is far beyond twice the median.
    alerts = [alert("tachycardia", 10_000 * n + (300 if n == 9 else 30)) for n in range(10)]
    result = evaluate(episodes, alerts, [], user_days=10.0)
    met = targets_met(result)
    assert met["latency.tachycardia"] is True
    assert met["latency_spread.tachycardia"] is False
    line = next(x for x in targets_report(result) if "latency_spread.tachycardia" in x)
    assert line.startswith("NOT MET") and "p95/median" in line and "target <= 2" in line


def test_targets_constants() -> None:
    assert {key: TARGETS[key] for key in TARGETS if key.startswith("latency.")} == {
        "latency.tachycardia": 60.0,
        "latency.bradycardia": 60.0,
        "latency.af": 180.0,
        "latency.desaturation": 60.0,
        "latency.fever": 1800.0,
        "latency.fall": 60.0,
    }
    assert all(TARGETS[f"recall.{kind}"] == 0.95 for kind in ANOMALY_TYPES)
    assert TARGETS["false_alerts_per_user_day"] == 0.1
    assert {key: TARGETS[key] for key in TARGETS if key.startswith("latency_spread.")} == {
        f"latency_spread.{kind}": 2.0 for kind in ANOMALY_TYPES if kind != "fever"
    }
    assert TARGETS["fault_medical_alerts"] == 0


def test_targets_report_lines() -> None:
    passing = targets_report(_passing_result())
    assert len(passing) == len(TARGETS)
    assert all(line.startswith("met ") for line in passing), passing
    assert "met      latency.fever = median 1700.0 (target <= 1800 s)" in passing
    assert "met      false_alerts_per_user_day = 0.100 (target <= 0.1)" in passing

    failing = targets_report(evaluate([episode("af", 0, 600)], [], [], user_days=1.0))
    assert "NOT MET  recall.af = 0.000 (target >= 0.95)" in failing
    assert "NOT MET  latency.af = n/a, none detected (target <= 180 s)" in failing
    assert "NOT MET  recall.fall = n/a, no episodes (target >= 0.95)" in failing


def test_targets_work_on_a_result_read_back_from_json() -> None:
    result = _passing_result()
    assert targets_met(json.loads(json.dumps(result))) == targets_met(result)


def test_docstring_examples() -> None:
    outcome = doctest.testmod(metrics, optionflags=doctest.ELLIPSIS)
    assert outcome.attempted > 0
    assert outcome.failed == 0


def test_a_borderline_episode_makes_its_alert_true_but_is_no_miss() -> None:
    episodes = [
        TruthEpisode("w1", "tachycardia", 600_000, 700_000, False, "fever", required=False),
        TruthEpisode("w1", "tachycardia", 5_000_000, 5_100_000, False, "fever", required=False),
    ]
    alerts = [ScoredAlert("w1", "tachycardia", 660_000, 600_000, 660_000, closed_ms=None)]
    result = evaluate(episodes, alerts, [], user_days=1.0)
    tachy = result["per_type"]["tachycardia"]
    assert (tachy["episodes"], tachy["detected"], tachy["recall"]) == (0, 0, None)
    assert (tachy["borderline_episodes"], tachy["borderline_detected"]) == (2, 1)
    assert (tachy["true_alerts"], tachy["false_alerts"]) == (1, 0)
    assert result["missed_episode_details"] == []


def test_an_alert_on_the_way_to_a_required_episode_detects_it() -> None:
    episodes = [
        # SpO2 under 93 %, then under 90 %: a near miss leading into the real thing.
        TruthEpisode("w1", "desaturation", 600_000, 660_000, False, "d", required=False),
        TruthEpisode("w1", "desaturation", 660_000, 900_000, False, "d", required=True),
    ]
    alerts = [ScoredAlert("w1", "desaturation", 640_000, 580_000, 640_000, closed_ms=None)]
    desat = evaluate(episodes, alerts, [], user_days=1.0)["per_type"]["desaturation"]
    assert (desat["episodes"], desat["detected"], desat["borderline_detected"]) == (1, 1, 0)
    assert desat["median_latency_s"] == -20.0
