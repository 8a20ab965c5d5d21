"""Fall signature: free fall, an impact of several g, then stillness.

Threshold fall detectors look for the three phases of a fall from standing: a drop of
|a| below 1 g while the body falls, the impact, and the lying still after it (Bourke
et al. 2007; Kangas et al. 2008).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ
from wearable_core.features.activity import activity_magnitude

#: Seconds after the peak skipped before measuring stillness (impact ringing).
SETTLE_S = 1.0
#: Seconds after the peak over which stillness is measured.
STILLNESS_S = 30.0
#: Seconds before the peak searched for the free-fall phase: a fall from standing height
#: takes about half a second to reach the ground.
FREE_FALL_LOOKBACK_S = 1.0
#: Length of the running mean of |a| whose lowest value is the free-fall level: long
#: enough that one noisy sample near 0 g during vigorous motion does not count as a drop.
FREE_FALL_MEAN_S = 0.2


def fall_peak(accel_g: npt.ArrayLike) -> float:
    """Peak |a| in g (the impact magnitude); ``nan`` without samples.

    Examples
    --------
    >>> fall_peak([[0.0, 0.0, 1.0], [0.0, 4.0, 3.0]])
    5.0
    """
    return _peak_of(activity_magnitude(accel_g))


def _peak_of(m: npt.NDArray[np.float64]) -> float:
    return float(np.nanmax(m)) if np.isfinite(m).any() else float("nan")


def fall_stillness(accel_g: npt.ArrayLike, sample_rate_hz: float = ACCEL_SAMPLE_RATE_HZ) -> float:
    """SD of |a| over the 30 s after the peak (or the rest of the window if shorter).

    The first second after the peak (impact ringing) is skipped. A lying, motionless
    wearer gives a few mg.

    Parameters
    ----------
    accel_g : array_like
        ``(n, 3)`` samples, g, ``nan`` rows where missing.
    sample_rate_hz : float, optional
        Sampling rate (default 25 Hz).

    Returns
    -------
    float
        g; ``nan`` with fewer than 1 s of valid samples after the skip.

    Examples
    --------
    >>> a = np.zeros((100, 3)); a[:, 2] = 1.0; a[10, 2] = 5.0
    >>> fall_stillness(a)
    0.0
    """
    return _stillness_of(activity_magnitude(accel_g), sample_rate_hz)


def _stillness_of(m: npt.NDArray[np.float64], sample_rate_hz: float) -> float:
    # |a| computed once by features_extract; see fall_stillness.
    if not np.isfinite(m).any():
        return float("nan")
    peak = int(np.nanargmax(m))
    start = peak + round(SETTLE_S * sample_rate_hz)
    after = m[start : start + round(STILLNESS_S * sample_rate_hz)]
    after = after[np.isfinite(after)]
    if after.size < sample_rate_hz:
        return float("nan")
    return float(np.std(after))


def fall_free_fall(accel_g: npt.ArrayLike, sample_rate_hz: float = ACCEL_SAMPLE_RATE_HZ) -> float:
    """Lowest 0.2 s mean of |a| in the second before the peak: the free-fall level.

    Near 1 g while the wrist is at rest or moves normally, well below it while the
    wearer falls (the start-of-fall phase of Kangas et al. 2008, who use |a| < 0.6 g).
    An impact-like spike at the end of vigorous shaking has no such drop before it.

    Parameters
    ----------
    accel_g : array_like
        ``(n, 3)`` samples, g, ``nan`` rows where missing.
    sample_rate_hz : float, optional
        Sampling rate (default 25 Hz).

    Returns
    -------
    float
        g; ``nan`` with fewer than 0.2 s of consecutive valid samples before the peak.

    Examples
    --------
    >>> a = np.zeros((100, 3)); a[:, 2] = 1.0
    >>> a[40:50, 2] = 0.25; a[50, 2] = 5.0
    >>> fall_free_fall(a)
    0.25
    """
    return _free_fall_of(activity_magnitude(accel_g), sample_rate_hz)


def _free_fall_of(m: npt.NDArray[np.float64], sample_rate_hz: float) -> float:
    # |a| computed once by features_extract; see fall_free_fall.
    if not np.isfinite(m).any():
        return float("nan")
    peak = int(np.nanargmax(m))
    k = max(round(FREE_FALL_MEAN_S * sample_rate_hz), 1)
    before = m[max(peak - round(FREE_FALL_LOOKBACK_S * sample_rate_hz), 0) : peak]
    if before.size < k:
        return float("nan")
    # A running mean containing a missing sample is itself missing (nan propagates).
    means = np.convolve(before, np.full(k, 1.0 / k), mode="valid")
    means = means[np.isfinite(means)]
    return float(means.min()) if means.size else float("nan")
