"""Write every record a watch produced to per-stream CSV files (the truth directory)."""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from firmware_sim.firmware.watch_firmware import ProducedRecord
from wearable_core.contracts.record_csv import file_name, header, record_values
from wearable_core.contracts.streams import Stream


class TruthWriter:
    """Appends records to ``DIR/hr.csv``, ``DIR/spo2.csv``, ``DIR/temp.csv``, ``DIR/accel.csv``.

    Rows are written in the order records are produced; the format is documented in
    docs/formats/records.md and shared with ``wearable gateway export``.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[Stream, IO[str]] = {}
        self._writers: dict[Stream, Any] = {}
        self.rows = 0
        for stream in Stream:
            handle = (self.directory / file_name(stream)).open("w", newline="", encoding="utf-8")
            self._files[stream] = handle
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header(stream))
            self._writers[stream] = writer

    def write(self, device: str, item: ProducedRecord) -> None:
        record = item.record
        values = record_values(item.stream, record.payload)
        self._writers[item.stream].writerow(
            [device, item.stream.value, record.seq, record.watch_time_ms, *values]
        )
        self.rows += 1

    def flush(self) -> None:
        for handle in self._files.values():
            handle.flush()

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()

    def __enter__(self) -> TruthWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
