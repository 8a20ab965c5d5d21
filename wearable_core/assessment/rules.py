"""Safety rules: simple, explainable thresholds that raise an alert whatever the model says.

Each rule looks at one window's summary (:class:`RuleInputs`) and says whether it fired.
"Sustained" is the job of the policy's ``min_duration_s`` (consecutive active windows,
see :mod:`gateway.alerts.manager`), except for SpO2, whose input already counts seconds.
Thresholds and their sources (``docs/alerts.md`` has the references):

* desaturation: SpO2 < 88 % for >= 60 s (88 % is the conventional hypoxaemia threshold,
  e.g. the BTS oxygen guideline target range 88-92 % for patients at risk of
  hypercapnia; O'Driscoll et al. 2017).
* tachycardia: the clinical definition, mean HR > 100 bpm *at rest* (ENMO below the
  sedentary cut-point of Hildebrand et al. 2014, 44.8 mg at the wrist, in the window and
  the 5 minutes before it). While rest is unknown (no activity seen yet) only >= 130 bpm
  with a still wrist, a rate no one shows sitting still. The rate judged is that of the
  normal-to-normal intervals (``hr_nn_mean``) when the watch reports RR intervals:
  runs of premature beats raise the reported rate, not the sinus rate.
* bradycardia: mean HR <= 40 bpm (below the 50-60 bpm definition; 2018 ACC/AHA/HRS
  bradycardia guideline), unless the wearer is at rest and 40 bpm is within 5 bpm of
  their own usual low rate (trained athletes asleep reach 40 bpm).
* fall: impact peak >= 3 g followed by stillness (acceleration SD < 0.05 g): the
  impact-then-posture/stillness signature of threshold fall detectors (Bourke et al.
  2007; Kangas et al. 2008). During or right after a motion artifact the last spike of
  the shaking followed by rest has that signature too; there the impact must also
  follow a free-fall phase (|a| below 0.6 g, the start-of-fall threshold of Kangas et
  al. 2008).
* fever: wrist temperature >= 1.0 degC above the temperature expected for this person
  in this state at this time of day (``wearable_core.assessment.wrist_temperature``): the
  core-equivalent rise, against the 1.2 degC of the fever definition (38.0 degC over a
  normal 36.8 degC, ``wearable_core.contracts.clinical``), less the wrist's lag; "sustained"
  is the fever policy's minimum duration.
* af: no rule; AF-like irregularity is left to the model (RR-interval irregularity).

The model is gated by the clinical *definitions* (:func:`model_plausible`): its score
for a type counts only in a window that meets the textbook definition of that condition
(tachycardia HR > 100 bpm outside exercise, bradycardia HR < 50 bpm (2018 ACC/AHA/HRS)
and below the person's usual low rate or while moving, hypoxaemia SpO2 < 90 %, an impact
of at least 2 g for a fall, skin temperature at least 0.5 degC above the person's
expectation for fever, so no model fever before there is one, and for AF an RR
series that stays irregularly irregular once ectopic beats are removed: nRMSSD of the
normal-to-normal intervals >= 0.1, ``wearable_core.features.irregularity``; premature beats
are not AF).
The rules above are stricter and fire alone; the model may alert earlier or on milder
forms, but never on a window that is physiologically normal (measured on a development
seed: without the gates the baseline model raised tens of false bradycardia and fall
alerts per user-day on people it was not trained on).
"""

from __future__ import annotations

from dataclasses import dataclass

from wearable_core.assessment.types import AlertType

