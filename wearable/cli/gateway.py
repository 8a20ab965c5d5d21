"""``wearable gateway``: run the service, show its status, export what it stored.

``status``, ``export`` and ``alerts list`` only read: they open the store with SQLite's
``mode=ro`` (``Store(path, read_only=True)``), never create or change it, and exit 2
with one line naming the fix for a missing file, a file that is not a gateway store,
or a store copied from a running gateway without its ``-wal``. A store with corrupt
pages makes ``status`` and ``export`` exit 1 (``export`` then writes nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.config import DEFAULT_STORE_PATH, ConfigError, config_load, with_overrides
from wearable.cli import gateway_review as review_cli
from wearable.cli import gateway_sync as sync_cli
from wearable.cli.errors import output_dir, user_error_message, writable_file

if TYPE_CHECKING:
    from collections.abc import Callable

    from gateway.store import Store

_logger = logging.getLogger("gateway.service")

#: Exit status: the store is damaged (corrupt pages).
EXIT_DAMAGED = 1
#: Exit status: bad input (no store, not a store, WAL missing, bad arguments).
EXIT_USAGE = 2


def register(commands: Any) -> None:
    """Add ``gateway`` and its subcommands to the top-level parser."""
    gateway = commands.add_parser(
        "gateway",
        help="the phone gateway: BLE ingest service, status, export",
        description="The gateway background service and its tools.",
    )
    sub = gateway.add_subparsers(dest="gateway_command", metavar="SUBCOMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="run the gateway service until SIGTERM/SIGINT",
        description=(
            "Scan for watches and straps (Heart Rate service), keep each connected, backfill "
            "after drops, and store every record. Defaults serve a simulated setup: "
            "`wearable sim radio` on 127.0.0.1:7000 and a store under ./gateway-store/."
        ),
    )
    run.add_argument("--config", type=Path, help="gateway TOML (see examples/config/gateway.toml)")
    run.add_argument("--store", type=writable_file, help="store file (overrides store.path)")
    run.add_argument(
        "--radio",
        metavar="HOST:PORT",
        help="attach to `wearable sim radio` (overrides ble.radio; '' = system adapter)",
    )
    run.add_argument(
        "--bucket",
        metavar="URL",
        help="sync to gs://bucket/prefix, file:///dir or a directory (overrides sync.bucket)",
    )
    run.set_defaults(handler=_run)

    status = sub.add_parser(
        "status",
        help="devices, connection state, backlog, rejected and gap counts, storage use",
        description="Read the store (and the running service's status file) and report.",
    )
    status.add_argument("--store", type=Path, default=None, help="store file")
    status.add_argument("--config", type=Path, help="gateway TOML (for the store path)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)

    export = sub.add_parser(
        "export",
        help="write the stored records as per-stream CSV (the simulator's --truth format)",
        description=(
            "Per-stream CSV with device, stream, sequence, watch timestamp, gateway "
            "timestamp and values (docs/formats/records.md), plus gaps.csv and devices.csv."
        ),
    )
    export.add_argument("--store", type=Path, required=True, help="store file")
    export.add_argument("--out", type=output_dir, required=True, help="output directory")
    export.set_defaults(handler=_export)

    _register_alerts(sub)
    sync_cli.register(sub)


def _register_alerts(sub: Any) -> None:
    alerts = sub.add_parser(
        "alerts",
        help="list alerts and record a clinician's review (ack, confirm, dismiss, reopen)",
        description=(
            "Medical alerts the gateway raised (docs/alerts.md). confirm and dismiss are "
            "the clinician's verdicts: they become labels for retraining the model later. "
            "A verdict stands until `reopen` withdraws it; ack keeps it; `history` shows "
            "every change."
        ),
    )
    cmds = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    listing = cmds.add_parser("list", help="list alerts", description="List alerts, oldest first.")
    listing.add_argument("--store", type=Path, default=None, help="store file")
    listing.add_argument("--device", help="only this device (BLE address)")
    listing.add_argument(
        "--status", choices=("open", "acknowledged", "confirmed", "dismissed"), help="only this"
    )
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=_alerts_list)
    verbs = {
        "ack": ("acknowledged", "acknowledge: a clinician has seen the alert"),
        "confirm": (
            "confirmed",
            "confirm: the alert was a real event (a positive label for retraining later)",
        ),
        "dismiss": (
            "dismissed",
            "dismiss: a false alarm (a negative label for retraining later)",
        ),
    }
    for verb, (status, text) in verbs.items():
        action = cmds.add_parser(verb, help=text, description=text.capitalize() + ".")
        action.add_argument("id", type=int, metavar="ID", help="alert id (see `alerts list`)")
        action.add_argument("--note", help="free-text note stored with the alert")
        action.add_argument("--store", type=Path, default=None, help="store file")
        action.set_defaults(handler=_alerts_set, alert_status=status)
    review_cli.register(cmds)


def _config(args: argparse.Namespace) -> Any:
    try:
        config = config_load(args.config)
        return with_overrides(
            config,
            store=args.store,
            radio=getattr(args, "radio", None),
            bucket=getattr(args, "bucket", None),
        )
    except (OSError, ConfigError) as error:
        raise SystemExit(f"wearable gateway: {error}") from error


def _run(args: argparse.Namespace) -> int:
    """``gateway run``: exit 0 after SIGTERM/SIGINT; 2 on a user error, 1 on a bug.

    With ``log.redact`` (the default) every log line names devices by their pseudonyms
    (``gateway.logs.AddressRedactor``), the fatal one included.

    A fatal error is logged as the service's own log line (one JSON object with
    ``log.format = "json"``), so a log shipper sees it like every other line: a user
    error (another gateway holds the store, the radio hub is not running, a full disk)
    as ``wearable gateway run: <the fix>`` with ``exit_code`` 2, a bug with its
    traceback in the line's ``exc`` field and exit 1.
    """
    from gateway.logs import AddressRedactor, configure_logging
    from gateway.service import service_run

    config = _config(args)
    redactor = AddressRedactor() if config.log.redact else None
    configure_logging(config.log.level, config.log.format, config.log.file, redactor=redactor)
    # With logs on stderr the log line is the one line; with a log file, stderr (what an
    # operator at a terminal sees) gets the plain message or the traceback as well.
    logs_on_stderr = config.log.file is None
    try:
        if redactor is not None:
            # The pseudonyms sync uploads: one key, so logs and uploads name a device alike.
            redactor.load_key(config.key_file)
        return asyncio.run(service_run(config))
    except Exception as error:
        message = user_error_message(error)
        if message is None:
            if logs_on_stderr and config.log.format == "text":
                raise  # the plain traceback is the text log's form
            _logger.critical("gateway stopped by an unexpected error", exc_info=True)
            if logs_on_stderr:
                return 1
            raise
        text = f"wearable gateway run: {message}"
        _logger.critical(text, extra={"exit_code": EXIT_USAGE})
        if not logs_on_stderr:
            print(text, file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _store_path(args: argparse.Namespace) -> Path:
    if args.store is not None:
        return Path(args.store)
    if getattr(args, "config", None) is not None:
        return Path(_config(args).store.path)
    return Path(DEFAULT_STORE_PATH)


def _fail(command: str, message: str, code: int = EXIT_USAGE) -> SystemExit:
    """Print ``message`` as one line on stderr and return the SystemExit to raise."""
    print(f"wearable gateway {command}: {message}", file=sys.stderr)
    return SystemExit(code)


def _open_read_only(path: Path, command: str) -> Store:
    """The store at ``path`` opened read-only, or exit (2, or 1 when it is damaged)."""
    from gateway.store import Store, StoreDamagedError, StoreError

    try:
        return Store.open_read_only(path)
    except StoreDamagedError as error:
        raise _fail(command, str(error), EXIT_DAMAGED) from error
    except StoreError as error:
        raise _fail(command, str(error)) from error


def _damaged(path: Path, problems: list[str]) -> str:
    return (
        f"store {path} is damaged (PRAGMA quick_check: {'; '.join(problems[:3])}): restore "
        "it from a backup, or salvage what is readable with `sqlite3 FILE .recover`"
    )


def _status(args: argparse.Namespace) -> int:
    from gateway.service import STATUS_FILE

    path = _store_path(args)
    pseudonym = _log_pseudonyms(args)
    with _open_read_only(path, "status") as store:
        problems = store.quick_check()
        if problems:
            if args.json:
                print(json.dumps({"store": str(path), "integrity": problems}, indent=2))
            raise _fail("status", _damaged(path, problems), EXIT_DAMAGED)
        try:
            return _status_report(args, path, store, STATUS_FILE, pseudonym)
        except sqlite3.DatabaseError as error:
            raise _fail("status", _damaged(path, [str(error)]), EXIT_DAMAGED) from error


def _log_pseudonyms(args: argparse.Namespace) -> Callable[[str], str | None]:
    """A device's pseudonym, as redacted log lines name it (``None``: no key yet).

    Reads the key without creating it: ``status`` changes nothing.
    """
    from gateway.privacy.pseudonym import PseudonymKey, PseudonymKeyError

    key_file = _config(args).key_file
    try:
        key = PseudonymKey.load(key_file)
    except (FileNotFoundError, PseudonymKeyError):
        return lambda address: None
    return key.device


def _status_report(
    args: argparse.Namespace,
    path: Path,
    store: Store,
    status_name: str,
    pseudonym: Callable[[str], str | None],
) -> int:
    """Print the status of a sound store (``--json``: as JSON); return 0."""
    live: dict[str, Any] = {}
    status_file = path.parent / status_name
    if status_file.exists():
        live = json.loads(status_file.read_text(encoding="utf-8"))
    links = {link["address"]: link for link in live.get("links", [])}
    devices = [asdict(d) for d in store.devices.list()]
    usage = asdict(store.retention.usage())
    open_alerts = store.alerts.list(status="open")
    for device in devices:
        # What redacted log lines (log.redact) call the device.
        device["pseudonym"] = pseudonym(device["id"])
        saved = store.detection_state.get(device["id"])
        device["assessed_until_ms"] = None if saved is None else saved[0]
        device["open_alerts"] = sum(1 for a in open_alerts if a.device == device["id"])
    sync = sync_cli.status_summary(store, live.get("sync"))
    for device in devices:
        link = links.get(device["id"])
        if link is not None:
            device["link"] = {k: link[k] for k in ("state", "connects", "backfills", "last_error")}
    detection = live.get("detection") or {}
    report = {
        "store": str(path),
        # PRAGMA quick_check found nothing (a damaged store exits 1 before this).
        "integrity": "ok",
        "usage": usage,
        "devices": devices,
        # From the running service's status file (None when it is not running).
        "model_version": detection.get("model"),
        "detection": detection,
        "sync": sync,
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    print(
        f"store {path}: {usage.get('file_bytes', 0) / 1e6:.1f} MB, integrity ok; "
        f"model {report['model_version'] or 'unknown (service not running)'}"
    )
    for device in devices:
        print(
            f"  {device['id']} {device.get('name') or ''}: {device.get('connection_state')}, "
            f"last seen {device.get('last_seen_ms')}, battery {device.get('battery_pct')} %, "
            f"backlog {device.get('backlog')}, rejected {device.get('rejected')}, "
            f"gaps {device.get('gaps')}, open alerts {device['open_alerts']}"
            + (f"; in logs {device['pseudonym']}" if device["pseudonym"] else "")
        )
    backlog = ", ".join(f"{n} {k}" for k, n in sorted(sync["backlog_items"].items())) or "empty"
    print(
        f"sync: last success {sync['last_success_ms'] or 'never'}, last attempt "
        f"{sync['last_attempt_ms'] or 'never'}, network {sync['network'] or 'unknown'}; "
        f"outbox {backlog} ({sync['backlog_bytes']} B), {sync['pending_windows']} windows "
        f"not yet batched, {sync['quarantined']} quarantined; uploaded "
        f"{sync['uploaded_objects']} objects ({sync['uploaded_bytes']} B)"
    )
    if sync["last_error"]:
        print(f"  last error at {sync['last_error_ms']}: {sync['last_error']}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from gateway.store import StoreDamagedError, StoreError
    from gateway.store.export import store_export

    with _open_read_only(Path(args.store), "export") as store:
        try:
            counts = store_export(store, args.out)
        except StoreDamagedError as error:
            raise _fail("export", str(error), EXIT_DAMAGED) from error
        except StoreError as error:
            raise _fail("export", str(error)) from error
        except OSError as error:
            raise _fail("export", f"--out {args.out}: {error}", 1) from error
    print(json.dumps({stream.value: n for stream, n in counts.items()}))
    return 0


def existing_store(path: Path, command: str) -> Path:
    """``path`` when it holds a store a writing command may open, or exit 2 with one line.

    Refuses a missing path, an empty file and a file that is not SQLite, which opening
    it for writing would silently turn into a new, empty store. ``command`` names the
    subcommand in the message (``"sync"``, ``"alerts confirm"``).
    """
    from gateway.store import StoreError, store_file_check

    try:
        store_file_check(path, check_wal=False)
    except StoreError as error:
        raise _fail(command, str(error)) from error
    return path


def _existing_store(args: argparse.Namespace, command: str) -> Path:
    """The store path of an ``alerts`` action that writes to an existing store, or exit 2."""
    return existing_store(_store_path(args), f"alerts {command}")


def _rate(kind: str, rate_bpm: float | None) -> str:
    """`` at 142 bpm`` after the type; AF above 100 bpm says it is rapid."""
    from wearable_core.contracts.clinical import AF_RAPID_BPM

    if rate_bpm is None:
        return ""
    rapid = ", rapid ventricular response" if kind == "af" and rate_bpm > AF_RAPID_BPM else ""
    return f" at {rate_bpm:.0f} bpm{rapid}"


def local_time(ms: int) -> str:
    """Epoch milliseconds as the machine's local time, ISO 8601 with its UTC offset.

    To the second, as a clinician reads a clock; the offset keeps it unambiguous across
    daylight-saving changes and in a copied terminal. (``--json`` keeps milliseconds.)

    Examples
    --------
    >>> len(local_time(1_796_771_645_000))  # e.g. '2026-12-06 23:14:05+01:00'
    25
    """
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone().isoformat(" ", "seconds")


def _alerts_list(args: argparse.Namespace) -> int:
    path = _store_path(args)
    with _open_read_only(path, "alerts list") as store:
        try:
            rows = store.alerts.list(device=args.device, status=args.status)
        except sqlite3.DatabaseError as error:
            raise _fail("alerts list", _damaged(path, [str(error)]), EXIT_DAMAGED) from error
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
        return 0
    if not rows:
        print("no alerts")
    for row in rows:
        closed = "ongoing" if row.closed_ms is None else f"closed {local_time(row.closed_ms)}"
        rule = f", rule {row.rule}" if row.rule else ""
        note = f" - {row.note}" if row.note else ""
        print(
            f"{row.id:>5} {row.device} {row.type}{_rate(row.type, row.rate_bpm)} "
            f"({row.severity}) opened {local_time(row.opened_ms)}, "
            f"{closed}, peak {row.peak_score}{rule}: {row.status}{note}"
        )
    return 0


def _alerts_set(args: argparse.Namespace) -> int:
    from gateway.store import Store, StoreError

    with Store(_existing_store(args, args.alerts_command)) as store:
        try:
            row = store.alerts.set_status(args.id, args.alert_status, args.note)
        except StoreError as error:
            raise SystemExit(f"wearable gateway alerts {args.alerts_command}: {error}") from error
    kept = "" if row.status == args.alert_status else f" (verdict kept; {args.alert_status})"
    print(f"alert {row.id}: {row.status}{kept}")
    return 0
