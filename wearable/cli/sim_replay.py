"""The ``wearable sim replay`` command line, kept apart from the replay machinery.

Building the ``wearable`` parser imports every command's options; the replay itself
(firmware, physiology, scipy) is only imported when the command runs, so a gateway
started from the same program does not carry the simulator in memory.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from firmware_sim.replay_defaults import DEFAULT_NAME, DEFAULT_SEED
from wearable.cli.errors import output_dir, positive_float


def register(sub: Any) -> None:
    """Add ``replay`` to the ``wearable sim`` subcommands."""
    replay = sub.add_parser(
        "replay",
        help="replay real recordings through a simulated watch (radio hub or CSV files)",
        description=(
            "Turn recorded RR intervals / heart rate, SpO2, skin temperature and "
            "accelerometer CSV files (docs/formats/recordings.md) into watch records, "
            "through the same firmware as simulated watches: served on a radio hub "
            "(--radio) in real time x --speed, or written as record CSVs (--out)."
        ),
    )
    replay.add_argument(
        "--recording",
        required=True,
        action="append",
        type=Path,
        metavar="FILE",
        help="a recording CSV, one per stream; repeat for more streams",
    )
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("--radio", metavar="HOST:PORT", help="radio hub address")
    target.add_argument("--out", type=output_dir, metavar="DIR", help="write record CSVs, no radio")
    replay.add_argument(
        "--speed",
        type=positive_float,
        default=1.0,
        help="recorded seconds per second, > 0 (default 1)",
    )
    replay.add_argument(
        "--name", default=DEFAULT_NAME, help="advertised name (default %(default)s)"
    )
    replay.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="fixes the watch's address (default %(default)s)",
    )
    replay.add_argument(
        "--start",
        metavar="ISO",
        help="watch-clock time of the recording's start, e.g. 2026-01-05T06:00:00Z "
        "(default: the recording's own timestamps, else 2026-01-05T00:00:00Z)",
    )
    replay.add_argument(
        "--truth",
        type=output_dir,
        metavar="DIR",
        help="with --radio: also write every record to DIR",
    )
    replay.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from firmware_sim.replay import replay_command_run

    return replay_command_run(args)
