"""RR irregularity measures used to detect atrial fibrillation.

References
----------
Dash S, Chon KH, Lu S, Raeder EA (2009). Automatic real time detection of atrial
fibrillation. Ann Biomed Eng 37:1701-1709.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wearable_core.features.hrv import hrv_rmssd

FloatArray = npt.NDArray[np.float64]

#: Histogram bins of the Shannon entropy (Dash et al. 2009).
SHANNON_BINS = 16
#: Fraction of the longest and of the shortest intervals removed first (8 of 128).
SHANNON_TRIM = 1.0 / 16.0


def _rr(rr_ms: npt.ArrayLike) -> FloatArray:
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    return rr[np.isfinite(rr)]


def irregularity_nrmssd(rr_ms: npt.ArrayLike) -> float:
    """Normalised RMSSD: RMSSD divided by the mean RR interval.

    Dash et al. (2009) flag AF above about 0.1 on 128-beat segments.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms, in beat order.

    Returns
    -------
    float
        Dimensionless; ``nan`` with fewer than 2 intervals.

    References
    ----------
    Dash S et al. (2009), Ann Biomed Eng 37:1701.

    Examples
    --------
    >>> round(irregularity_nrmssd([800.0, 900.0, 800.0]), 4)
    0.12
    """
    rr = _rr(rr_ms)
    if rr.size < 2:
        return float("nan")
    return hrv_rmssd(rr) / float(np.mean(rr))


def irregularity_shannon(
    rr_ms: npt.ArrayLike, bins: int = SHANNON_BINS, trim: float = SHANNON_TRIM
) -> float:
    """Normalised Shannon entropy of the RR histogram.

    As Dash et al. (2009): the ``trim`` fraction of longest and of shortest intervals is
    removed (their 8 of 128 each side), the rest binned into ``bins`` equal-width bins
    between their minimum and maximum; with ``p_i`` the fraction in bin ``i``, the
    entropy is ``-sum(p_i log p_i) / log(bins)``, in [0, 1]. Dash et al. flag AF above
    about 0.7. On the simulator's smooth sinus rhythm it is about as high as in AF
    (see ``docs/features.md``): use it together with nRMSSD and the turning point ratio.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms.
    bins : int, optional
        Number of histogram bins (default 16).
    trim : float, optional
        Fraction removed at each end (default 1/16).

    Returns
    -------
    float
        Entropy in [0, 1]; 0 for a constant series; ``nan`` with fewer than 2 intervals.

    References
    ----------
    Dash S et al. (2009), Ann Biomed Eng 37:1701.

    Examples
    --------
    >>> irregularity_shannon([800.0, 800.0, 800.0])
    0.0
    >>> round(irregularity_shannon(np.linspace(600.0, 1000.0, 160)), 3)
    1.0
    """
    rr = _rr(rr_ms)
    if rr.size < 2:
        return float("nan")
    k = round(trim * rr.size)
    if k and rr.size - 2 * k >= 2:
        rr = np.sort(rr)[k:-k]
    lo, hi = float(rr.min()), float(rr.max())
    if hi <= lo:
        return 0.0
    counts = np.bincount(
        np.minimum(((rr - lo) / (hi - lo) * bins).astype(np.int64), bins - 1), minlength=bins
    )
    p = counts[counts > 0] / rr.size
    return float(-np.sum(p * np.log(p)) / np.log(bins))


def irregularity_tpr(rr_ms: npt.ArrayLike) -> float:
    """Turning point ratio of the RR series.

    A turning point is an interior interval larger or smaller than both neighbours. For
    a random (i.i.d.) series the expected ratio of turning points to interior points is
    2/3; Dash et al. (2009) take values in about 0.54-0.77 as consistent with the
    randomness of AF, while sinus rhythm is smoother (lower).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms, in beat order.

    Returns
    -------
    float
        Turning points / (n - 2); ``nan`` with fewer than 3 intervals.

    References
    ----------
    Dash S et al. (2009), Ann Biomed Eng 37:1701.

    Examples
    --------
    >>> irregularity_tpr([800.0, 900.0, 800.0, 900.0])
    1.0
    >>> irregularity_tpr([800.0, 810.0, 820.0, 830.0])
    0.0
    """
    rr = _rr(rr_ms)
    if rr.size < 3:
        return float("nan")
    d = np.diff(rr)
    return float(np.mean(d[:-1] * d[1:] < 0))
