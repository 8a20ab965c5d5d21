"""The watch's real-time clock: a crystal that drifts, set over the Current Time Service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WatchClock:
    """Maps true simulated time to what the watch's own clock reads.

    The clock runs ``1 + drift_ppm * 1e-6`` times as fast as true time, so the error
    grows linearly until someone sets it. Setting the clock (a Current Time write)
    removes the offset but not the drift, as on a real watch whose crystal is off.

    Parameters
    ----------
    epoch_at_start_s
        Unix time (true) at simulated time 0.
    offset_s
        Initial error of the watch clock, seconds (watch minus true).
    drift_ppm
        Rate error of the crystal in parts per million.
    """

    epoch_at_start_s: float
    offset_s: float = 0.0
    drift_ppm: float = 0.0
    _anchor_true_s: float = 0.0
    _anchor_watch_ms: float | None = None

    def __post_init__(self) -> None:
        if not -1000.0 <= self.drift_ppm <= 1000.0:
            raise ValueError(f"clock drift {self.drift_ppm} ppm outside [-1000, 1000]")
        if self._anchor_watch_ms is None:
            self._anchor_watch_ms = (self.epoch_at_start_s + self.offset_s) * 1000.0

    @property
    def rate(self) -> float:
        return 1.0 + self.drift_ppm * 1e-6

    def watch_ms(self, true_s: float) -> int:
        """What the watch clock reads (Unix epoch ms) at simulated time ``true_s``."""
        assert self._anchor_watch_ms is not None
        return round(self._anchor_watch_ms + (true_s - self._anchor_true_s) * 1000.0 * self.rate)

    def set(self, true_s: float, epoch_ms: int) -> None:
        """Set the clock to read ``epoch_ms`` at simulated time ``true_s``."""
        self._anchor_true_s = true_s
        self._anchor_watch_ms = float(epoch_ms)

    def true_epoch_ms(self, true_s: float) -> int:
        """The correct Unix epoch ms at simulated time ``true_s`` (what a gateway would set)."""
        return round((self.epoch_at_start_s + true_s) * 1000.0)
