"""``wearable demo``: the whole loop on embedded defaults (no cloud, no hardware).

Six simulated watches (``examples/demo.toml``: every anomaly type and sensor fault, a
dropped link, a watch out of range) stream over the in-process virtual radio to the real
gateway service, which detects, alerts and syncs anonymized aggregates to a
local-directory bucket. Mid-run a simulated clinician reviews the alerts, the training
job retrains on the labelled cohort plus the fleet's aggregates and verdicts, and
publishes a signed model only if it beats the serving one; the running gateway picks it
up. The summary compares detections with the ground truth and uploaded bytes with what
the watches sent, and names the model versions; ``report.html`` has the figures.
Everything stays in ``--out`` (default ``demo-run/``) for the notebooks, the gateway's
log included (``gateway.log``, device addresses redacted as the service does). On a
terminal a live progress bar shows the phase and the simulated time. Details and
measured runs: ``docs/demo.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wearable.demo.workspace import EXAMPLES, Workspace, WorkspaceError
from wearable.progress import TerminalProgress, simulated_minutes

if TYPE_CHECKING:
    from gateway.config import GatewayConfig

#: Simulated seconds per second.
SPEED = 60.0
#: Simulated seconds of ``--quick`` (the first half of examples/demo.toml's episodes).
QUICK_S = 6000


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the whole loop on embedded defaults (watches, gateway, sync, training)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    demo.add_argument(
        "--scenario",
        type=Path,
        default=EXAMPLES / "demo.toml",
        help="scenario TOML (default: examples/demo.toml)",
    )
    demo.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    demo.add_argument(
        "--speed",
        type=float,
        default=SPEED,
        help=f"simulated seconds per second (default {SPEED:.0f}; faster lags, docs/demo.md)",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help=f"only the first {QUICK_S // 60} simulated minutes",
    )
    demo.add_argument(
        "--train-at",
        type=float,
        metavar="MIN",
        help="simulated minute of the clinician review and training (default: half-way)",
    )
    demo.add_argument(
        "--no-train", action="store_true", help="no review, training or model delivery"
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo-run"),
        help="output directory, replaced if an earlier demo made it (default: demo-run)",
    )
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.set_defaults(handler=run)


def _starter(bucket: Path, key: Path) -> dict[str, Any]:
    """Train and publish the first release in a subprocess (it imports TensorFlow)."""
    result = subprocess.run(
        [sys.executable, "-m", "wearable.demo.starter", "--bucket", str(bucket), "--key", str(key)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        # A failure, not a refused input: exit 1 (a message exit would be taken for a
        # user error, exit 2, by wearable.cli.main).
        print(
            f"wearable demo: training the first release failed:\n{result.stderr[-3000:]}",
            file=sys.stderr,
        )
        raise SystemExit(1)
    manifest: dict[str, Any] = json.loads(result.stdout)
    return manifest


def _log_to_file(space: Workspace, config: GatewayConfig) -> None:
    """Send every log line of this process (the gateway's, bumble's, Python warnings) to
    ``gateway.log`` in the workspace instead of the terminal, redacted like the service's
    (``log.redact``): the terminal keeps the progress display and the summary."""
    from gateway.logs import AddressRedactor, configure_logging

    redactor = AddressRedactor() if config.log.redact else None
    if redactor is not None:
        redactor.load_key(config.key_file)
    configure_logging(config.log.level, config.log.format, space.log, redactor=redactor)
    logging.captureWarnings(True)


def run(args: argparse.Namespace) -> int:
    """``wearable demo``: exit 0 when nothing was lost or duplicated, else 1."""
    from firmware_sim.farm import FarmOptions
    from firmware_sim.scenario import ScenarioError, scenario_load
    from gateway.store import Store
    from gateway.sync.setup import sync_engine_build
    from wearable.demo.live import live_run
    from wearable.demo.report import report_html
    from wearable.demo.summary import summary_build
    from wearable.demo.workspace import gateway_config, workspace_prepare
    from wearable.evaluation.run import scenario_episodes

    started = time.perf_counter()
    try:
        scenario = scenario_load(args.scenario)
        seed = scenario.seed if args.seed is None else args.seed
        space, public_key = workspace_prepare(args.out, seed)
    except (OSError, ScenarioError, WorkspaceError) as error:
        print(f"wearable demo: {error}", file=sys.stderr)
        return 2
    duration = min(QUICK_S, scenario.duration_s) if args.quick else scenario.duration_s
    config = gateway_config(space, public_key, args.speed)
    _log_to_file(space, config)
    timings: dict[str, float] = {}
    train_at_s = None
    with TerminalProgress(sys.stderr, duration, simulated_minutes) as progress:
        if not args.no_train:
            progress.phase("training the first release")
            _starter(space.bucket, space.private_key)
            timings["starter"] = time.perf_counter() - started
            # The gateway's own sync installs the first release before the watches start.
            progress.phase("installing the first release")
            with Store(space.store) as store:
                engine = sync_engine_build(config, store, serving_version=lambda: "")
                if engine is not None:
                    engine.run_once()
            train_at_s = 60 * args.train_at if args.train_at is not None else duration / 2
        episodes = scenario_episodes(scenario, seed, duration)
        options = FarmOptions(seed=args.seed, speed=args.speed, duration_s=duration)
        live = asyncio.run(
            live_run(scenario, options, config, space, episodes, train_at_s, progress)
        )
        live.timings.update(timings)
        progress.phase("writing the report")
        summary = summary_build(
            live, space, episodes, len(live.per_watch), time.perf_counter() - started
        )
        summary_text = json.dumps(summary, indent=2)
        (space.root / "summary.json").write_text(summary_text + "\n", encoding="utf-8")
        (space.root / "report.html").write_text(
            report_html(summary, live, episodes), encoding="utf-8"
        )
    if args.json:
        print(summary_text)
    else:
        _print_summary(summary)
    return 0 if summary["records_lost"] == 0 and summary["records_duplicated"] == 0 else 1


def _print_summary(s: dict[str, Any]) -> None:
    print(
        f"{s['watches']} watches, {s['simulated_seconds'] / 3600:.1f} simulated hours in "
        f"{s['wall_seconds']:.0f} s"
    )
    print(
        f"records sent {s['records_sent']}, stored {s['records_stored']}, lost "
        f"{s['records_lost']}, duplicated {s['records_duplicated']}"
    )
    print(
        f"{s['alerts']} alerts; medical alerts during sensor faults: "
        f"{s['medical_alerts_during_faults']}"
    )
    for kind, v in s["per_type"].items():
        latency = "-" if v["median_latency_s"] is None else f"{v['median_latency_s']:.0f} s"
        recall = "-" if v["recall"] is None else f"{v['recall']:.2f}"
        print(
            f"  {kind:13} {v['detected']}/{v['episodes']} detected (recall {recall}), "
            f"false alerts {v['false_alerts']}, median latency {latency}"
        )
    print(
        f"uploaded {s['uploaded_bytes']} B for {s['raw_bytes']} B sent by the watches "
        f"({s['raw_bytes'] / max(s['uploaded_bytes'], 1):.0f}x less)"
    )
    training = s["training"]
    if training["outcome"] is not None:
        print(f"review: {s['review']}; training job: {training['outcome']} ({training['message']})")
    changes = ", ".join(f"{c['version']} from {c['at_s'] / 60:.0f} min" for c in s["model_changes"])
    print(f"model: {s['model_version_start']} -> {s['model_version_end']} ({changes})")
    print(f"output: {s['output']} (summary.json, report.html; notebooks/ read it)")
