"""Ground truth by clinical definition: spans where the simulated person meets one."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_sim.clinical_labels import (
    CAUSE_PHYSIOLOGY,
    ClinicalLabel,
    ClinicalLabeller,
    rest_mask,
    spans_from_mask,
)
from firmware_sim.episodes import AnomalyKind, Episode
from firmware_sim.physiology.generator import SignalGenerator
from firmware_sim.physiology.profile import PersonProfile
from firmware_sim.physiology.schedule import Activity
from wearable_core.contracts import clinical as cd
from wearable_core.contracts.anomalies import AnomalyType

#: 08:00 UTC on a Monday: the person is awake for the first hours.
MORNING = 1_767_600_000 + 8 * 3600


def _labels(profile: PersonProfile, episodes: list[Episode], hours: float) -> list[ClinicalLabel]:
    duration = int(hours * 3600)
    labeller = ClinicalLabeller(profile, episodes, duration)
    gen = SignalGenerator(profile, episodes, seed=5, start_epoch_s=MORNING, duration_s=duration)
    for _ in labeller.observe(gen.iter_chunks()):
        pass
    return labeller.labels()


def _of(labels: list[ClinicalLabel], kind: AnomalyType) -> list[ClinicalLabel]:
    """The required (not borderline) labels of ``kind``."""
    return [label for label in labels if label.kind is kind and not label.borderline]


def _borderline(labels: list[ClinicalLabel], kind: AnomalyType) -> list[ClinicalLabel]:
    return [label for label in labels if label.kind is kind and label.borderline]


def test_spans_bridge_short_gaps_and_drop_short_runs() -> None:
    m = np.zeros(1000, dtype=bool)
    m[10:30] = True  # 20 s, 70 s before the next run: alone, too short
    m[100:200] = True
    m[250:300] = True  # 50 s after the previous run: bridged
    m[700:720] = True  # 20 s: too short
    assert spans_from_mask(m, 60, 60) == [(100, 300)]
    assert spans_from_mask(m, 20, 60) == [(10, 30), (100, 300), (700, 720)]
    assert spans_from_mask(np.zeros(5, dtype=bool), 1, 1) == []


def test_rest_needs_five_quiet_minutes_after_moving() -> None:
    act = np.full(1000, Activity.SEDENTARY, dtype=np.int8)
    act[100:200] = Activity.WALKING
    rest = rest_mask(act)
    assert rest[:100].all()
    assert not rest[100 : 200 + cd.REST_AFTER_ACTIVITY_S - 1].any()
    assert rest[200 + cd.REST_AFTER_ACTIVITY_S - 1 :].all()


def test_a_fever_is_labelled_from_when_the_core_reaches_38_and_speeds_the_heart() -> None:
    elderly = PersonProfile(84, "female", 90, 0.1, 96, 33)
    fever = Episode(1800.0, 5 * 3600.0, AnomalyKind.FEVER, 1.0)  # a 2.5 degC rise
    labels = _labels(elderly, [fever], 5.5)
    (label,) = _of(labels, AnomalyType.FEVER)
    # The rise (time constant 20 min) passes 1.2 degC well after the onset.
    assert fever.onset_s + 600 < label.onset_s < fever.onset_s + 3600
    assert label.cause == "fever"
    tachy = _of(labels, AnomalyType.TACHYCARDIA)
    assert tachy, "90 bpm + 8.5 bpm/degC of fever at rest is a tachycardia"
    assert all(t.cause == "fever" for t in tachy)


def test_a_mild_planned_fever_that_never_reaches_38_is_not_a_fever() -> None:
    person = PersonProfile(40, "male", 65, 0.5, 98, 33)
    mild = Episode(1800.0, 4 * 3600.0, AnomalyKind.FEVER, 0.0)  # plateau 1.0 degC: 37.8
    labels = _labels(person, [mild], 4.5)
    assert _of(labels, AnomalyType.FEVER) == []
    # Within the sensor's 0.3 degC of a fever: a near miss, not a required detection.
    assert all(f.borderline for f in labels if f.kind is AnomalyType.FEVER)


def test_an_athlete_at_their_usual_rate_is_not_bradycardic() -> None:
    athlete = PersonProfile(24, "male", 46, 0.95, 98, 33)
    assert _of(_labels(athlete, [], 6), AnomalyType.BRADYCARDIA) == []


def test_a_planned_bradycardia_is_labelled_with_its_cause() -> None:
    person = PersonProfile(50, "male", 72, 0.4, 98, 33)
    brady = Episode(1800.0, 3600.0, AnomalyKind.BRADYCARDIA, 1.0)  # 35 bpm
    (label,) = _of(_labels(person, [brady], 2), AnomalyType.BRADYCARDIA)
    assert brady.onset_s <= label.onset_s < brady.onset_s + 120
    assert label.cause == "bradycardia"
    assert label.rate_bpm is not None and label.rate_bpm < 40


def test_fast_af_is_one_af_label_with_its_rate_not_a_tachycardia() -> None:
    person = PersonProfile(60, "male", 70, 0.4, 97, 33)
    af = Episode(1800.0, 4800.0, AnomalyKind.AF, 1.0)  # 140 bpm
    labels = _labels(person, [af], 1.5)
    (label,) = _of(labels, AnomalyType.AF)
    assert (label.onset_s, label.end_s) == (1800.0, 4800.0)
    assert label.rapid and label.rate_bpm is not None and label.rate_bpm > 120
    # Nor the minutes in which the rate settles after the AF ends.
    assert all(t.end_s <= af.onset_s for t in _of(labels, AnomalyType.TACHYCARDIA))


def test_a_desaturation_below_90_is_labelled() -> None:
    person = PersonProfile(60, "male", 70, 0.4, 97, 33)
    desat = Episode(1800.0, 2400.0, AnomalyKind.DESATURATION, 0.5)  # plateau 84 %
    (label,) = _of(_labels(person, [desat], 1), AnomalyType.DESATURATION)
    assert desat.onset_s < label.onset_s < desat.onset_s + 60
    assert label.end_s <= desat.end_s


def test_af_is_rapid_only_above_100_bpm() -> None:
    assert not ClinicalLabel(0.0, 60.0, AnomalyType.AF, "af", 95.0).rapid
    assert ClinicalLabel(0.0, 60.0, AnomalyType.AF, CAUSE_PHYSIOLOGY, 105.0).rapid


@pytest.mark.parametrize("hours", [1.0, 2.0])
def test_the_same_seed_gives_the_same_labels(hours: float) -> None:
    person = PersonProfile(60, "female", 80, 0.3, 97, 33)
    eps = [Episode(600.0, 3000.0, AnomalyKind.TACHYCARDIA, 0.5)]
    assert _labels(person, eps, hours) == _labels(person, eps, hours)


def test_a_rate_that_only_grazes_the_threshold_is_borderline() -> None:
    # A fever of 1.25 degC speeds a 90 bpm heart to ~101 bpm: a tachycardia by
    # definition, within the sensor's 5 bpm of normal.
    person = PersonProfile(80, "female", 90, 0.1, 96, 33)
    mild = Episode(1800.0, 4 * 3600.0, AnomalyKind.FEVER, 0.15)
    labels = _labels(person, [mild], 4.5)
    assert _of(labels, AnomalyType.FEVER) == []
    assert _borderline(labels, AnomalyType.FEVER)  # 1.225 < 1.2 + 0.3 degC
    strong = _labels(person, [Episode(1800.0, 4 * 3600.0, AnomalyKind.FEVER, 1.0)], 4.5)
    assert not any(f.borderline for f in _of(strong, AnomalyType.FEVER))
    brady = Episode(1800.0, 3600.0, AnomalyKind.BRADYCARDIA, 1.0)
    (label,) = _of(_labels(person, [brady], 2), AnomalyType.BRADYCARDIA)
    assert not label.borderline  # 35 bpm against a threshold of 50
