"""A person's skin-temperature baseline: hourly medians, exclusions, history, state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wearable_core.assessment.personal_baselines import (
    HISTORY_HOURS,
    MIN_HOURS,
    MIN_WINDOWS_PER_HOUR,
    HeartRateFloor,
    TemperatureBaseline,
)
from wearable_core.assessment.rules import FEVER_RISE_C

HOUR_MS = 3_600_000
MINUTE_MS = 60_000


def feed_hour(b: TemperatureBaseline, hour: int, level: float, windows: int = 60) -> None:
    """``windows`` one-minute windows at ``level`` in ``hour``."""
    for minute in range(windows):
        b.update(hour * HOUR_MS + minute * MINUTE_MS, level)


def test_constants() -> None:
    assert (MIN_HOURS, MIN_WINDOWS_PER_HOUR, HISTORY_HOURS) == (3, 20, 24)


def test_no_baseline_before_three_complete_hours() -> None:
    b = TemperatureBaseline()
    assert b.value is None
    for hour in range(3):
        feed_hour(b, hour, 33.0)
    # The third hour is still open (it closes when a window of the next hour arrives).
    assert len(b.hours) == 2 and b.value is None
    b.update(3 * HOUR_MS, 33.0)
    assert b.value == pytest.approx(33.0)


def test_median_of_hourly_medians() -> None:
    b = TemperatureBaseline()
    # Hour 0: mostly 32.0 with a few high outliers -> hourly median 32.0.
    for minute in range(60):
        b.update(minute * MINUTE_MS, 34.0 if minute < 10 else 32.0)
    feed_hour(b, 1, 33.0)
    feed_hour(b, 2, 35.0)
    feed_hour(b, 3, 33.5)
    b.update(4 * HOUR_MS, 33.0)  # closes hour 3
    assert [v for _, v in b.hours] == pytest.approx([32.0, 33.0, 35.0, 33.5])
    assert b.value == pytest.approx((33.0 + 33.5) / 2)


def test_hours_with_too_few_windows_are_ignored() -> None:
    b = TemperatureBaseline()
    feed_hour(b, 0, 33.0)
    feed_hour(b, 1, 40.0, windows=MIN_WINDOWS_PER_HOUR - 1)  # too few: not an hour
    feed_hour(b, 2, 33.2)
    feed_hour(b, 3, 33.4, windows=MIN_WINDOWS_PER_HOUR)  # just enough
    b.update(4 * HOUR_MS, None)
    assert [h for h, _ in b.hours] == [0, 2, 3]
    assert b.value == pytest.approx(33.2)


def test_missing_levels_do_not_count() -> None:
    b = TemperatureBaseline()
    for minute in range(60):
        b.update(minute * MINUTE_MS, None if minute % 2 else float("nan"))
    b.update(HOUR_MS, 33.0)
    assert b.hours == [] and b.current == [33.0]


def test_windows_far_above_the_baseline_do_not_teach_it() -> None:
    b = TemperatureBaseline()
    for hour in range(3):
        feed_hour(b, hour, 33.0)
    b.update(3 * HOUR_MS, 33.0)
    assert b.value == pytest.approx(33.0)
    margin = FEVER_RISE_C / 2  # 0.75 degC
    b.update(3 * HOUR_MS + MINUTE_MS, 33.0 + margin)  # at the margin: excluded
    b.update(3 * HOUR_MS + 2 * MINUTE_MS, 35.0)  # fever: excluded
    b.update(3 * HOUR_MS + 3 * MINUTE_MS, 33.0 + margin - 0.01)  # just below: kept
    assert b.current == pytest.approx([33.0, 33.74])
    # Hours of fever do not move the baseline.
    for hour in range(4, 14):
        feed_hour(b, hour, 35.0)
    assert b.value == pytest.approx(33.0)


def test_only_the_last_day_is_kept() -> None:
    # 24 h for the heart-rate floor; 26 h for temperature, which compares with the same
    # clock hours of the day before.
    assert HeartRateFloor.history_hours == HISTORY_HOURS
    assert TemperatureBaseline.history_hours == HISTORY_HOURS + 2
    b = TemperatureBaseline()
    for hour in range(5):
        feed_hour(b, hour, 32.0)
    # Rising slowly (each hour within the exclusion margin of the current baseline).
    for hour in range(5, 40):
        feed_hour(b, hour, 32.0 + 0.5)
    b.update(40 * HOUR_MS, 32.5)
    hours = [h for h, _ in b.hours]
    assert hours == list(range(40 - HISTORY_HOURS - 2, 40))
    assert b.value == pytest.approx(32.5)


def test_state_round_trip() -> None:
    b = TemperatureBaseline()
    for hour in range(4):
        feed_hour(b, hour, 33.0 + hour * 0.1)
    b.update(4 * HOUR_MS + MINUTE_MS, 33.123456)
    state = json.loads(json.dumps(b.to_state()))  # as stored: JSON
    restored = TemperatureBaseline.from_state(state)
    assert restored == TemperatureBaseline(
        [(h, pytest.approx(v)) for h, v in b.hours],  # type: ignore[misc]
        4,
        [pytest.approx(33.1235)],  # type: ignore[list-item]
    )
    assert restored.value == pytest.approx(b.value)
    # It continues where it left off: the open hour keeps its windows.
    restored.update(4 * HOUR_MS + 2 * MINUTE_MS, 33.2)
    assert len(restored.current) == 2
    assert TemperatureBaseline.from_state(TemperatureBaseline().to_state()) == TemperatureBaseline()


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
    assert TemperatureBaseline.from_state(state) == TemperatureBaseline()


def test_a_fever_longer_than_a_day_keeps_the_last_known_baseline() -> None:
    b = TemperatureBaseline()
    for hour in range(3):
        feed_hour(b, hour, 33.0)
    for hour in range(3, 3 + 30):  # 30 h of fever: no fever-free hour in the last 24
        feed_hour(b, hour, 35.0)
    feed_hour(b, 33, 35.0, windows=1)  # close the last fever hour
    assert b.value == pytest.approx(33.0)


def test_the_heart_rate_floor_is_the_second_lowest_hourly_low() -> None:
    f = HeartRateFloor()
    assert f.value is None
    for minute in range(60):  # hour 0: 60..69 bpm, 10th percentile 60.9
        f.update(minute * MINUTE_MS, 60.0 + minute % 10)
    assert f.value is None  # hour 0 still open
    for minute in range(60):  # hour 1: asleep at 52..61
        f.update(HOUR_MS + minute * MINUTE_MS, 52.0 + minute % 10)
    assert f.value == pytest.approx(60.9)  # one closed hour is enough for a floor
    for minute in range(60):  # hour 2: lower still
        f.update(2 * HOUR_MS + minute * MINUTE_MS, 51.0 + minute % 10)
    f.update(3 * HOUR_MS, 60.0)
    assert f.value == pytest.approx(52.9)  # second-lowest of 60.9, 52.9, 51.9


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


def test_fever_is_judged_against_the_same_hours_of_the_day_before() -> None:
    # A person whose wrist is 1.2 degC warmer asleep (hours 0-5) than awake.
    b = TemperatureBaseline()
    for hour in range(27):
        feed_hour(b, hour, 34.2 if hour % 24 < 6 else 33.0)
    night, day = 26 * HOUR_MS, 36 * HOUR_MS
    assert b.baseline_at(night) == pytest.approx(34.2)  # yesterday's night
    assert b.baseline_at(day) == pytest.approx(33.0)  # yesterday's afternoon
    assert b.value == pytest.approx(33.0)  # the 24 h median: mostly awake hours


def test_before_a_full_day_the_warmest_hour_is_the_baseline() -> None:
    b = TemperatureBaseline()
    assert b.baseline_at(0) is None
    for hour, level in enumerate((33.0, 33.4, 34.1, 33.2)):
        feed_hour(b, hour, level)
    b.update(4 * HOUR_MS, 33.0)
    assert b.baseline_at(5 * HOUR_MS) == pytest.approx(34.1)
