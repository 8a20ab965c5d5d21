"""Time-domain heart rate variability of an RR interval series (Task Force 1996)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _rr(rr_ms: npt.ArrayLike) -> FloatArray:
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    return rr[np.isfinite(rr)]


def hrv_rmssd(rr_ms: npt.ArrayLike) -> float:
    """Root mean square of successive RR differences.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms, in beat order; non-finite values are dropped.

    Returns
    -------
    float
        RMSSD in ms; ``nan`` with fewer than 2 intervals.

    Examples
    --------
    >>> hrv_rmssd([800.0, 810.0, 790.0])
    15.811388300841896
    """
    rr = _rr(rr_ms)
    if rr.size < 2:
        return float("nan")
    return float(np.sqrt(np.mean(np.diff(rr) ** 2)))


def hrv_sdnn(rr_ms: npt.ArrayLike) -> float:
    """Standard deviation of RR intervals (sample SD, ``ddof=1``, as NeuroKit2).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms; non-finite values are dropped.

    Returns
    -------
    float
        SDNN in ms; ``nan`` with fewer than 2 intervals.

    Examples
    --------
    >>> hrv_sdnn([800.0, 810.0, 790.0])
    10.0
    """
    rr = _rr(rr_ms)
    if rr.size < 2:
        return float("nan")
    return float(np.std(rr, ddof=1))


def hrv_pnn50(rr_ms: npt.ArrayLike) -> float:
    """Percentage of successive RR differences larger than 50 ms.

    As the Task Force (1996) and NeuroKit2: the NN50 count divided by the number of RR
    intervals (not of differences).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms, in beat order; non-finite values are dropped.

    Returns
    -------
    float
        pNN50 in percent (0-100); ``nan`` with fewer than 2 intervals.

    Examples
    --------
    >>> hrv_pnn50([800.0, 860.0, 850.0, 840.0])
    25.0
    """
    rr = _rr(rr_ms)
    if rr.size < 2:
        return float("nan")
    return float(100.0 * np.count_nonzero(np.abs(np.diff(rr)) > 50.0) / rr.size)
