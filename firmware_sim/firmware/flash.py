"""A flash ring buffer with a fixed byte budget, holding every record the watch produced.

Records are kept in write order across all streams. When a new record does not fit,
the oldest records are overwritten (whatever their stream) and counted, so a gateway
that asks for them later gets an explicit gap instead of a silent one.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from wearable_core.contracts.gatt.record_envelope import HEADER_SIZE, SequencedRecord
from wearable_core.contracts.streams import Stream

#: Per-record bookkeeping a flash filesystem spends (length, stream id, CRC).
RECORD_OVERHEAD_BYTES = 4


@dataclass
class _StreamLog:
    records: deque[SequencedRecord]
    next_seq: int = 0
    overwritten: int = 0

    @property
    def oldest_seq(self) -> int:
        return self.records[0].seq if self.records else self.next_seq


class RecordTooLargeError(ValueError):
    """A single record is larger than the whole flash budget."""


class FlashRingBuffer:
    """Stores sequenced records per stream under one byte budget.

    Parameters
    ----------
    budget_bytes
        Total bytes of flash for records (payload, envelope header and overhead).
    """

    def __init__(self, budget_bytes: int) -> None:
        if budget_bytes < 1024:
            raise ValueError(f"flash budget {budget_bytes} B is too small (need >= 1024)")
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self._logs = {stream: _StreamLog(deque()) for stream in Stream}
        self._write_order: deque[Stream] = deque()

    @staticmethod
    def record_size(record: SequencedRecord) -> int:
        return HEADER_SIZE + len(record.payload) + RECORD_OVERHEAD_BYTES

    def next_seq(self, stream: Stream) -> int:
        return self._logs[stream].next_seq

    def append(self, stream: Stream, watch_time_ms: int, payload: bytes) -> SequencedRecord:
        """Assign the stream's next sequence number, store, and return the record."""
        log = self._logs[stream]
        record = SequencedRecord(seq=log.next_seq, watch_time_ms=watch_time_ms, payload=payload)
        size = self.record_size(record)
        if size > self.budget_bytes:
            raise RecordTooLargeError(f"record of {size} B exceeds flash of {self.budget_bytes} B")
        while self.used_bytes + size > self.budget_bytes:
            self._evict_oldest()
        log.records.append(record)
        log.next_seq = (log.next_seq + 1) & 0xFFFFFFFF
        self._write_order.append(stream)
        self.used_bytes += size
        return record

    def _evict_oldest(self) -> None:
        stream = self._write_order.popleft()
        log = self._logs[stream]
        evicted = log.records.popleft()
        log.overwritten += 1
        self.used_bytes -= self.record_size(evicted)

    def oldest_seq(self, stream: Stream) -> int:
        return self._logs[stream].oldest_seq

    def overwritten(self, stream: Stream) -> int:
        return self._logs[stream].overwritten

    def count(self, stream: Stream, min_seq: int = 0) -> int:
        """Number of stored records of ``stream`` with sequence >= ``min_seq``."""
        log = self._logs[stream]
        start = max(min_seq - log.oldest_seq, 0)
        return max(len(log.records) - start, 0)

    def records_from(self, stream: Stream, min_seq: int = 0) -> Iterator[SequencedRecord]:
        """Stored records of ``stream`` with sequence >= ``min_seq``, oldest first."""
        log = self._logs[stream]
        start = max(min_seq - log.oldest_seq, 0)
        # A snapshot: records appended while the caller iterates are not included,
        # and eviction during a slow backfill cannot break the iteration.
        return iter(list(itertools.islice(log.records, start, None)))
