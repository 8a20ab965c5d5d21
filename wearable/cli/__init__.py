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
import importlib
import logging
import sys
from collections.abc import Sequence

from wearable.cli.errors import EXIT_USAGE, command_name, user_error_message

#: Each command's module, in the order ``--help`` lists them. Only the module of the
#: command being run is imported: ``wearable gateway run`` lives for weeks on a small
#: device and must not carry the demo's, the trainer's or the simulator's imports.
COMMANDS = {
    "sim": "wearable.cli.sim",
    "gateway": "wearable.cli.gateway",
    "demo": "wearable.demo",
    "eval": "wearable.cli.eval",
    "keys": "wearable.cli.keys",
    "train": "wearable.cli.train",
    "export": "wearable.cli.export",
    "experiment": "wearable.cli.experiment",
}


def parser_build(command: str | None = None) -> argparse.ArgumentParser:
    """The ``wearable`` parser: every command, or only ``command`` when it is one of them.

    With ``command``, the other commands are absent from the parser (and unimported);
    an argument list that does not start with ``command`` needs the full parser.
    """
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
    for name in [command] if command in COMMANDS else COMMANDS:
        importlib.import_module(COMMANDS[name]).register(commands)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command named in ``argv``: its first argument that is not an option."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wearable`` console script."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = parser_build(_command(arguments))
    args = parser.parse_args(arguments)
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
