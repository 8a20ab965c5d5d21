"""Turn one window's feature vector into the alert manager's input.

The feature vector (``wearable_core.contracts.features``) feeds both the safety rules and the
model. This module maps features to the rules' inputs and to the quality flags that
decide suppression, and combines rule hits with model scores into a
:class:`~wearable_core.assessment.types.WindowAssessment`. How rules and model combine is the
alert manager's business (a type is active when its score passes the policy's
threshold *or* a rule fires); see docs/alerts.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import numpy.typing as npt

from wearable_core.assessment.policy import AlertPolicy
from wearable_core.assessment.rules import RuleInputs, model_plausible, rules_evaluate
from wearable_core.assessment.types import AlertType, QualityFlags, WindowAssessment
from wearable_core.contracts.features import FEATURE_NAMES, WINDOW_S, feature_index
from wearable_core.features.extract import MIN_RR_IRREGULARITY, features_extract
from wearable_core.features.window import WindowData

_I = {name: feature_index(name) for name in FEATURE_NAMES}


def _value(vector: npt.NDArray[np.float32], name: str) -> float | None:
    value = float(vector[_I[name]])
    return None if math.isnan(value) else value


def rules_inputs_from_features(
    vector: npt.NDArray[np.float32],
    temp_baseline_c: float | None = None,
    hr_floor_bpm: float | None = None,
    at_rest: bool | None = None,
    lying_still: bool | None = None,
    after_artifact: bool = False,
) -> RuleInputs:
    """The safety rules' view of one window (``after_artifact``: see
    :meth:`ArtifactSettle.after_artifact`).

    Examples
    --------
    >>> import numpy as np
    >>> from wearable_core.contracts.features import FEATURE_NAMES
    >>> v = np.full(len(FEATURE_NAMES), np.nan, dtype=np.float32)
    >>> rules_inputs_from_features(v).hr_mean_bpm is None
    True
    """
    return RuleInputs(
        hr_mean_bpm=_value(vector, "hr_mean"),
        activity_enmo_g=_value(vector, "act_enmo"),
        spo2_seconds_below_88=_value(vector, "spo2_s_below_88"),
        spo2_min_pct=_value(vector, "spo2_min"),
        spo2_mean_pct=_value(vector, "spo2_mean"),
        spo2_seconds_below_90=_value(vector, "spo2_s_below_90"),
        impact_peak_g=_value(vector, "fall_peak"),
        post_impact_sd_g=_value(vector, "fall_stillness"),
        free_fall_g=_value(vector, "fall_free_fall"),
        temp_level_c=_value(vector, "temp_level"),
        motion_artifact_fraction=_value(vector, "q_motion_artifact"),
        temp_baseline_c=temp_baseline_c,
        hr_floor_bpm=hr_floor_bpm,
        at_rest=at_rest,
        lying_still=lying_still,
        nn_nrmssd=_value(vector, "irr_nn_nrmssd"),
        nn_rate_bpm=_value(vector, "hr_nn_mean"),
        rr_reported=(_value(vector, "rr_count") or 0.0) >= MIN_RR_IRREGULARITY,
        after_motion_artifact=after_artifact,
    )


#: Below this fraction of the window covered by normal-to-normal intervals
#: (``q_beat_coverage``) the beats cannot be judged for AF.
MIN_BEAT_COVERAGE = 0.25


def beats_judgeable(vector: npt.NDArray[np.float32]) -> bool:
    """Whether a window's beat series can be judged for AF.

    Not when the heart rate is measured but too few intervals survive the ectopic-beat
    filter to measure their irregularity (``irr_nn_nrmssd`` undefined: e.g. bigeminy,
    a gappy or artefact-ridden series) or they cover less than
    :data:`MIN_BEAT_COVERAGE` of the window. Such a window gives a ``beat_quality``
    data-quality event and suppresses AF; it never raises AF. Without a heart rate
    there is nothing to judge and other faults (off-wrist, dropout) speak.

    Examples
    --------
    >>> import numpy as np
    >>> from wearable_core.contracts.features import FEATURE_NAMES
    >>> v = np.full(len(FEATURE_NAMES), np.nan, dtype=np.float32)
    >>> beats_judgeable(v)
    True
    >>> v[FEATURE_NAMES.index("hr_mean")] = 75.0
    >>> beats_judgeable(v)
    False
    >>> v[FEATURE_NAMES.index("irr_nn_nrmssd")] = 0.03
    >>> v[FEATURE_NAMES.index("q_beat_coverage")] = 0.9
    >>> beats_judgeable(v)
    True
    """
    if _value(vector, "hr_mean") is None:
        return True
    coverage = _value(vector, "q_beat_coverage")
    return (
        _value(vector, "irr_nn_nrmssd") is not None
        and coverage is not None
        and coverage >= MIN_BEAT_COVERAGE
    )


def quality_from_features(vector: npt.NDArray[np.float32]) -> QualityFlags:
    """Sensor-quality flags of one window (a missing measure counts as bad)."""
    contact = _value(vector, "q_contact_fraction")
    data = _value(vector, "q_data_fraction")
    motion = _value(vector, "q_motion_artifact")
    flat = _value(vector, "q_flat_line")
    return QualityFlags(
        contact_fraction=0.0 if contact is None else contact,
        data_fraction=0.0 if data is None else data,
        motion_artifact=bool(motion is not None and motion >= 0.5),
        flat_line=bool(flat is not None and flat >= 0.5),
        beats_judgeable=beats_judgeable(vector),
    )


#: After a window with a motion-artifact second, the model's fall stays closed until this
#: long after that window ends (see :class:`ArtifactSettle`).
ARTIFACT_SETTLE_S = 15


def model_gates(vector: npt.NDArray[np.float32], inputs: RuleInputs) -> dict[AlertType, bool]:
    """Whether each type's model score may count in this window.

    The clinical definitions (``wearable_core.assessment.rules.model_plausible``), no
    model fall or desaturation in a window with any motion-artifact second (falls are
    then left to the impact-and-stillness rule: an artifact looks like an impact to the
    model; motion pulls a wrist oximeter's reading down), and no model fall in a window
    that begins as an artifact fades (``inputs.after_motion_artifact``).
    ``inputs`` is :func:`rules_inputs_from_features` of ``vector`` with the person's
    baselines.

    Examples
    --------
    >>> import numpy as np
    >>> from wearable_core.contracts.features import FEATURE_NAMES
    >>> v = np.full(len(FEATURE_NAMES), np.nan, dtype=np.float32)
    >>> v[FEATURE_NAMES.index("hr_mean")] = 120.0
    >>> gates = model_gates(v, rules_inputs_from_features(v))
    >>> gates[AlertType.TACHYCARDIA], gates[AlertType.BRADYCARDIA]
    (True, False)
    """
    plausible = model_plausible(inputs)
    artifact = _value(vector, "q_motion_artifact")
    if artifact is not None and artifact > 0:
        # Any artifact second, not only a window flagged as faulty: a window that an
        # artifact only partly covers still carries its impact-like peaks and its
        # motion-lowered SpO2 readings.
        plausible[AlertType.FALL] = False
        plausible[AlertType.DESATURATION] = False
    if inputs.after_motion_artifact:
        # Its last spike, then rest, reads as an impact and stillness; SpO2 recovers with
        # the motion (closing desaturation here too cost a development seed a short
        # desaturation that followed an artifact).
        plausible[AlertType.FALL] = False
    return plausible


class ArtifactSettle:
    """One device's motion-artifact history: ``after_artifact`` of :func:`window_assess`.

    An artifact's last seconds of movement count as artifact seconds only where an RR
    interval jumps, so the window that begins as an artifact fades can hold its last
    spike followed by rest: to the model, an impact and stillness (a false fall measured
    on a development seed, ``docs/detection.md``). Windows that start before
    :data:`ARTIFACT_SETTLE_S` after the end of the last window with an artifact second
    are therefore treated as the artifact's. Feed every window of a device in time order.

    Examples
    --------
    >>> import numpy as np
    >>> from wearable_core.contracts.features import FEATURE_NAMES
    >>> shaken = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    >>> shaken[FEATURE_NAMES.index("q_motion_artifact")] = 0.2
    >>> calm = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    >>> settle = ArtifactSettle()
    >>> [settle.after_artifact(t, v) for t, v in ((0, shaken), (60_000, calm), (120_000, calm))]
    [False, True, False]
    """

    def __init__(self) -> None:
        self.until_ms: int | None = None

    def after_artifact(self, start_ms: int, vector: npt.NDArray[np.float32]) -> bool:
        """Whether the window at ``start_ms`` begins within an earlier artifact's settle
        time; then note the window's own artifact seconds for the windows after it."""
        recent = self.until_ms is not None and start_ms < self.until_ms
        artifact = _value(vector, "q_motion_artifact")
        if artifact is not None and artifact > 0:
            until = start_ms + (WINDOW_S + ARTIFACT_SETTLE_S) * 1000
            self.until_ms = until if self.until_ms is None else max(self.until_ms, until)
        return recent


def window_assess(
    device: str,
    start_ms: int,
    vector: npt.NDArray[np.float32],
    scores: Mapping[AlertType, float] | None = None,
    temp_baseline_c: float | None = None,
    window_s: int = WINDOW_S,
    hr_floor_bpm: float | None = None,
    at_rest: bool | None = None,
    lying_still: bool | None = None,
    after_artifact: bool = False,
) -> WindowAssessment:
    """The alert manager's input for one window of one device.

    Model scores of types that :func:`model_gates` closes for the window are set to 0
    (``after_artifact``: :meth:`ArtifactSettle.after_artifact` of the window; the fall
    rule then also asks for free fall).
    """
    inputs = rules_inputs_from_features(
        vector, temp_baseline_c, hr_floor_bpm, at_rest, lying_still, after_artifact
    )
    plausible = model_gates(vector, inputs)
    return WindowAssessment(
        device=device,
        start_ms=start_ms,
        end_ms=start_ms + window_s * 1000,
        scores={kind: (s if plausible[kind] else 0.0) for kind, s in (scores or {}).items()},
        rules=rules_evaluate(inputs),
        quality=quality_from_features(vector),
        hr_mean_bpm=inputs.hr_mean_bpm,
    )


def scores_from_outputs(
    outputs: npt.NDArray[np.float32],
    thresholds: Mapping[AlertType, float],
    policies: Mapping[AlertType, AlertPolicy],
) -> dict[AlertType, float]:
    """Map one window's model outputs onto the policies' score scale.

    The model's calibrated decision threshold for a type (from its manifest) becomes the
    policy's ``on_threshold``: piecewise linear, 0 -> 0, threshold -> on_threshold,
    1 -> 1. A policy's thresholds therefore mean the same for every model version, and
    hysteresis (``off_threshold``) sits proportionally below the model's threshold.

    Examples
    --------
    >>> from wearable_core.assessment.policy import DEFAULT_POLICIES
    >>> out = np.array([0.2, 0.1, 0.0, 1.0, 0.6, 0.6], dtype=np.float32)
    >>> th = {kind: 0.2 for kind in AlertType}
    >>> s = scores_from_outputs(out, th, DEFAULT_POLICIES)
    >>> [round(s[k], 3) for k in (AlertType.TACHYCARDIA, AlertType.BRADYCARDIA)]
    [0.7, 0.35]
    >>> s[AlertType.DESATURATION]
    1.0
    """
    scores: dict[AlertType, float] = {}
    # The model's outputs are in ANOMALY_TYPES order, which is the enum's order.
    for i, kind in enumerate(AlertType):
        p = min(max(float(outputs[i]), 0.0), 1.0)
        t = thresholds[kind]
        on = policies[kind].on_threshold
        scores[kind] = on * p / t if p < t else on + (1.0 - on) * (p - t) / (1.0 - t)
    return scores


def windows_assess(
    windows: Iterable[WindowData], temp_baseline_c: float | None = None
) -> Iterator[tuple[WindowData, npt.NDArray[np.float32], WindowAssessment]]:
    """Features and a rules-only assessment for each window (the model adds scores)."""
    for window in windows:
        vector = features_extract(window)
        yield window, vector, window_assess(window.device, window.start_ms, vector, None,
                                            temp_baseline_c)  # fmt: skip
