"""A person's own skin-temperature baseline, for the fever rule.

Wrist skin temperature differs by several degrees between people and swings about 1 °C
over a day, so "fever" can only mean "well above *this* person's usual level". The
baseline is the median of hourly medians of the window temperature levels over the last
24 hours (or the last three such hours, if a long fever left fewer in the last 24).
Windows with a sensor fault do not count, and neither do windows already far above the
baseline (half the fever margin): a fever must not teach the baseline that it is
normal. Until :data:`MIN_HOURS` hours have been seen there is no baseline and the
fever rule stays silent (the model still scores fever).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from gateway.alerts.rules import FEVER_RISE_C

#: Hours of history the baseline looks at.
HISTORY_HOURS = 24
#: Fewest hourly medians before there is a baseline.
MIN_HOURS = 3
#: Fewest windows in an hour for its median to count.
MIN_WINDOWS_PER_HOUR = 20
_HOUR_MS = 3_600_000


@dataclass
class TemperatureBaseline:
    """Hourly medians of one device's skin temperature; :attr:`value` is the baseline.

    Examples
    --------
    >>> b = TemperatureBaseline()
    >>> for minute in range(4 * 60):
    ...     b.update(minute * 60_000, 33.0 + (minute % 2) * 0.2)
    >>> round(b.value, 2)
    33.1
    """

    hours: list[tuple[int, float]] = field(default_factory=list)
    current_hour: int | None = None
    current: list[float] = field(default_factory=list)

    @property
    def value(self) -> float | None:
        """The baseline in °C, or ``None`` while there is too little history."""
        if len(self.hours) < MIN_HOURS:
            return None
        return float(median(v for _, v in self.hours))

    def update(self, start_ms: int, level_c: float | None) -> None:
        """Add one fault-free window's temperature level (``None``/``nan``: skipped)."""
        hour = start_ms // _HOUR_MS
        if self.current_hour is not None and hour != self.current_hour:
            self._close_hour()
        self.current_hour = hour
        if level_c is None or not math.isfinite(level_c):
            return
        baseline = self.value
        if baseline is not None and level_c - baseline >= FEVER_RISE_C / 2:
            return
        self.current.append(float(level_c))

    def _close_hour(self) -> None:
        if self.current_hour is not None and len(self.current) >= MIN_WINDOWS_PER_HOUR:
            self.hours.append((self.current_hour, float(median(self.current))))
        self.current = []
        if self.current_hour is not None:
            oldest = self.current_hour - HISTORY_HOURS + 1
            recent = [(h, v) for h, v in self.hours if h >= oldest]
            # A fever longer than a day leaves no fever-free hours in the last 24: keep
            # the last known ones rather than losing the baseline mid-fever.
            self.hours = recent if len(recent) >= MIN_HOURS else self.hours[-MIN_HOURS:]

    def to_state(self) -> dict[str, Any]:
        """A JSON-ready snapshot (stored with the detection progress)."""
        return {
            "hours": [[h, round(v, 4)] for h, v in self.hours],
            "current_hour": self.current_hour,
            "current": [round(v, 4) for v in self.current],
        }

    @classmethod
    def from_state(cls, state: Any) -> TemperatureBaseline:
        """Rebuild from :meth:`to_state` output; anything malformed starts afresh."""
        try:
            hours = [(int(h), float(v)) for h, v in state.get("hours", [])]
            hour = state.get("current_hour")
            current = [float(v) for v in state.get("current", [])]
            return cls(hours, None if hour is None else int(hour), current)
        except (AttributeError, TypeError, ValueError):
            return cls()
