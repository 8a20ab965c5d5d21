"""The versioned list of windowed features shared by the gateway and the cloud training job.

Both sides import this module: the gateway computes the features in this order
(``wearable_core.features.extract``), the training job reads columns by these names. Any
change to names, order, units or definitions bumps :data:`FEATURE_SCHEMA_VERSION`.
Definitions and references: ``docs/features.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from wearable_core.contracts.streams import Stream

#: Bumped on any change to :data:`FEATURES` (names, order, units or definitions).
FEATURE_SCHEMA_VERSION = 3
#: Length of one feature window, seconds; windows start at multiples of it (Unix time).
WINDOW_S = 60
#: Context of the temperature trend, seconds, ending at the window end.
TEMP_CONTEXT_S = 1800


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature: its column name, unit, meaning and the stream it is computed from."""

    name: str
    unit: str
    description: str
    source: Stream


_HR, _SPO2, _TEMP, _ACC = Stream.HEART_RATE, Stream.SPO2, Stream.TEMPERATURE, Stream.ACCEL

FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("hr_mean", "bpm", "mean reported heart rate over seconds with a reading", _HR),
    FeatureSpec("hr_min", "bpm", "minimum reported heart rate", _HR),
    FeatureSpec("hr_max", "bpm", "maximum reported heart rate", _HR),
    FeatureSpec("rr_count", "1", "number of RR intervals reported in the window", _HR),
    FeatureSpec("hrv_rmssd", "ms", "root mean square of successive RR differences", _HR),
    FeatureSpec("hrv_sdnn", "ms", "standard deviation of RR intervals (ddof=1)", _HR),
    FeatureSpec("hrv_pnn50", "%", "percentage of successive RR differences > 50 ms", _HR),
    FeatureSpec("irr_nrmssd", "1", "RMSSD / mean RR (Dash et al. 2009)", _HR),
    FeatureSpec(
        "irr_shannon_entropy", "1", "normalised Shannon entropy of a 16-bin RR histogram", _HR
    ),
    FeatureSpec("irr_tpr", "1", "turning point ratio of the RR series (Dash et al. 2009)", _HR),
    FeatureSpec("spo2_mean", "%", "mean SpO2 over seconds with a reading", _SPO2),
    FeatureSpec("spo2_min", "%", "minimum SpO2", _SPO2),
    FeatureSpec("spo2_s_below_90", "s", "seconds with SpO2 < 90 %", _SPO2),
    FeatureSpec("spo2_s_below_88", "s", "seconds with SpO2 < 88 %", _SPO2),
    FeatureSpec("temp_level", "degC", "mean skin temperature of the window's minutes", _TEMP),
    FeatureSpec(
        "temp_trend", "degC/h", "least-squares slope of skin temperature over 30 min", _TEMP
    ),
    FeatureSpec("act_enmo", "g", "mean of max(|a| - 1 g, 0) (ENMO)", _ACC),
    FeatureSpec("act_cadence", "Hz", "dominant 0.5-3.5 Hz frequency of |a|; 0 when still", _ACC),
    FeatureSpec("act_mag_sd", "g", "standard deviation of |a|", _ACC),
    FeatureSpec("fall_peak", "g", "peak |a| in the window (impact magnitude)", _ACC),
    FeatureSpec("fall_stillness", "g", "SD of |a| over the 30 s after the peak", _ACC),
    FeatureSpec("q_contact_fraction", "1", "fraction of seconds with data showing contact", _HR),
    FeatureSpec("q_data_fraction", "1", "fraction of the window's seconds with any record", _ACC),
    FeatureSpec(
        "q_motion_artifact", "1", "fraction of seconds with high accel SD and an RR jump", _ACC
    ),
    FeatureSpec("q_flat_line", "1", "1 when HR and SpO2 are constant over the window", _HR),
    # Schema 2: premature beats are not AF (ectopic-beat filtering, docs/features.md).
    FeatureSpec(
        "irr_ectopic_fraction", "1", "fraction of RR marked ectopic/artefact (20 % filter)", _HR
    ),
    FeatureSpec("irr_nn_nrmssd", "1", "nRMSSD of consecutive RR left after the filter", _HR),
    FeatureSpec(
        "q_beat_coverage", "1", "fraction of the window covered by RR left after the filter", _HR
    ),
    # Schema 3: a fall starts with free fall; a motion artifact's last spike does not.
    FeatureSpec("fall_free_fall", "g", "lowest 0.2 s mean |a| in the 1 s before the peak", _ACC),
    # Schema 3: premature beats are not tachycardia (the rate of the underlying rhythm).
    FeatureSpec("hr_nn_mean", "bpm", "60000 / mean RR left after the ectopic filter", _HR),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


def feature_index(name: str) -> int:
    """Column of feature ``name`` in a feature vector; ``KeyError`` if unknown."""
    try:
        return _INDEX[name]
    except KeyError:
        raise KeyError(f"unknown feature {name!r}") from None
