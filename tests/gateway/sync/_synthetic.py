"""Synthetic window summaries and alerts, for sync tests that need days, not realism."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gateway.store import Store, WindowSummary
from wearable_core.buckets.base import Bucket
from wearable_core.contracts.aggregate_batch import AggregateBatch, BatchKind, batch_decode
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES

DEVICES = ("C4:00:00:00:00:01", "C4:00:00:00:00:02", "C4:00:00:00:00:03")
#: 2026-01-05T00:00Z: a midnight, so days and hours are easy to reason about.
T0_MS = 1_767_571_200_000
MINUTE_MS = 60_000


def add_windows(
    store: Store, device: str, start_ms: int, count: int, assessed_ms: int, seed: int = 0
) -> None:
    """Store ``count`` consecutive window summaries of ``device`` from ``start_ms``.

    Every 7th window is notable (always uploaded); the rest are sampled.
    """
    rng = np.random.default_rng(seed + start_ms // MINUTE_MS)
    windows = [
        WindowSummary(
            start_ms + i * MINUTE_MS,
            "baseline-1",
            rng.uniform(0.0, 100.0, len(FEATURE_NAMES)).astype(np.float32),
            rng.uniform(0.0, 1.0, len(ANOMALY_TYPES)).astype(np.float32),
            rules=1 if i % 7 == 0 else 0,
            faults=0,
            notable=i % 7 == 0,
        )
        for i in range(count)
    ]
    store.detection_state.save(
        device, start_ms + count * MINUTE_MS, {}, windows=windows, assessed_ms=assessed_ms
    )


def uploaded(bucket: Bucket) -> list[tuple[str, AggregateBatch]]:
    """Every object in the bucket, decoded (the test reads what really arrived)."""
    return [(info.name, batch_decode(bucket.read(info.name)[0])) for info in bucket.list()]


def windows_by_hour(batches: Iterable[AggregateBatch]) -> dict[tuple[str, int], float]:
    """Windows per (pseudonym, hour) summed over every aggregate batch."""
    totals: dict[tuple[str, int], float] = {}
    for batch in batches:
        if batch.kind is not BatchKind.AGGREGATES:
            continue
        for hour in batch.hours:
            key = (batch.pseudonym, hour.hour)
            totals[key] = totals.get(key, 0) + hour.windows
    return totals


def local_bucket_path(tmp_path: Path) -> str:
    """A bucket directory under ``tmp_path``."""
    return str(tmp_path / "bucket")
