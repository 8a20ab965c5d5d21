"""``wearable gateway alerts reopen`` and ``wearable gateway alerts history``.

A confirmed or dismissed alert keeps its verdict (a training label) until a clinician
reopens it with a note; ``history`` shows every review action ever recorded on an alert
(``gateway.store.review``).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any


def register(cmds: Any) -> None:
    """Add ``reopen`` and ``history`` to ``wearable gateway alerts``."""
    reopen = cmds.add_parser(
        "reopen",
        help="withdraw a confirm/dismiss verdict so the alert can be reviewed again",
        description=(
            "Withdraw the verdict of a confirmed or dismissed alert; it goes back to open. "
            "A verdict is a training label, so it is never changed directly: reopen it "
            "(saying why), then confirm or dismiss it again. Every step is kept "
            "(see `alerts history`)."
        ),
    )
    reopen.add_argument("id", type=int, metavar="ID", help="alert id (see `alerts list`)")
    reopen.add_argument("--note", required=True, help="why the verdict is withdrawn (kept)")
    reopen.add_argument("--store", type=Path, default=None, help="store file")
    reopen.set_defaults(handler=_reopen)

    history = cmds.add_parser(
        "history",
        help="every review action on one alert: time, from, to, note",
        description="Every review action recorded on one alert, oldest first.",
    )
    history.add_argument("id", type=int, metavar="ID", help="alert id (see `alerts list`)")
    history.add_argument("--store", type=Path, default=None, help="store file")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    history.set_defaults(handler=_history)


def _reopen(args: argparse.Namespace) -> int:
    from gateway.store import Store, StoreError
    from wearable.cli.gateway import _existing_store

    with Store(_existing_store(args, "reopen")) as store:
        try:
            before = store.alerts.get(args.id)
            row = store.alerts.review(args.id, "reopen", args.note)
        except StoreError as error:
            raise SystemExit(f"wearable gateway alerts reopen: {error}") from error
    print(f"alert {row.id}: {row.status} (verdict {before.status} withdrawn)")
    return 0


def _history(args: argparse.Namespace) -> int:
    from gateway.store import Store, StoreError
    from wearable.cli.gateway import _existing_store, local_time

    with Store(_existing_store(args, "history")) as store:
        try:
            alert = store.alerts.get(args.id)
            steps = store.alerts.history(args.id)
        except StoreError as error:
            raise SystemExit(f"wearable gateway alerts history: {error}") from error
    if args.json:
        print(json.dumps({"alert": asdict(alert), "history": [asdict(s) for s in steps]}, indent=2))
        return 0
    print(f"alert {alert.id} {alert.device} {alert.type}: now {alert.status}")
    if not steps:
        print("  no review yet")
    for step in steps:
        before = "(unknown)" if step.from_status is None else step.from_status
        note = f" - {step.note}" if step.note else ""
        print(f"  {local_time(step.at_ms)} {step.action}: {before} -> {step.to_status}{note}")
    return 0
