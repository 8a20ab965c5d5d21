"""PersonProfile: validation and sampling of plausible adults."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from firmware_sim.physiology import PersonProfile

from ._support import office_worker


def test_valid_profile_is_frozen_and_normalised() -> None:
    p = PersonProfile(np.int64(50), "male", 60, 0.5, 97, 33)  # type: ignore[arg-type]
    assert type(p.age_years) is int and type(p.resting_hr_bpm) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.age_years = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "range_text"),
    [
        ("age_years", 17, "[18, 100]"),
        ("age_years", 101, "[18, 100]"),
        ("age_years", 40.5, "[18, 100]"),
        ("age_years", True, "[18, 100]"),
        ("sex", "other", "female"),
        ("resting_hr_bpm", 39.9, "[40.0, 100.0]"),
        ("resting_hr_bpm", float("nan"), "[40.0, 100.0]"),
        ("fitness", 1.01, "[0.0, 1.0]"),
        ("fitness", -0.1, "[0.0, 1.0]"),
        ("spo2_baseline_pct", 93.0, "[94.0, 100.0]"),
        ("spo2_baseline_pct", 100.5, "[94.0, 100.0]"),
        ("skin_temp_baseline_c", 37.0, "[28.0, 36.0]"),
        ("skin_temp_baseline_c", "33", "[28.0, 36.0]"),
    ],
)
def test_invalid_field_names_field_and_range(field: str, value: object, range_text: str) -> None:
    kwargs = dataclasses.asdict(office_worker())
    kwargs[field] = value
    with pytest.raises(ValueError) as info:
        PersonProfile(**kwargs)
    assert field in str(info.value)
    assert range_text in str(info.value)


def test_hr_max_follows_tanaka() -> None:
    assert office_worker().hr_max_bpm == pytest.approx(208 - 0.7 * 42)


def test_sample_is_deterministic() -> None:
    a = PersonProfile.sample(np.random.default_rng(7))
    b = PersonProfile.sample(np.random.default_rng(7))
    assert a == b
    assert a != PersonProfile.sample(np.random.default_rng(8))


def test_samples_are_plausible_adults() -> None:
    rng = np.random.default_rng(0)
    people = [PersonProfile.sample(rng) for _ in range(300)]
    ages = np.array([p.age_years for p in people])
    hr = np.array([p.resting_hr_bpm for p in people])
    fit = np.array([p.fitness for p in people])
    assert ages.min() >= 20 and ages.max() <= 80
    assert hr.min() >= 50 and hr.max() <= 90
    assert 66 <= hr.mean() <= 76  # population resting HR is ~70 bpm
    assert {p.sex for p in people} == {"female", "male"}
    assert all(96 <= p.spo2_baseline_pct <= 99 for p in people)
    assert all(31 <= p.skin_temp_baseline_c <= 34.5 for p in people)
    # Fitter people have lower resting heart rates.
    assert np.corrcoef(fit, hr)[0, 1] < -0.3
