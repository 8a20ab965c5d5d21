"""Heart-rate kinetics, beat timing, AF intervals, watch HR averaging."""

from __future__ import annotations

import math

import numpy as np
import pytest

from firmware_sim.physiology.cardiac import (
    beats_find_crossings,
    hr_average_beats,
    hr_respond,
    rr_generate_af,
)


def test_hr_respond_uses_rise_and_fall_time_constants() -> None:
    target = np.concatenate((np.full(300, 120.0), np.full(600, 60.0)))
    hr, last = hr_respond(target, 60.0, tau_rise_s=30.0, tau_fall_s=90.0)
    assert hr[29] == pytest.approx(60 + 60 * (1 - math.exp(-1)), abs=1e-9)  # one tau up
    y0 = hr[299]
    assert hr[299 + 90] == pytest.approx(60 + (y0 - 60) * math.exp(-1), abs=1e-9)
    assert last == hr[-1]


def test_hr_respond_resumes_exactly() -> None:
    rng = np.random.default_rng(2)
    target = np.repeat(rng.uniform(40, 160, 20), 37)
    whole, _ = hr_respond(target, 70.0, 25.0, 80.0)
    a, y = hr_respond(target[:333], 70.0, 25.0, 80.0)
    b, _ = hr_respond(target[333:], y, 25.0, 80.0)
    np.testing.assert_allclose(np.concatenate((a, b)), whole, atol=1e-9)


def test_constant_rate_gives_regular_beats_across_calls() -> None:
    rate = np.full(800, 1.25)  # 75 bpm on an 8 Hz grid, 100 s
    thr = np.arange(1.0, 200.0)
    t1, ph = beats_find_crossings(0.0, 0.125, rate[:400], 0.5, thr)
    frac = ph - math.floor(ph)
    t2, _ = beats_find_crossings(50.0, 0.125, rate[400:], frac, thr)
    beats = np.concatenate((t1, t2))
    np.testing.assert_allclose(np.diff(beats), 0.8, atol=1e-9)
    assert beats[0] == pytest.approx(0.4)  # half a beat was already elapsed


def test_varying_rate_beat_count_matches_integral() -> None:
    t = np.arange(0, 600, 0.125)
    rate = 1.2 + 0.3 * np.sin(2 * np.pi * t / 60)
    beats, ph = beats_find_crossings(0.0, 0.125, rate, 0.0, np.arange(1.0, 2000.0))
    assert beats.size == math.floor(ph)
    assert np.all(np.diff(beats) > 0)


@pytest.mark.parametrize("cv", [0.15, 0.2, 0.25])
def test_af_intervals_are_skewed_uncorrelated_with_requested_cv(cv: float) -> None:
    x = rr_generate_af(np.random.default_rng(0), 50_000, cv)
    assert x.mean() == pytest.approx(1.0, abs=0.01)
    assert x.std() / x.mean() == pytest.approx(cv, abs=0.015)
    assert x.min() >= 0.5
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.02
    assert np.mean((x - x.mean()) ** 3) > 0  # right-skewed (exponential tail)


def test_hr_average_of_last_beats() -> None:
    beats = np.arange(1.0, 11.0)  # 1 s apart
    rr = np.full(10, 1000.0)
    rr[6] = np.nan  # unknown interval is left out
    rr[9] = 500.0
    hr = hr_average_beats(beats, rr, np.array([0.5, 5.5, 10.5, 15.0]), n_beats=5, stale_s=4.0)
    assert math.isnan(hr[0])  # no beat yet
    assert hr[1] == pytest.approx(60.0)
    assert hr[2] == pytest.approx(60_000 / np.mean([1000, 1000, 1000, 500]))  # 5 beats, 1 unknown
    assert math.isnan(hr[3])  # stale
