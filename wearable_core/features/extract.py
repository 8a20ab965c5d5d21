"""One feature vector per window, in :data:`FEATURE_NAMES` order."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.features import FEATURE_NAMES
from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ
from wearable_core.features import activity, fall, hrv, irregularity, oximetry, quality, temperature
from wearable_core.features.window import WindowData

#: Fewest RR intervals for the irregularity measures (about 16 s of beats).
MIN_RR_IRREGULARITY = 16


def _hr(x: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    v = x[np.isfinite(x)]
    if not v.size:
        return (np.nan, np.nan, np.nan)
    return (float(v.mean()), float(v.min()), float(v.max()))


def features_extract(window: WindowData) -> npt.NDArray[np.float32]:
    """Compute every feature of one window.

    Parameters
    ----------
    window : WindowData
        One device's signals over one window.

    Returns
    -------
    numpy.ndarray
        ``float32 (len(FEATURE_NAMES),)`` in ``FEATURE_NAMES`` order, ``nan`` where a
        feature is undefined (e.g. no beats, no SpO2 reading).

    Examples
    --------
    >>> from wearable_core.contracts.features import FEATURE_NAMES
    >>> w = WindowData(0, "x", np.full(60, np.nan), np.empty(0), np.empty(0, np.int64),
    ...                np.full(60, np.nan), np.full(30, np.nan),
    ...                np.full((1500, 3), np.nan, np.float32), np.zeros(60, bool),
    ...                np.zeros(60, bool))
    >>> v = features_extract(w)
    >>> v.shape == (len(FEATURE_NAMES),), float(v[FEATURE_NAMES.index("q_data_fraction")])
    (True, 0.0)
    """
    rr = window.rr_ms
    irr_ok = rr.size >= MIN_RR_IRREGULARITY
    acc = window.accel_g
    minutes = max(window.window_s // 60, 1)
    hr_mean, hr_min, hr_max = _hr(window.hr_bpm)
    # |a| once for every accelerometer feature (each public function recomputes it);
    # the private helpers run the same operations, so the values are identical.
    mag = activity.activity_magnitude(acc)
    mag_ok = mag[np.isfinite(mag)]
    enmo = activity._enmo_of_valid(mag_ok)
    motion = (
        quality._motion_artifact_of(
            quality._second_sd_of(mag, ACCEL_SAMPLE_RATE_HZ), rr, window.rr_second, window.present
        )
        if np.count_nonzero(window.present)
        else float("nan")
    )
    # The ectopic filter once for the three features that use it (same values as the
    # public functions, which each recompute it).
    ectopic = irregularity.irregularity_ectopic_mask(rr)
    rr_finite = rr[np.isfinite(rr)]
    values = {
        "hr_mean": hr_mean,
        "hr_min": hr_min,
        "hr_max": hr_max,
        "rr_count": float(rr.size),
        "hrv_rmssd": hrv.hrv_rmssd(rr),
        "hrv_sdnn": hrv.hrv_sdnn(rr),
        "hrv_pnn50": hrv.hrv_pnn50(rr),
        "irr_nrmssd": irregularity.irregularity_nrmssd(rr) if irr_ok else np.nan,
        "irr_shannon_entropy": irregularity.irregularity_shannon(rr) if irr_ok else np.nan,
        "irr_tpr": irregularity.irregularity_tpr(rr) if irr_ok else np.nan,
        "spo2_mean": oximetry.oximetry_mean(window.spo2_pct),
        "spo2_min": oximetry.oximetry_min(window.spo2_pct),
        "spo2_s_below_90": oximetry.oximetry_seconds_below(window.spo2_pct, 90.0),
        "spo2_s_below_88": oximetry.oximetry_seconds_below(window.spo2_pct, 88.0),
        "temp_level": temperature.temperature_level(window.temp_c[-minutes:]),
        "temp_trend": temperature.temperature_trend(window.temp_c),
        "act_enmo": enmo,
        "act_cadence": activity._cadence_of(mag, enmo, ACCEL_SAMPLE_RATE_HZ, activity.STILL_ENMO_G),
        "act_mag_sd": activity._mag_sd_of_valid(mag_ok),
        "fall_peak": fall._peak_of(mag),
        "fall_stillness": fall._stillness_of(mag, ACCEL_SAMPLE_RATE_HZ),
        "q_contact_fraction": quality.quality_contact_fraction(window.contact, window.present),
        "q_data_fraction": quality.quality_data_fraction(window.present),
        "q_motion_artifact": motion,
        "q_flat_line": quality.quality_flat_line(window.hr_bpm, window.spo2_pct),
        "irr_ectopic_fraction": float(np.mean(ectopic)) if irr_ok else np.nan,
        "irr_nn_nrmssd": (
            irregularity._nn_nrmssd_of(rr_finite, ectopic, irregularity.MIN_NN_PAIRS)
            if irr_ok
            else np.nan
        ),
        "q_beat_coverage": quality.quality_beat_coverage(rr, ectopic, window.window_s),
        "fall_free_fall": fall._free_fall_of(mag, ACCEL_SAMPLE_RATE_HZ),
        "hr_nn_mean": (
            irregularity._nn_rate_of(rr_finite, ectopic, irregularity.MIN_NN_PAIRS)
            if irr_ok
            else np.nan
        ),
    }
    return np.array([values[name] for name in FEATURE_NAMES], dtype=np.float32)


def features_extract_many(windows: Iterable[WindowData]) -> npt.NDArray[np.float32]:
    """Stack :func:`features_extract` over windows: ``float32 (n, len(FEATURE_NAMES))``.

    Examples
    --------
    >>> features_extract_many([]).shape[0]
    0
    """
    rows = [features_extract(w) for w in windows]
    if not rows:
        return np.empty((0, len(FEATURE_NAMES)), dtype=np.float32)
    return np.stack(rows)
