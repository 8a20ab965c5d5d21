"""What the whole-loop benchmarks read back to prove nothing was lost or duplicated.

The truth files the watches wrote, the gateway's store, and the bucket: each function
reads one of them, never the gateway's own counters.
"""

from __future__ import annotations

import contextlib
import csv
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any


def truth_keys(truth: Path) -> set[tuple[str, str, int]]:
    """(device, stream, sequence) of every record the watches produced."""
    keys: set[tuple[str, str, int]] = set()
    for path in truth.glob("*.csv"):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                keys.add((row["device"], row["stream"], int(row["sequence"])))
    return keys


def store_catch_up(truth: Path, store: Path, timeout_s: float, poll_s: float = 10.0) -> float:
    """Wait until the store holds every record the truth files list (or ``timeout_s``);
    return the seconds waited. What is still missing then is reported as lost."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        time.sleep(poll_s)
        expected = truth_keys(truth)
        if expected and expected <= stored_keys(store)[0]:
            break
    return time.monotonic() - started


def stored_keys(store: Path) -> tuple[set[tuple[str, str, int]], int, int]:
    """The store's (device, stream, sequence) set, its row count, and rows whose device,
    stream, watch time and payload repeat another row's."""
    from gateway.store import Store

    # Read-only, as `wearable export` reads a running gateway's store: the inbox the
    # gateway has not flushed yet is read too.
    with Store(store, read_only=True) as db:
        keys = [(r.device, r.stream.value, r.seq) for r in db.records.iter_records()]
        duplicates = db.records.record_totals().duplicates
    return set(keys), len(keys), duplicates


def windows_assessed(store: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Per device: windows the detector has assessed, and those not yet in a batch.

    Assessed = from the window holding the device's first record to ``processed_until``
    (``gateway/detection/engine.py`` starts there and never assesses a window twice).
    """
    from gateway.store import Store
    from wearable_core.contracts.streams import Stream

    assessed: dict[str, int] = {}
    with Store.open(store) as db:
        for address in db.devices.addresses():
            state = db.detection_state.get(address)
            firsts = [h.first_ms for s in Stream if (h := db.records.stream_horizon(address, s))]
            if state is None or not firsts:
                continue
            first = min(firsts) // 60_000 * 60_000
            assessed[address] = (state[0] - first) // 60_000
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as conn:
        pending = dict(
            conn.execute(
                "SELECT d.id, COUNT(*) FROM window_summaries w "
                "JOIN devices d ON d.key = w.device GROUP BY d.id"
            ).fetchall()
        )
    return assessed, pending


def bucket_contents(bucket: Any) -> dict[str, Any]:
    """Windows per pseudonym and hour, alert ids, objects by kind, read from the bucket."""
    from wearable_core.contracts.aggregate_batch import BatchKind, batch_decode

    windows: Counter[tuple[str, int]] = Counter()
    alert_ids: set[str] = set()
    kinds: Counter[str] = Counter()
    releases = 0
    for info in bucket.list():
        if info.name.startswith(("cohorts/", "training/")):
            continue
        if info.name.startswith("models/"):
            releases += 1
            continue
        batch = batch_decode(bucket.read(info.name)[0])
        kinds[batch.kind.value] += 1
        if batch.kind is BatchKind.AGGREGATES:
            for hour in batch.hours:
                windows[(batch.pseudonym, hour.hour)] += int(hour.windows)
        for alert in batch.alerts:
            alert_ids.add(alert.alert)
    per_pseudonym: Counter[str] = Counter()
    for (pseudonym, _), n in windows.items():
        per_pseudonym[pseudonym] += n
    return {
        "objects": dict(kinds),
        "release_objects": releases,
        "windows_total": sum(windows.values()),
        "windows_per_pseudonym": sorted(per_pseudonym.values()),
        "max_windows_in_a_person_hour": max(windows.values(), default=0),
        "alert_ids": len(alert_ids),
    }
