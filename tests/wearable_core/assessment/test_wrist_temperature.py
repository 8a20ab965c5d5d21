"""The expected wrist temperature: population priors, learning, rest, state."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from wearable_core.assessment.wrist_temperature import (
    EXCLUDE_AFTER_WINDOWS,
    MIN_WINDOWS,
    PRIOR_MEAN,
    WristTemperatureModel,
    circadian_c,
)

MINUTE_MS = 60_000
#: Activity features of one window: seated (fidgeting) and lying still.
SEATED = {"enmo_g": 0.01, "sd_g": 0.02}
STILL = {"enmo_g": 0.0, "sd_g": 0.004}
WALKING = {"enmo_g": 0.1, "sd_g": 0.1}


def run(
    m: WristTemperatureModel, start_min: int, minutes: int, temp: float, activity: dict[str, float]
) -> list[float | None]:
    """Feed ``minutes`` windows; return the expectation each was judged against."""
    out = []
    for k in range(start_min, start_min + minutes):
        t = k * MINUTE_MS
        m.advance(t, **activity)
        out.append(m.expected_at(t))
        m.update(t, temp + circadian_c(t))
    return out


def test_nothing_is_expected_before_half_an_hour_of_wear() -> None:
    m = WristTemperatureModel()
    expected = run(m, 0, MIN_WINDOWS + 1, 34.0, SEATED)
    assert expected[:MIN_WINDOWS] == [None] * MIN_WINDOWS
    assert expected[MIN_WINDOWS] == pytest.approx(
        34.0 + circadian_c(MIN_WINDOWS * MINUTE_MS), abs=0.05
    )


def test_any_persons_level_is_learnt_from_the_population_prior() -> None:
    for level in (31.0, 33.0, 35.5):
        m = WristTemperatureModel()
        run(m, 0, 90, level, SEATED)
        assert m.theta[0] == pytest.approx(level, abs=0.05)


def test_a_warm_sleeper_is_expected_warm_in_sleep_not_feverish() -> None:
    # Awake 33.0 degC; lying still the wrist runs 1.9 degC warmer (the prior says 1.5).
    m = WristTemperatureModel()
    run(m, 0, 4 * 60, 33.0, SEATED)
    night = []
    for k in range(4 * 60, 12 * 60):
        t = k * MINUTE_MS
        m.advance(t, **STILL)
        rest = m.rest or 0.0
        night.append((m.expected_at(t), 33.0 + 1.9 * rest + circadian_c(t), t))
        m.update(t, 33.0 + 1.9 * rest + circadian_c(t))
    first_error = max(abs(actual - e) for e, actual, _ in night[:60] if e is not None)
    last_error = max(abs(actual - e) for e, actual, _ in night[-60:] if e is not None)
    assert first_error < 0.6  # the prior is off by at most the 0.4 degC gain difference
    assert last_error < 0.05  # the person's own gain, learnt during the night
    assert m.theta[1] == pytest.approx(1.9, abs=0.1)


def test_a_fever_is_not_learnt_as_normal() -> None:
    m = WristTemperatureModel()
    run(m, 0, EXCLUDE_AFTER_WINDOWS + 30, 33.0, SEATED)
    expected = run(m, 200, 6 * 60, 34.5, SEATED)  # six hours of fever
    assert all(e is not None and 34.5 - e > 1.2 for e in expected)


def test_walking_cools_the_expectation_once_learnt() -> None:
    m = WristTemperatureModel()
    run(m, 0, 120, 33.0, SEATED)
    before = m.theta[2]
    run(m, 120, 60, 32.4, WALKING)  # 0.6 degC cooler while walking
    assert m.theta[2] < before
    assert m.expected_at(180 * MINUTE_MS) == pytest.approx(
        32.4 + circadian_c(180 * MINUTE_MS), abs=0.15
    )


def test_unknown_activity_holds_the_state() -> None:
    m = WristTemperatureModel()
    m.advance(0, **STILL)
    m.advance(MINUTE_MS, None, None)
    m.advance(2 * MINUTE_MS, float("nan"), 0.1)
    assert (m.rest, m.moving, m.last_ms) == (1.0, 0.0, 0)


def test_the_circadian_shape_peaks_after_lunch_and_dips_in_the_evening() -> None:
    hours = np.arange(0, 24, 0.25)
    shape = [circadian_c(int(h * 3_600_000)) for h in hours]
    assert hours[int(np.argmax(shape))] == 15.0
    assert hours[int(np.argmin(shape))] == 20.5
    assert circadian_c(15 * 3_600_000) == circadian_c((24 + 15) * 3_600_000)


def test_state_round_trip_continues_where_it_left_off() -> None:
    m = WristTemperatureModel()
    run(m, 0, 45, 33.5, SEATED)
    restored = WristTemperatureModel.from_state(json.loads(json.dumps(m.to_state())))
    assert restored.learnt == m.learnt and restored.last_ms == m.last_ms
    assert restored.theta == pytest.approx(m.theta, abs=1e-5)
    a = run(m, 45, 10, 33.5, SEATED)
    b = run(restored, 45, 10, 33.5, SEATED)
    assert a == pytest.approx(b, abs=1e-4)
    assert (
        WristTemperatureModel.from_state(WristTemperatureModel().to_state())
        == WristTemperatureModel()
    )
    assert WristTemperatureModel().theta == list(PRIOR_MEAN)


@pytest.mark.parametrize(
    "state",
    [None, "x", [1], {"theta": [1, 2]}, {"theta": [1, 2, 3], "cov": [1]}, {"theta": "abc"}],
)
def test_malformed_state_starts_afresh(state: Any) -> None:
    assert WristTemperatureModel.from_state(state) == WristTemperatureModel()
