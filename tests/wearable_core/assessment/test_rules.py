"""Safety rule thresholds."""

from __future__ import annotations

from wearable_core.assessment import AlertType, RuleInputs, rules_evaluate
from wearable_core.assessment import rules as r


def fired(**kw: float) -> set[AlertType]:
    return {k for k, v in rules_evaluate(RuleInputs(**kw)).items() if v}


def test_nothing_measured_fires_nothing() -> None:
    assert fired() == set()
    assert set(rules_evaluate(RuleInputs())) == set(AlertType)


def test_desaturation_needs_sixty_seconds() -> None:
    assert fired(spo2_seconds_below_88=59.9) == set()
    assert fired(spo2_seconds_below_88=60) == {AlertType.DESATURATION}


def test_desaturation_judges_the_windows_level_not_each_second() -> None:
    """Development seed 7 (2026-12-07): a true SpO2 of 86.9 % for 4 minutes, read with
    the sensor's scatter: every second below 90 %, only 33-43 s of each minute below
    88 % (mean 86.8 %). The rule never fired."""
    scattered = {"spo2_seconds_below_88": 40.0, "spo2_seconds_below_90": 60.0}
    assert fired(**scattered, spo2_mean_pct=86.8) == {AlertType.DESATURATION}
    assert fired(**scattered, spo2_mean_pct=88.0) == set()
    assert (
        fired(spo2_seconds_below_88=40.0, spo2_seconds_below_90=59.0, spo2_mean_pct=86.8) == set()
    )
    # Motion pulls the reading down: never under an artifact.
    assert fired(**scattered, spo2_mean_pct=86.8, motion_artifact_fraction=0.1) == set()


def test_tachycardia_only_at_rest() -> None:
    assert fired(hr_mean_bpm=130, activity_enmo_g=0.01) == {AlertType.TACHYCARDIA}
    assert fired(hr_mean_bpm=129.9, activity_enmo_g=0.01) == set()
    assert fired(hr_mean_bpm=160, activity_enmo_g=0.2) == set()  # exercise
    assert fired(hr_mean_bpm=160) == set()  # activity unknown


def test_tachycardia_not_in_the_minutes_after_a_walk() -> None:
    # Still in this window, but walking less than 5 minutes ago: recovery.
    after_walk = RuleInputs(hr_mean_bpm=140, activity_enmo_g=0.01, at_rest=False)
    assert not rules_evaluate(after_walk)[AlertType.TACHYCARDIA]
    rested = RuleInputs(hr_mean_bpm=140, activity_enmo_g=0.01, at_rest=True)
    assert rules_evaluate(rested)[AlertType.TACHYCARDIA]


def test_tachycardia_at_known_rest_is_the_clinical_definition() -> None:
    # A fever's 104 bpm at rest is a tachycardia (labelled so, with its cause).
    def at_rest(hr: float) -> bool:
        x = RuleInputs(hr_mean_bpm=hr, activity_enmo_g=0.01, at_rest=True)
        return rules_evaluate(x)[AlertType.TACHYCARDIA]

    assert at_rest(100.1) and at_rest(104.0)
    assert not at_rest(100.0)  # the definition is "above 100"
    # Rest unknown (no activity seen yet): only the 130 bpm margin.
    assert not rules_evaluate(RuleInputs(hr_mean_bpm=104.0, activity_enmo_g=0.01))[
        AlertType.TACHYCARDIA
    ]


def test_tachycardia_judges_the_rate_without_premature_beats() -> None:
    """Development seed 4 (2026-12-07): runs of PACs raised an 84-year-old's reported
    rate to 101-103 bpm over a minute while her sinus rate stayed at 88-93 bpm: four
    false tachycardias. The NN rate is the sinus rate."""
    rest = {"activity_enmo_g": 0.01, "at_rest": True}
    pacs = RuleInputs(hr_mean_bpm=101.5, nn_rate_bpm=88.0, rr_reported=True, **rest)
    assert pacs.sinus_rate_bpm == 88.0
    assert not rules_evaluate(pacs)[AlertType.TACHYCARDIA]
    assert not r.model_plausible(pacs)[AlertType.TACHYCARDIA]
    sinus = RuleInputs(hr_mean_bpm=104.0, nn_rate_bpm=104.0, rr_reported=True, **rest)
    assert rules_evaluate(sinus)[AlertType.TACHYCARDIA]
    assert r.model_plausible(sinus)[AlertType.TACHYCARDIA]
    # Beats reported but too ectopic to judge: no rate, no tachycardia.
    unjudged = RuleInputs(hr_mean_bpm=104.0, rr_reported=True, **rest)
    assert not rules_evaluate(unjudged)[AlertType.TACHYCARDIA]
    # A watch that reports no RR intervals: the reported rate.
    assert rules_evaluate(RuleInputs(hr_mean_bpm=104.0, **rest))[AlertType.TACHYCARDIA]


def test_bradycardia() -> None:
    known = {"hr_floor_bpm": 60.0}
    assert fired(hr_mean_bpm=40, **known) == {AlertType.BRADYCARDIA}
    assert fired(hr_mean_bpm=40.1, activity_enmo_g=0.3, **known) == set()
    # Before the usual low rate is known, only rates no healthy adult shows at rest.
    assert fired(hr_mean_bpm=40) == set()
    assert fired(hr_mean_bpm=35) == {AlertType.BRADYCARDIA}
    assert fired(hr_mean_bpm=34, lying_still=True) == set()
    assert fired(hr_mean_bpm=30, lying_still=True) == {AlertType.BRADYCARDIA}
    assert fired(hr_mean_bpm=0) == set()  # no beats is a sensor problem, not bradycardia


def test_fall_needs_impact_then_stillness() -> None:
    assert fired(impact_peak_g=3.0, post_impact_sd_g=0.01) == {AlertType.FALL}
    assert fired(impact_peak_g=2.9, post_impact_sd_g=0.01) == set()
    assert fired(impact_peak_g=6.0, post_impact_sd_g=0.3) == set()  # got up and walked on


def test_fall_during_or_after_an_artifact_needs_free_fall_too() -> None:
    impact = {"impact_peak_g": 4.0, "post_impact_sd_g": 0.01}
    for context in ({"motion_artifact_fraction": 0.2}, {"after_motion_artifact": True}):
        assert fired(**impact, **context) == set()  # free fall not measured
        assert fired(**impact, **context, free_fall_g=0.6) == set()
        assert fired(**impact, **context, free_fall_g=0.59) == {AlertType.FALL}
    assert fired(**impact, free_fall_g=0.9) == {AlertType.FALL}  # no artifact: not needed


def test_fever_relative_to_the_expected_wrist_temperature() -> None:
    assert fired(temp_level_c=34.7, temp_baseline_c=33.5) == {AlertType.FEVER}
    assert fired(temp_level_c=34.6, temp_baseline_c=33.5) == set()
    assert fired(temp_level_c=38.0) == set()  # nothing expected yet


def test_constants_match_the_brief() -> None:
    assert (r.SPO2_THRESHOLD_PCT, r.SPO2_MIN_SECONDS) == (88.0, 60.0)
    assert (r.TACHY_HR_BPM, r.BRADY_HR_BPM, r.FALL_IMPACT_G, r.FEVER_RISE_C) == (
        130.0,
        40.0,
        3.0,
        1.2,
    )
