"""RR irregularity measures used to detect atrial fibrillation.

The Dash et al. (2009) statistics (nRMSSD, Shannon entropy, turning point ratio) work on
the raw RR series, so premature beats (PVCs, PACs) and a wrist sensor's missed or extra
beats raise them as AF does. :func:`irregularity_ectopic_mask` therefore marks
intervals deviating by more than 20 % from the local median RR and the interval after a
premature one (the ectopic beat's coupling interval and its pause; Kamath & Fallen 1995;
Lippman et al. 1994 found deleting these intervals the best way to handle ectopy), and
:func:`irregularity_nn_nrmssd` measures the irregularity of what is left: successive
differences of consecutive retained (normal-to-normal) intervals only. In sinus rhythm
with ectopy the retained series is regular; in AF it stays "irregularly irregular"
(AF evidence that survives removing the premature-beat pattern, as in Sarkar et al.
2008's Lorenz-plot detector, which discounts premature-beat patterns from its AF
evidence).

References
----------
Dash S, Chon KH, Lu S, Raeder EA (2009). Automatic real time detection of atrial
fibrillation. Ann Biomed Eng 37:1701-1709.
Kamath MV, Fallen EL (1995). Correction of the heart rate variability signal for
ectopics and missing beats. In: Malik M, Camm AJ (eds) Heart Rate Variability. Futura,
Armonk NY, pp 75-85.
Lippman N, Stein KM, Lerman BB (1994). Comparison of methods for removal of ectopy in
measurement of heart rate variability. Am J Physiol 267:H411-H418.
Sarkar S, Ritscher D, Mehra R (2008). A detector for a chronic implantable atrial
tachyarrhythmia monitor. IEEE Trans Biomed Eng 55:1219-1224.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from wearable_core.features.hrv import hrv_rmssd

FloatArray = npt.NDArray[np.float64]

#: Histogram bins of the Shannon entropy (Dash et al. 2009).
SHANNON_BINS = 16
#: Fraction of the longest and of the shortest intervals removed first (8 of 128).
SHANNON_TRIM = 1.0 / 16.0
#: An interval deviating from the local median RR by more than this fraction is ectopic
#: or an artefact (the "20 % rule"; Kamath & Fallen 1995).
ECTOPIC_TOLERANCE = 0.2
#: Intervals each side of an interval in its local median (a 9-interval window).
ECTOPIC_HALF_WINDOW = 4
#: Fewest successive differences of retained intervals for :func:`irregularity_nn_nrmssd`.
MIN_NN_PAIRS = 8


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


def irregularity_ectopic_mask(
    rr_ms: npt.ArrayLike,
    tolerance: float = ECTOPIC_TOLERANCE,
    half_window: int = ECTOPIC_HALF_WINDOW,
) -> npt.NDArray[np.bool_]:
    """Mark ectopic and artefactual RR intervals (a "20 %" filter with deletion).

    An interval is marked when it deviates from the median of the ``2 half_window + 1``
    intervals centred on it (edges padded with the first and last interval) by more
    than ``tolerance`` times that median (Kamath & Fallen 1995), or when it differs from
    both its neighbours by more than that (in bigeminy and trigeminy runs the local
    median is itself an ectopic interval, the beat-to-beat jumps remain). A *premature* (short)
    marked interval also marks the interval after it: the ectopic beat's return cycle
    is not a sinus interval either, even when a PAC's non-compensatory pause stays
    within the tolerance (Lippman et al. 1994 delete both). A long interval alone (a
    missed beat, a compensatory pause) marks only itself.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms, in beat order; non-finite values are dropped first.
    tolerance : float, optional
        Relative deviation from the local median above which an interval is marked.
    half_window : int, optional
        Intervals each side in the local median.

    Returns
    -------
    numpy.ndarray
        ``bool`` per finite interval, ``True`` where ectopic or artefactual.

    References
    ----------
    Kamath MV, Fallen EL (1995), in Malik & Camm, Heart Rate Variability, pp 75-85.
    Lippman N et al. (1994), Am J Physiol 267:H411.

    Examples
    --------
    >>> irregularity_ectopic_mask([800, 800, 800, 520, 1080, 800, 800, 800]).astype(int)
    array([0, 0, 0, 1, 1, 0, 0, 0])
    >>> irregularity_ectopic_mask([800, 800, 800, 560, 880, 800, 800]).astype(int)
    array([0, 0, 0, 1, 1, 0, 0])
    """
    rr = _rr(rr_ms)
    if rr.size == 0:
        return np.zeros(0, dtype=np.bool_)
    padded = np.pad(rr, half_window, mode="edge")
    median = np.median(sliding_window_view(padded, 2 * half_window + 1), axis=1)
    deviation = rr - median
    marked = np.abs(deviation) > tolerance * median
    # An interval that jumps by more than the tolerance from *both* neighbours: in
    # bigeminy or trigeminy the local median is itself ectopic, the jumps are not.
    jump = np.abs(np.diff(rr)) > tolerance * median[1:]
    marked[1:-1] |= jump[:-1] & jump[1:]
    premature = marked & (deviation < 0)
    marked[1:] |= premature[:-1]
    return marked


def irregularity_ectopic_fraction(rr_ms: npt.ArrayLike) -> float:
    """Fraction of RR intervals that :func:`irregularity_ectopic_mask` marks.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms, in beat order.

    Returns
    -------
    float
        In [0, 1]; ``nan`` without intervals.

    Examples
    --------
    >>> irregularity_ectopic_fraction([800, 800, 800, 520, 1080, 800, 800, 800])
    0.25
    """
    marked = irregularity_ectopic_mask(rr_ms)
    return float(np.mean(marked)) if marked.size else float("nan")


def irregularity_nn_nrmssd(rr_ms: npt.ArrayLike, min_pairs: int = MIN_NN_PAIRS) -> float:
    """nRMSSD of the normal-to-normal intervals left after removing ectopic ones.

    Only successive differences between two *consecutive* retained intervals count
    (a difference across a removed beat is not a beat-to-beat change), divided by the
    mean retained interval. Sinus rhythm with premature beats gives sinus values
    (about 0.02-0.06, more with a wrist sensor's timing noise); AF stays irregular
    (about 0.1-0.16 for the simulator's AF, whose intervals are i.i.d.). See the module
    docstring for the method and references.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms, in beat order.
    min_pairs : int, optional
        Fewest successive differences of retained intervals (default 8).

    Returns
    -------
    float
        Dimensionless; ``nan`` with fewer than ``min_pairs`` differences (a series too
        ectopic or too gappy to judge, e.g. bigeminy, where no two sinus intervals
        follow each other).

    Examples
    --------
    >>> sinus = [800.0, 810.0] * 10
    >>> with_pvc = sinus[:9] + [520.0, 1100.0] + sinus[11:]
    >>> round(irregularity_nn_nrmssd(with_pvc), 4)
    0.0124
    >>> round(irregularity_nrmssd(with_pvc), 4)
    0.2015
    >>> irregularity_nn_nrmssd([560.0, 1040.0] * 10)
    nan
    """
    rr = _rr(rr_ms)
    return _nn_nrmssd_of(rr, irregularity_ectopic_mask(rr), min_pairs)


def irregularity_nn_rate(rr_ms: npt.ArrayLike, min_intervals: int = MIN_NN_PAIRS) -> float:
    """Heart rate from the normal-to-normal intervals: 60,000 / their mean, bpm.

    The rate of the underlying (sinus) rhythm: premature beats shorten one interval and
    lengthen the next, and a run of them raises the rate a watch reports from its last
    few intervals; the ectopic-beat filter removes both (see the module docstring).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms, in beat order.
    min_intervals : int, optional
        Fewest retained intervals (default 8).

    Returns
    -------
    float
        bpm; ``nan`` with fewer than ``min_intervals`` retained intervals.

    Examples
    --------
    >>> sinus = [800.0, 810.0] * 10
    >>> with_pacs = sinus[:9] + [520.0, 600.0, 520.0] + sinus[12:]
    >>> round(irregularity_nn_rate(with_pacs), 1)
    74.5
    >>> round(float(60000 / np.mean(with_pacs)), 1)
    78.3
    """
    rr = _rr(rr_ms)
    return _nn_rate_of(rr, irregularity_ectopic_mask(rr), min_intervals)


def _nn_rate_of(rr: FloatArray, marked: npt.NDArray[np.bool_], min_intervals: int) -> float:
    """:func:`irregularity_nn_rate` of finite ``rr`` with its mask already computed."""
    kept = rr[~marked]
    if kept.size < min_intervals:
        return float("nan")
    return float(60_000.0 / np.mean(kept))


def _nn_nrmssd_of(rr: FloatArray, marked: npt.NDArray[np.bool_], min_pairs: int) -> float:
    """:func:`irregularity_nn_nrmssd` of finite ``rr`` with its mask already computed."""
    kept = ~marked
    pairs = kept[1:] & kept[:-1]
    n = int(np.count_nonzero(pairs))
    if n < min_pairs:
        return float("nan")
    d = np.diff(rr)[pairs]
    return float(np.sqrt(np.mean(d * d)) / np.mean(rr[kept]))
