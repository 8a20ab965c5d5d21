"""Per-device clock epochs: which clock model maps which record, across clock sets.

Setting a watch's clock (a Current Time write) makes its timestamps jump. Records the
watch produced before the write carry the old clock and may arrive later by backfill, so
one model per device is not enough: each write starts a new *epoch*, bounded per stream
by the sequence number the watch was about to use when the clock was set (read from its
Storage Status). Sequence numbers only grow, so every record belongs to exactly one
epoch, whenever it arrives.

Records made before the first write carry whatever the watch's clock said: a fresh
watch's firmware default or a clock months off. The gateway reads the watch's clock at
connect, before it writes it (:meth:`DeviceClock.clock_read`); that reading anchors the
epoch in force, so those records land on the gateway's clock as well as live ones do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from gateway.timealign import ClockModel
from wearable_core.contracts.streams import Stream

#: A clock reading further than this from what the anchored model predicts means the
#: watch's clock stepped while nobody watched (a battery reset, another phone set it).
#: The same threshold as the model's own step detector.
READ_STEP_MS: Final = 2000


@dataclass(slots=True)
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
        self._push(_Epoch(dict(next_seq), model))

    def _push(self, epoch: _Epoch) -> None:
        self.epochs.append(epoch)
        # Live records reach the newest epoch, or the one before it when they were in
        # flight across the clock write; older epochs map backfilled records only, so
        # their fit is all they keep (not ~6 KB of bins each, times 64, times every watch).
        if len(self.epochs) > 2:
            self.epochs[-3].model.freeze()
        # Weeks of uptime with hourly resyncs: keep the few epochs backfill can still reach.
        if len(self.epochs) > 64:
            del self.epochs[1:-63]

    def clock_read(self, first_seq: dict[Stream, int], watch_ms: int, gateway_ms: int) -> bool:
        """The watch's clock read ``watch_ms`` at ``gateway_ms`` (a Current Time read).

        If the epoch in force has no anchor yet (nothing observed, no clock set: the
        records the watch made before this gateway first saw it), the reading becomes its
        offset, with the drift learned so far (none yet: zero) as its slope. If it has one
        and the reading disagrees with it by more than :data:`READ_STEP_MS`, the clock
        stepped unseen: a new epoch, anchored at the reading, starts at ``first_seq``
        (per stream, the first sequence number not yet received). Returns whether the
        reading was used.
        """
        model = self.current
        if not model.anchored:
            model.reset(watch_ms, gateway_ms)
            return True
        if abs(model.to_gateway_ms(watch_ms) - gateway_ms) <= READ_STEP_MS:
            return False
        stepped = model.after_clock_set(watch_ms, gateway_ms)
        floor = self.epochs[-1].first_seq
        # An epoch never starts below the one before it (the frontier can lag a clock set).
        starts = {s: max(seq, floor.get(s, 0)) for s, seq in first_seq.items()}
        self._push(_Epoch(starts, stepped))
        return True

    def align(self, stream: Stream, seq: int | None, watch_ms: int) -> int:
        """Best estimate, on the gateway clock, of when the record started."""
        return self.model_for(stream, seq).to_gateway_ms(watch_ms)
