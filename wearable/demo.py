"""``wearable demo``: the end-to-end demo on embedded defaults (no cloud, no hardware).

At this stage of the project the demo runs a cohort of simulated watches on the
in-process virtual radio with a probe central that pairs, follows every watch through
link drops, backfills, and reports what was produced against what arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

#: The repository's examples folder (the demo runs from a checkout).
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the end-to-end demo on embedded defaults",
        description=(
            "Simulated watches on the in-process virtual radio, followed by a central that "
            "pairs, reconnects after drops and backfills; prints produced vs received."
        ),
    )
    demo.add_argument(
        "--scenario",
        type=Path,
        default=EXAMPLES / "quick.toml",
        help="scenario TOML (default: examples/quick.toml)",
    )
    demo.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    demo.add_argument(
        "--speed", type=float, default=20.0, help="simulated seconds per second (default 20)"
    )
    demo.add_argument("--quick", action="store_true", help="simulate only 2 minutes")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from firmware_sim.farm import FarmOptions
    from firmware_sim.loopback import run_loopback
    from firmware_sim.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ScenarioError) as error:
        raise SystemExit(f"wearable demo: {error}") from error
    options = FarmOptions(seed=args.seed, speed=args.speed, duration_s=120 if args.quick else None)
    report = asyncio.run(run_loopback(scenario, options))
    summary = {
        "watches": len(report.watches),
        "simulated_seconds": report.simulated_s,
        "records_sent": report.records_produced,
        "records_received": report.records_received,
        "records_lost": report.records_missing,
        "wall_seconds": round(report.wall_s, 2),
        "per_watch": [asdict(w) for w in report.watches],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{summary['watches']} watches, {report.simulated_s} simulated s in "
            f"{report.wall_s:.1f} s wall"
        )
        for w in report.watches:
            print(
                f"  {w.name} {w.address}: produced {sum(w.produced.values())}, "
                f"received {sum(w.received.values())}, missing {sum(w.missing.values())}, "
                f"drops {w.link_drops}, out-of-range {w.out_of_range}, "
                f"reconnects {w.reconnects}, backfilled {w.backfilled}"
            )
        print(
            f"records sent {report.records_produced}, received {report.records_received}, "
            f"lost {report.records_missing}"
        )
    return 0 if report.records_missing == 0 else 1
