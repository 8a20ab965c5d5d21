"""Model outputs onto the policy scale, and the clinical-definition gates on model scores."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from gateway.alerts.manager import suppressed_by
from wearable_core.assessment.assess import (
    ARTIFACT_SETTLE_S,
    ArtifactSettle,
    rules_inputs_from_features,
    scores_from_outputs,
    window_assess,
)
from wearable_core.assessment.policy import DEFAULT_POLICIES, AlertPolicy, policies_load
from wearable_core.assessment.rules import AF_NN_NRMSSD, RuleInputs, model_plausible, rules_evaluate
from wearable_core.assessment.types import AlertType, FaultKind
from wearable_core.contracts.features import FEATURE_NAMES, feature_index

T = AlertType
DEV = "C4:12:00:00:00:0A"
THRESHOLDS = {
    T.TACHYCARDIA: 0.2,
    T.BRADYCARDIA: 0.4,
    T.AF: 0.5,
    T.DESATURATION: 0.1,
    T.FEVER: 0.656124,
    T.FALL: 0.9,
}


def outputs(value: float) -> npt.NDArray[np.float32]:
    return np.full(len(AlertType), value, dtype=np.float32)


def test_threshold_maps_to_the_policy_on_threshold() -> None:
    scores = scores_from_outputs(outputs(0.0), THRESHOLDS, DEFAULT_POLICIES)
    assert scores == {kind: 0.0 for kind in AlertType}
    assert scores_from_outputs(outputs(1.0), THRESHOLDS, DEFAULT_POLICIES) == {
        kind: 1.0 for kind in AlertType
    }
    for kind, t in THRESHOLDS.items():
        out = outputs(0.0)
        out[list(AlertType).index(kind)] = t
        at = scores_from_outputs(out, THRESHOLDS, DEFAULT_POLICIES)
        assert at[kind] == pytest.approx(DEFAULT_POLICIES[kind].on_threshold, abs=1e-6)
        assert all(at[k] == 0.0 for k in AlertType if k is not kind)


def test_outputs_are_read_in_anomaly_type_order() -> None:
    out = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=np.float32)
    scores = scores_from_outputs(out, THRESHOLDS, DEFAULT_POLICIES)
    assert scores[T.TACHYCARDIA] == 1.0
    assert next(iter(AlertType)) is T.TACHYCARDIA
    assert sum(scores.values()) == 1.0


def test_the_mapping_is_piecewise_linear_and_monotone() -> None:
    grid = np.linspace(0.0, 1.0, 201)
    for kind in AlertType:
        i = list(AlertType).index(kind)
        values = []
        for p in grid:
            out = outputs(0.0)
            out[i] = p
            values.append(scores_from_outputs(out, THRESHOLDS, DEFAULT_POLICIES)[kind])
        assert all(b >= a for a, b in itertools.pairwise(values)), kind
        assert values[0] == 0.0 and values[-1] == pytest.approx(1.0)
    # Halfway to the threshold is halfway to on_threshold; halfway above, halfway above.
    on = DEFAULT_POLICIES[T.AF].on_threshold
    half_below = scores_from_outputs(outputs(0.25), THRESHOLDS, DEFAULT_POLICIES)[T.AF]
    half_above = scores_from_outputs(outputs(0.75), THRESHOLDS, DEFAULT_POLICIES)[T.AF]
    assert half_below == pytest.approx(on / 2)
    assert half_above == pytest.approx(on + (1 - on) / 2)


def test_out_of_range_outputs_are_clipped() -> None:
    low = scores_from_outputs(outputs(-0.5), THRESHOLDS, DEFAULT_POLICIES)
    high = scores_from_outputs(outputs(1.5), THRESHOLDS, DEFAULT_POLICIES)
    assert set(low.values()) == {0.0} and all(v == pytest.approx(1.0) for v in high.values())


def test_policy_on_threshold_overrides_are_followed() -> None:
    policies: dict[AlertType, AlertPolicy] = policies_load({"af": {"on_threshold": 0.9}})
    out = outputs(0.0)
    out[list(AlertType).index(T.AF)] = THRESHOLDS[T.AF]
    assert scores_from_outputs(out, THRESHOLDS, policies)[T.AF] == pytest.approx(0.9)


# -------------------------------------------------------------------------------- gates


def test_a_resting_heart_rate_gates_tachycardia_and_bradycardia() -> None:
    gates = model_plausible(RuleInputs(hr_mean_bpm=70.0))
    assert not gates[T.TACHYCARDIA] and not gates[T.BRADYCARDIA]
    assert not gates[T.AF]  # AF needs irregular NN intervals (test_af_gate_* below)
    assert model_plausible(RuleInputs(hr_mean_bpm=101.0))[T.TACHYCARDIA]
    assert not model_plausible(RuleInputs(hr_mean_bpm=100.0))[T.TACHYCARDIA]
    known = {"hr_floor_bpm": 60.0}  # the person's usual low rate, learnt in an hour
    assert model_plausible(RuleInputs(hr_mean_bpm=49.0, **known))[T.BRADYCARDIA]
    assert not model_plausible(RuleInputs(hr_mean_bpm=49.0))[T.BRADYCARDIA]  # not yet known
    assert not model_plausible(RuleInputs(hr_mean_bpm=50.0, **known))[T.BRADYCARDIA]
    assert not model_plausible(RuleInputs(hr_mean_bpm=0.0, **known))[T.BRADYCARDIA]
    # A sleeping person's usual low rate is not bradycardia.
    asleep = RuleInputs(hr_mean_bpm=45.0, lying_still=True, hr_floor_bpm=47.0)
    assert not model_plausible(asleep)[T.BRADYCARDIA]
    # Not at rest: a walk in the last five minutes explains a fast rate.
    assert not model_plausible(RuleInputs(hr_mean_bpm=120.0, at_rest=False))[T.TACHYCARDIA]
    assert model_plausible(RuleInputs(hr_mean_bpm=120.0, at_rest=True))[T.TACHYCARDIA]
    nothing = model_plausible(RuleInputs())
    assert not any(nothing[k] for k in (T.TACHYCARDIA, T.BRADYCARDIA, T.AF))


def test_desaturation_needs_spo2_below_90() -> None:
    assert not model_plausible(RuleInputs(spo2_min_pct=95.0))[T.DESATURATION]
    assert not model_plausible(RuleInputs(spo2_min_pct=90.0))[T.DESATURATION]
    assert model_plausible(RuleInputs(spo2_min_pct=89.0))[T.DESATURATION]
    assert not model_plausible(RuleInputs())[T.DESATURATION]


def test_a_fall_needs_an_impact() -> None:
    assert not model_plausible(RuleInputs())[T.FALL]
    assert not model_plausible(RuleInputs(impact_peak_g=1.2))[T.FALL]
    assert model_plausible(RuleInputs(impact_peak_g=2.0))[T.FALL]


def test_fever_gate_with_and_without_a_baseline() -> None:
    assert not model_plausible(RuleInputs(temp_level_c=38.0))[T.FEVER]  # no baseline yet
    assert not model_plausible(RuleInputs())[T.FEVER]  # no temperature at all
    below = RuleInputs(temp_level_c=33.9, temp_baseline_c=33.0)
    assert not model_plausible(below)[T.FEVER]
    above = RuleInputs(temp_level_c=34.0, temp_baseline_c=33.0)
    assert model_plausible(above)[T.FEVER]


def vector(**values: float) -> npt.NDArray[np.float32]:
    v = np.full(len(FEATURE_NAMES), np.nan, dtype=np.float32)
    v[feature_index("q_contact_fraction")] = 1.0
    v[feature_index("q_data_fraction")] = 1.0
    v[feature_index("q_motion_artifact")] = 0.0
    v[feature_index("q_flat_line")] = 0.0
    for name, value in values.items():
        v[feature_index(name)] = value
    return v


ALL_HIGH = {kind: 0.95 for kind in AlertType}


def test_assess_window_zeroes_implausible_model_scores() -> None:
    normal = vector(hr_mean=70.0, spo2_min=95.0, fall_peak=1.1, temp_level=33.0, irr_nn_nrmssd=0.04)
    a = window_assess(DEV, 0, normal, ALL_HIGH, temp_baseline_c=33.0)
    assert a.scores == {
        T.TACHYCARDIA: 0.0,
        T.BRADYCARDIA: 0.0,
        T.AF: 0.0,
        T.DESATURATION: 0.0,
        T.FEVER: 0.0,
        T.FALL: 0.0,
    }
    assert (a.device, a.start_ms, a.end_ms) == (DEV, 0, 60_000)
    assert not any(a.rules.values())


def test_assess_window_keeps_plausible_scores() -> None:
    sick = vector(
        hr_mean=120.0,
        spo2_min=85.0,
        fall_peak=2.5,
        temp_level=34.0,
        irr_nn_nrmssd=0.15,
        q_beat_coverage=0.5,
    )
    a = window_assess(DEV, 60_000, sick, ALL_HIGH, temp_baseline_c=33.0)
    assert a.scores == {**ALL_HIGH, T.BRADYCARDIA: 0.0}
    # Without a baseline there is no fever to speak of, however warm the wrist.
    a = window_assess(DEV, 0, vector(temp_level=36.0), ALL_HIGH)
    assert a.scores[T.FEVER] == 0.0
    # No model: no scores, rules still evaluated.
    a = window_assess(DEV, 0, vector(hr_mean=35.0))
    assert a.scores == {} and a.rules[T.BRADYCARDIA]


def test_tachycardia_during_exercise_is_not_counted() -> None:
    resting = RuleInputs(hr_mean_bpm=130.0, activity_enmo_g=0.01)
    running = RuleInputs(hr_mean_bpm=130.0, activity_enmo_g=0.3)
    assert model_plausible(resting)[T.TACHYCARDIA]
    assert not model_plausible(running)[T.TACHYCARDIA]
    # Light activity (above rest, below moderate) still counts.
    assert model_plausible(RuleInputs(hr_mean_bpm=130.0, activity_enmo_g=0.06))[T.TACHYCARDIA]


def test_bradycardia_is_judged_against_the_persons_usual_low_rate() -> None:
    # A fit person whose usual low is 44 bpm, asleep at 45: their normal.
    asleep = RuleInputs(hr_mean_bpm=45.0, activity_enmo_g=0.005, hr_floor_bpm=44.0)
    assert not model_plausible(asleep)[T.BRADYCARDIA]
    # The same rate while moving: the heart does not speed up (chronotropic incompetence).
    moving = RuleInputs(hr_mean_bpm=45.0, activity_enmo_g=0.1, hr_floor_bpm=44.0)
    assert model_plausible(moving)[T.BRADYCARDIA]
    # Well below the usual low counts at rest too.
    assert model_plausible(RuleInputs(hr_mean_bpm=38.0, hr_floor_bpm=44.0))[T.BRADYCARDIA]
    # Someone whose usual low is 60: 48 bpm at rest counts.
    assert model_plausible(RuleInputs(hr_mean_bpm=48.0, hr_floor_bpm=60.0))[T.BRADYCARDIA]


def test_the_bradycardia_rule_spares_an_athlete_asleep_at_40() -> None:
    athlete = RuleInputs(hr_mean_bpm=40.0, activity_enmo_g=0.005, hr_floor_bpm=42.0)
    assert not rules_evaluate(athlete)[T.BRADYCARDIA]
    assert rules_evaluate(RuleInputs(hr_mean_bpm=40.0, hr_floor_bpm=58.0))[T.BRADYCARDIA]
    assert not rules_evaluate(RuleInputs(hr_mean_bpm=40.0))[T.BRADYCARDIA]  # no floor yet
    assert rules_evaluate(RuleInputs(hr_mean_bpm=35.0))[T.BRADYCARDIA]


def test_motion_artifacts_leave_falls_to_the_rule() -> None:
    shaken = vector(fall_peak=4.0, fall_stillness=0.3, q_motion_artifact=1.0)
    a = window_assess(DEV, 0, shaken, ALL_HIGH)
    assert a.scores[T.FALL] == 0.0 and not a.rules[T.FALL]
    clean = vector(fall_peak=4.0, fall_stillness=0.3)
    assert window_assess(DEV, 0, clean, ALL_HIGH).scores[T.FALL] == 0.95


def test_a_window_partly_covered_by_an_artifact_leaves_falls_to_the_rule() -> None:
    # 20 % of the seconds with artifacts: not a faulty window, but its peaks are noise.
    partly = vector(fall_peak=3.5, fall_stillness=0.3, q_motion_artifact=0.2)
    a = window_assess(DEV, 0, partly, ALL_HIGH)
    assert a.quality.faults() == frozenset()
    assert a.scores[T.FALL] == 0.0


def test_the_window_an_artifact_fades_into_leaves_falls_to_the_rule() -> None:
    """Measured on a development seed: the artifact's last spike, then rest, scored as a
    model fall in the window that began as the artifact stopped jumping the RR series."""
    shaken = vector(fall_peak=2.6, fall_stillness=0.3, q_motion_artifact=0.17, spo2_min=85.0)
    faded = vector(fall_peak=2.6, fall_stillness=0.01, spo2_min=85.0)
    settle = ArtifactSettle()
    hop_ms = 15_000
    seen = []
    for start in range(0, 180_000, hop_ms):
        v = shaken if start == 0 else faded
        a = window_assess(DEV, start, v, ALL_HIGH, after_artifact=settle.after_artifact(start, v))
        seen.append((start, a.scores[T.FALL], a.scores[T.DESATURATION]))
    settled = (60 + ARTIFACT_SETTLE_S) * 1000
    assert [s for s, fall, _ in seen if fall == 0.0] == list(range(0, settled, hop_ms))
    assert [s for s, _, desat in seen if desat == 0.0] == [0]  # SpO2 recovers with the motion
    assert all(fall == 0.95 for s, fall, _ in seen if s >= settled)


def test_a_fall_after_an_artifact_still_raises_the_rule() -> None:
    settle = ArtifactSettle()
    settle.after_artifact(0, vector(q_motion_artifact=0.5))
    fall = vector(fall_peak=4.0, fall_stillness=0.01, fall_free_fall=0.3)
    a = window_assess(
        DEV, 15_000, fall, ALL_HIGH, after_artifact=settle.after_artifact(15_000, fall)
    )
    assert a.scores[T.FALL] == 0.0 and a.rules[T.FALL]


@pytest.mark.parametrize("artifact", [0.3, 0.0], ids=["during", "after"])
def test_an_artifacts_last_spike_then_rest_is_not_a_fall(artifact: float) -> None:
    """The rule's false falls during motion artifacts (docs/evaluation.md): an
    impact-like spike of the shaking followed by rest, with no free fall before it; a
    fall from standing has one (|a| < 0.6 g)."""
    settle = ArtifactSettle()
    settle.after_artifact(0, vector(q_motion_artifact=0.5))
    spike = vector(fall_peak=3.4, fall_stillness=0.01, fall_free_fall=0.8)
    spike[FEATURE_NAMES.index("q_motion_artifact")] = artifact
    after = settle.after_artifact(15_000, spike)
    assert not window_assess(DEV, 15_000, spike, ALL_HIGH, after_artifact=after).rules[T.FALL]
    # The same window far from any artifact: the impact-and-stillness rule alone.
    calm = vector(fall_peak=3.4, fall_stillness=0.01, fall_free_fall=0.8)
    assert window_assess(DEV, 15_000, calm, ALL_HIGH).rules[T.FALL]


def test_af_gate_needs_irregular_nn_intervals() -> None:
    """Premature beats make raw RR irregular; AF stays irregular once they are removed."""
    ectopy = RuleInputs(hr_mean_bpm=80.0, nn_nrmssd=0.04)
    af = RuleInputs(hr_mean_bpm=110.0, nn_nrmssd=0.14)
    assert not model_plausible(ectopy)[T.AF]
    assert model_plausible(af)[T.AF]
    assert model_plausible(RuleInputs(hr_mean_bpm=80.0, nn_nrmssd=AF_NN_NRMSSD))[T.AF]
    assert not model_plausible(RuleInputs(nn_nrmssd=0.14))[T.AF]  # no heart rate
    assert not model_plausible(RuleInputs(hr_mean_bpm=80.0))[T.AF]  # not judgeable


def test_af_gate_reads_the_nn_feature_and_sinus_with_pvcs_scores_nothing() -> None:
    pvcs = vector(
        hr_mean=80.0, irr_nrmssd=0.25, irr_ectopic_fraction=0.2, irr_nn_nrmssd=0.04,
        q_beat_coverage=0.8,
    )  # fmt: skip
    a = window_assess(DEV, 0, pvcs, ALL_HIGH)
    assert a.scores[T.AF] == 0.0 and not a.quality.faults()
    af = vector(
        hr_mean=110.0, irr_nrmssd=0.2, irr_ectopic_fraction=0.4, irr_nn_nrmssd=0.14,
        q_beat_coverage=0.55,
    )  # fmt: skip
    assert window_assess(DEV, 0, af, ALL_HIGH).scores[T.AF] == 0.95


def test_unjudgeable_beats_are_a_data_quality_event_that_suppresses_only_af() -> None:
    bigeminy = vector(hr_mean=80.0, irr_nrmssd=0.6, irr_ectopic_fraction=1.0, q_beat_coverage=0.0)
    a = window_assess(DEV, 0, bigeminy, ALL_HIGH)
    assert a.quality.faults() == {FaultKind.BEAT_QUALITY}
    assert a.scores[T.AF] == 0.0
    assert suppressed_by(T.AF, a.quality.faults())
    others = [k for k in AlertType if k is not T.AF]
    assert not any(suppressed_by(k, a.quality.faults()) for k in others)
    gappy = vector(hr_mean=80.0, irr_nn_nrmssd=0.05, q_beat_coverage=0.1)
    assert window_assess(DEV, 0, gappy).quality.faults() == {FaultKind.BEAT_QUALITY}
    # Off the wrist, the off-wrist fault speaks for the missing beats (no second event).
    off = vector(hr_mean=80.0, q_beat_coverage=0.0, q_contact_fraction=0.2)
    assert window_assess(DEV, 0, off).quality.faults() == {FaultKind.OFF_WRIST}
    # No heart rate at all: nothing to judge, no beat-quality event.
    assert not window_assess(DEV, 0, vector()).quality.faults()


def test_no_desaturation_from_a_window_with_any_artifact_second() -> None:
    low = {"spo2_min": 82.0, "spo2_s_below_88": 60.0, "spo2_s_below_90": 60.0}
    clean = window_assess(DEV, 0, vector(**low), ALL_HIGH)
    assert clean.scores[T.DESATURATION] == 0.95 and clean.rules[T.DESATURATION]
    # Three artifact seconds (5 %): below the fault flag, enough to distrust the SpO2.
    shaken = window_assess(DEV, 0, vector(**low, q_motion_artifact=0.05), ALL_HIGH)
    assert shaken.scores[T.DESATURATION] == 0.0 and not shaken.rules[T.DESATURATION]


def test_a_window_with_rr_intervals_is_judged_on_its_nn_rate() -> None:
    pacs = vector(hr_mean=101.5, rr_count=95.0, hr_nn_mean=88.0, act_enmo=0.01)
    inputs = rules_inputs_from_features(pacs, at_rest=True)
    assert inputs.rr_reported and inputs.sinus_rate_bpm == 88.0
    assert not rules_evaluate(inputs)[T.TACHYCARDIA]
    few_beats = vector(hr_mean=101.5, rr_count=10.0, act_enmo=0.01)
    assert rules_inputs_from_features(few_beats, at_rest=True).sinus_rate_bpm == 101.5
