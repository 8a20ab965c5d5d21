"""Stateful coloured-noise processes and filters, resumable across chunks.

Every function takes the filter state left by the previous call and returns the new one,
so a signal generated chunk by chunk is one continuous realisation.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.signal

FloatArray = npt.NDArray[np.float64]


def signal_lowpass(
    x: FloatArray, tau_samples: float, y_prev: FloatArray | float
) -> tuple[FloatArray, FloatArray]:
    """First-order low-pass (exponential smoothing) along axis 0.

    Parameters
    ----------
    x : numpy.ndarray
        Input, shape ``(n,)`` or ``(n, k)``; ``n >= 1``.
    tau_samples : float
        Time constant in samples (> 0).
    y_prev : numpy.ndarray or float
        Output at the sample before ``x[0]``, shape ``()`` or ``(k,)``.

    Returns
    -------
    y : numpy.ndarray
        Filtered signal, same shape as ``x``.
    y_last : numpy.ndarray
        ``y[-1]``, to pass as ``y_prev`` to the next call.
    """
    alpha = -math.expm1(-1.0 / tau_samples)
    prev = np.asarray(y_prev, dtype=np.float64)
    zi = ((1.0 - alpha) * prev).reshape((1, *x.shape[1:]))
    y, _ = scipy.signal.lfilter([alpha], [1.0, alpha - 1.0], x, axis=0, zi=zi)
    y = np.asarray(y, dtype=np.float64)
    return y, y[-1].copy()


def noise_ou(
    rng: np.random.Generator, n: int, tau_samples: float, sigma: float, x_prev: float
) -> tuple[FloatArray, float]:
    """Ornstein-Uhlenbeck process sampled at unit steps (an exact AR(1) discretisation).

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws ``n`` standard normals.
    n : int
        Number of samples (>= 1).
    tau_samples : float
        Correlation time in samples.
    sigma : float
        Stationary standard deviation.
    x_prev : float
        Value at the sample before the first.

    Returns
    -------
    x : numpy.ndarray
        ``n`` samples.
    x_last : float
        Last sample, the state for the next call.
    """
    a = math.exp(-1.0 / tau_samples)
    e = rng.standard_normal(n)
    x, _ = scipy.signal.lfilter(
        [sigma * math.sqrt(1.0 - a * a)], [1.0, -a], e, zi=np.array([a * x_prev])
    )
    x = np.asarray(x, dtype=np.float64)
    return x, float(x[-1])


def noise_resonant_coeffs(
    fs_hz: float, f0_hz: float, bandwidth_hz: float
) -> tuple[FloatArray, float]:
    """AR(2) denominator and input gain for unit-variance narrow-band noise at ``f0_hz``.

    Parameters
    ----------
    fs_hz, f0_hz, bandwidth_hz : float
        Sampling rate, centre frequency and approximate -3 dB bandwidth.

    Returns
    -------
    a : numpy.ndarray
        ``[1, a1, a2]`` for :func:`scipy.signal.lfilter`.
    gain : float
        Standard deviation of the white input that gives unit output variance.
    """
    r = math.exp(-math.pi * bandwidth_hz / fs_hz)
    a1 = -2.0 * r * math.cos(2.0 * math.pi * f0_hz / fs_hz)
    a2 = r * r
    # Stationary variance of an AR(2) driven by unit white noise (Box & Jenkins).
    var = (1.0 + a2) / ((1.0 - a2) * ((1.0 + a2) ** 2 - a1 * a1))
    return np.array([1.0, a1, a2]), 1.0 / math.sqrt(var)


def noise_resonant(
    rng: np.random.Generator,
    n: int,
    fs_hz: float,
    f0_hz: float,
    bandwidth_hz: float,
    zi: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Unit-variance narrow-band Gaussian noise centred on ``f0_hz`` (resonant AR(2)).

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws ``n`` standard normals.
    n : int
        Number of samples.
    fs_hz, f0_hz, bandwidth_hz : float
        Sampling rate, centre frequency, bandwidth.
    zi : numpy.ndarray
        Filter state (shape ``(2,)``) from the previous call; zeros to start (then
        discard a burn-in of a few ``1 / bandwidth_hz`` seconds).

    Returns
    -------
    x : numpy.ndarray
        ``n`` samples with unit stationary variance.
    zf : numpy.ndarray
        Filter state for the next call.
    """
    a, gain = noise_resonant_coeffs(fs_hz, f0_hz, bandwidth_hz)
    x, zf = scipy.signal.lfilter([gain], a, rng.standard_normal(n), zi=zi)
    return np.asarray(x, dtype=np.float64), np.asarray(zf, dtype=np.float64)
