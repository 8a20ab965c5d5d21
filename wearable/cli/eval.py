"""``wearable eval``: measure the gateway's detection (see :mod:`wearable.evaluation.run`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from wearable.cli.errors import duration_arg

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def register(commands: Any) -> None:
    """Add ``eval`` to the ``wearable`` command."""
    parser = commands.add_parser(
        "eval",
        help="evaluate on-gateway detection on a simulated cohort or real recordings",
        description=(
            "Simulate a held-out cohort (or replay real recordings) through the real gateway "
            "pipeline (ingest, store, features, TFLite model, safety rules, alert state "
            "machine) and score the alerts: recall, precision, false alerts per user-day, "
            "latency per anomaly type, AF per-window sensitivity/specificity, medical alerts "
            "during sensor faults. Never tune on the evaluation seed."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--scenario",
        type=Path,
        help="scenario TOML (default: examples/eval.toml, the standard evaluation cohort)",
    )
    source.add_argument(
        "--recording",
        type=Path,
        action="append",
        help="a real recording CSV (docs/formats/recordings.md); repeat for one file per "
        "stream of the same recording",
    )
    parser.add_argument("--seed", type=int, help="cohort seed (default: the scenario's)")
    parser.add_argument(
        "--duration",
        type=duration_arg,
        metavar="DURATION",
        help="simulate only this long: 600, 90s, 6h, 2d (whole minutes; default: all)",
    )
    parser.add_argument(
        "--model", type=Path, help="model .tflite with its .json manifest (default: shipped)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="gateway configuration: evaluate with its [detection] model and policy overrides",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="worker processes (default: up to 4); the result does not depend on it",
    )
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument(
        "--figure",
        type=Path,
        help="also draw a panel per alert type into this PNG (needs matplotlib)",
    )
    parser.set_defaults(handler=run)


def _summary(report: dict[str, Any]) -> str:
    lines = [f"{report.get('scenario', 'recording')}: {report['pipeline']}"]
    if "per_type" in report:
        lines.append(
            f"{'type':<13}{'episodes':>9}{'recall':>8}{'precision':>10}{'false/day':>10}"
            f"{'median s':>10}{'p95 s':>9}"
        )
        for kind, m in report["per_type"].items():

            def fmt(value: float | None, spec: str) -> str:
                return "-" if value is None else format(value, spec)

            lines.append(
                f"{kind:<13}{m['episodes']:>9}{fmt(m['recall'], '.3f'):>8}"
                f"{fmt(m['precision'], '.3f'):>10}{m['false_alerts_per_user_day']:>10.3f}"
                f"{fmt(m['median_latency_s'], '.0f'):>10}{fmt(m['p95_latency_s'], '.0f'):>9}"
            )
        af = report["af_window"]
        lines.append(
            f"AF windows: sensitivity {af['sensitivity']}, specificity {af['specificity']}"
        )
        lines.append(
            f"false alerts per user-day {report['false_alerts_per_user_day']:.3f}; "
            f"medical alerts during sensor faults {report['fault_medical_alerts']}"
        )
        lines.extend(report["targets"]["report"])
    else:
        lines.append(
            f"{report['alerts']} alerts in {report['hours']:.2f} h: "
            f"{report['alerts_per_hour']:.3f} per hour"
        )
    return "\n".join(lines)


def _progress_lines(done: int, total: int) -> None:
    """One line per finished watch on stderr: a long evaluation is never silent."""
    print(f"wearable eval: {done}/{total} watches done", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Handle ``wearable eval``."""
    from firmware_sim.recording import RecordingError
    from firmware_sim.scenario import ScenarioError
    from gateway.config import ConfigError, config_load
    from wearable.evaluation.run import recording_evaluate, scenario_evaluate
    from wearable.progress import TerminalProgress, watches
    from wearable_core.model.runtime import ModelError

    if args.workers < 1:
        print("wearable eval: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        detection = config_load(args.config).detection
        model = args.model or detection.model
        policies = {kind: dict(values) for kind, values in detection.policies.items()}
        if args.recording:
            report = recording_evaluate(
                args.recording, model=model, policies=policies, hop_s=detection.hop_s
            )
        else:
            # On a terminal a live bar; elsewhere (a pipe, a log, the tests) the lines.
            with TerminalProgress(sys.stderr, 0, watches) as bar:
                bar.phase("evaluating")

                def progress(done: int, total: int) -> None:
                    if bar.enabled:
                        bar.advance(done, total=total)
                    else:
                        _progress_lines(done, total)

                report = scenario_evaluate(
                    args.scenario or EXAMPLES / "eval.toml",
                    args.seed,
                    duration_s=args.duration,
                    model=model,
                    policies=policies,
                    hop_s=detection.hop_s,
                    workers=args.workers,
                    progress=progress,
                )
    except (ConfigError, ScenarioError, RecordingError, ModelError, OSError, ValueError) as exc:
        print(f"wearable eval: {exc}", file=sys.stderr)
        return 2
    if args.figure is not None and not args.recording:
        from wearable.evaluation.figures import figure_save

        figure_save(report, args.figure)
    print(json.dumps(report, indent=2) if args.json else _summary(report))
    return 0
