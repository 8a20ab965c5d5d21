"""Heart-rate kinetics, beat timing and the watch's heart-rate averaging.

Beats are never generated one at a time in Python: the instantaneous beat rate is
integrated into a phase on a fine grid, and a beat occurs wherever the phase crosses
the next threshold (every integer for sinus rhythm, the cumulative sum of random
increments for atrial fibrillation). See ``docs/physiology.md``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def hr_respond(
    target_bpm: FloatArray, y0_bpm: float, tau_rise_s: float, tau_fall_s: float
) -> tuple[FloatArray, float]:
    """First-order heart-rate kinetics with different on and off time constants.

    The target is piecewise constant (it changes with activity and episodes), so each
    constant stretch has the closed-form solution ``T + (y0 - T) exp(-t / tau)``; the
    loop runs over stretches (tens per hour), never over samples.

    Parameters
    ----------
    target_bpm : numpy.ndarray
        Target heart rate, one value per second.
    y0_bpm : float
        Heart rate at the second before the first.
    tau_rise_s, tau_fall_s : float
        Time constants when the heart rate rises (activity onset) and falls (recovery).

    Returns
    -------
    hr : numpy.ndarray
        Heart rate at the end of each second.
    hr_last : float
        ``hr[-1]``, the state for the next call.
    """
    n = target_bpm.size
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out, y0_bpm
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(target_bpm)) + 1, [n]))
    y = float(y0_bpm)
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        target = float(target_bpm[a])
        tau = tau_rise_s if target > y else tau_fall_s
        decay = np.exp(-np.arange(1, b - a + 1, dtype=np.float64) / tau)
        out[a:b] = target + (y - target) * decay
        y = float(out[b - 1])
    return out, y


def rr_generate_af(rng: np.random.Generator, n: int, cv: float) -> FloatArray:
    """Relative RR intervals of atrial fibrillation: i.i.d. ex-Gaussian, mean 1.

    The ventricular response to AF is nearly uncorrelated beat to beat (Bootsma et al.
    1970; Hayano et al. 1997) with a unimodal, right-skewed histogram whose long-interval
    tail is exponential (Hennig et al. 2006). An exponentially modified Gaussian
    (Gaussian + exponential, equal standard deviations) reproduces both. Intervals are
    floored at 0.5 x the mean: the atrioventricular node's refractory period.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws ``2 n`` values.
    n : int
        Number of intervals.
    cv : float
        Coefficient of variation (std / mean), 0.15-0.25 in the simulator.

    Returns
    -------
    numpy.ndarray
        ``n`` positive intervals in units of the mean RR interval.
    """
    tau = cv / math.sqrt(2.0)
    gauss = rng.normal(1.0 - tau, tau, n)
    expo = rng.exponential(tau, n)
    return np.maximum(gauss + expo, 0.5)


def beats_find_crossings(
    t0_s: float,
    dt_s: float,
    rate_hz: FloatArray,
    phase0: float,
    thresholds: FloatArray,
) -> tuple[FloatArray, float]:
    """Times at which the integrated beat rate crosses the given phase thresholds.

    Parameters
    ----------
    t0_s : float
        Time of the start of the first grid interval.
    dt_s : float
        Grid step; ``rate_hz[i]`` holds over ``[t0 + i dt, t0 + (i + 1) dt)``.
    rate_hz : numpy.ndarray
        Instantaneous beat rate (beats per second, > 0).
    phase0 : float
        Phase (in beats) at ``t0_s``.
    thresholds : numpy.ndarray
        Increasing phases greater than ``phase0``; those not reached by the end of the
        grid are ignored.

    Returns
    -------
    times : numpy.ndarray
        Crossing times of the thresholds reached, increasing.
    phase_end : float
        Phase at the end of the grid.
    """
    ends = phase0 + np.cumsum(rate_hz * dt_s)
    phase_end = float(ends[-1])
    k = thresholds[: np.searchsorted(thresholds, phase_end, side="right")]
    idx = np.searchsorted(ends, k, side="left")
    starts = np.concatenate(([phase0], ends))
    times = t0_s + idx * dt_s + (k - starts[idx]) / rate_hz[idx]
    return times, phase_end


def hr_average_beats(
    beat_times_s: FloatArray,
    rr_ms: FloatArray,
    eval_times_s: FloatArray,
    n_beats: int = 5,
    stale_s: float = 4.0,
) -> FloatArray:
    """Heart rate as a watch reports it: 60000 / mean of the last few RR intervals.

    Parameters
    ----------
    beat_times_s : numpy.ndarray
        Detected beat times, increasing.
    rr_ms : numpy.ndarray
        Interval ending at each beat; ``nan`` where unknown (first beat after signal loss),
        such beats are left out of the average.
    eval_times_s : numpy.ndarray
        When each reading is made; it uses the beats strictly before that time.
    n_beats : int
        How many of the most recent beats the average spans.
    stale_s : float
        No reading (``nan``) when the most recent beat is older than this.

    Returns
    -------
    numpy.ndarray
        Heart rate in bpm (not rounded), ``nan`` where there is no reading.
    """
    valid = np.isfinite(rr_ms)
    csum = np.concatenate(([0.0], np.cumsum(np.where(valid, rr_ms, 0.0))))
    ccount = np.concatenate(([0], np.cumsum(valid)))
    last = np.searchsorted(beat_times_s, eval_times_s, side="left")
    lo = np.maximum(last - n_beats, 0)
    total = csum[last] - csum[lo]
    count = ccount[last] - ccount[lo]
    prev_t = np.concatenate(([-np.inf], beat_times_s))[last]
    ok = (count > 0) & (eval_times_s - prev_t <= stale_s) & (total > 0)
    hr = np.full(eval_times_s.shape, np.nan)
    np.divide(60_000.0 * count, total, out=hr, where=ok)
    return hr


#: Beat labels of :func:`ectopy_increments`.
BEAT_SINUS, BEAT_PVC, BEAT_PAC = 0, 1, 2
#: Share of ectopic *events* that are bigeminy/trigeminy runs rather than single
#: premature beats, per unit of burden (capped at :data:`RUN_SHARE_MAX`): runs are a
#: feature of frequent ectopy.
RUN_SHARE_PER_BURDEN = 2.0
RUN_SHARE_MAX = 0.5
#: Ectopic beats in a run: 3 + a geometric number with this mean.
RUN_EXTRA_MEAN = 9.0
#: Probability that a run is bigeminy (every 2nd beat ectopic); else trigeminy.
RUN_BIGEMINY = 0.6


def ectopy_increments(
    rng: np.random.Generator,
    n_sinus: int,
    pvc_burden: float,
    pac_burden: float,
    pvc_coupling: float,
    pac_coupling: float,
    pac_return: float,
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """Phase increments of sinus rhythm with premature beats, and each beat's label.

    The sinus node fires every unit of phase (see :func:`beats_find_crossings`). A
    premature beat replaces the ``k``-th sinus beat by one at ``k - 1 + c``
    (the coupling ``c``, a fraction of the sinus cycle):

    * a PVC leaves the sinus node alone, so the next beat is the sinus beat ``k + 1``:
      increments ``c, 2 - c`` (full compensatory pause, the pair sums to two cycles);
    * a PAC resets the sinus node, so the next beat comes one cycle (plus the return
      delay ``r``) after it: increments ``c, 1 + r`` with ``c + r < 1``
      (non-compensatory pause), and every later beat moves ``1 - c - r`` earlier.

    Ectopic events start at random sinus beats; each is a single premature beat or,
    with a probability that grows with the burden, a bigeminy (every 2nd beat) or
    trigeminy (every 3rd beat) run. Two ectopic beats are never adjacent (colliding
    events are thinned, so burdens above about 5 % come out somewhat lower).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every draw.
    n_sinus : int
        Sinus beats the increments replace (premature beats fall on beats
        ``1 .. n_sinus - 1``, so each one's return beat is among them).
    pvc_burden, pac_burden : float
        Target fraction of beats that are PVCs and PACs.
    pvc_coupling, pac_coupling : float
        Mean coupling of each kind, fraction of the sinus cycle (in (0, 1)).
    pac_return : float
        Delay of the first sinus beat after a PAC, fraction of a cycle.

    Returns
    -------
    increments : numpy.ndarray
        ``n_sinus`` phase increments (1.0 for sinus beats); their cumulative sum is the
        thresholds of :func:`beats_find_crossings`.
    labels : numpy.ndarray
        ``int8`` per beat: :data:`BEAT_SINUS`, :data:`BEAT_PVC` or :data:`BEAT_PAC`.

    Examples
    --------
    >>> inc, lab = ectopy_increments(np.random.default_rng(0), 2000, 0.05, 0.0, 0.6, 0.7, 0.1)
    >>> k = int(np.flatnonzero(lab == BEAT_PVC)[0])
    >>> round(float(inc[k]), 1), round(float(inc[k] + inc[k + 1]), 6)
    (0.6, 2.0)
    """
    inc = np.ones(n_sinus, dtype=np.float64)
    labels = np.zeros(n_sinus, dtype=np.int8)
    burden = pvc_burden + pac_burden
    if burden <= 0.0 or n_sinus < 3:
        return inc, labels
    run_share = min(RUN_SHARE_PER_BURDEN * burden, RUN_SHARE_MAX)
    per_event = (1.0 - run_share) + run_share * (3.0 + RUN_EXTRA_MEAN)
    starts = np.flatnonzero(rng.random(n_sinus) < burden / per_event)
    m = starts.size
    is_run = rng.random(m) < run_share
    count = np.where(is_run, 3 + rng.geometric(1.0 / (1.0 + RUN_EXTRA_MEAN), m) - 1, 1)
    period = np.where(rng.random(m) < RUN_BIGEMINY, 2, 3)
    kind = np.where(rng.random(m) < pvc_burden / burden, BEAT_PVC, BEAT_PAC).astype(np.int8)
    # Expand the events into beat positions: start + period * (0 .. count - 1).
    first = np.repeat(np.cumsum(count) - count, count)
    step = np.arange(int(count.sum())) - first
    pos = np.repeat(starts, count) + np.repeat(period, count) * step
    kinds = np.repeat(kind, count)
    ok = (pos >= 1) & (pos <= n_sinus - 2)
    pos, kinds = pos[ok], kinds[ok]
    order = np.argsort(pos, kind="stable")
    pos, kinds = pos[order], kinds[order]
    keep = np.diff(np.concatenate(([-2], pos))) >= 2
    pos, kinds = pos[keep], kinds[keep]
    keep = np.diff(np.concatenate(([-2], pos))) >= 2  # once more after the first cut
    pos, kinds = pos[keep], kinds[keep]
    pvc = kinds == BEAT_PVC
    jitter = rng.normal(0.0, 1.0, pos.size)
    coupling = np.where(pvc, pvc_coupling + 0.02 * jitter, pac_coupling + 0.04 * jitter)
    coupling = np.clip(coupling, 0.45, 0.9)
    back = np.where(pvc, 2.0 - coupling, 1.0 + np.minimum(pac_return, 0.95 - coupling))
    inc[pos] = coupling
    inc[pos + 1] = back
    labels[pos] = kinds
    return inc, labels
