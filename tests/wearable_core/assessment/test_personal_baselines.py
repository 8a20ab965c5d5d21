"""A person's heart-rate floor: hourly lows, exclusions, state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wearable_core.assessment.personal_baselines import (
    HISTORY_HOURS,
    MIN_HOURS,
    MIN_WINDOWS_PER_HOUR,
    HeartRateFloor,
)

HOUR_MS = 3_600_000
MINUTE_MS = 60_000


def test_constants() -> None:
    assert (MIN_HOURS, MIN_WINDOWS_PER_HOUR, HISTORY_HOURS) == (3, 20, 24)


@pytest.mark.parametrize(
    "state",
    [
        None,
        "hours",
        [1, 2],
        {"hours": [[1]]},
        {"hours": [["x", 33.0]]},
        {"hours": 5},
        {"current_hour": "soon"},
        {"current": ["warm"]},
    ],
)
def test_malformed_state_starts_afresh(state: Any) -> None:
    assert HeartRateFloor.from_state(state) == HeartRateFloor()


def test_the_heart_rate_floor_is_the_second_lowest_hourly_low() -> None:
    f = HeartRateFloor()
    assert f.value is None
    for minute in range(60):  # hour 0: 60..69 bpm, 10th percentile 60.9
        f.update(minute * MINUTE_MS, 60.0 + minute % 10)
    assert f.value == pytest.approx(60.9)  # hour 0 still open: the hour so far
    for minute in range(60):  # hour 1: asleep at 52..61
        f.update(HOUR_MS + minute * MINUTE_MS, 52.0 + minute % 10)
    assert f.value == pytest.approx(60.9)  # one closed hour is enough for a floor
    for minute in range(60):  # hour 2: lower still
        f.update(2 * HOUR_MS + minute * MINUTE_MS, 51.0 + minute % 10)
    f.update(3 * HOUR_MS, 60.0)
    assert f.value == pytest.approx(52.9)  # second-lowest of 60.9, 52.9, 51.9


def test_the_first_hour_gives_a_provisional_floor_after_twenty_windows() -> None:
    """A development-seed bradycardia began 36 min into wear (60 -> 46 bpm): judged with
    no floor, the model stayed closed through all 36 minutes of it."""
    f = HeartRateFloor()
    for minute in range(MIN_WINDOWS_PER_HOUR - 1):
        f.update(minute * MINUTE_MS, 60.0)
    assert f.value is None  # too few windows to say
    for minute in range(MIN_WINDOWS_PER_HOUR - 1, 36):
        f.update(minute * MINUTE_MS, 60.0 + minute % 3)
    assert f.value == pytest.approx(60.0)
    for minute in range(36, 60):  # the bradycardia: left out of the floor
        f.update(minute * MINUTE_MS, 46.0)
    assert f.value == pytest.approx(60.0)


def test_bradycardic_windows_do_not_lower_the_floor() -> None:
    f = HeartRateFloor()
    for minute in range(60):
        f.update(minute * MINUTE_MS, 60.0)
    f.update(HOUR_MS, 35.0)  # 25 bpm below the floor: left out
    assert f.current == []
    f.update(HOUR_MS + MINUTE_MS, 55.0)
    assert f.current == [55.0]
    restored = HeartRateFloor.from_state(json.loads(json.dumps(f.to_state())))
    assert restored == f


def _vector(hr: float, enmo: float) -> Any:
    import numpy as np

    from wearable_core.contracts.features import FEATURE_NAMES, feature_index

    v = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    for name, value in (
        ("q_contact_fraction", 1.0),
        ("q_data_fraction", 1.0),
        ("q_beat_coverage", 0.95),
        ("irr_nn_nrmssd", 0.03),
        ("hr_mean", hr),
        ("temp_level", 33.0),
        ("act_enmo", enmo),
    ):
        v[feature_index(name)] = value
    return v


def test_peek_judges_an_overlapping_window_without_learning_from_it() -> None:
    from wearable_core.assessment.personal_baselines import PersonalBaselines

    b = PersonalBaselines()
    for minute in range(3 * 60):  # three hours at rest
        b.step(minute * MINUTE_MS, _vector(60.0 + minute % 7, 0.001))
    before = json.dumps(b.to_state(), sort_keys=True)
    still = b.peek(3 * HOUR_MS + 15_000, _vector(40.0, 0.001))
    walking = b.peek(3 * HOUR_MS + 30_000, _vector(40.0, 0.3))
    assert json.dumps(b.to_state(), sort_keys=True) == before  # nothing learnt
    assert still.hr_floor_bpm == walking.hr_floor_bpm == b.hr_floor.value is not None
    assert still.at_rest is True and walking.at_rest is False
    # The next window on the grid is judged as if the peeks never happened.
    fresh = PersonalBaselines.from_state(json.loads(before))
    assert b.step(3 * HOUR_MS, _vector(61.0, 0.001)) == fresh.step(
        3 * HOUR_MS, _vector(61.0, 0.001)
    )


def test_a_wrist_rewarming_after_the_watch_was_off_is_not_learnt() -> None:
    """Measured on a development seed: the minutes in which the sensor warmed back up from
    the room were learnt as normal, the expectation fell ~1 degC, and the night's usual
    warmth then read as a fever."""
    from wearable_core.assessment.personal_baselines import PersonalBaselines
    from wearable_core.assessment.wrist_temperature import SENSOR_SETTLE_S
    from wearable_core.contracts.features import feature_index

    def window(temp: float, contact: float = 1.0) -> Any:
        v = _vector(50.0, 0.002)
        v[feature_index("temp_level")] = temp
        v[feature_index("q_contact_fraction")] = contact
        return v

    b = PersonalBaselines()
    for minute in range(60):
        b.step(minute * MINUTE_MS, window(34.5))
    learnt = b.wrist.to_state()
    b.step(60 * MINUTE_MS, window(25.0, contact=0.0))  # on the table
    settle_min = SENSOR_SETTLE_S // 60
    for k in range(settle_min):  # back on: the sensor warms from the room to the skin
        b.step((61 + k) * MINUTE_MS, window(34.5 - 9.5 * 0.78 ** (k + 1)))
    rewarmed = b.wrist.to_state()
    assert rewarmed["theta"] == learnt["theta"] and rewarmed["learnt"] == learnt["learnt"]
    after = b.step((61 + settle_min) * MINUTE_MS, window(34.5))
    assert after.temp_expected_c is not None and abs(after.temp_expected_c - 34.5) < 0.2
    assert b.wrist.learnt == learnt["learnt"] + 1  # learning resumes once settled
    restored = PersonalBaselines.from_state(json.loads(json.dumps(b.to_state())))
    assert restored.wrist.settling_until_ms == b.wrist.settling_until_ms is not None
