"""SpO2 features of a window of per-second readings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def _valid(spo2_pct: npt.ArrayLike) -> npt.NDArray[np.float64]:
    s = np.asarray(spo2_pct, dtype=np.float64).ravel()
    return s[np.isfinite(s)]


def oximetry_mean(spo2_pct: npt.ArrayLike) -> float:
    """Mean SpO2 over seconds with a reading.

    Parameters
    ----------
    spo2_pct : array_like
        SpO2 per second, %, ``nan`` where no reading.

    Returns
    -------
    float
        %, ``nan`` when there is no reading.

    Examples
    --------
    >>> oximetry_mean([97.0, np.nan, 95.0])
    96.0
    """
    s = _valid(spo2_pct)
    return float(s.mean()) if s.size else float("nan")


def oximetry_min(spo2_pct: npt.ArrayLike) -> float:
    """Minimum SpO2 (the nadir) over seconds with a reading.

    Examples
    --------
    >>> oximetry_min([97.0, np.nan, 89.0])
    89.0
    """
    s = _valid(spo2_pct)
    return float(s.min()) if s.size else float("nan")


def oximetry_seconds_below(
    spo2_pct: npt.ArrayLike, threshold_pct: float, period_s: float = 1.0
) -> float:
    """Seconds with SpO2 strictly below ``threshold_pct`` (e.g. 90 % or 88 %).

    Parameters
    ----------
    spo2_pct : array_like
        SpO2 per sample, %, ``nan`` where no reading (never counted).
    threshold_pct : float
        Threshold, %.
    period_s : float, optional
        Seconds per sample (default 1).

    Returns
    -------
    float
        Seconds below the threshold; ``nan`` when there is no reading.

    Examples
    --------
    >>> oximetry_seconds_below([91.0, 89.0, 87.0, np.nan], 90.0)
    2.0
    """
    s = _valid(spo2_pct)
    if not s.size:
        return float("nan")
    return float(np.count_nonzero(s < threshold_pct) * period_s)
