"""Features of simulated anomalies and faults, end to end from gateway records."""

from __future__ import annotations

import numpy as np
import pytest

from wearable_core.contracts.features import (
    FEATURE_NAMES,
    FEATURE_SCHEMA_VERSION,
    FEATURES,
    WINDOW_S,
    feature_index,
)
from wearable_core.features import features_extract, features_extract_many, windows_from_records
from wearable_core.features.activity import activity_cadence
from wearable_core.features.temperature import temperature_trend

from ._support import Simulated


def col(sim: Simulated, name: str) -> np.ndarray:
    return sim.features[:, feature_index(name)]


def test_schema() -> None:
    assert FEATURE_SCHEMA_VERSION == 3 and WINDOW_S == 60
    assert len(set(FEATURE_NAMES)) == len(FEATURES) == len(FEATURE_NAMES)
    assert all(FEATURE_NAMES[feature_index(n)] == n for n in FEATURE_NAMES)
    with pytest.raises(KeyError):
        feature_index("nope")


def test_windows_are_aligned_and_complete(simulated: Simulated) -> None:
    sim = simulated
    assert sim.features.shape == (len(sim.windows), len(FEATURE_NAMES))
    assert sim.features.dtype == np.float32
    starts = np.array([w.start_ms for w in sim.windows])
    assert np.all(starts % 60_000 == 0) and np.all(np.diff(starts) == 60_000)
    assert len(sim.windows) == 40
    w = sim.windows[sim.minute(1)]
    assert w.present.all() and w.contact.all() and np.isfinite(w.accel_g).all()
    assert np.isfinite(w.temp_c[-2:]).all()


def test_af_windows_are_irregular(simulated: Simulated) -> None:
    nrmssd, tpr = col(simulated, "irr_nrmssd"), col(simulated, "irr_tpr")
    af = [simulated.minute(k) for k in range(3, 8)]
    sinus = [simulated.minute(k) for k in (0, 1, 9, 13, 14)]
    assert np.all(nrmssd[af] > 0.1) and np.all(nrmssd[sinus] < 0.1)
    assert tpr[af].min() > tpr[sinus].max()


def test_desaturation(simulated: Simulated) -> None:
    i = simulated.minute(11)  # plateau at 88 - 8 * 0.8 = 81.6 %
    assert col(simulated, "spo2_mean")[i] < 85
    assert col(simulated, "spo2_min")[i] < 84
    assert col(simulated, "spo2_s_below_90")[i] >= 55
    assert col(simulated, "spo2_s_below_88")[i] >= 50
    normal = simulated.minute(1)
    assert (
        col(simulated, "spo2_s_below_90")[normal] == 0 and col(simulated, "spo2_min")[normal] > 93
    )


def test_fall(simulated: Simulated) -> None:
    i = simulated.minute(15)
    assert col(simulated, "fall_peak")[i] > 3.0
    assert col(simulated, "fall_stillness")[i] < 0.02
    assert col(simulated, "fall_free_fall")[i] < 0.6  # the fall began with free fall
    assert col(simulated, "fall_free_fall")[simulated.minute(1)] > 0.6
    assert col(simulated, "fall_peak")[simulated.minute(1)] < 2.0


def test_walking_cadence(simulated: Simulated) -> None:
    cadence, enmo = col(simulated, "act_cadence"), col(simulated, "act_enmo")
    walking = np.flatnonzero((enmo > 0.05) & (col(simulated, "q_motion_artifact") == 0))
    assert walking.size >= 3
    assert np.all((cadence[walking] >= 1.6) & (cadence[walking] <= 2.0))
    still = simulated.minute(17)  # lying after the fall
    assert cadence[still] == 0.0


def test_cadence_of_a_synthetic_gait() -> None:
    t = np.arange(1500) / 25.0
    a = np.zeros((1500, 3))
    a[:, 2] = 1.0 + 0.25 * np.sin(2 * np.pi * 1.75 * t)
    assert activity_cadence(a) == pytest.approx(1.75, abs=0.02)


def test_quality_flags(simulated: Simulated) -> None:
    sim = simulated
    contact, data = col(sim, "q_contact_fraction"), col(sim, "q_data_fraction")
    flat, motion = col(sim, "q_flat_line"), col(sim, "q_motion_artifact")
    off, gap, stuck, shaken = sim.minute(23), sim.minute(28), sim.minute(33), sim.minute(37)
    assert contact[off] == 0 and data[off] == 1
    assert data[gap] == 0 and np.isnan(col(sim, "hr_mean")[gap])
    assert flat[stuck] == 1
    assert motion[shaken] > 0.3
    clean = [sim.minute(k) for k in (0, 1, 9, 13, 14, 16, 17, 26)]
    assert np.all(contact[clean] == 1) and np.all(data[clean] == 1)
    assert np.all(flat[clean] == 0) and np.all(motion[clean] == 0)
    # Walking (vigorous wrist motion with a clean RR series) is not an artefact window;
    # a beat the PPG misses while the wrist swings does count as an artefact second.
    assert np.all(motion[col(sim, "act_enmo") > 0.05][:3] < 0.5)


def test_temperature() -> None:
    assert temperature_trend(36.0 + np.arange(30) / 60.0) == pytest.approx(1.0)
    assert np.isnan(temperature_trend(np.full(30, np.nan)))


def test_deterministic(simulated: Simulated) -> None:
    again = features_extract_many(windows_from_records(simulated.records))
    np.testing.assert_array_equal(again, simulated.features)
    # Record order does not matter (backfilled records arrive late).
    shuffled = list(simulated.records)
    np.random.default_rng(0).shuffle(shuffled)
    np.testing.assert_array_equal(
        features_extract_many(windows_from_records(shuffled)), simulated.features
    )
    one = features_extract(simulated.windows[5])
    np.testing.assert_array_equal(one, simulated.features[5])


def test_empty_and_mixed_devices(simulated: Simulated) -> None:
    assert list(windows_from_records([])) == []
    assert features_extract_many([]).shape == (0, len(FEATURE_NAMES))
    other = [
        r.__class__(**{**{f: getattr(r, f) for f in r.__slots__}, "device": "X"})
        for r in simulated.records[:1]
    ]
    with pytest.raises(ValueError, match="several devices"):
        list(windows_from_records(simulated.records[:5] + other))
