"""Per-device clock epochs: which clock model maps which record, across clock sets.

Setting a watch's clock (a Current Time write) makes its timestamps jump. Records the
watch produced before the write carry the old clock and may arrive later by backfill, so
one model per device is not enough: each write starts a new *epoch*, bounded per stream
by the sequence number the watch was about to use when the clock was set (read from its
Storage Status). Sequence numbers only grow, so every record belongs to exactly one
epoch, whenever it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.timealign import ClockModel
from wearable_core.contracts.streams import Stream


@dataclass
class _Epoch:
    first_seq: dict[Stream, int]
    model: ClockModel


@dataclass
class DeviceClock:
    """The clock models of one device, one per clock epoch."""

    epochs: list[_Epoch] = field(default_factory=lambda: [_Epoch({}, ClockModel())])

    def model_for(self, stream: Stream, seq: int | None) -> ClockModel:
        """The model that maps records of ``stream`` with sequence ``seq``."""
        if seq is None:
            return self.epochs[-1].model
        for epoch in reversed(self.epochs):
            if seq >= epoch.first_seq.get(stream, 0):
                return epoch.model
        return self.epochs[0].model

    @property
    def current(self) -> ClockModel:
        return self.epochs[-1].model

    def clock_set(self, next_seq: dict[Stream, int], watch_ms: int, gateway_ms: int) -> None:
        """The watch clock was set to read ``watch_ms`` at ``gateway_ms``.

        ``next_seq`` holds, per stream, the first sequence number produced under the new
        clock. Older epochs keep their (now frozen) models for late records.
        """
        # The crystal did not change: the new epoch starts from the drift learned so far.
        model = self.current.after_clock_set(watch_ms, gateway_ms)
        self.epochs.append(_Epoch(dict(next_seq), model))
        # Weeks of uptime with hourly resyncs: keep the few epochs backfill can still reach.
        if len(self.epochs) > 64:
            del self.epochs[1:-63]

    def align(self, stream: Stream, seq: int | None, watch_ms: int) -> int:
        """Best estimate, on the gateway clock, of when the record started."""
        return self.model_for(stream, seq).to_gateway_ms(watch_ms)
