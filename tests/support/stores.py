"""Gateway stores on disk for tests: filled with decodable records, copied, damaged."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from gateway.store import Store
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

#: Two watches; a store built by :func:`store_build` holds heart-rate records of both.
WATCHES = ("C4:12:00:00:00:0A", "C4:12:00:00:00:0B")
#: 2023-11-14 00:00 UTC in ms.
T0_MS = 1_699_920_000_000
#: A Heart Rate Measurement of 72 bpm (flags 0, uint8 value): decodes on export.
HR_PAYLOAD = b"\x00\x48"


def heart_rate_records(device: str, count: int) -> list[IngestRecord]:
    """``count`` decodable heart-rate records of ``device``, one second apart."""
    return [
        IngestRecord(device, Stream.HEART_RATE, seq, t, t + 40, t + 7, HR_PAYLOAD)
        for seq in range(count)
        for t in (T0_MS + seq * 1000,)
    ]


def store_fill(store: Store, per_device: int = 3000) -> None:
    """Add ``per_device`` heart-rate records of each of :data:`WATCHES` to ``store``."""
    for device in WATCHES:
        store.records.add(heart_rate_records(device, per_device))


def store_build(path: Path, per_device: int = 3000) -> Path:
    """A cleanly closed store at ``path`` holding :func:`store_fill`'s records."""
    with Store(path) as store:
        store_fill(store, per_device)
    return path


def naive_copy(store: Path, to: Path) -> Path:
    """Copy only the main file of ``store``, as ``cp`` of a running gateway's store would."""
    shutil.copyfile(store, to)
    return to


def pages_damage(path: Path) -> int:
    """Overwrite the last leaf page of the ``record_blocks`` table with 0xFF; return its number.

    The page holds the last watch's newest records, so a reader gets through the first
    watch's records before SQLite reports the damage.
    """
    conn = sqlite3.connect(path)
    try:
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        page = int(
            conn.execute(
                "SELECT max(pageno) FROM dbstat WHERE name = 'record_blocks' AND pagetype = 'leaf'"
            ).fetchone()[0]
        )
    finally:
        conn.close()
    with path.open("r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(b"\xff" * page_size)
    return page
