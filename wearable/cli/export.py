"""``wearable export fhir|csv``: one patient's vitals and alerts for a clinical system.

``fhir`` writes a FHIR R4 ``collection`` Bundle of Observations (JSON, sorted keys);
``csv`` writes ``vitals.csv`` and ``alerts.csv`` into a directory. Both read a gateway
store and never write to it. Format and codes: ``docs/formats/fhir_export.md``.

The store is opened read-only (SQLite ``mode=ro``): a missing file, a file that is not
a gateway store and a store copied without its ``-wal`` are refused, and nothing is
ever created or written next to it. Output appears complete or not at all: the Bundle
is written to a temporary file, the CSV files to a temporary directory beside ``--out``,
and moved into place at the end.

Exit status: 0 written; 2 bad input (the message names the flag and the fix); 1 the
output could not be written, or the store is damaged (nothing written).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# pandas, fhirclient and the analysis library are imported by the handlers only: every
# ``wearable`` command builds this parser, and the gateway must not pay for them.

VITALS_FILE = "vitals.csv"
ALERTS_FILE = "alerts.csv"


class _BadInput(Exception):
    """Input the user can fix; the message starts with the flag to change."""


class _Damaged(Exception):
    """The store could not be read (corrupt pages); the message says what to do."""


def register(commands: Any) -> None:
    """Add ``export`` and its subcommands to the top-level parser."""
    export = commands.add_parser(
        "export",
        help="one patient's vitals and alerts as FHIR R4 or CSV",
        description=(
            "Export one device's per-minute vitals and its alerts from a gateway store "
            "(read only), as FHIR R4 Observations or tidy CSV (docs/formats/fhir_export.md)."
        ),
    )
    formats = export.add_subparsers(dest="export_format", metavar="FORMAT", required=True)

    fhir = formats.add_parser(
        "fhir",
        help="a FHIR R4 collection Bundle of Observations (JSON)",
        description=(
            "Heart rate, SpO2 and temperature per minute (vital-signs Observations) and one "
            "Observation per alert, validated against FHIR R4 4.0.1, in one Bundle."
        ),
    )
    _common(fhir)
    fhir.add_argument(
        "--patient",
        required=True,
        metavar="REF",
        help="FHIR reference of the patient, e.g. Patient/123 (Observation.subject)",
    )
    fhir.add_argument("--out", type=Path, required=True, metavar="FILE", help="Bundle JSON file")
    fhir.add_argument(
        "--temperature",
        choices=("skin", "body"),
        default="skin",
        help=(
            "what the device's thermometer measures: skin (wrist skin, our watch; LOINC "
            "61008-9) or body (core temperature; LOINC 8310-5). Default: skin"
        ),
    )
    fhir.set_defaults(handler=_fhir)

    csv = formats.add_parser(
        "csv",
        help="vitals.csv (every per-minute feature) and alerts.csv",
        description="Tidy CSV: ISO UTC times, units in the column names, empty = missing.",
    )
    _common(csv)
    csv.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="directory for the two files"
    )
    csv.set_defaults(handler=_csv)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", type=Path, required=True, metavar="PATH", help="store file")
    parser.add_argument(
        "--device", required=True, metavar="ADDR", help="watch address, e.g. C4:12:34:56:78:9A"
    )
    parser.add_argument(
        "--start", metavar="ISO", help="first minute, ISO 8601 (no zone = UTC); default: all"
    )
    parser.add_argument("--end", metavar="ISO", help="end (exclusive), ISO 8601; default: all")


def _time_ms(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _BadInput(
            f"{flag} {value!r} is not an ISO 8601 time: use e.g. 2026-03-01T08:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def _read(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The device's windows and alerts within --start/--end (alerts overlapping them)."""
    import pandas as pd

    from gateway.store import Store, StoreDamagedError, StoreError
    from wearable.analysis.patient import UnknownDevice, patient_alerts, patient_windows

    start_ms, end_ms = _time_ms(args.start, "--start"), _time_ms(args.end, "--end")
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        raise _BadInput(f"--end {args.end} is not after --start {args.start}: swap or widen them")
    path: Path = args.store
    try:
        with Store(path, read_only=True) as store:
            try:
                windows = patient_windows(store, args.device, start_ms, end_ms)
            except UnknownDevice as exc:
                raise _BadInput(f"--device: {exc.args[0]}; pass one of those") from None
            alerts = patient_alerts(store, args.device)
    except StoreDamagedError as exc:
        raise _Damaged(f"--store {path}: {exc}") from None
    except StoreError as exc:
        raise _BadInput(f"--store {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise _Damaged(
            f"--store {path} is damaged ({exc}): nothing written; restore it from a backup, "
            "or salvage what is readable with `sqlite3 FILE .recover`"
        ) from None
    if end_ms is not None:
        windows = windows[windows["start"] < pd.Timestamp(end_ms, unit="ms", tz="UTC")]
    if start_ms is not None:
        closed = alerts["closed_ms"].astype("Float64").fillna(float("inf"))
        alerts = alerts[closed > start_ms]
    if end_ms is not None:
        alerts = alerts[alerts["opened_ms"] < end_ms]
    return windows.reset_index(drop=True), alerts.reset_index(drop=True)


def _fhir(args: argparse.Namespace) -> int:
    """``wearable export fhir``: write the Bundle; exit 0, 2 on bad input, 1 on I/O."""
    from wearable.analysis.fhir import fhir_bundle, fhir_json, patient_reference_check

    try:
        try:
            patient_reference_check(args.patient)
        except ValueError as exc:
            raise _BadInput(f"--{exc}") from None
        windows, alerts = _read(args)
    except _BadInput as exc:
        print(f"wearable export fhir: {exc}", file=sys.stderr)
        return 2
    except _Damaged as exc:
        print(f"wearable export fhir: {exc}", file=sys.stderr)
        return 1
    bundle = fhir_bundle(
        windows, alerts, patient=args.patient, device=args.device, temperature_site=args.temperature
    )
    out: Path = args.out
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(fhir_json(bundle), encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        print(f"wearable export fhir: --out {args.out}: {exc}", file=sys.stderr)
        return 1
    vitals = len(bundle["entry"]) - len(alerts)
    print(f"wrote {args.out}: {vitals} vital-sign and {len(alerts)} alert Observations")
    return 0


def _csv(args: argparse.Namespace) -> int:
    """``wearable export csv``: write vitals.csv and alerts.csv; exit 0, 2 or 1."""
    from gateway.store.export import staged_directory
    from wearable.analysis.csv_export import alerts_csv, vitals_csv

    try:
        windows, alerts = _read(args)
    except _BadInput as exc:
        print(f"wearable export csv: {exc}", file=sys.stderr)
        return 2
    except _Damaged as exc:
        print(f"wearable export csv: {exc}", file=sys.stderr)
        return 1
    out: Path = args.out
    try:
        with staged_directory(out) as stage:
            rows = vitals_csv(windows, stage / VITALS_FILE)
            count = alerts_csv(alerts, stage / ALERTS_FILE)
    except OSError as exc:
        print(f"wearable export csv: --out {out}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out / VITALS_FILE} ({rows} minutes) and {out / ALERTS_FILE} ({count} alerts)")
    return 0