SPO2_THRESHOLD_PCT = 88.0
SPO2_MIN_SECONDS = 60.0
TACHY_HR_BPM = 130.0
BRADY_HR_BPM = 40.0
#: The rule before the person's usual low rate is known (see :func:`bradycardia`).
BRADY_UNKNOWN_BPM = 35.0
BRADY_UNKNOWN_ASLEEP_BPM = 30.0
#: ENMO (g) below which the wearer is at rest (Hildebrand et al. 2014: 44.8 mg).
REST_ENMO_G = 0.0448
FALL_IMPACT_G = 3.0
#: Standard deviation of |a| (g) after the impact below which the wearer lies still.
FALL_STILLNESS_SD_G = 0.05
#: Free-fall level (``fall_free_fall``, g) below which a fall has begun (Kangas et al.
#: 2008, start of fall: |a| < 0.6 g); required during and right after motion artifacts.
FALL_FREE_FALL_G = 0.6
FEVER_RISE_C = 1.2
#: Definitions the model's score must agree with (see the module docstring).
TACHY_DEFINITION_BPM = 100.0
BRADY_DEFINITION_BPM = 50.0
HYPOXAEMIA_PCT = 90.0
FALL_MIN_IMPACT_G = 2.0
FEVER_MIN_RISE_C = 1.0
#: nRMSSD of the intervals left after the ectopic-beat filter (``irr_nn_nrmssd``) from
#: which a window is irregularly irregular: Dash et al.'s (2009) AF threshold for
#: nRMSSD, applied to the NN intervals (docs/evaluation.md: what it was chosen on;
#: synthetic AF series and development seeds only).
AF_NN_NRMSSD = 0.1
#: Moderate activity at the wrist (ENMO, g; Hildebrand et al. 2014: ~100 mg): a fast
#: heart rate during exercise is not tachycardia.
MODERATE_ENMO_G = 0.1
#: A bradycardia score counts below the person's usual low rate by this much (or while
#: moving, when a fit heart speeds up but an incompetent one does not).
BRADY_BELOW_FLOOR_BPM = 5.0

#: Names stored with an alert when its rule fired.
RULE_NAMES: dict[AlertType, str] = {
    AlertType.DESATURATION: "spo2<88%>=60s",
    AlertType.TACHYCARDIA: "hr>100bpm_at_rest",
    AlertType.BRADYCARDIA: "hr<=40bpm",
    AlertType.FALL: "impact>=3g_then_still",
    AlertType.FEVER: "wrist_temp>=expected+1.0C",
}


@dataclass(frozen=True)
class RuleInputs:
    """One window's summary; ``None`` means "not measured" and never fires a rule."""

    hr_mean_bpm: float | None = None
    activity_enmo_g: float | None = None
    spo2_seconds_below_88: float | None = None
    spo2_min_pct: float | None = None
    spo2_mean_pct: float | None = None
    spo2_seconds_below_90: float | None = None
    impact_peak_g: float | None = None
    post_impact_sd_g: float | None = None
    temp_level_c: float | None = None
    temp_baseline_c: float | None = None
    #: The person's usual low heart rate (``wearable_core.assessment.personal_baselines``).
    hr_floor_bpm: float | None = None
    #: No walking or exercise in this window nor the 5 minutes before (``None``: unknown).
    at_rest: bool | None = None
    #: Mostly lying still lately: the sleep proxy (``None``: unknown).
    lying_still: bool | None = None
    #: nRMSSD of the RR intervals left after the ectopic-beat filter (``irr_nn_nrmssd``).
    nn_nrmssd: float | None = None
    #: Fraction of the window's seconds with a motion artifact (``q_motion_artifact``).
    motion_artifact_fraction: float | None = None
    #: The window begins as an earlier motion artifact fades
    #: (``wearable_core.assessment.assess.ArtifactSettle``).
    after_motion_artifact: bool = False
    #: Lowest short mean of |a| before the impact (``fall_free_fall``), g.
    free_fall_g: float | None = None
    #: Heart rate of the normal-to-normal intervals (``hr_nn_mean``); ``None`` when
    #: too few intervals survive the ectopic-beat filter.
    nn_rate_bpm: float | None = None
    #: The watch reported enough RR intervals to judge the rhythm (``rr_count``).
    rr_reported: bool = False

    @property
    def sinus_rate_bpm(self) -> float | None:
        """The rate the tachycardia definition is about: the NN rate where RR intervals
        are reported (``None`` if their rhythm cannot be judged), else the reported
        mean."""
        return self.nn_rate_bpm if self.rr_reported else self.hr_mean_bpm


