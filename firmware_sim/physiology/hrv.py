"""Time-domain heart-rate-variability and irregularity measures on RR intervals.

They are what the simulator is validated against (``docs/physiology.md``): RMSSD and
SDNN against published adult norms (Nunan et al. 2010), normalised RMSSD against the
atrial-fibrillation threshold of Dash et al. (2009), sample entropy after Richman &
Moorman (2000). Inputs are RR intervals in ms; ``nan`` intervals are dropped. RMSSD,
SDNN and nRMSSD are the gateway's own feature functions, re-exported here.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

# One implementation of each measure: the gateway's, which the simulator is checked with.
from wearable_core.features.hrv import hrv_rmssd, hrv_sdnn
from wearable_core.features.irregularity import irregularity_nrmssd as hrv_nrmssd

__all__ = ["AF_NRMSSD_THRESHOLD", "hrv_nrmssd", "hrv_rmssd", "hrv_sampen", "hrv_sdnn"]

FloatArray = npt.NDArray[np.float64]

#: nRMSSD above this marks a window as AF-like (Dash et al. 2009).
AF_NRMSSD_THRESHOLD = 0.1


def _clean(rr_ms: npt.ArrayLike) -> FloatArray:
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    return rr[np.isfinite(rr)]


def hrv_sampen(rr_ms: npt.ArrayLike, dimension: int = 2, tolerance: float = 0.2) -> float:
    """Sample entropy (Richman & Moorman 2000).

    ``-ln(A / B)`` where ``B`` counts pairs of distinct templates of length ``m`` within
    ``r`` (Chebyshev distance) and ``A`` the same for length ``m + 1``; both use the
    same ``N - m`` template starts. ``r = tolerance x SD`` (ddof = 1).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms (a few hundred at most: the pair count is quadratic).
    dimension : int
        Template length ``m``.
    tolerance : float
        ``r`` as a fraction of the standard deviation.

    Returns
    -------
    float
        Sample entropy; ``inf`` if no ``m + 1`` match, ``nan`` if too short or no
        ``m`` match.
    """
    x = _clean(rr_ms)
    n_templates = x.size - dimension
    if n_templates < 2:
        return math.nan
    r = tolerance * float(np.std(x, ddof=1))
    windows = np.lib.stride_tricks.sliding_window_view(x, dimension + 1)[:n_templates]
    dist = np.zeros((n_templates, n_templates))
    for k in range(dimension):
        dist = np.maximum(dist, np.abs(windows[:, k, None] - windows[None, :, k]))
    upper = np.triu(np.ones((n_templates, n_templates), dtype=bool), k=1)
    b = int(np.count_nonzero((dist <= r) & upper))
    last = np.abs(windows[:, dimension, None] - windows[None, :, dimension])
    a = int(np.count_nonzero((np.maximum(dist, last) <= r) & upper))
    if b == 0:
        return math.nan
    if a == 0:
        return math.inf
    return -math.log(a / b)
