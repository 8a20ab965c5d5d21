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
  that hour's; before the first hour closes, the hour so far once it holds
  :data:`MIN_WINDOWS_PER_HOUR` windows); windows more than :data:`HR_FLOOR_EXCLUDE_BPM`
  below it are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from wearable_core.assessment.assess import quality_from_features
from wearable_core.assessment.types import FaultKind
from wearable_core.assessment.wrist_temperature import MOVING_ENMO_G, WristTemperatureModel
from wearable_core.contracts.features import WINDOW_S, feature_index

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

    @property
    def value(self) -> float | None:
        """The floor; before the first hour closes, the hour so far once it holds
        :data:`MIN_WINDOWS_PER_HOUR` windows (``None`` before that).

        Without it, a bradycardia that starts half an hour into wear was judged with no
        floor at all, so the model's bradycardia stayed closed through a 36-minute episode
        at 45-49 bpm in a person whose rate had been 60 (a development seed,
        ``docs/detection.md``).
        """
        if not self.hours and len(self.current) >= MIN_WINDOWS_PER_HOUR:
            return self._summary(self.current)
        return super().value

    def _baseline(self, hourly: list[float]) -> float:
        return sorted(hourly)[min(1, len(hourly) - 1)]

    def _summary(self, values: list[float]) -> float:
        return float(np.percentile(values, 10))

    def _excluded(self, value: float, baseline: float) -> bool:
        return value < baseline - HR_FLOOR_EXCLUDE_BPM


_TEMP_LEVEL = feature_index("temp_level")
_HR_MEAN = feature_index("hr_mean")
_ENMO = feature_index("act_enmo")
_MAG_SD = feature_index("act_mag_sd")


@dataclass(frozen=True)
class PersonalContext:
    """What the detector knows of the person when it judges one window."""

    #: Expected wrist temperature, degC (``None`` before enough wear).
    temp_expected_c: float | None
    #: Usual low heart rate, bpm (``None`` in the first 20 minutes of wear).
    hr_floor_bpm: float | None
    #: No walking or exercise in the window nor the 5 minutes before.
    at_rest: bool | None
    #: Mostly lying still lately (the sleep proxy).
    lying_still: bool | None


@dataclass
class PersonalBaselines:
    """One person's baselines as the detector keeps them, window after window.

    The detector and the training job's replay (``served.baselines_replay``) both go
    through :meth:`step`, so a model is judged with exactly the context gateways apply.
    """

    wrist: WristTemperatureModel = field(default_factory=WristTemperatureModel)
    hr_floor: HeartRateFloor = field(default_factory=HeartRateFloor)

    def step(self, start_ms: int, vector: npt.NDArray[np.float32]) -> PersonalContext:
        """The context a window is judged in; then learn from it if it has no sensor
        fault (a faulty window neither moves the activity state nor teaches anything)."""
        faults = quality_from_features(vector).faults()
        clean = not faults
        if FaultKind.OFF_WRIST in faults:
            self.wrist.off_wrist(start_ms + WINDOW_S * 1000)
        if clean:
            self.wrist.advance(start_ms, float(vector[_ENMO]), float(vector[_MAG_SD]))
        context = PersonalContext(
            self.wrist.expected_at(start_ms),
            self.hr_floor.value,
            self.wrist.at_rest(start_ms),
            self.wrist.lying_still(),
        )
        if clean:
            self.wrist.update(start_ms, float(vector[_TEMP_LEVEL]))
            self.hr_floor.update(start_ms, float(vector[_HR_MEAN]))
        return context

    def peek(self, start_ms: int, vector: npt.NDArray[np.float32]) -> PersonalContext:
        """The context of a window that overlaps ones already stepped, learning nothing.

        The detector assesses every :data:`~wearable_core.contracts.features.WINDOW_S`
        window on the grid through :meth:`step` and, between them, overlapping windows
        through this (so each second of signal teaches the baselines once). Walking or
        exercise in the window itself still ends "at rest" at once.
        """
        enmo = float(vector[_ENMO])
        moving = math.isfinite(enmo) and enmo >= MOVING_ENMO_G
        return PersonalContext(
            self.wrist.expected_at(start_ms),
            self.hr_floor.value,
            False if moving else self.wrist.at_rest(start_ms),
            self.wrist.lying_still(),
        )

    def to_state(self) -> dict[str, Any]:
        """A JSON-ready snapshot (stored with the detection progress)."""
        return {"wrist_temperature": self.wrist.to_state(), "heart_rate": self.hr_floor.to_state()}

    @classmethod
    def from_state(cls, state: Any) -> Self:
        """Rebuild from :meth:`to_state` output; anything malformed starts afresh."""
        get = state.get if isinstance(state, dict) else (lambda _key: None)
        return cls(
            WristTemperatureModel.from_state(get("wrist_temperature")),
            HeartRateFloor.from_state(get("heart_rate")),
        )