def desaturation(x: RuleInputs) -> bool:
    """SpO2 below 88 % for at least 60 s of the window, in a window without motion
    artifact (motion pulls a wrist oximeter's reading down, a known limit of reflectance
    pulse oximetry). "Below 88 %" is judged on the window's level, not on each noisy
    second: every second below 88 %, or every second below 90 % and the mean below 88 %
    (a true 87 % read with a wrist sensor's ±1-2 % scatter has a third of its seconds at
    88-89 %)."""
    if (x.motion_artifact_fraction or 0.0) > 0:
        return False
    if x.spo2_seconds_below_88 is not None and x.spo2_seconds_below_88 >= SPO2_MIN_SECONDS:
        return True
    return (
        x.spo2_mean_pct is not None
        and x.spo2_seconds_below_90 is not None
        and x.spo2_mean_pct < SPO2_THRESHOLD_PCT
        and x.spo2_seconds_below_90 >= SPO2_MIN_SECONDS
    )


def tachycardia(x: RuleInputs) -> bool:
    """The clinical definition: HR > 100 bpm at rest, still in this window and for
    :data:`~wearable_core.contracts.clinical.REST_AFTER_ACTIVITY_S` before it (the
    person's ``at_rest``). Before any activity has been seen (rest unknown), only a rate
    no one shows sitting still: >= 130 bpm. Unknown activity in the window: not at rest,
    the rule stays quiet; so does the rate recovering in the minutes after a walk.
    """
    hr = x.sinus_rate_bpm
    if hr is None or x.activity_enmo_g is None or x.activity_enmo_g >= REST_ENMO_G:
        return False
    if x.at_rest is True:
        return hr > TACHY_DEFINITION_BPM
    return hr >= TACHY_HR_BPM and x.at_rest is not False


def bradycardia(x: RuleInputs) -> bool:
    """HR <= 40 bpm, unless that is this person's usual low rate and they are at rest.

    Before the usual low rate is known (the first 20 minutes of wear), a trained athlete
    asleep at 40 bpm cannot be told from bradycardia: the rule then waits for a rate no
    healthy adult shows at rest (<= 35 bpm awake; <= 30 bpm lying still).
    """
    hr = x.hr_mean_bpm
    if hr is None or hr <= 0:
        return False
    if x.hr_floor_bpm is None:
        return hr <= (BRADY_UNKNOWN_ASLEEP_BPM if x.lying_still else BRADY_UNKNOWN_BPM)
    return hr <= BRADY_HR_BPM and _below_usual_or_moving(x)


def _below_usual_or_moving(x: RuleInputs) -> bool:
    """A low rate that is not this person's normal rest: below their floor, or moving."""
    hr, enmo = x.hr_mean_bpm, x.activity_enmo_g
    if x.hr_floor_bpm is None or (enmo is not None and enmo >= REST_ENMO_G):
        return True
    return hr is not None and hr < x.hr_floor_bpm - BRADY_BELOW_FLOOR_BPM


def fall(x: RuleInputs) -> bool:
    """An impact of at least 3 g followed by stillness; during or right after a motion
    artifact, also preceded by free fall (the shaking's last spike, then rest, is not a
    fall). Outside artifacts free fall is not required: at the wrist the arm's own
    movement while falling can hide it."""
    impact_then_still = (
        x.impact_peak_g is not None
        and x.post_impact_sd_g is not None
        and x.impact_peak_g >= FALL_IMPACT_G
        and x.post_impact_sd_g < FALL_STILLNESS_SD_G
    )
    if not impact_then_still:
        return False
    if not ((x.motion_artifact_fraction or 0.0) > 0 or x.after_motion_artifact):
        return True
    return x.free_fall_g is not None and x.free_fall_g < FALL_FREE_FALL_G


