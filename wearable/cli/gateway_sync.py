"""``wearable gateway sync`` and ``wearable gateway rotate-key``.

Exit codes of ``sync`` (for cron, systemd timers and monitors) come from the cycle's
outcome (``gateway.sync.outcome.SyncOutcome``), never from its log: see
:data:`SYNC_EXIT_CODES`. 0 means everything that should have happened did.
Neither ``sync`` nor ``rotate-key`` creates a store: a missing path, an empty file or a
file that is not SQLite exits 2 with one line naming the fix (the check the other
writing commands use, ``wearable.cli.gateway.existing_store``). ``rotate-key`` exits 0
(rotated) or 2 (no store at the path, or the key's directory is missing): it never
creates a directory or a key for a store that does not exist.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from gateway.config import ConfigError, GatewayConfig, config_load, with_overrides

#: ``wearable gateway sync`` exit codes: (code, ``SyncOutcome`` value, meaning). The
#: outcome is the cycle's most serious problem; ``--json`` prints it as ``outcome``.
#: Kept here as plain data so ``--help`` needs no import of the sync engine.
SYNC_EXIT_CODES: tuple[tuple[int, str, str], ...] = (
    (
        0,
        "ok",
        "everything due was done (or nothing was due, or the network setting allowed nothing)",
    ),
    (2, "", "bad arguments or config, or no store at --store: fix the command (nothing tried)"),
    (3, "backing_off", "skipped: an earlier failure's retry time has not come; run again later"),
    (4, "bucket_unreachable", "the bucket did not answer (upload or model check); outbox kept"),
    (4, "bucket_unusable", "the bucket refused the credentials or settings; outbox kept"),
    (5, "release_refused", "a model release failed verification (tampered?); old model serves"),
    (6, "batch_refused", "the bucket refused a batch for good; it is quarantined in the outbox"),
    (7, "model_not_installed", "a verified model could not be written to the models directory"),
)
_EXIT_CODE = {name: code for code, name, _ in SYNC_EXIT_CODES if name}


def _exit_codes_help() -> str:
    rows = "\n".join(f"  {code}  {name or '-':<20} {text}" for code, name, text in SYNC_EXIT_CODES)
    return (
        'exit codes (the cycle\'s most serious outcome; --json prints it as "outcome"):\n'
        + rows
        + "\nAn uncaught error exits 1 with a traceback: report it as a bug."
    )


def register(sub: Any) -> None:
    """Add the sync subcommands to ``wearable gateway``."""
    sync = sub.add_parser(
        "sync",
        help="run one sync cycle: aggregates to the bucket, new models from it",
        description=(
            "Batch the assessed windows and alert outcomes into anonymized aggregates, "
            "upload what the network allows (create-only, content-named objects) and poll "
            "for a signed model. For cron and tests; the service does this every "
            "sync.interval_s. The exit code says how the cycle ended (below); the outbox "
            "keeps everything not yet uploaded."
        ),
        epilog=_exit_codes_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sync.add_argument("--store", type=Path, help="store file (overrides store.path)")
    sync.add_argument("--bucket", help="gs://bucket/prefix, file:///dir or a directory")
    sync.add_argument("--config", type=Path, help="gateway TOML")
    sync.add_argument(
        "--network",
        choices=("offline", "metered", "unmetered"),
        help="network state to assume (overrides sync.network)",
    )
    sync.add_argument(
        "--flush",
        action="store_true",
        help="batch every pending window now instead of waiting sync.batch_interval_s",
    )
    sync.add_argument(
        "--json",
        action="store_true",
        help="print the cycle report as JSON, with its outcome and exit_code",
    )
    sync.set_defaults(handler=_sync)

    rotate = sub.add_parser(
        "rotate-key",
        help="replace the pseudonym key: later uploads use new, unlinkable pseudonyms",
        description=(
            "Overwrite the per-install pseudonym secret with a fresh one (docs/privacy.md). "
            "Uploads made before keep their old pseudonyms; nothing links the two."
        ),
    )
    rotate.add_argument("--store", type=Path, help="store file (overrides store.path)")
    rotate.add_argument("--config", type=Path, help="gateway TOML")
    rotate.set_defaults(handler=_rotate)


def _usage_error(message: str) -> SystemExit:
    """Exit 2 with ``message`` on stderr: a scheduler must tell bad input from an outage."""
    print(message, file=sys.stderr)
    return SystemExit(2)


def _load(args: argparse.Namespace, command: str) -> GatewayConfig:
    try:
        config = with_overrides(
            config_load(args.config), store=args.store, bucket=getattr(args, "bucket", None)
        )
        if getattr(args, "network", None):
            config = dataclasses.replace(
                config, sync=dataclasses.replace(config.sync, network=args.network)
            )
    except (OSError, ConfigError) as error:
        raise _usage_error(f"wearable gateway {command}: {error}") from error
    return config


def _sync(args: argparse.Namespace) -> int:
    from gateway.store import Store
    from gateway.sync.setup import sync_engine_build
    from wearable.cli.gateway import existing_store
    from wearable_core.buckets.base import BucketConfigError

    config = _load(args, "sync")
    if not config.sync.bucket:
        raise _usage_error(
            "wearable gateway sync: no bucket: pass --bucket URL or set sync.bucket in the config"
        )
    # Opening a missing or empty file for writing would create a new, empty store and
    # "sync" it: refuse what is not a store, as the other writing commands do.
    path = existing_store(Path(config.store.path), "sync")
    with Store(path, budget_bytes=config.store.budget_bytes) as store:
        try:
            engine = sync_engine_build(config, store, serving_version=_installed_version(config))
        except BucketConfigError as error:
            raise _usage_error(f"wearable gateway sync: {error}") from error
        assert engine is not None  # a bucket is configured
        report = engine.run_once(flush=args.flush)
    outcome = report.outcome.value
    code = _EXIT_CODE[outcome]
    if args.json:
        print(json.dumps({**report.as_dict(), "exit_code": code}, indent=2))
    else:
        built = ", ".join(f"{n} {kind}" for kind, n in sorted(report.built.items())) or "nothing"
        print(
            f"sync ({report.network}): built {built}; uploaded {report.uploaded} objects "
            f"({report.uploaded_bytes} B, {report.already_present} already there); "
            f"backlog {report.backlog_items} ({report.backlog_bytes} B)"
        )
        if report.model is not None:
            print(f"model: {json.dumps(report.as_dict()['model'])}")
        if report.error:
            print(f"error: {report.error}")
        if code:
            problems = ", ".join(sorted(p.value for p in report.problems))
            print(f"outcome: {outcome} (exit {code}; problems: {problems})")
    return code


def _installed_version(config: GatewayConfig) -> Any:
    """What the gateway would serve: the installed delivered model, else the configured."""
    from gateway.model_update.installed import ModelDirectory
    from gateway.service import serving_model_load

    def version() -> str:
        current = ModelDirectory(config.models_dir).current()
        if current is not None:
            return current.version
        model = serving_model_load(config.detection)
        return "" if model is None else model.manifest.version

    return version


def _rotate(args: argparse.Namespace) -> int:
    from gateway.privacy.pseudonym import PseudonymKeyError, key_rotate
    from wearable.cli.gateway import existing_store

    config = _load(args, "rotate-key")
    # A mistyped --store (or an empty file) must not grow a directory and a key nobody
    # uses: the key belongs to an existing store.
    existing_store(Path(config.store.path), "rotate-key")
    try:
        key = key_rotate(config.key_file)
    except PseudonymKeyError as error:
        raise _usage_error(f"wearable gateway rotate-key: {error}") from error
    print(f"new pseudonym key {key.fingerprint()} at {config.key_file}")
    return 0


def status_summary(store: Any, live: dict[str, Any] | None) -> dict[str, Any]:
    """The sync part of ``wearable gateway status``: persisted status plus the backlog."""
    usage = store.outbox.usage()
    persisted = store.sync.status()
    return {
        "last_success_ms": persisted.get("last_success_ms"),
        "last_attempt_ms": persisted.get("last_attempt_ms"),
        "last_error": persisted.get("last_error"),
        "last_error_ms": persisted.get("last_error_ms"),
        "network": persisted.get("network"),
        "uploaded_objects": persisted.get("uploaded_objects", 0),
        "uploaded_bytes": persisted.get("uploaded_bytes", 0),
        "backlog_items": dict(usage.items),
        "backlog_bytes": usage.total_bytes,
        "backlog_oldest_ms": usage.oldest_created_ms,
        "quarantined": usage.failed,
        "pending_windows": store.outbox.pending_window_count(),
        "model_check": persisted.get("model_check"),
        "live": live,
    }
