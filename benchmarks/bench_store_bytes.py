"""Benchmark: bytes per watch-day of the block store, and its ingest and read speed.

Prints one JSON object. One simulated watch-day (``bench_store_ingest.watch_day``) is
written two ways in the same run:

* ``rows`` (the baseline, the store's layout up to schema 7): one row per record in a
  ``WITHOUT ROWID`` table keyed by ``(device, stream, seq)``, the same columns and
  SQLite settings, inserted sorted in one transaction per 16,384 records as the store's
  inbox flush did.
* ``blocks`` (``gateway.store.Store``, schema 8): ``records.add`` in batches of 500,
  then flushed and checkpointed; the records live as compressed blocks.

For each: ``bytes_per_watch_day`` (the closed file), ingest wall time (the ``blocks``
figure is the whole ``add`` path, idempotence and frontiers included, so it is an upper
bound of what the layout costs), and two reads: the whole day stream by stream as
``IngestRecord`` objects, and one minute of every stream for each of 240 windows spread
over the day (``spread``: a notebook's jumps) and for 240 consecutive minutes
(``minutes``: detection's walk). ``ratio`` is blocks' time over rows' time.

Run: ``.venv/bin/python benchmarks/bench_store_bytes.py``
"""

from __future__ import annotations

import bisect
import json
import platform
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_store_ingest import batches, watch_day

from gateway.store import Store
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

FLUSH_ROWS = 16_384
WINDOWS = 240
WINDOW_MS = 60_000

_ROWS_SCHEMA = """
CREATE TABLE records (
    device INTEGER NOT NULL, stream INTEGER NOT NULL, seq INTEGER NOT NULL,
    watch_time_ms INTEGER NOT NULL, gateway_time_ms INTEGER NOT NULL,
    aligned_time_ms INTEGER NOT NULL, payload BLOB NOT NULL, backfilled INTEGER NOT NULL,
    PRIMARY KEY (device, stream, seq)
) WITHOUT ROWID
"""


def windows(day: Sequence[IngestRecord], *, consecutive: bool = False) -> list[int]:
    """Start times of the read windows: spread evenly over the day, or consecutive
    minutes from its start (detection's pattern)."""
    first = min(r.aligned_time_ms for r in day)
    last = max(r.aligned_time_ms for r in day)
    step = WINDOW_MS if consecutive else (last - first - WINDOW_MS) // WINDOWS
    return [first + i * step for i in range(WINDOWS)]


