"""The ``wearable`` command: one program, a subcommand per role.

``wearable sim ...`` runs simulated watches and the virtual radio; ``wearable demo``
runs the end-to-end demo. The gateway, training and evaluation commands join as those
parts land.

Exit status 2 with one line on stderr is a user error (see ``wearable.cli.errors``): a
bad argument, a path that cannot be written, a radio hub that is not running, a port in
use, a full disk. A traceback means a bug.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from wearable.cli.errors import EXIT_USAGE, command_name, user_error_message


def build_parser() -> argparse.ArgumentParser:
    from wearable import demo
    from wearable.cli import eval as eval_cli
    from wearable.cli import experiment as experiment_cli
    from wearable.cli import export as export_cli
    from wearable.cli import gateway as gateway_cli
    from wearable.cli import keys as keys_cli
    from wearable.cli import sim as sim_cli
    from wearable.cli import train as train_cli

    parser = argparse.ArgumentParser(
        prog="wearable",
        description=(
            "Remote health monitoring with wearables: simulated BLE smartwatches, a phone "
            "gateway with on-device anomaly detection, privacy-preserving sync and retraining."
        ),
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sim_cli.register(commands)
    gateway_cli.register(commands)
    demo.register(commands)
    eval_cli.register(commands)
    keys_cli.register(commands)
    train_cli.register(commands)
    export_cli.register(commands)
    experiment_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wearable`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if args.verbose < 2:
        # bumble logs every PDU at DEBUG; keep it out unless asked for twice.
        logging.getLogger("bumble").setLevel(max(level, logging.INFO))
    try:
        result: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except SystemExit as stop:
        # `raise SystemExit("message")` would print the message and exit 1, which is the
        # status of a failure, not of a refused input: every such message is a user error.
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
            raise SystemExit(EXIT_USAGE) from None
        raise
    except Exception as error:
        message = user_error_message(error)
        if message is None:
            raise  # a bug: keep the traceback
        print(f"{command_name(args)}: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    return result
