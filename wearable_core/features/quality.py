"""Data-quality measures: sensor faults are data-quality events, never medical alerts."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ
from wearable_core.features.activity import activity_magnitude

#: Per-second SD of |a| (g) above which a second counts as vigorous motion.
MOTION_SD_G = 0.2
#: Relative change between successive RR intervals taken as physiologically implausible.
RR_JUMP = 0.3


def quality_contact_fraction(contact: npt.ArrayLike, present: npt.ArrayLike) -> float:
    """Fraction of the seconds with data that report skin contact; ``nan`` without data.

    Examples
    --------
    >>> quality_contact_fraction([True, False, False, True], [True, True, False, True])
    0.6666666666666666
    """
    c = np.asarray(contact, dtype=np.bool_)
    p = np.asarray(present, dtype=np.bool_)
    n = np.count_nonzero(p)
    return float(np.count_nonzero(c & p) / n) if n else float("nan")


def quality_data_fraction(present: npt.ArrayLike) -> float:
    """Fraction of the window's seconds with any record (1 - gap fraction).

    Examples
    --------
    >>> quality_data_fraction([True, False, True, True])
    0.75
    """
    p = np.asarray(present, dtype=np.bool_)
    return float(np.mean(p)) if p.size else float("nan")


def quality_second_sd(
    accel_g: npt.ArrayLike, sample_rate_hz: int = ACCEL_SAMPLE_RATE_HZ
) -> npt.NDArray[np.float64]:
    """SD of |a| within each second (``nan`` for seconds without samples).

    Examples
    --------
    >>> a = np.zeros((50, 3)); a[:, 2] = 1.0
    >>> quality_second_sd(a).tolist()
    [0.0, 0.0]
    """
    return _second_sd_of(activity_magnitude(accel_g), sample_rate_hz)


def _second_sd_of(
    magnitude: npt.NDArray[np.float64], sample_rate_hz: int
) -> npt.NDArray[np.float64]:
    # |a| computed once by features_extract; see quality_second_sd.
    m = magnitude.reshape(-1, sample_rate_hz)
    ok = np.isfinite(m)
    n = ok.sum(axis=1)
    safe_n = np.maximum(n, 1)
    x = np.where(ok, m, 0.0)
    mean = x.sum(axis=1) / safe_n
    var = (np.where(ok, m - mean[:, None], 0.0) ** 2).sum(axis=1) / safe_n
    return np.where(n > 0, np.sqrt(var), np.nan)


def quality_motion_artifact(
    accel_g: npt.ArrayLike,
    rr_ms: npt.ArrayLike,
    rr_second: npt.ArrayLike,
    present: npt.ArrayLike,
    sample_rate_hz: int = ACCEL_SAMPLE_RATE_HZ,
) -> float:
    """Motion-artifact index: fraction of seconds with vigorous motion and an RR jump.

    A second counts when the SD of |a| within it exceeds 0.2 g *and* an RR interval
    reported in it differs from the previous one by more than 30 % (spurious or missed
    beats). Exercise alone (smooth RR) and ectopic beats at rest (still wrist) do not.

    Parameters
    ----------
    accel_g : array_like
        ``(window_s * sample_rate_hz, 3)`` samples, g.
    rr_ms, rr_second : array_like
        RR intervals (ms) and the window second carrying each.
    present : array_like
        ``bool (window_s,)`` seconds with data.

    Returns
    -------
    float
        In [0, 1]; ``nan`` without data.

    Examples
    --------
    >>> a = np.zeros((50, 3)); a[:, 2] = 1.0
    >>> quality_motion_artifact(a, [800.0, 400.0], [0, 1], [True, True])
    0.0
    """
    p = np.asarray(present, dtype=np.bool_)
    if not np.count_nonzero(p):
        return float("nan")
    return _motion_artifact_of(quality_second_sd(accel_g, sample_rate_hz), rr_ms, rr_second, p)


def _motion_artifact_of(
    sd: npt.NDArray[np.float64],
    rr_ms: npt.ArrayLike,
    rr_second: npt.ArrayLike,
    present: npt.ArrayLike,
) -> float:
    # Per-second SD computed once by features_extract; see quality_motion_artifact.
    p = np.asarray(present, dtype=np.bool_)
    n = np.count_nonzero(p)
    if not n:
        return float("nan")
    rr = np.asarray(rr_ms, dtype=np.float64)
    sec = np.asarray(rr_second, dtype=np.int64)
    jump = np.zeros(p.size, dtype=np.bool_)
    if rr.size >= 2:
        rel = np.abs(np.diff(rr)) / rr[:-1]
        jump[sec[1:][rel > RR_JUMP]] = True
    return float(np.count_nonzero(jump & (sd > MOTION_SD_G) & p) / n)


def quality_flat_line(hr_bpm: npt.ArrayLike, spo2_pct: npt.ArrayLike) -> float:
    """1.0 when HR and SpO2 are both constant over the window, else 0.0.

    Each needs readings in at least half of the seconds; otherwise 0.0 (a gap or
    off-wrist is flagged by the other measures).

    Examples
    --------
    >>> quality_flat_line([72.0] * 60, [97.0] * 60)
    1.0
    >>> quality_flat_line([72.0] * 59 + [73.0], [97.0] * 60)
    0.0
    """
    flat = True
    for x in (np.asarray(hr_bpm, dtype=np.float64), np.asarray(spo2_pct, dtype=np.float64)):
        v = x[np.isfinite(x)]
        flat = flat and 2 * v.size >= x.size > 0 and float(np.ptp(v)) == 0.0
    return 1.0 if flat else 0.0


def quality_beat_coverage(rr_ms: npt.ArrayLike, ectopic: npt.ArrayLike, window_s: float) -> float:
    """Fraction of the window covered by usable (normal-to-normal) RR intervals.

    The sum of the finite intervals that the ectopic filter kept, over the window's
    length, clipped to [0, 1]. Gaps (no beats reported), missed and extra beats and
    ectopic beats all lower it; a window whose rhythm cannot be judged from its beats
    has a low value (see ``wearable_core.assessment.assess``).

    Parameters
    ----------
    rr_ms : array_like
        The window's RR intervals in ms; non-finite values are dropped.
    ectopic : array_like
        ``bool`` per finite interval, from
        :func:`wearable_core.features.irregularity.irregularity_ectopic_mask`.
    window_s : float
        Window length in seconds.

    Returns
    -------
    float
        In [0, 1]; 0 without intervals.

    Examples
    --------
    >>> quality_beat_coverage([800.0] * 60, [False] * 60, 60)
    0.8
    >>> quality_beat_coverage([800.0] * 60, [True, False] * 30, 60)
    0.4
    """
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    rr = rr[np.isfinite(rr)]
    kept = ~np.asarray(ectopic, dtype=np.bool_).ravel()
    if rr.size == 0:
        return 0.0
    return float(min(np.sum(rr[kept]) / (1000.0 * window_s), 1.0))
