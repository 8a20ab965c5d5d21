"""Daily activity schedule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.physiology import Activity, PersonProfile, schedule_activity

from ._support import DAY0, HOUR, office_worker

DAY = 24 * HOUR


def week(profile: PersonProfile, seed: int = 1) -> np.ndarray:
    return schedule_activity(profile, DAY0, 7 * DAY, np.random.default_rng(seed))


def test_shape_dtype_and_codes() -> None:
    s = week(office_worker())
    assert s.dtype == np.int8 and s.shape == (7 * DAY,)
    assert set(np.unique(s)) <= {int(a) for a in Activity}


def test_daily_routine_by_time_of_day() -> None:
    s = week(office_worker()).reshape(7, DAY)
    assert np.all(s[:, 3 * HOUR] == Activity.SLEEP)  # 03:00
    assert np.all(s[:, 12 * HOUR] != Activity.SLEEP)  # noon
    sleep_h = (s == Activity.SLEEP).sum(axis=1) / HOUR
    assert np.all((sleep_h >= 6.0) & (sleep_h <= 10.0))
    for day in s:
        assert np.count_nonzero(day == Activity.WALKING) >= 10 * 60  # several walks


def test_fitness_drives_exercise() -> None:
    fit = PersonProfile(30, "male", 55, 0.95, 98, 33)
    unfit = PersonProfile(70, "female", 80, 0.05, 96, 33)
    days = 28

    def exercise_days(p: PersonProfile) -> int:
        s = schedule_activity(p, DAY0, days * DAY, np.random.default_rng(1))
        return int((s.reshape(days, DAY) == Activity.EXERCISE).any(axis=1).sum())

    # Exercise probability per day is 0.2 + 0.5 x fitness: 0.675 vs 0.225.
    assert 12 <= exercise_days(fit) <= 26
    assert 1 <= exercise_days(unfit) <= 12


def test_days_differ() -> None:
    s = week(office_worker()).reshape(7, DAY)
    assert not np.array_equal(s[0], s[1])


def test_any_window_agrees_with_the_whole() -> None:
    whole = schedule_activity(office_worker(), DAY0 + 0.0, 3 * DAY, np.random.default_rng(4))
    start = 30 * HOUR + 17
    part = schedule_activity(office_worker(), DAY0 + start, 5 * HOUR, np.random.default_rng(4))
    np.testing.assert_array_equal(part, whole[start : start + 5 * HOUR])


def test_empty_and_invalid() -> None:
    assert schedule_activity(office_worker(), DAY0, 0, np.random.default_rng(0)).size == 0
    with pytest.raises(ValueError, match="duration_s"):
        schedule_activity(office_worker(), DAY0, -1, np.random.default_rng(0))


@settings(max_examples=25, deadline=None)
@given(
    start=st.floats(min_value=-1e9, max_value=4e9, allow_nan=False),
    duration=st.integers(min_value=1, max_value=3 * DAY),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_start_gives_valid_codes(start: float, duration: int, seed: int) -> None:
    s = schedule_activity(office_worker(), start, duration, np.random.default_rng(seed))
    assert s.shape == (duration,)
    assert s.min() >= 0 and s.max() <= 3
