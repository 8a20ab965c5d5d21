"""What the gateway ingests: one decoded, sequenced record from one device."""

from __future__ import annotations

from dataclasses import dataclass

from wearable_core.contracts.streams import Stream


@dataclass(frozen=True, slots=True)
class IngestRecord:
    """One record as the gateway stores it.

    ``payload`` is the byte-exact standard payload (or accelerometer frame) that passed
    the strict decoder; values are decoded from it again when needed, so the store keeps
    exactly what the watch sent. ``seq`` is the watch's sequence number for devices with
    our record service, or one the gateway assigns for standard devices (which have no
    sequence numbers of their own). ``watch_time_ms`` is the watch clock's reading (the
    gateway's receive time for standard devices); ``gateway_time_ms`` is when the gateway
    received it; ``aligned_time_ms`` is the gateway's best estimate of when the record
    really started, on the gateway clock (watch clock mapped through the device's
    clock model).
    """

    device: str
    stream: Stream
    seq: int
    watch_time_ms: int
    gateway_time_ms: int
    aligned_time_ms: int
    payload: bytes
    backfilled: bool = False
