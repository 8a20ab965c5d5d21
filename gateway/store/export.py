"""Export the store as per-stream CSV files in the simulator's truth format.

``hr.csv``, ``spo2.csv``, ``temp.csv`` and ``accel.csv`` have exactly the columns of the
truth files (``wearable_core.contracts.record_csv``) plus ``gateway_timestamp_ms``, so an
export and a truth directory compare by set equality on (device, stream, sequence).
``gaps.csv`` lists declared gaps and ``devices.csv`` each device's counters.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from gateway.store.errors import StoreError
from gateway.store.store import Store
from wearable_core.contracts import record_csv
from wearable_core.contracts.gatt.errors import PayloadError
from wearable_core.contracts.streams import Stream

GAPS_FILE = "gaps.csv"
GAP_COLUMNS = ("device", "stream", "start_seq", "end_seq", "reason")
DEVICES_FILE = "devices.csv"
DEVICE_COLUMNS = (
    "device",
    "name",
    "kind",
    "connection_state",
    "first_seen_ms",
    "last_seen_ms",
    "battery_pct",
    "records",
    "backlog",
    "gaps",
    "missing",
    "rejected",
)


@contextmanager
def _atomic(path: Path) -> Iterator[TextIO]:
    """Write ``path`` via a temporary file, so a crash never leaves a half file behind."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        yield handle
    os.replace(tmp, path)


def _opt(value: object) -> str:
    return "" if value is None else str(value)


def export_store(store: Store, out_dir: Path) -> dict[Stream, int]:
    """Write the store's records, gaps and devices to ``out_dir``; return rows per stream.

    Rows are ordered by device and sequence. Raises :class:`StoreError` if a stored
    payload does not decode (it passed the strict decoder on the way in, so that means
    the file was damaged).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[Stream, int] = {}
    for stream in Stream:
        n = 0
        with _atomic(out_dir / record_csv.file_name(stream)) as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(record_csv.header(stream, gateway=True))
            for record in store.iter_records(stream=stream):
                try:
                    values = record_csv.record_values(stream, record.payload)
                except PayloadError as exc:
                    raise StoreError(
                        f"stored record {record.device} {stream} {record.seq} does not decode "
                        f"({exc}): the store file is damaged; check it with Store.verify()"
                    ) from exc
                writer.writerow(
                    [
                        record.device,
                        stream.value,
                        record.seq,
                        record.watch_time_ms,
                        record.gateway_time_ms,
                        *values,
                    ]
                )
                n += 1
        counts[stream] = n
    with _atomic(out_dir / GAPS_FILE) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(GAP_COLUMNS)
        for gap in store.gaps():
            writer.writerow([gap.device, gap.stream.value, gap.start_seq, gap.end_seq, gap.reason])
    with _atomic(out_dir / DEVICES_FILE) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(DEVICE_COLUMNS)
        for d in store.devices():
            writer.writerow(
                [
                    d.id,
                    _opt(d.name),
                    _opt(d.kind),
                    _opt(d.connection_state),
                    _opt(d.first_seen_ms),
                    _opt(d.last_seen_ms),
                    _opt(d.battery_pct),
                    sum(d.records.values()),
                    d.backlog,
                    d.gaps,
                    d.missing,
                    d.rejected,
                ]
            )
    return counts
