"""Map each watch's clock onto the gateway's clock, correcting offset and drift.

A watch stamps records with its own crystal clock, which starts off by some offset and
runs fast or slow by some parts per million. Every live notification gives one
observation: the watch time at which it was sent and the gateway time at which it
arrived,

    gateway = watch + offset + drift * (watch - ref) + latency,    latency >= 0.

Latency is noisy (connection intervals, retransmissions, a busy event loop) and has a
hard floor, so the clock relation is the *lower envelope* of the observations. The model
keeps, per bin of gateway time, the observation with the smallest ``gateway - watch``
(bounded memory: a ring of bins covering a sliding window), then fits offset and drift to
those minima by least squares with iterative outlier trimming, and lowers the line to the
10th percentile of the kept minima's residuals. Until the window spans
enough time for the slope to mean anything, drift is held at a prior: zero at first, the
last estimate after a reset (a crystal's drift survives a clock set). See
``docs/time_alignment.md`` for the method and its measured accuracy.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["ClockModel", "clock_fit"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Bin id of a ring slot that holds nothing.
_EMPTY_BIN: Final = -(2**62)
#: The bins of every frozen model (:meth:`ClockModel.freeze`): empty, so nothing writes
#: to them, and shared, so a frozen model costs no arrays of its own.
_NO_IDS: Final = np.empty(0, dtype=np.int64)
_NO_VALUES: Final = np.empty(0, dtype=np.float64)
#: Trimming: residuals beyond this many robust standard deviations are outliers...
_TRIM_SIGMAS: Final = 3.0
#: ...but never trim closer than this, so a fit that is already near-perfect keeps its
#: inliers (the per-bin minima scatter by a few ms at most).
_TRIM_FLOOR_MS: Final = 10.0
#: MAD to standard deviation for a normal distribution.
_MAD_TO_SIGMA: Final = 1.4826
_MAX_TRIM_ITERATIONS: Final = 6
#: The fitted line is lowered to this quantile of the inliers' residuals (see _fit_minima).
_ENVELOPE_QUANTILE: Final = 0.1


def _median(values: FloatArray) -> float:
    """Median of a non-empty 1-d array; np.median's generality costs ~10x this on the few
    hundred bins a fit sees, and the fit runs once per bin for every connected watch."""
    n = values.size
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    parted = np.partition(values, (half - 1, half))
    return 0.5 * float(parted[half - 1] + parted[half])


def _fit_minima(
    x: FloatArray, y: FloatArray, drift_prior: float, fit_drift: bool
) -> tuple[float, float, BoolArray]:
    """Fit the lower envelope ``y = a + b x`` of per-bin minima, robustly.

    Returns ``(a, b, inliers)``, ``inliers`` marking the minima the fit kept.

    ``x`` is watch ms since the reference, ``y`` is ``gateway - watch`` ms. Starts from the
    prior slope and the median intercept (immune to any minority of outliers), then
    alternates least squares on the inliers with trimming residuals beyond
    ``max(3 sigma, 10 ms)``, sigma from the median absolute deviation. Finally the line is
    lowered to the 10th percentile of the inliers' residuals: a bin's minimum still holds
    the smallest latency of its few observations (on average latency / count), and the
    least-squares line would carry that bias. With ``fit_drift`` false, only the intercept
    is fitted and the slope stays at the prior.
    """
    slope = drift_prior
    intercept = _median(y - slope * x)
    inliers = np.ones(x.shape, dtype=bool)
    for _ in range(_MAX_TRIM_ITERATIONS):
        residual = y - (intercept + slope * x)
        inlier_residual = residual[inliers]
        mad = _median(np.abs(inlier_residual - _median(inlier_residual)))
        limit = max(_TRIM_SIGMAS * _MAD_TO_SIGMA * mad, _TRIM_FLOOR_MS)
        keep = np.abs(residual) <= limit
        if keep.sum() < 2:
            break
        xs, ys = x[keep], y[keep]
        if fit_drift:
            xm, ym = float(xs.mean()), float(ys.mean())
            dx = xs - xm
            denominator = float(dx @ dx)
            if denominator > 0.0:
                slope = float(dx @ (ys - ym)) / denominator
            intercept = ym - slope * xm
        else:
            intercept = float((ys - slope * xs).mean())
        converged = np.array_equal(keep, inliers)
        inliers = keep
        if converged:
            break
    residual = y[inliers] - (intercept + slope * x[inliers])
    if residual.size:
        # An order statistic, not np.quantile: same job at a fraction of the cost.
        k = int(_ENVELOPE_QUANTILE * (residual.size - 1))
        intercept += float(np.partition(residual, k)[k])
    return intercept, slope, inliers


def clock_fit(
    watch_ms: npt.ArrayLike,
    gateway_ms: npt.ArrayLike,
    *,
    bin_s: float = 30.0,
    drift_prior_ppm: float = 0.0,
    min_span_s: float = 600.0,
) -> tuple[float, float]:
    """Fit a watch clock to the gateway clock from a batch of observations.

    The batch counterpart of :class:`ClockModel`, with the same method: the minimum of
    ``gateway - watch`` per bin of gateway time, then a trimmed least-squares line through
    those minima. Useful offline (a recording, a notebook) and to check the streaming model.

    Parameters
    ----------
    watch_ms
        Watch clock readings (Unix ms) at which notifications were sent.
    gateway_ms
        Gateway clock readings (Unix ms) at which each arrived.
    bin_s
        Width of the gateway-time bins whose minima are fitted.
    drift_prior_ppm
        Drift assumed when the observations span less than ``min_span_s``.
    min_span_s
        Shortest span of gateway time over which drift is fitted rather than assumed.

    Returns
    -------
    offset_ms, drift_ppm : float
        ``gateway ≈ watch + offset_ms + drift_ppm * 1e-6 * (watch - watch_ms[0])``.

    Examples
    --------
    >>> import numpy as np
    >>> watch = 1_700_000_000_000 + np.arange(0, 3_600_000, 1000)
    >>> gateway = watch + 2500 + np.rint((watch - watch[0]) * 50e-6) + 7
    >>> offset, drift = clock_fit(watch, gateway)
    >>> round(offset), round(drift)
    (2507, 50)
    """
    w = np.asarray(watch_ms, dtype=np.int64)
    g = np.asarray(gateway_ms, dtype=np.int64)
    if w.shape != g.shape or w.ndim != 1:
        raise ValueError(f"watch_ms and gateway_ms must be 1-d of one length: {w.shape}, {g.shape}")
    if w.size == 0:
        return 0.0, 0.0
    bin_ms = _positive_bin_ms(bin_s)
    bins = g // bin_ms
    delta = g - w
    # Per bin, the observation with the smallest delta: sort by (bin, delta), take firsts.
    order = np.lexsort((delta, bins))
    sorted_bins = bins[order]
    first = order[np.flatnonzero(np.r_[True, sorted_bins[1:] != sorted_bins[:-1]])]
    x = (w[first] - w[0]).astype(np.float64)
    y = delta[first].astype(np.float64)
    span_ms = float((bins.max() - bins.min() + 1) * bin_ms)
    fit_drift = span_ms >= min_span_s * 1000.0 and first.size >= 3
    intercept, slope, _ = _fit_minima(x, y, drift_prior_ppm * 1e-6, fit_drift)
    return intercept, slope * 1e6


def _positive_bin_ms(bin_s: float) -> int:
    bin_ms = round(bin_s * 1000.0)
    if bin_ms <= 0:
        raise ValueError(f"bin_s must be at least 0.001 s, got {bin_s}")
    return bin_ms


# eq=False: a stateful estimator is equal only to itself. Slots: a device keeps dozens,
# one per clock epoch (`DeviceClock`).
@dataclass(eq=False, slots=True)
class ClockModel:
    """One watch's clock relative to the gateway's, learnt from live notifications.

    Feed it :meth:`observe` for every *live* notification (never backfilled ones: those
    arrive long after they were sent) and ask :meth:`to_gateway_ms` where a watch
    timestamp falls on the gateway clock. After writing Current Time to the watch, call
    :meth:`reset`, or :meth:`after_clock_set` to keep this model for the records stamped
    before the write. Memory is fixed by ``window_s / bin_s`` whatever the uptime; an
    observation costs O(1), and a refit (once per closed bin) O(window_s / bin_s).

    The model also notices a clock that jumped without :meth:`reset` (the watch set by
    another phone, rebooted, or the gateway's own clock stepped): ``step_confirm``
    consecutive observations more than ``step_ms`` below the fit (a negative latency,
    which cannot happen), or every observation for ``step_window_s`` of gateway time more
    than ``step_ms`` above it, restart the fit. :attr:`steps_detected` counts them.

    Parameters
    ----------
    bin_s
        Width of the gateway-time bins; each keeps its smallest ``gateway - watch``.
    window_s
        How much recent history the fit uses; longer averages noise better, shorter
        follows drift that wanders with temperature.
    min_span_s
        Until the bins span this much gateway time, drift is held at its prior (zero, or
        the last estimate from before a reset) and only the offset is estimated.
    ready_observations
        Observations needed before :attr:`ready` is true and steps are looked for.
    step_ms, step_confirm, step_window_s
        Clock-step detection, see above.

    Examples
    --------
    >>> model = ClockModel()
    >>> model.to_gateway_ms(1_700_000_000_000)  # nothing observed: identity
    1700000000000
    >>> for k in range(20):
    ...     model.observe(1_700_000_000_000 + 1000 * k, 1_700_000_002_000 + 1000 * k + 15)
    >>> model.ready, model.offset_ms
    (True, 2015.0)
    >>> model.to_gateway_ms(1_700_000_030_000)
    1700000032015
    """

    bin_s: float = 30.0
    window_s: float = 2 * 3600.0
    min_span_s: float = 600.0
    ready_observations: int = 10
    step_ms: float = 2000.0
    step_confirm: int = 5
    step_window_s: float = 120.0

    _bin_ms: int = field(init=False, repr=False)
    _capacity: int = field(init=False, repr=False)
    _bin_id: npt.NDArray[np.int64] = field(init=False, repr=False)
    _bin_x: FloatArray = field(init=False, repr=False)
    _bin_y: FloatArray = field(init=False, repr=False)
    _current_bin: int | None = field(init=False, repr=False, default=None)
    _ref_watch_ms: int | None = field(init=False, repr=False, default=None)
    _last_x: float = field(init=False, repr=False, default=0.0)
    _intercept: float = field(init=False, repr=False, default=0.0)
    _slope: float = field(init=False, repr=False, default=0.0)
    _drift_prior: float = field(init=False, repr=False, default=0.0)
    _drift_fitted: bool = field(init=False, repr=False, default=False)
    _dirty: bool = field(init=False, repr=False, default=False)
    _observations: int = field(init=False, repr=False, default=0)
    _steps: int = field(init=False, repr=False, default=0)
    _below_run: int = field(init=False, repr=False, default=0)
    _above_since_ms: int | None = field(init=False, repr=False, default=None)
    _above_count: int = field(init=False, repr=False, default=0)
    _frozen: bool = field(init=False, repr=False, default=False)

    def __post_init__(self) -> None:
        self._bin_ms = _positive_bin_ms(self.bin_s)
        if not self.window_s >= 3 * self.bin_s:
            raise ValueError(
                f"window_s ({self.window_s}) must hold at least 3 bins of {self.bin_s} s"
            )
        if self.min_span_s < 0 or self.min_span_s > self.window_s:
            raise ValueError(f"min_span_s must be in [0, window_s], got {self.min_span_s}")
        if self.ready_observations < 1 or self.step_confirm < 1:
            raise ValueError("ready_observations and step_confirm must be >= 1")
        if self.step_ms <= 0 or self.step_window_s <= 0:
            raise ValueError("step_ms and step_window_s must be > 0")
        self._capacity = math.ceil(self.window_s * 1000.0 / self._bin_ms)
        self._bin_id = np.full(self._capacity, _EMPTY_BIN, dtype=np.int64)
        self._bin_x = np.zeros(self._capacity, dtype=np.float64)
        self._bin_y = np.full(self._capacity, np.inf, dtype=np.float64)

    # --- public API --------------------------------------------------------------------

    def observe(self, watch_ms: int, gateway_ms: int) -> None:
        """Fold in one live notification.

        Parameters
        ----------
        watch_ms
            The watch clock's reading when the notification was *sent*. Records are stamped
            at the start of the period they cover and sent at its end, so pass
            ``record.watch_time_ms + stream.record_period_s * 1000``.
        gateway_ms
            The gateway clock's reading when the notification arrived.
        """
        if self._frozen:
            return
        watch_ms, gateway_ms = int(watch_ms), int(gateway_ms)
        if self._ref_watch_ms is None:
            self._ref_watch_ms = watch_ms
        bin_id = gateway_ms // self._bin_ms
        current = self._current_bin
        if self.ready and self._is_step(watch_ms, gateway_ms):
            self._restart(watch_ms)
            current = None
        # Receive times only go forward; one that does not (a caller's reordering, the
        # gateway clock stepping back) joins the open bin, and a real step back is caught
        # by the step detector as a run of negative latencies.
        if current is None or bin_id > current:
            self._open_bin(bin_id)
        slot = self._current_slot()
        x = float(watch_ms - self._ref_watch_ms)
        y = float(gateway_ms - watch_ms)
        if y < self._bin_y[slot]:
            self._bin_y[slot] = y
            self._bin_x[slot] = x
            if not self._drift_fitted:
                # Before the drift is fitted the offset follows the newest bins, so a new
                # minimum matters now; after, the fit waits for the bin to close.
                self._dirty = True
        self._last_x = max(self._last_x, x)
        self._observations += 1

    def to_gateway_ms(self, watch_ms: int) -> int:
        """The gateway time at which the watch clock read ``watch_ms``.

        With nothing observed (and no :meth:`reset`), the identity.
        """
        self._refit_if_needed()
        if self._ref_watch_ms is None:
            return int(watch_ms)
        x = int(watch_ms) - self._ref_watch_ms
        return int(watch_ms) + round(self._intercept + self._slope * x)

    def reset(self, watch_ms_now: int, gateway_ms_now: int) -> None:
        """Start over after the gateway set the watch's clock (a Current Time write).

        The offset becomes ``gateway_ms_now - watch_ms_now`` until new observations refine
        it; the drift estimate is kept as the prior, since setting a clock does not change
        how fast its crystal runs.
        """
        self._restart(int(watch_ms_now))
        self._intercept = float(int(gateway_ms_now) - int(watch_ms_now))

    def after_clock_set(self, watch_ms_now: int, gateway_ms_now: int) -> ClockModel:
        """A new model for the clock as it runs after a Current Time write.

        Like :meth:`reset`, but leaves this model as it is, so it can go on mapping
        timestamps from before the write (records backfilled later). The new model has
        the same parameters and starts from this one's drift estimate.

        Examples
        --------
        >>> old = ClockModel()
        >>> new = old.after_clock_set(1_700_000_000_000, 1_700_000_000_004)
        >>> new.to_gateway_ms(1_700_000_000_000), old.to_gateway_ms(1_700_000_000_000)
        (1700000000004, 1700000000000)
        """
        self._refit_if_needed()
        successor = dataclasses.replace(self)
        successor._drift_prior = self._slope if self._drift_fitted else self._drift_prior
        successor.reset(watch_ms_now, gateway_ms_now)
        return successor

    def freeze(self) -> None:
        """Keep the mapping as it stands and release the bins: the model still maps
        timestamps but learns nothing more (:meth:`observe` is ignored from now on).

        For a superseded clock epoch, which maps backfilled records only: its bins are
        as large as a live model's (three arrays of ``window_s / bin_s``, 5.8 KB by
        default), and a device keeps dozens of such epochs (``DeviceClock``).

        Examples
        --------
        >>> model = ClockModel()
        >>> for k in range(20):
        ...     model.observe(1_700_000_000_000 + 1000 * k, 1_700_000_002_000 + 1000 * k + 15)
        >>> model.freeze()
        >>> model.observe(1_700_000_030_000, 1_700_000_090_000)  # ignored
        >>> model.to_gateway_ms(1_700_000_030_000), model.frozen
        (1700000032015, True)
        """
        self._refit_if_needed()
        self._frozen = True
        self._dirty = False
        self._bin_id, self._bin_x, self._bin_y = _NO_IDS, _NO_VALUES, _NO_VALUES

    @property
    def frozen(self) -> bool:
        """Whether :meth:`freeze` was called."""
        return self._frozen

    @property
    def offset_ms(self) -> float:
        """``gateway - watch`` in ms at the newest observed watch time (0 if unknown)."""
        self._refit_if_needed()
        return self._intercept + self._slope * self._last_x

    @property
    def drift_ppm(self) -> float:
        """How fast the watch clock runs relative to the gateway's, in parts per million
        (positive: the watch is slow, so ``gateway - watch`` grows)."""
        self._refit_if_needed()
        return self._slope * 1e6

    @property
    def anchored(self) -> bool:
        """Whether the mapping rests on anything: an observation or a :meth:`reset`.

        An unanchored model is the identity, which is only right for a watch whose clock
        happens to agree with the gateway's.
        """
        return self._ref_watch_ms is not None

    @property
    def observations(self) -> int:
        """Observations folded into the current fit (since creation, a reset or a step)."""
        return self._observations

    @property
    def ready(self) -> bool:
        """Whether the offset rests on at least ``ready_observations`` observations."""
        return self._observations >= self.ready_observations

    @property
    def drift_estimated(self) -> bool:
        """Whether the drift is fitted from data (rather than held at its prior)."""
        self._refit_if_needed()
        return self._drift_fitted

    @property
    def steps_detected(self) -> int:
        """Clock steps noticed without a :meth:`reset`, since creation."""
        return self._steps

    # --- internals ---------------------------------------------------------------------

    def _current_slot(self) -> int:
        assert self._current_bin is not None
        return self._current_bin % self._capacity

    def _open_bin(self, bin_id: int) -> None:
        self._current_bin = bin_id
        slot = bin_id % self._capacity
        self._bin_id[slot] = bin_id
        self._bin_y[slot] = np.inf
        self._bin_x[slot] = 0.0
        # A bin closed (or the first opened): time to refit.
        self._dirty = True

    def _restart(self, watch_ms: int) -> None:
        """Forget every bin but keep the best drift estimate as the prior."""
        self._refit_if_needed()
        if self._drift_fitted:
            self._drift_prior = self._slope
        self._slope = self._drift_prior
        # Continue the old mapping's offset until new observations replace it.
        if self._ref_watch_ms is not None:
            self._intercept += self._slope * (watch_ms - self._ref_watch_ms)
        self._ref_watch_ms = watch_ms
        self._bin_id.fill(_EMPTY_BIN)
        self._bin_y.fill(np.inf)
        self._current_bin = None
        self._last_x = 0.0
        self._drift_fitted = False
        self._dirty = False
        self._observations = 0
        self._below_run = 0
        self._above_since_ms = None
        self._above_count = 0

    def _is_step(self, watch_ms: int, gateway_ms: int) -> bool:
        """Update the step detectors with one observation; True when a step is confirmed."""
        self._refit_if_needed()
        assert self._ref_watch_ms is not None
        expected = self._intercept + self._slope * (watch_ms - self._ref_watch_ms)
        residual = (gateway_ms - watch_ms) - expected
        if residual < -self.step_ms:
            self._below_run += 1
            if self._below_run >= self.step_confirm:
                self._steps += 1
                return True
        else:
            self._below_run = 0
        if residual > self.step_ms:
            if self._above_since_ms is None:
                self._above_since_ms = gateway_ms
                self._above_count = 0
            self._above_count += 1
            if (
                self._above_count >= self.step_confirm
                and gateway_ms - self._above_since_ms >= self.step_window_s * 1000.0
            ):
                self._steps += 1
                return True
        else:
            self._above_since_ms = None
        return False

    def _refit_if_needed(self) -> None:
        if not self._dirty or self._current_bin is None:
            return
        self._dirty = False
        current = self._current_bin
        valid = self._bin_id > current - self._capacity
        valid &= np.isfinite(self._bin_y)
        ids = self._bin_id[valid]
        if ids.size == 0:
            return
        closed = ids < current
        span_ms = (
            (int(ids[closed].max()) - int(ids.min()) + 1) * self._bin_ms if closed.any() else 0
        )
        if span_ms >= self.min_span_s * 1000.0 and int(closed.sum()) >= 3:
            # Fit offset and drift to the closed bins; the open bin's minimum is still
            # settling and would add noise.
            x, y = self._bin_x[valid][closed], self._bin_y[valid][closed]
            self._intercept, self._slope, _ = _fit_minima(x, y, self._slope, fit_drift=True)
            self._drift_fitted = True
            return
        # Drift held at its prior: find the inliers with the same trimmed fit (minima from
        # delayed observations are outliers), then take the offset from the newest two
        # inlier bins only, so the unfitted drift costs at most two bins' worth of it.
        self._drift_fitted = False
        self._slope = self._drift_prior
        x, y = self._bin_x[valid], self._bin_y[valid]
        _, _, inliers = _fit_minima(x, y, self._slope, fit_drift=False)
        newest = inliers & (ids >= int(ids[inliers].max()) - 1)
        self._intercept = float(np.min(y[newest] - self._slope * x[newest]))
