"""A person's own heart-rate floor (bradycardia); the fever's counterpart, the expected
wrist temperature, is :mod:`wearable_core.assessment.wrist_temperature`.

People differ: resting heart rate from the 40s (a trained athlete asleep) to the 80s.
"Bradycardia" can only mean "well away from *this* person's usual level". The floor is
built from hourly summaries (:class:`HourlyHistory`): one per hour of fault-free
windows (at least :data:`MIN_WINDOWS_PER_HOUR`), the last 24 hours kept (or the last
:data:`MIN_HOURS` such hours if a long episode left fewer), and windows that already look
like the condition left out, so an episode does not teach the baseline that it is
normal. Until enough hours have been seen there is no baseline.

* :class:`HeartRateFloor`: the person's usual low heart rate: the second-lowest hourly
  10th percentile of window mean HR (the lowest could be one odd hour; with one hour,
  that hour's), available after one hour; windows more than
  :data:`HR_FLOOR_EXCLUDE_BPM` below it are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

#: Hours of history a baseline looks at.
HISTORY_HOURS = 24
#: Fewest hourly summaries before there is a baseline.
MIN_HOURS = 3
#: Fewest windows in an hour for its summary to count.
MIN_WINDOWS_PER_HOUR = 20
#: Heart-rate windows this far below the floor are left out of it (bradycardia).
HR_FLOOR_EXCLUDE_BPM = 10.0
_HOUR_MS = 3_600_000


@dataclass
class HourlyHistory:
    """Hourly summaries of one device's per-window values; subclasses say which."""

    hours: list[tuple[int, float]] = field(default_factory=list)
    current_hour: int | None = None
    current: list[float] = field(default_factory=list)
    #: Fewest hourly summaries before there is a baseline.
    min_hours: ClassVar[int] = MIN_HOURS
    #: Hours of history kept.
    history_hours: ClassVar[int] = HISTORY_HOURS

    @property
    def value(self) -> float | None:
        """The baseline, or ``None`` while there is too little history."""
        if len(self.hours) < self.min_hours:
            return None
        return self._baseline([v for _, v in self.hours])

    def baseline_at(self, start_ms: int) -> float | None:
        """The baseline that applies to a window starting at ``start_ms``."""
        return self.value

    def _baseline(self, hourly: list[float]) -> float:
        raise NotImplementedError

    def _summary(self, values: list[float]) -> float:
        raise NotImplementedError

    def _excluded(self, value: float, baseline: float) -> bool:
        raise NotImplementedError

    def update(self, start_ms: int, value: float | None) -> None:
        """Add one fault-free window's value (``None``/``nan``: skipped)."""
        hour = start_ms // _HOUR_MS
        if self.current_hour is not None and hour != self.current_hour:
            self._close_hour()
        self.current_hour = hour
        if value is None or not math.isfinite(value):
            return
        baseline = self.baseline_at(start_ms)
        if baseline is not None and self._excluded(value, baseline):
            return
        self.current.append(float(value))

    def _close_hour(self) -> None:
        if self.current_hour is not None and len(self.current) >= MIN_WINDOWS_PER_HOUR:
            self.hours.append((self.current_hour, self._summary(self.current)))
        self.current = []
        if self.current_hour is not None:
            oldest = self.current_hour - self.history_hours + 1
            recent = [(h, v) for h, v in self.hours if h >= oldest]
            # An episode longer than a day leaves no normal hours in the last 24: keep
            # the last known ones rather than losing the baseline mid-episode.
            keep = max(MIN_HOURS, self.min_hours)
            self.hours = recent if len(recent) >= keep else self.hours[-keep:]

    def to_state(self) -> dict[str, Any]:
        """A JSON-ready snapshot (stored with the detection progress)."""
        return {
            "hours": [[h, round(v, 4)] for h, v in self.hours],
            "current_hour": self.current_hour,
            "current": [round(v, 4) for v in self.current],
        }

    @classmethod
    def from_state(cls, state: Any) -> Self:
        """Rebuild from :meth:`to_state` output; anything malformed starts afresh."""
        try:
            hours = [(int(h), float(v)) for h, v in state.get("hours", [])]
            hour = state.get("current_hour")
            current = [float(v) for v in state.get("current", [])]
            return cls(hours, None if hour is None else int(hour), current)
        except (AttributeError, TypeError, ValueError):
            return cls()


@dataclass
class HeartRateFloor(HourlyHistory):
    """A person's usual low heart rate, bpm (see the module doc).

    Examples
    --------
    >>> f = HeartRateFloor()
    >>> for minute in range(4 * 60):
    ...     f.update(minute * 60_000, 45.0 + minute % 10)
    >>> round(f.value, 1)
    45.9
    """

    # One hour of a person at rest already says more than the population definition;
    # a heart-rate floor is needed early, unlike a fever baseline.
    min_hours: ClassVar[int] = 1

    def _baseline(self, hourly: list[float]) -> float:
        return sorted(hourly)[min(1, len(hourly) - 1)]

    def _summary(self, values: list[float]) -> float:
        return float(np.percentile(values, 10))

    def _excluded(self, value: float, baseline: float) -> bool:
        return value < baseline - HR_FLOOR_EXCLUDE_BPM
