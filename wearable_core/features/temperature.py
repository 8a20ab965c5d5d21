"""Skin temperature level and trend (fever develops over tens of minutes to hours)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Fewest valid minutes for a trend (a third of the 30-minute context).
MIN_TREND_POINTS = 10


def temperature_level(temp_c: npt.ArrayLike) -> float:
    """Mean of the valid temperatures given (the window's minutes).

    Examples
    --------
    >>> temperature_level([33.5, np.nan, 33.7])
    33.6
    """
    t = np.asarray(temp_c, dtype=np.float64).ravel()
    t = t[np.isfinite(t)]
    return float(t.mean()) if t.size else float("nan")


def temperature_trend(
    temp_c: npt.ArrayLike, period_s: float = 60.0, min_points: int = MIN_TREND_POINTS
) -> float:
    """Least-squares slope of temperature over its context, °C per hour.

    Parameters
    ----------
    temp_c : array_like
        Temperature per ``period_s`` (per minute), oldest first, ``nan`` where missing.
    period_s : float, optional
        Seconds between samples (default 60).
    min_points : int, optional
        Fewest valid samples for a slope (default 10); fewer gives ``nan``.

    Returns
    -------
    float
        °C/h.

    Examples
    --------
    >>> round(temperature_trend(33.0 + 0.01 * np.arange(30)), 6)
    0.6
    """
    t = np.asarray(temp_c, dtype=np.float64).ravel()
    x = np.arange(t.size, dtype=np.float64) * (period_s / 3600.0)
    ok = np.isfinite(t)
    if np.count_nonzero(ok) < max(min_points, 2):
        return float("nan")
    x, y = x[ok], t[ok]
    xc = x - x.mean()
    return float(np.dot(xc, y - y.mean()) / np.dot(xc, xc))
