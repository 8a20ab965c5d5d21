"""``wearable demo``: the end-to-end demo on embedded defaults (no cloud, no hardware).

At this stage of the project the demo runs a cohort of simulated watches and the real
gateway service on the in-process virtual radio: the gateway discovers the watches
through bleak (on its bumble backend), pairs, subscribes, follows them through link
drops, backfills and stores everything in SQLite. The summary compares what the watches
produced with what the store holds.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

#: The repository's examples folder (the demo runs from a checkout).
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the end-to-end demo on embedded defaults",
        description=(
            "Simulated watches and the gateway service on the in-process virtual radio: "
            "pairing, link drops, backfill, durable store; prints produced vs stored."
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
    demo.add_argument(
        "--store", type=Path, help="keep the gateway store here (default: a temporary directory)"
    )
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.set_defaults(handler=run)


async def _run_demo(
    scenario: Any, seed: int | None, speed: float, duration_s: int | None, store_path: Path
) -> dict[str, Any]:
    from firmware_sim.farm import FarmOptions, local_farm
    from firmware_sim.radio.local import VirtualRadio
    from firmware_sim.simclock import SimClock
    from gateway.ble.bumble_backend import BumbleAdapter
    from gateway.config import GatewayConfig
    from gateway.service import Backends, Gateway
    from wearable.contracts.streams import Stream

    started = time.perf_counter()
    radio = VirtualRadio()
    clock = SimClock(speed)
    options = FarmOptions(seed=seed, speed=speed, duration_s=duration_s)
    config = GatewayConfig()
    config = dataclasses.replace(
        config,
        store=dataclasses.replace(config.store, path=store_path),
        ble=dataclasses.replace(
            config.ble, radio="", backoff_initial_s=0.5, backoff_max_s=2.0, watchdog_s=10.0
        ),
    )
    adapter = BumbleAdapter.on_local(radio, keystore_path=store_path.parent / "bonds.json")
    await adapter.start()
    async with local_farm(scenario, options, radio, clock) as farm:
        # The gateway's clock is the simulation's: at --speed 20 a simulated minute
        # passes in 3 s, and alert windows are in simulated time.
        start_ms = round(scenario.start_epoch_s * 1000)
        gateway = Gateway(
            config,
            Backends(adapter.scanner_backend, adapter.client_backend),
            clock=lambda: start_ms + round(clock.now() * 1000),
        )
        serving = asyncio.ensure_future(gateway.run())
        await farm.run()

        def produced() -> dict[tuple[str, Stream], int]:
            return {
                (w.identity.address, s): w.firmware.flash.next_seq(s)
                for w in farm.watches
                for s in Stream
            }

        def stored() -> dict[tuple[str, Stream], int]:
            gateway.ingestor.flush()
            return {
                key: len(gateway.store.sequences(*key) & set(range(count)))
                for key, count in produced().items()
            }

        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline and stored() != produced():
            await asyncio.sleep(0.5)
        final_produced, final_stored = produced(), stored()
        detector = gateway.detector
        # Detection runs in the service every few seconds; wait until it has assessed
        # every complete window of the data the watches sent.
        while (
            detector is not None
            and time.perf_counter() < deadline + 30
            and any(detector.due(w.identity.address) is not None for w in farm.watches)
        ):
            await asyncio.sleep(0.5)
        alerts = [
            {
                "device": a.device,
                "type": a.type,
                "severity": a.severity,
                "opened_s": (a.opened_ms - start_ms) / 1000,
                "rule": a.rule,
                "model_version": a.model_version,
            }
            for a in gateway.store.list_alerts()
        ]
        quality = [
            {"device": q.device, "fault": q.fault, "opened_s": (q.opened_ms - start_ms) / 1000}
            for q in gateway.store.list_quality_events()
        ]
        devices = {d.id: d for d in gateway.store.devices()}
        per_watch = []
        for watch in farm.watches:
            address = watch.identity.address
            status = devices.get(address)
            per_watch.append(
                {
                    "name": watch.identity.name,
                    "address": address,
                    "produced": sum(final_produced[(address, s)] for s in Stream),
                    "stored": sum(final_stored[(address, s)] for s in Stream),
                    "link_drops": watch.stats.link_faults.get("drop", 0),
                    "out_of_range": watch.stats.link_faults.get("out_of_range", 0),
                    "reconnects": max(watch.stats.connections - 1, 0),
                    "backfilled": watch.stats.records_backfilled,
                    "rejected": status.rejected if status else None,
                    "gaps": status.gaps if status else None,
                    "battery_pct": status.battery_pct if status else None,
                }
            )
        gateway.stop()
        await serving
    await adapter.close()
    sent = sum(final_produced.values())
    kept = sum(final_stored.values())
    return {
        "watches": len(per_watch),
        "simulated_seconds": farm.duration_s,
        "records_sent": sent,
        "records_stored": kept,
        "records_lost": sent - kept,
        "store": str(store_path),
        "store_bytes": store_path.stat().st_size if store_path.exists() else 0,
        "wall_seconds": round(time.perf_counter() - started, 2),
        "per_watch": per_watch,
        "alerts": alerts,
        "data_quality_events": quality,
    }


def run(args: argparse.Namespace) -> int:
    from firmware_sim.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ScenarioError) as error:
        raise SystemExit(f"wearable demo: {error}") from error
    duration = 120 if args.quick else None
    with tempfile.TemporaryDirectory(prefix="wearable-demo-") as tmp:
        store = args.store or Path(tmp) / "gateway.sqlite"
        summary = asyncio.run(_run_demo(scenario, args.seed, args.speed, duration, store))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{summary['watches']} watches, {summary['simulated_seconds']} simulated s in "
            f"{summary['wall_seconds']} s wall"
        )
        for w in summary["per_watch"]:
            print(
                f"  {w['name']} {w['address']}: produced {w['produced']}, stored {w['stored']}, "
                f"drops {w['link_drops']}, reconnects {w['reconnects']}, "
                f"backfilled {w['backfilled']}, rejected {w['rejected']}, gaps {w['gaps']}"
            )
        print(
            f"records sent {summary['records_sent']}, stored {summary['records_stored']}, "
            f"lost {summary['records_lost']}"
        )
        for a in summary["alerts"]:
            print(
                f"  alert {a['type']} ({a['severity']}) on {a['device']} at {a['opened_s']:.0f} s"
                f", rule {a['rule'] or '-'}, model {a['model_version']}"
            )
        for q in summary["data_quality_events"]:
            print(f"  data quality: {q['fault']} on {q['device']} at {q['opened_s']:.0f} s")
    return 0 if summary["records_lost"] == 0 else 1
