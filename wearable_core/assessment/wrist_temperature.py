"""The wrist temperature expected for one person right now, and a fever as a rise over it.

A wrist does not show core temperature. Its skin runs 1-2 degC warmer when the wearer
lies still (distal vasodilation in sleep; Krauchi et al. 2000), cools when they walk or
exercise, follows a daily shape (a post-lunch rise and an evening trough; Sarabia et al.
2008), and differs between people by several degrees. A fever raises it by about as
much as it raises the core (``docs/physiology.md``), so the gateway estimates the
core-equivalent rise as the measured wrist temperature minus the temperature expected
for this person in this state at this time of day::

    expected = level + gain * rest + cooling * moving + circadian(hour)

* ``rest`` and ``moving`` are the fractions of recent time spent lying still (wrist
  movement SD below :data:`STILL_SD_G`, the sustained inactivity of sleep; van Hees et
  al. 2015) and walking or exercising (ENMO above the sedentary cut-point of Hildebrand
  et al. 2014), each low-pass filtered with the skin's time constant;
* ``circadian`` is the published population shape (fixed, never learnt);
* ``level``, ``gain`` and ``cooling`` start from population priors (a typical wrist, a
  1.5 degC sleep rise, a 0.3 degC walking cooling) and are learnt for this person by
  recursive least squares with a day's memory, from fault-free windows that do not
  already look feverish.

So a fever is caught from the first hour of wear, with the population's sleep rise
until the person's own night has been seen, and a person whose wrist runs warm in sleep
is never mistaken for a feverish one.

References
----------
Krauchi K et al. (2000). Functional link between distal vasodilation and sleep-onset
latency? Am J Physiol 278:R741.
Sarabia JA et al. (2008). Circadian rhythm of wrist temperature in normal-living
subjects. Physiol Behav 95:570.
van Hees VT et al. (2015). A novel, open access method to assess sleep duration using a
wrist-worn accelerometer. PLoS One 10:e0142533.
Hildebrand M et al. (2014). Age group comparability of raw accelerometer output from
wrist- and hip-worn monitors. Med Sci Sports Exerc 46:1816.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.clinical import REST_AFTER_ACTIVITY_S

#: Wrist movement (SD of |a|, g) below which the wearer lies still: in sleep the wrist
#: barely moves (a few mg), seated wear fidgets at ~20 mg.
STILL_SD_G = 0.01
#: ENMO (g) at or above which the wearer is moving (Hildebrand et al. 2014: 44.8 mg).
MOVING_ENMO_G = 0.0448
#: Time constant of the skin's response to lying still, s (vasodilation over ~25 min).
REST_TAU_S = 1500.0
#: Time constant of the skin's response to walking or exercise, s.
MOVE_TAU_S = 600.0
#: Population priors: wrist level when awake and seated (degC; e.g. Sarabia et al. 2008),
#: rise lying still (degC), cooling when moving (degC), and their prior SDs.
PRIOR_MEAN = (32.9, 1.5, -0.3)
PRIOR_SD = (1.5, 0.5, 0.3)
#: Assumed SD of one window's wrist temperature around the expectation, degC.
NOISE_SD_C = 0.3
#: Memory of the learning, windows (a day of minutes).
MEMORY_WINDOWS = 1440
#: Windows learnt before the expectation is trusted (half an hour of wear).
MIN_WINDOWS = 30
#: After this many windows, a window this far above the expectation is not learnt (it
#: may be a fever; before, the priors may still be far off and everything is learnt).
EXCLUDE_AFTER_WINDOWS = 60
EXCLUDE_RISE_C = 0.6
#: After the watch is back on the wrist, its temperature is not learnt for this long, s:
#: the sensor and strap warm from the room to the skin with a time constant of minutes
#: (the simulated watch's is 4 min), and a rewarming wrist learnt as "normal" pulls the
#: expectation down, so the night's ordinary warmth then reads as a fever (measured on a
#: development seed, ``docs/detection.md``). 20 min is five 4-minute time constants: less
#: than 1 % of the room-to-skin gap is left.
SENSOR_SETTLE_S = 1200
_DAY_MS = 86_400_000


def circadian_c(start_ms: int) -> float:
    """The population's daily wrist-temperature shape at a time (UTC hour), degC.

    A post-lunch rise around 15:00 and a trough around 20:30 (Sarabia et al. 2008); the
    nocturnal rise is the rest term of the model, not part of this shape.

    Examples
    --------
    >>> round(circadian_c(15 * 3_600_000), 2), round(circadian_c(9 * 3_600_000), 2)
    (0.35, 0.0)
    """
    hour = (start_ms % _DAY_MS) / 3_600_000

    def wrap(d: float) -> float:
        return (d + 12.0) % 24.0 - 12.0

    return 0.35 * math.exp(-0.5 * (wrap(hour - 15.0) / 1.5) ** 2) - 0.25 * math.exp(
        -0.5 * (wrap(hour - 20.5) / 1.0) ** 2
    )


def _prior_cov() -> list[float]:
    sd = np.array(PRIOR_SD) / NOISE_SD_C
    return [float(v) for v in np.diag(sd**2).ravel()]


@dataclass
class WristTemperatureModel:
    """One person's expected wrist temperature (see the module doc).

    Call :meth:`advance` with every window (it tracks rest and movement), then
    :meth:`expected_at` for the window's expectation, then :meth:`update` with its
    temperature if the window has no sensor fault, or :meth:`off_wrist` if the watch was
    off the wrist.

    Examples
    --------
    >>> m = WristTemperatureModel()
    >>> for minute in range(60):
    ...     m.advance(minute * 60_000, enmo_g=0.01, sd_g=0.02)
    ...     m.update(minute * 60_000, 34.0)
    >>> abs(m.expected_at(60 * 60_000) - 34.0) < 0.05
    True
    """

    theta: list[float] = field(default_factory=lambda: list(PRIOR_MEAN))
    cov: list[float] = field(default_factory=_prior_cov)
    rest: float | None = None
    moving: float | None = None
    last_ms: int | None = None
    learnt: int = 0
    #: Start of the last window in which the wearer walked or exercised.
    last_moving_ms: int | None = None
    #: Temperatures before this time are still settling after the watch was off the wrist.
    settling_until_ms: int | None = None

    def off_wrist(self, end_ms: int) -> None:
        """The watch was off the wrist until ``end_ms``: learn no temperature for
        :data:`SENSOR_SETTLE_S` after it."""
        until = end_ms + SENSOR_SETTLE_S * 1000
        self.settling_until_ms = max(until, self.settling_until_ms or until)

    def advance(self, start_ms: int, enmo_g: float | None, sd_g: float | None) -> None:
        """Track rest and movement through one window (unknown activity: held)."""
        if enmo_g is None or sd_g is None or not (math.isfinite(enmo_g) and math.isfinite(sd_g)):
            return
        still = 1.0 if sd_g < STILL_SD_G else 0.0
        moving = 1.0 if enmo_g >= MOVING_ENMO_G else 0.0
        if moving:
            self.last_moving_ms = start_ms
        if self.last_ms is None or self.rest is None or self.moving is None:
            self.rest, self.moving = still, moving
        else:
            dt = max(start_ms - self.last_ms, 0) / 1000.0
            a_rest = -math.expm1(-dt / REST_TAU_S)
            a_move = -math.expm1(-dt / MOVE_TAU_S)
            self.rest += a_rest * (still - self.rest)
            self.moving += a_move * (moving - self.moving)
        self.last_ms = start_ms

    def at_rest(self, start_ms: int) -> bool | None:
        """No walking or exercise in the window starting at ``start_ms`` nor the
        :data:`~wearable_core.contracts.clinical.REST_AFTER_ACTIVITY_S` before it (``None``
        before any activity was seen). Call after :meth:`advance` for that window."""
        if self.last_ms is None:
            return None
        if self.last_moving_ms is None:
            return True
        return start_ms - self.last_moving_ms > REST_AFTER_ACTIVITY_S * 1000

    def lying_still(self) -> bool | None:
        """Mostly lying still lately (the sleep proxy); ``None`` before any activity."""
        return None if self.rest is None else self.rest >= 0.5

    def _x(self, start_ms: int) -> npt.NDArray[np.float64]:
        # Without an accelerometer (a chest strap) the wearer counts as seated.
        return np.array([1.0, self.rest or 0.0, self.moving or 0.0])

    def expected_at(self, start_ms: int) -> float | None:
        """Expected wrist temperature of a window (``None`` until enough is learnt)."""
        x = self._x(start_ms)
        if self.learnt < MIN_WINDOWS:
            return None
        return float(x @ np.array(self.theta)) + circadian_c(start_ms)

    def update(self, start_ms: int, temp_c: float | None) -> None:
        """Learn from one fault-free window's temperature (``None``/``nan``, or still
        settling after the watch was off the wrist: skipped)."""
        x = self._x(start_ms)
        if temp_c is None or not math.isfinite(temp_c):
            return
        if self.settling_until_ms is not None and start_ms < self.settling_until_ms:
            return
        theta = np.array(self.theta)
        y = temp_c - circadian_c(start_ms)
        residual = y - float(x @ theta)
        if self.learnt >= EXCLUDE_AFTER_WINDOWS and residual >= EXCLUDE_RISE_C:
            return
        lam = 1.0 - 1.0 / MEMORY_WINDOWS
        p = np.array(self.cov).reshape(3, 3)
        px = p @ x
        gain = px / (lam + float(x @ px))
        theta = theta + gain * residual
        p = (p - np.outer(gain, px)) / lam
        self.theta = [float(v) for v in theta]
        self.cov = [float(v) for v in ((p + p.T) / 2.0).ravel()]
        self.learnt += 1

    def to_state(self) -> dict[str, Any]:
        """A JSON-ready snapshot (stored with the detection progress)."""
        return {
            "theta": list(self.theta),
            "cov": list(self.cov),
            "rest": self.rest,
            "moving": self.moving,
            "last_ms": self.last_ms,
            "learnt": self.learnt,
            "last_moving_ms": self.last_moving_ms,
            "settling_until_ms": self.settling_until_ms,
        }

    @classmethod
    def from_state(cls, state: Any) -> Self:
        """Rebuild from :meth:`to_state` output; anything malformed starts afresh."""
        try:
            theta = [float(v) for v in state["theta"]]
            cov = [float(v) for v in state["cov"]]
            if len(theta) != 3 or len(cov) != 9:
                raise ValueError("shape")
            rest, moving, last = state.get("rest"), state.get("moving"), state.get("last_ms")
            moved = state.get("last_moving_ms")
            settling = state.get("settling_until_ms")
            return cls(
                theta,
                cov,
                None if rest is None else float(rest),
                None if moving is None else float(moving),
                None if last is None else int(last),
                int(state.get("learnt", 0)),
                None if moved is None else int(moved),
                None if settling is None else int(settling),
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return cls()
