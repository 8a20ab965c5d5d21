"""From notification bytes to durable rows: decode, count rejections, align time, batch.

Every callback from the radio lands here synchronously and only appends to a buffer;
a flush writes the buffer to the store in one transaction, either when it reaches
``batch_max`` records or every ``flush_interval_s``. A crash loses at most the unflushed
buffer, which the watch still holds in flash: the next backfill fetches it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.clock_sync import DeviceClock
from gateway.decoders import DecodedRecord, Rejection, RejectionCounter, notification_decode
from gateway.store import Store
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

logger = logging.getLogger(__name__)


def now_ms() -> int:
    """The gateway clock, Unix epoch ms."""
    return time.time_ns() // 1_000_000


@dataclass
class DeviceIngestState:
    """What the ingest path knows about one device while it runs."""

    clock: DeviceClock = field(default_factory=DeviceClock)
    #: Records with sequence >= this are live (produced after we subscribed); older ones
    #: are backfill and must not feed the clock model (their receive time is not theirs).
    live_from: dict[Stream, int] = field(default_factory=dict)
    #: Highest sequence seen per stream since start (live or backfill).
    max_seen: dict[Stream, int] = field(default_factory=dict)
    #: Local sequence numbers for standard devices: next to assign, reserved up to.
    local_next: dict[Stream, int] = field(default_factory=dict)
    local_reserved: dict[Stream, int] = field(default_factory=dict)
    last_data_ms: int = 0
    received: int = 0


class Ingestor:
    """Buffers decoded records of every device and flushes them to the store.

    Parameters
    ----------
    store
        The local store.
    batch_max
        Flush as soon as this many records are buffered.
    clock
        The gateway clock (injectable for tests).
    """

    #: Standard devices get local sequence numbers reserved in blocks (one write per block).
    LOCAL_SEQ_BLOCK = 1024

    def __init__(
        self, store: Store, batch_max: int = 500, clock: Callable[[], int] = now_ms
    ) -> None:
        self.store = store
        self.batch_max = batch_max
        self.clock = clock
        self.rejections = RejectionCounter()
        self.devices: dict[str, DeviceIngestState] = {}
        self._buffer: list[IngestRecord] = []
        self._rejected: list[tuple[str, Rejection, int]] = []
        self.flushed = 0

    def state(self, device: str) -> DeviceIngestState:
        state = self.devices.get(device)
        if state is None:
            state = self.devices[device] = DeviceIngestState()
        return state

    # ----------------------------------------------------------------- intake
    def on_notification(self, device: str, characteristic: str, data: bytes) -> None:
        """Handle one notification or indication (never raises for any bytes)."""
        received = self.clock()
        result = notification_decode(characteristic, bytes(data))
        state = self.state(device)
        state.last_data_ms = received
        if isinstance(result, Rejection):
            self.reject(device, result, received)
            return
        state.received += 1
        self._accept(device, state, result, received)

    def reject(self, device: str, rejection: Rejection, at_ms: int | None = None) -> None:
        """Count a rejected payload (from any source) and log why."""
        when = self.clock() if at_ms is None else at_ms
        self.rejections.record(device, rejection)
        self._rejected.append((device, rejection, when))
        logger.warning(
            "rejected payload",
            extra={
                "device": device,
                "reason": str(rejection.reason),
                "detail": rejection.detail,
                "characteristic": rejection.characteristic,
                "payload_hex": bytes(rejection.payload[:64]).hex(),
            },
        )

    def _accept(
        self, device: str, state: DeviceIngestState, decoded: DecodedRecord, received: int
    ) -> None:
        stream = decoded.stream
        if decoded.seq is None:
            # A standard device: no sequence numbers or watch clock of its own.
            seq = self._local_seq(device, state, stream)
            watch_ms = received
            aligned = received
            backfilled = False
        else:
            seq = decoded.seq
            assert decoded.watch_time_ms is not None
            watch_ms = decoded.watch_time_ms
            live = seq >= state.live_from.get(stream, 1 << 62)
            model = state.clock.model_for(stream, seq)
            if live:
                # Stamped at the start of its period, sent at the end of it.
                model.observe(watch_ms + int(stream.record_period_s * 1000), received)
            aligned = state.clock.align(stream, seq, watch_ms)
            backfilled = not live
            if seq > state.max_seen.get(stream, -1):
                state.max_seen[stream] = seq
        self._buffer.append(
            IngestRecord(
                device=device,
                stream=stream,
                seq=seq,
                watch_time_ms=watch_ms,
                gateway_time_ms=received,
                aligned_time_ms=aligned,
                payload=decoded.payload,
                backfilled=backfilled,
            )
        )
        if len(self._buffer) >= self.batch_max:
            self.flush()

    def _local_seq(self, device: str, state: DeviceIngestState, stream: Stream) -> int:
        nxt = state.local_next.get(stream)
        if nxt is None or nxt >= state.local_reserved.get(stream, 0):
            nxt = self.store.records.next_local_seq(device, stream, self.LOCAL_SEQ_BLOCK)
            state.local_reserved[stream] = nxt + self.LOCAL_SEQ_BLOCK
        state.local_next[stream] = nxt + 1
        return nxt

    # ------------------------------------------------------------------ output
    @property
    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Write buffered records and rejections in one transaction each; return rows added."""
        added = 0
        if self._buffer:
            batch, self._buffer = self._buffer, []
            added = self.store.records.add(batch)
            self.flushed += added
        if self._rejected:
            rejected, self._rejected = self._rejected, []
            for device, rejection, when in rejected:
                self.store.devices.count_rejection(
                    device, str(rejection.reason), rejection.payload, when
                )
        return added

    async def run(self, stop: asyncio.Event, interval_s: float) -> None:
        """Flush every ``interval_s`` until ``stop``; flush once more at the end."""
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_s)
                self.flush()
        finally:
            self.flush()
