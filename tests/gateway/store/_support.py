"""Helpers shared by the store tests."""

from __future__ import annotations

import random

from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

WATCH_A = "C4:12:00:00:00:0A"
WATCH_B = "C4:12:00:00:00:0B"
#: 2023-11-14 00:00 UTC in ms: every test record's times start here.
T0_MS = 1_699_920_000_000


def make_records(
    seqs: range | list[int],
    *,
    device: str = WATCH_A,
    stream: Stream = Stream.HEART_RATE,
    payload_bytes: int = 8,
    offset_ms: int = 0,
    backfilled: bool = False,
) -> list[IngestRecord]:
    """One record per seq, one second apart; the payload encodes the seq (checkable).

    Beyond its first four bytes (the seq) a payload is pseudo-random, seeded by the seq:
    the store compresses its blocks, and sizes the retention tests count on must not
    shrink to nothing as a repeated pattern would.
    """
    out = []
    for seq in seqs:
        t = T0_MS + offset_ms + seq * 1000
        filler = random.Random(seq).randbytes(max(0, payload_bytes // 4 * 4 - 4))
        payload = seq.to_bytes(4, "little") + filler
        out.append(IngestRecord(device, stream, seq, t, t + 40, t + 7, payload, backfilled))
    return out
