"""Export the store as per-stream CSV files in the simulator's truth format.

``hr.csv``, ``spo2.csv``, ``temp.csv`` and ``accel.csv`` have exactly the columns of the
truth files (``wearable_core.contracts.record_csv``) plus ``gateway_timestamp_ms``, so an
export and a truth directory compare by set equality on (device, stream, sequence).
``gaps.csv`` lists declared gaps and ``devices.csv`` each device's counters.

Every file is written into a temporary directory beside the target and moved into it
only when all of them are complete (:func:`staged_directory`), so a failed export (a
damaged store, a full disk) leaves no partial file behind.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from gateway.store.errors import StoreDamagedError
from gateway.store.store import Store, store_read_error
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
def staged_directory(out_dir: Path) -> Iterator[Path]:
    """A temporary directory beside ``out_dir`` whose files reach ``out_dir`` only on success.

    Write the files into the directory this yields. When the block completes they are
    moved into ``out_dir`` (the directory itself is renamed into place when ``out_dir``
    does not exist yet, and is then private to the user, mode 0700); when it raises,
    they are deleted and ``out_dir`` is left as it was.

    Raises :class:`NotADirectoryError` when ``out_dir`` is a file.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} is a file: pass a directory for the export")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        yield stage
        if not out_dir.exists():
            os.rename(stage, out_dir)
        else:
            for item in sorted(stage.iterdir()):
                os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _open(path: Path) -> TextIO:
    return path.open("x", newline="", encoding="utf-8")


def _opt(value: object) -> str:
    return "" if value is None else str(value)


def store_export(store: Store, out_dir: Path) -> dict[Stream, int]:
    """Write the store's records, gaps and devices to ``out_dir``; return rows per stream.

    Rows are ordered by device and sequence. All files appear together or not at all
    (:func:`staged_directory`). Raises :class:`StoreDamagedError` when SQLite's
    ``quick_check`` finds corrupt pages, a read fails on one, or a stored payload does
    not decode (it passed the strict decoder on the way in, so the file was damaged).
    """
    problems = store.quick_check()
    if problems:
        raise StoreDamagedError(
            f"{store.path} is damaged ({'; '.join(problems[:3])}): nothing exported; restore "
            "it from a backup, or salvage what is readable with `sqlite3 FILE .recover`"
        )
    with staged_directory(Path(out_dir)) as stage:
        try:
            return _write_files(store, stage)
        except sqlite3.DatabaseError as exc:
            raise store_read_error(store, exc) from exc


def _write_files(store: Store, out_dir: Path) -> dict[Stream, int]:
    counts: dict[Stream, int] = {}
    for stream in Stream:
        n = 0
        with _open(out_dir / record_csv.file_name(stream)) as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(record_csv.header(stream, gateway=True))
            for record in store.records.iter_records(stream=stream):
                try:
                    values = record_csv.record_values(stream, record.payload)
                except PayloadError as exc:
                    raise StoreDamagedError(
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
    with _open(out_dir / GAPS_FILE) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(GAP_COLUMNS)
        for gap in store.records.gaps():
            writer.writerow([gap.device, gap.stream.value, gap.start_seq, gap.end_seq, gap.reason])
    with _open(out_dir / DEVICES_FILE) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(DEVICE_COLUMNS)
        for d in store.devices.list():
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
