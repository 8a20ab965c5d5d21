"""Fall signature: an impact of several g followed by stillness (Bourke et al. 2007)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ
from wearable_core.features.activity import activity_magnitude

#: Seconds after the peak skipped before measuring stillness (impact ringing).
SETTLE_S = 1.0
#: Seconds after the peak over which stillness is measured.
STILLNESS_S = 30.0


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
