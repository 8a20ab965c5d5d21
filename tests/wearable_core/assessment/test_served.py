"""Model outputs as the detector lets them count, replayed over recorded windows."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wearable_core.assessment.assess import ArtifactSettle, window_assess
from wearable_core.assessment.served import baselines_replay, served_outputs
from wearable_core.assessment.types import AlertType
from wearable_core.assessment.wrist_temperature import MIN_WINDOWS
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, feature_index

MINUTE_MS = 60_000
FEVER = ANOMALY_TYPES.index("fever")
TACHY = ANOMALY_TYPES.index("tachycardia")


def windows(minutes: int, **values: float) -> npt.NDArray[np.float32]:
    """``minutes`` fault-free windows: full contact and data, resting, ``values`` set."""
    X = np.full((minutes, len(FEATURE_NAMES)), np.nan, dtype=np.float32)
    base = {"q_contact_fraction": 1.0, "q_data_fraction": 1.0, "q_motion_artifact": 0.0,
            "q_flat_line": 0.0, "act_enmo": 0.01, "act_mag_sd": 0.02, "hr_mean": 62.0,
            "temp_level": 33.0,
            "irr_nn_nrmssd": 0.04, "q_beat_coverage": 0.9}  # fmt: skip
    for name, value in {**base, **values}.items():
        X[:, feature_index(name)] = value
    return X


def test_a_warm_sleeper_is_never_a_fever() -> None:
    # Skin at 35.6 degC all night: a fever level for most wrists, this person's normal.
    X = windows(5 * 60, temp_level=35.6)
    outputs = np.ones((len(X), len(ANOMALY_TYPES)), dtype=np.float32)
    served = served_outputs(outputs, X, np.zeros(len(X)), np.arange(len(X)) * MINUTE_MS)
    temperature = [c.temp_expected_c for c in baselines_replay(np.arange(len(X)) * MINUTE_MS, X)]
    assert temperature[MIN_WINDOWS - 1] is None
    assert temperature[-1] is not None and abs(temperature[-1] - 35.6) < 0.05
    assert not served[:, FEVER].any()  # nothing expected, then this level expected
    # The other gates still apply: a resting 62 bpm is no tachycardia, regular NN
    # intervals are no AF.
    assert not served[:, TACHY].any() and not served[:, ANOMALY_TYPES.index("af")].any()


def test_a_rise_over_the_persons_own_baseline_still_counts() -> None:
    X = np.concatenate([windows(3 * 60 + 30), windows(30, temp_level=34.2)])
    outputs = np.full((len(X), len(ANOMALY_TYPES)), 0.9, dtype=np.float32)
    served = served_outputs(outputs, X, ["watch"] * len(X), np.arange(len(X)) * MINUTE_MS)
    assert (served[-30:, FEVER] == np.float32(0.9)).all()  # 1.2 degC over 33.0
    assert not served[:-30, FEVER].any()


def test_windows_with_a_sensor_fault_teach_the_baselines_nothing() -> None:
    clean = windows(3 * 60 + 2)
    off_wrist = windows(3 * 60 + 1, temp_level=24.0, q_contact_fraction=0.0)
    X = np.concatenate([clean, off_wrist])
    starts = np.concatenate([np.arange(len(clean)), np.arange(len(off_wrist)) + 10_000])
    temperature = [c.temp_expected_c for c in baselines_replay(starts * MINUTE_MS, X)]
    last_clean, last = temperature[len(clean) - 1], temperature[-1]
    assert last_clean is not None and abs(last_clean - 33.0) < 0.05
    # The cold, off-wrist hours were never learnt (the daily shape still applies).
    assert last is not None and abs(last - 33.0) < 0.4


def test_each_person_is_replayed_alone_in_time_order_whatever_the_row_order() -> None:
    rng = np.random.default_rng(3)
    warm = windows(3 * 60 + 21, temp_level=35.6)
    cool = windows(3 * 60 + 21)
    cool[-20:, feature_index("temp_level")] = 35.6  # a fever for this person
    X = np.concatenate([warm, cool])
    device = np.repeat([0, 1], len(warm))
    starts = np.tile(np.arange(len(warm)) * MINUTE_MS, 2)
    outputs = np.ones((len(X), len(ANOMALY_TYPES)), dtype=np.float32)
    in_order = served_outputs(outputs, X, device, starts)
    order = rng.permutation(len(X))
    shuffled = served_outputs(outputs[order], X[order], device[order], starts[order])
    np.testing.assert_array_equal(shuffled, in_order[order])
    assert not in_order[len(warm) - 20 : len(warm), FEVER].any()  # warm person, normal
    assert in_order[-20:, FEVER].all()  # same temperature, the other person's fever


def test_the_same_gates_as_the_detector_on_random_windows() -> None:
    rng = np.random.default_rng(11)
    X = windows(400)
    for name, lo, hi in [("hr_mean", 30.0, 150.0), ("act_enmo", 0.0, 0.06),
                         ("spo2_min", 80.0, 99.0), ("fall_peak", 0.5, 5.0),
                         ("temp_level", 31.0, 37.0), ("q_motion_artifact", -0.5, 0.5)]:  # fmt: skip
        X[:, feature_index(name)] = rng.uniform(lo, hi, len(X))
    X[:, feature_index("q_motion_artifact")] = X[:, feature_index("q_motion_artifact")].clip(0)
    X[rng.random(len(X)) < 0.1, feature_index("hr_mean")] = np.nan
    starts = np.arange(len(X)) * MINUTE_MS
    outputs = np.ones((len(X), len(ANOMALY_TYPES)), dtype=np.float32)
    served = served_outputs(outputs, X, np.zeros(len(X)), starts)
    context = baselines_replay(starts, X)
    ones = dict.fromkeys(AlertType, 1.0)
    settle = ArtifactSettle()  # the detector keeps one per device
    for i, c in enumerate(context):
        a = window_assess(
            "d",
            int(starts[i]),
            X[i],
            ones,
            c.temp_expected_c,
            hr_floor_bpm=c.hr_floor_bpm,
            at_rest=c.at_rest,
            lying_still=c.lying_still,
            after_artifact=settle.after_artifact(int(starts[i]), X[i]),
        )
        assert [a.scores[kind] for kind in AlertType] == served[i].tolist(), i
    assert 0 < served[:, TACHY].sum() < len(X)  # both open and closed gates were exercised