def fever(x: RuleInputs) -> bool:
    """Wrist temperature at least 1.2 degC above the person's expected temperature, at
    rest: walking and exercise move the wrist's skin temperature (convection, sweat) by
    more than a model of them can vouch for, so the judgement waits for rest."""
    return (
        x.temp_level_c is not None
        and x.temp_baseline_c is not None
        and x.at_rest is not False
        and x.temp_level_c - x.temp_baseline_c >= FEVER_RISE_C
    )


def rules_evaluate(x: RuleInputs) -> dict[AlertType, bool]:
    """Every safety rule on one window (AF has none and is always False)."""
    return {
        AlertType.TACHYCARDIA: tachycardia(x),
        AlertType.BRADYCARDIA: bradycardia(x),
        AlertType.AF: False,
        AlertType.DESATURATION: desaturation(x),
        AlertType.FEVER: fever(x),
        AlertType.FALL: fall(x),
    }


def model_plausible(x: RuleInputs) -> dict[AlertType, bool]:
    """Whether each type's model score may count in this window (see the module doc).

    A missing measure makes the type implausible (nothing to support it). Before there
    is a heart-rate floor, the bradycardia definition alone gates; before there is a
    temperature baseline, fever is implausible (like the fever rule: measured, every
    served fever false positive of five trained models on the validation cohort fell
    before a baseline, ``benchmarks/fever_flags.py``). Tachycardia
    also needs the wearer not to be exercising (ENMO below the moderate cut-point);
    bradycardia also needs the rate to be below the person's usual low rate (a fit
    person asleep at 45 bpm is not bradycardic) or the wearer to be moving. AF needs
    the normal-to-normal intervals to stay irregular once ectopic beats are removed
    (:data:`AF_NN_NRMSSD`): frequent PVCs or PACs make raw RR as irregular as AF.

    Examples
    --------
    >>> pvcs = RuleInputs(hr_mean_bpm=80.0, nn_nrmssd=0.04)
    >>> model_plausible(pvcs)[AlertType.AF]
    False
    >>> model_plausible(RuleInputs(hr_mean_bpm=80.0, nn_nrmssd=0.14))[AlertType.AF]
    True
    """
    hr = x.hr_mean_bpm
    enmo = x.activity_enmo_g
    rise = (
        None
        if x.temp_level_c is None or x.temp_baseline_c is None
        else x.temp_level_c - x.temp_baseline_c
    )
    sinus = x.sinus_rate_bpm
    return {
        AlertType.TACHYCARDIA: sinus is not None
        and sinus > TACHY_DEFINITION_BPM
        and x.at_rest is not False
        and (enmo is None or enmo < MODERATE_ENMO_G),
        # Bradycardia is a new finding for this person: below the definition and below
        # their usual low rate, which takes an hour to learn; at rest (a rate that does
        # not rise with exercise is the rule's case).
        AlertType.BRADYCARDIA: hr is not None
        and 0 < hr < BRADY_DEFINITION_BPM
        and x.hr_floor_bpm is not None
        and x.at_rest is not False
        and _below_usual_or_moving(x),
        # AF is irregularly irregular once premature beats are removed; a window whose
        # beats cannot be judged (no NN irregularity) is a data-quality matter.
        AlertType.AF: x.hr_mean_bpm is not None
        and x.nn_nrmssd is not None
        and x.nn_nrmssd >= AF_NN_NRMSSD,
        AlertType.DESATURATION: x.spo2_min_pct is not None and x.spo2_min_pct < HYPOXAEMIA_PCT,
        # Fever is a rise over *this* person's usual temperature; before there is a
        # baseline a score reflects only how warm wrists run in the training cohort.
        AlertType.FEVER: rise is not None and rise >= FEVER_MIN_RISE_C and x.at_rest is not False,
        AlertType.FALL: x.impact_peak_g is not None and x.impact_peak_g >= FALL_MIN_IMPACT_G,
    }