def file_bytes(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


Patterns = dict[str, list[int]]


def rows_layout(day: Sequence[IngestRecord], path: Path, patterns: Patterns) -> dict[str, float]:
    """The baseline: one row per record, written, then read back as the old store did."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(_ROWS_SCHEMA)
    t0 = time.perf_counter()
    for i in range(0, len(day), FLUSH_ROWS):
        chunk = sorted(day[i : i + FLUSH_ROWS], key=lambda r: (r.stream.wire_id, r.seq))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO records VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.stream.wire_id,
                    r.seq,
                    r.watch_time_ms,
                    r.gateway_time_ms,
                    r.aligned_time_ms,
                    r.payload,
                    int(r.backfilled),
                )
                for r in chunk
            ],
        )
        conn.execute("COMMIT")
    ingest = time.perf_counter() - t0
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    device = day[0].device
    select = (
        "SELECT seq, watch_time_ms, gateway_time_ms, aligned_time_ms, payload, backfilled "
        "FROM records WHERE device = 1 AND stream = ? "
    )

    def read(stream: Stream, where: str = "", args: tuple[int, ...] = ()) -> list[IngestRecord]:
        return [
            IngestRecord(device, stream, q, w, g, a, p, bool(b))
            for q, w, g, a, p, b in conn.execute(
                select + where + "ORDER BY seq", (stream.wire_id, *args)
            )
        ]

    t0 = time.perf_counter()
    whole = sum(len(read(s)) for s in Stream)
    read_day = time.perf_counter() - t0
    # The old store found a window's ends by a binary search of ~18 key lookups, then
    # read one key range. The baseline gets the ends for free (computed here, outside the
    # timing), so it is a lower bound of the old store's cost.
    times = {s: sorted((r.aligned_time_ms, r.seq) for r in day if r.stream is s) for s in Stream}
    out = {
        "bytes_per_watch_day": file_bytes(path),
        "ingest_s": ingest,
        "read_day_s": read_day,
        "records_read": whole,
    }
    for name, starts in patterns.items():
        ranges = []
        for t in starts:
            for s in Stream:
                lo = bisect.bisect_left(times[s], (t, -1))
                hi = bisect.bisect_left(times[s], (t + WINDOW_MS, -1))
                if lo < hi:
                    ranges.append((s, times[s][lo][1], times[s][hi - 1][1] + 1))
        t0 = time.perf_counter()
        n = sum(len(read(s, "AND seq >= ? AND seq < ? ", (a, b))) for s, a, b in ranges)
        out[f"read_{name}_s"] = time.perf_counter() - t0
        out[f"{name}_records"] = n
    conn.close()
    return out


def blocks_layout(day: Sequence[IngestRecord], path: Path, patterns: Patterns) -> dict[str, float]:
    """The store as it is: add, flush, checkpoint, close; then read back through it."""
    t0 = time.perf_counter()
    with Store(path) as store:
        for batch in batches(day, 500):
            store.records.add(batch)
        store.records.flush()
        ingest = time.perf_counter() - t0
        store.checkpoint()
    size = file_bytes(path)
    device = day[0].device
    with Store(path) as store:
        t0 = time.perf_counter()
        whole = sum(len(list(store.records.iter_records(device, s))) for s in Stream)
        read_day = time.perf_counter() - t0
        out = {
            "bytes_per_watch_day": size,
            "ingest_s": ingest,
            "read_day_s": read_day,
            "records_read": whole,
        }
        for name, starts in patterns.items():
            t0 = time.perf_counter()
            n = sum(
                len(store.records.records_between(device, s, t, t + WINDOW_MS))
                for t in starts
                for s in Stream
            )
            out[f"read_{name}_s"] = time.perf_counter() - t0
            out[f"{name}_records"] = n
        usage = store.retention.usage()
        out["live_bytes"] = usage.live_bytes
        out["record_bytes"] = usage.record_bytes
    return out


def main() -> None:
    day = watch_day()
    patterns = {"spread": windows(day), "minutes": windows(day, consecutive=True)}
    payload = sum(len(r.payload) for r in day)
    with tempfile.TemporaryDirectory() as tmp:
        rows = rows_layout(day, Path(tmp) / "rows.db", patterns)
        blocks = blocks_layout(day, Path(tmp) / "blocks.db", patterns)
    counts = ["records_read", *(f"{name}_records" for name in patterns)]
    if [rows[c] for c in counts] != [blocks[c] for c in counts]:
        raise SystemExit(f"the layouts read back different records: {rows} {blocks}")
    print(
        json.dumps(
            {
                "records": len(day),
                "payload_bytes": payload,
                "rows": {k: round(v, 3) for k, v in rows.items()},
                "blocks": {k: round(v, 3) for k, v in blocks.items()},
                "bytes_ratio": round(
                    blocks["bytes_per_watch_day"] / rows["bytes_per_watch_day"], 3
                ),
                "ingest_ratio": round(blocks["ingest_s"] / rows["ingest_s"], 2),
                "read_day_ratio": round(blocks["read_day_s"] / rows["read_day_s"], 2),
                **{
                    f"read_{name}_ratio": round(
                        blocks[f"read_{name}_s"] / rows[f"read_{name}_s"], 2
                    )
                    for name in patterns
                },
                "python": platform.python_version(),
                "sqlite": sqlite3.sqlite_version,
                "machine": platform.machine(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
