"""Stateful noise processes and filters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

from firmware_sim.physiology.noise import noise_ou, noise_resonant, signal_lowpass


def test_ou_statistics() -> None:
    x, _ = noise_ou(np.random.default_rng(0), 200_000, 10.0, 2.0, 0.0)
    assert x.std() == pytest.approx(2.0, rel=0.05)
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert lag1 == pytest.approx(math.exp(-0.1), abs=0.01)


def test_ou_resumes_exactly() -> None:
    whole, _ = noise_ou(np.random.default_rng(3), 1000, 20.0, 1.0, 0.5)
    rng = np.random.default_rng(3)
    a, state = noise_ou(rng, 400, 20.0, 1.0, 0.5)
    b, _ = noise_ou(rng, 600, 20.0, 1.0, state)
    np.testing.assert_allclose(np.concatenate((a, b)), whole, rtol=0, atol=1e-12)


def test_lowpass_step_response_and_resume() -> None:
    x = np.ones((100, 2))
    y, last = signal_lowpass(x, 10.0, np.zeros(2))
    assert y[9, 0] == pytest.approx(1 - math.exp(-1), abs=1e-12)  # 63 % after one tau
    y1, s = signal_lowpass(x[:30], 10.0, np.zeros(2))
    y2, _ = signal_lowpass(x[30:], 10.0, s)
    np.testing.assert_allclose(np.concatenate((y1, y2)), y, atol=1e-12)
    np.testing.assert_array_equal(last, y[-1])


def test_resonant_noise_peaks_at_centre_with_unit_variance() -> None:
    fs = 8.0
    x, _ = noise_resonant(np.random.default_rng(1), 400_000, fs, 0.1, 0.04, np.zeros(2))
    x = x[4000:]
    assert x.std() == pytest.approx(1.0, rel=0.1)
    f, p = scipy.signal.welch(x, fs=fs, nperseg=4096)
    assert f[np.argmax(p)] == pytest.approx(0.1, abs=0.02)
