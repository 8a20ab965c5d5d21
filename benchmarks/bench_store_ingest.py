"""Benchmark: the gateway store's ingest rate and the bytes one watch-day takes on disk.

Prints one JSON object.

* ``watch_day``: one simulated watch, 24 h, every stream (``firmware_sim``), added in
  batches of 500 in production order; then flushed and checkpointed. ``bytes_per_watch_day``
  is the store file (database + WAL) afterwards; ``payload_bytes`` is what the watch sent.
* ``ingest``: records per second of ``Store.add`` for batches of 1, 50 and 500 records,
  in two arrival patterns: ``one_watch`` (consecutive records of one watch) and
  ``100_watches`` (the same records spread over 100 addresses, arriving interleaved as
  a gateway serving 100 watches sees them). Times include the inbox flushes that ``add``
  triggers; ``max_call_ms`` shows the longest call (one with a flush).
* ``written_bytes_per_record``: bytes the process wrote to storage (``/proc/self/io``,
  Linux; WAL and checkpoints) per record, against the data itself (~100 bytes a record).
* ``baseline``: the same rows, same batches, same SQLite settings (WAL,
  ``synchronous=NORMAL``, one transaction per batch), written with a plain
  ``executemany`` into a bare table with no key and no index. ``ratio`` is store time
  over baseline time: the price of idempotence, frontiers and the clustered layout.

Run: ``.venv/bin/python benchmarks/bench_store_ingest.py``
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from firmware_sim.scenario import scenario_parse
from firmware_sim.watch_assembly import firmware_build, identity_of
from gateway.store import Store
from wearable_core.records import IngestRecord

DAY_SCENARIO = """
[scenario]
name = "store-bench"
seed = 2024
watches = 1
days = 1
"""
GATEWAY_DELAY_MS = 300  # receive time after the watch's timestamp (any constant will do)
WATCHES = 100


def watch_day() -> list[IngestRecord]:
    """Every record one simulated watch produces in 24 h, in production order."""
    scenario = scenario_parse(DAY_SCENARIO)
    (plan,) = scenario.plan()
    device = identity_of(plan).address
    firmware = firmware_build(plan, scenario)
    out = []
    while not firmware.finished:
        for item in firmware.advance(firmware.produced_until_s + 3600):
            r = item.record
            received = r.watch_time_ms + GATEWAY_DELAY_MS
            out.append(
                IngestRecord(
                    device, item.stream, r.seq, r.watch_time_ms, received, received, r.payload
                )
            )
    return out


def many_watches(day: Sequence[IngestRecord], count: int, watches: int) -> list[IngestRecord]:
    """``count`` records as ``watches`` watches deliver them: second by second, interleaved."""
    per_watch = -(-count // watches)
    first = day[:per_watch]
    out = []
    for r in first:
        for w in range(watches):
            device = f"C4:12:00:00:{w >> 8:02X}:{w & 0xFF:02X}"
            out.append(
                IngestRecord(
                    device,
                    r.stream,
                    r.seq,
                    r.watch_time_ms + w,
                    r.gateway_time_ms + w,
                    r.aligned_time_ms + w,
                    r.payload,
                )
            )
    return out[:count]


def written_bytes() -> int | None:
    """Bytes this process has caused to be written to storage so far (Linux), else None."""
    try:
        with open("/proc/self/io", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def per_record(before: int | None, after: int | None, records: int) -> float | None:
    return None if before is None or after is None else round((after - before) / records)


def batches(records: Sequence[IngestRecord], size: int) -> list[Sequence[IngestRecord]]:
    return [records[i : i + size] for i in range(0, len(records), size)]


def time_store(
    records: Sequence[IngestRecord], size: int, directory: Path
) -> dict[str, float | None]:
    path = directory / f"store-{size}-{time.monotonic_ns()}.db"
    written = written_bytes()
    with Store(path) as store:
        calls = []
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        for batch in batches(records, size):
            c0 = time.perf_counter()
            store.records.add(batch)
            calls.append(time.perf_counter() - c0)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        store.checkpoint()  # count what reaches the database file, not only the WAL
    return {
        "records": len(records),
        "records_per_s": round(len(records) / wall),
        "ms_per_call_mean": round(1000 * wall / len(calls), 3),
        "ms_per_call_p50": round(1000 * statistics.median(calls), 3),
        "max_call_ms": round(1000 * max(calls), 1),
        "cpu_us_per_record": round(1e6 * cpu / len(records), 1),
        "wall_s": round(wall, 3),
        "written_bytes_per_record": per_record(written, written_bytes(), len(records)),
    }


def time_baseline(
    records: Sequence[IngestRecord], size: int, directory: Path
) -> dict[str, float | None]:
    path = directory / f"bare-{size}-{time.monotonic_ns()}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE bare (device TEXT, stream TEXT, seq INTEGER, watch_time_ms INTEGER, "
        "gateway_time_ms INTEGER, aligned_time_ms INTEGER, payload BLOB, backfilled INTEGER)"
    )
    rows = [
        (
            r.device,
            r.stream.value,
            r.seq,
            r.watch_time_ms,
            r.gateway_time_ms,
            r.aligned_time_ms,
            r.payload,
            int(r.backfilled),
        )
        for r in records
    ]
    written = written_bytes()
    t0 = time.perf_counter()
    for i in range(0, len(rows), size):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows[i : i + size])
        conn.execute("COMMIT")
    wall = time.perf_counter() - t0
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {
        "records_per_s": round(len(records) / wall),
        "wall_s": round(wall, 3),
        "written_bytes_per_record": per_record(written, written_bytes(), len(records)),
    }


def _num(value: float | None) -> float:
    assert value is not None
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=60_000, help="records per ingest run")
    args = parser.parse_args()
    counts = {1: min(args.records, 5_000), 50: args.records, 500: args.records}

    t0 = time.perf_counter()
    day = watch_day()
    simulate_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = directory / "day.db"
        t0 = time.perf_counter()
        with Store(path) as store:
            for batch in batches(day, 500):
                store.records.add(batch)
            store.checkpoint()
            usage = store.retention.usage()
        day_wall = time.perf_counter() - t0
        payload = sum(len(r.payload) for r in day)
        patterns = {
            "one_watch": day,
            f"{WATCHES}_watches": many_watches(day, args.records, WATCHES),
        }
        ingest: dict[str, dict[str, object]] = {}
        for name, records in patterns.items():
            for size, count in counts.items():
                sample = records[:count]
                store_t = time_store(sample, size, directory)
                base_t = time_baseline(sample, size, directory)
                ingest[f"{name}/batch_{size}"] = {
                    **store_t,
                    "baseline_records_per_s": base_t["records_per_s"],
                    "baseline_written_bytes_per_record": base_t["written_bytes_per_record"],
                    "ratio_to_baseline": round(_num(store_t["wall_s"]) / _num(base_t["wall_s"]), 2),
                }
    print(
        json.dumps(
            {
                "watch_day": {
                    "records": len(day),
                    "payload_bytes": payload,
                    "bytes_per_watch_day": usage.file_bytes,
                    "live_bytes": usage.live_bytes,
                    "record_bytes": usage.record_bytes,
                    "bytes_per_record": round(usage.file_bytes / len(day), 1),
                    "overhead_vs_payload": round(usage.file_bytes / payload, 2),
                    "rows": {s.value: n for s, n in usage.rows.items()},
                    "ingest_wall_s": round(day_wall, 2),
                    "simulate_s": round(simulate_s, 1),
                },
                "ingest": ingest,
                "python": platform.python_version(),
                "sqlite": sqlite3.sqlite_version,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
