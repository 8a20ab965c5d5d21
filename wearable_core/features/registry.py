"""Every feature's reference function, in schema order: the one list of what each means.

:data:`wearable_core.contracts.features.FEATURES` names each feature with its unit and
definition; :data:`FEATURE_FUNCTIONS` gives, for each, the public function that computes
it from a raw window. :func:`wearable_core.features.extract.features_extract` computes
the same values faster (|a| and the ectopic-beat filter once per window instead of once
per feature); the tests and ``benchmarks/bench_features.py`` check it against
:func:`features_reference`, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.features import FEATURE_NAMES
from wearable_core.features import (
    activity,
    fall,
    hrv,
    irregularity,
    oximetry,
    quality,
    temperature,
)
from wearable_core.features.extract import MIN_RR_IRREGULARITY
from wearable_core.features.window import WindowData

FeatureFunction = Callable[[WindowData], float]


def _hr(stat: Callable[[npt.NDArray[np.float64]], np.floating]) -> FeatureFunction:
    def of(w: WindowData) -> float:
        v = w.hr_bpm[np.isfinite(w.hr_bpm)]
        return float(stat(v)) if v.size else float("nan")

    return of


def _irregular(function: Callable[[npt.ArrayLike], float]) -> FeatureFunction:
    # Irregularity needs enough beats to mean anything (MIN_RR_IRREGULARITY).
    def of(w: WindowData) -> float:
        return function(w.rr_ms) if w.rr_ms.size >= MIN_RR_IRREGULARITY else float("nan")

    return of


FEATURE_FUNCTIONS: Mapping[str, FeatureFunction] = {
    "hr_mean": _hr(np.mean),
    "hr_min": _hr(np.min),
    "hr_max": _hr(np.max),
    "rr_count": lambda w: float(w.rr_ms.size),
    "hrv_rmssd": lambda w: hrv.hrv_rmssd(w.rr_ms),
    "hrv_sdnn": lambda w: hrv.hrv_sdnn(w.rr_ms),
    "hrv_pnn50": lambda w: hrv.hrv_pnn50(w.rr_ms),
    "irr_nrmssd": _irregular(irregularity.irregularity_nrmssd),
    "irr_shannon_entropy": _irregular(irregularity.irregularity_shannon),
    "irr_tpr": _irregular(irregularity.irregularity_tpr),
    "spo2_mean": lambda w: oximetry.oximetry_mean(w.spo2_pct),
    "spo2_min": lambda w: oximetry.oximetry_min(w.spo2_pct),
    "spo2_s_below_90": lambda w: oximetry.oximetry_seconds_below(w.spo2_pct, 90.0),
    "spo2_s_below_88": lambda w: oximetry.oximetry_seconds_below(w.spo2_pct, 88.0),
    # The window's own minutes (the rest of temp_c is the trend's 30-minute context).
    "temp_level": lambda w: temperature.temperature_level(w.temp_c[-max(w.window_s // 60, 1) :]),
    "temp_trend": lambda w: temperature.temperature_trend(w.temp_c),
    "act_enmo": lambda w: activity.activity_enmo(w.accel_g),
    "act_cadence": lambda w: activity.activity_cadence(w.accel_g),
    "act_mag_sd": lambda w: activity.activity_mag_sd(w.accel_g),
    "fall_peak": lambda w: fall.fall_peak(w.accel_g),
    "fall_stillness": lambda w: fall.fall_stillness(w.accel_g),
    "q_contact_fraction": lambda w: quality.quality_contact_fraction(w.contact, w.present),
    "q_data_fraction": lambda w: quality.quality_data_fraction(w.present),
    "q_motion_artifact": lambda w: quality.quality_motion_artifact(
        w.accel_g, w.rr_ms, w.rr_second, w.present
    ),
    "q_flat_line": lambda w: quality.quality_flat_line(w.hr_bpm, w.spo2_pct),
    "irr_ectopic_fraction": _irregular(irregularity.irregularity_ectopic_fraction),
    "irr_nn_nrmssd": _irregular(irregularity.irregularity_nn_nrmssd),
    "q_beat_coverage": lambda w: quality.quality_beat_coverage(
        w.rr_ms, irregularity.irregularity_ectopic_mask(w.rr_ms), w.window_s
    ),
    "fall_free_fall": lambda w: fall.fall_free_fall(w.accel_g),
    "hr_nn_mean": _irregular(irregularity.irregularity_nn_rate),
}

assert tuple(FEATURE_FUNCTIONS) == FEATURE_NAMES, "a function per feature, in schema order"


def features_reference(window: WindowData) -> npt.NDArray[np.float32]:
    """Every feature of one window by its reference function (slow; for checks).

    Examples
    --------
    >>> from wearable_core.features.extract import features_extract
    >>> w = WindowData(0, "x", np.full(60, 70.0), np.full(70, 857.0), np.arange(70) % 60,
    ...                np.full(60, 97.0), np.full(30, 33.0),
    ...                np.tile(np.float32([0, 0, 1]), (1500, 1)), np.ones(60, bool),
    ...                np.ones(60, bool))
    >>> bool(np.array_equal(features_reference(w), features_extract(w), equal_nan=True))
    True
    """
    return np.array([f(window) for f in FEATURE_FUNCTIONS.values()], dtype=np.float32)
