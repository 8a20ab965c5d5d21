"""``wearable experiment``: seeded measurements of the whole loop
(``learning-curve``: :mod:`wearable.experiments.learning_curve`)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wearable.cli.errors import duration_arg

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def register(commands: Any) -> None:
    """Add ``experiment`` (with its ``learning-curve`` action) to the ``wearable`` command."""
    parser = commands.add_parser(
        "experiment",
        help="seeded experiments on the whole loop (learning-curve)",
        description="Seeded, reproducible experiments that drive the fleet, the gateway, "
        "the training job and model delivery as production does.",
    )
    actions = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    curve = actions.add_parser(
        "learning-curve",
        help="retraining rounds on fresh fleets, each model scored on a held-out cohort",
        description=(
            "Round 0: the shipped baseline on a fixed held-out cohort. Each round: a fresh "
            "fleet through the gateway's pipeline with the serving model, a fallible "
            "simulated clinician, `wearable train --bucket` as scheduled, the gateways' "
            "install, and the serving model on the held-out cohort. Writes NAME.json and "
            "NAME.png into --out (docs/learning.md)."
        ),
    )
    curve.add_argument("--rounds", type=_positive, default=5, help="retraining rounds (5)")
    curve.add_argument(
        "--scenario",
        type=Path,
        default=EXAMPLES / "eval.toml",
        help="scenario of the fleets and the held-out cohort (examples/eval.toml)",
    )
    curve.add_argument("--fleet-watches", type=_positive, default=10, help="watches per round")
    curve.add_argument(
        "--fleet-duration",
        type=duration_arg,
        default="2d",
        metavar="DURATION",
        help="simulated time per round (2d)",
    )
    curve.add_argument("--heldout-watches", type=_positive, default=12, help="held-out watches")
    curve.add_argument(
        "--heldout-duration",
        type=duration_arg,
        default="2d",
        metavar="DURATION",
        help="held-out simulated time (2d)",
    )
    curve.add_argument(
        "--error-rate", type=_share, default=0.10, help="share of wrong verdicts (0.10)"
    )
    curve.add_argument(
        "--unreviewed", type=_share, default=0.20, help="share of alerts not reviewed (0.20)"
    )
    curve.add_argument("--seed", type=int, default=1, help="experiment seed (1)")
    curve.add_argument(
        "--no-verdicts",
        dest="verdicts",
        action="store_false",
        help="ablation: nobody reviews the alerts",
    )
    curve.add_argument(
        "--no-weak-labels",
        dest="weak_labels",
        action="store_false",
        help="ablation: the job labels fleet windows from verdicts only",
    )
    curve.add_argument("--epochs", type=_positive, help="training job passes (its default)")
    curve.add_argument("--workers", type=_positive, default=2, help="simulation processes (2)")
    curve.add_argument(
        "--out", type=Path, default=Path("learning-curve"), help="where NAME.json/.png go"
    )
    curve.add_argument(
        "--workdir",
        type=Path,
        help="bucket, stores and job logs (default: a temporary directory, removed after)",
    )
    curve.add_argument("--json", action="store_true", help="print the JSON document")
    curve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``wearable experiment learning-curve``: 0 done, 1 failed, 2 bad options."""
    from firmware_sim.scenario import ScenarioError, scenario_load
    from wearable.experiments.learning_curve import CurveSettings, curve_run, outputs_write

    try:
        scenario_load(args.scenario)
        settings = CurveSettings(
            rounds=args.rounds,
            scenario=args.scenario,
            fleet_watches=args.fleet_watches,
            fleet_duration_s=args.fleet_duration,
            heldout_watches=args.heldout_watches,
            heldout_duration_s=args.heldout_duration,
            error_rate=args.error_rate,
            unreviewed=args.unreviewed,
            seed=args.seed,
            verdicts=args.verdicts,
            weak_labels=args.weak_labels,
            epochs=args.epochs,
            workers=args.workers,
        )
    except (ScenarioError, OSError, ValueError) as exc:
        print(f"wearable experiment: {exc}", file=sys.stderr)
        return 2

    def progress(line: str) -> None:
        print(f"[learning-curve {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)

    try:
        with tempfile.TemporaryDirectory(prefix="wearable-curve-") as tmp:
            doc = curve_run(settings, args.workdir or Path(tmp) / "work", progress=progress)
    except RuntimeError as exc:
        print(f"wearable experiment: {exc}", file=sys.stderr)
        return 1
    json_path, png_path = outputs_write(doc, args.out, settings.name)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        for r in doc["rounds"]:
            h = r["heldout"]
            recalls = " ".join(
                f"{t}={'-' if m['recall'] is None else format(m['recall'], '.2f')}"
                for t, m in h["per_type"].items()
            )
            job = r.get("job")
            outcome = "baseline" if job is None else job["outcome"]
            print(
                f"round {r['round']}: {outcome:11} model {r['model']:16} "
                f"false/day {h['false_alerts_per_user_day']:.3f} {recalls}"
            )
        print(f"wrote {json_path} and {png_path}")
    return 0
