"""``wearable sim``: the virtual radio, watch farms, export and replay."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware_sim.signals import until_signalled
from wearable.cli.errors import (
    duration_arg,
    non_negative_float,
    output_dir,
    positive_duration,
    positive_float,
    positive_int,
)

if TYPE_CHECKING:
    from firmware_sim.watch import RadioQuality


def register(commands: Any) -> None:
    """Add ``sim`` and its subcommands to the top-level parser."""
    sim = commands.add_parser(
        "sim",
        help="simulated watches, the virtual radio, export and replay",
        description="Simulated smartwatches on a virtual BLE radio (bumble).",
    )
    sub = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND", required=True)

    radio = sub.add_parser(
        "radio",
        help="run the radio hub: each TCP client gets a virtual controller (HCI over TCP, H4)",
        description=(
            "A shared virtual radio. Every TCP client that connects gets its own virtual "
            "BLE controller on one link and speaks standard HCI (H4 framing), so watch "
            "farms, gateways and bumble's tools (tcp-client:HOST:PORT) can meet."
        ),
    )
    radio.add_argument("--listen", default="127.0.0.1:7000", help="HOST:PORT (default %(default)s)")
    radio.add_argument(
        "--supervision-timeout",
        type=positive_duration,
        default=2.0,
        metavar="DURATION",
        help="seconds before peers of a vanished client see the link drop (default %(default)s)",
    )
    radio.set_defaults(handler=_run_radio)

    watches = sub.add_parser(
        "watches",
        help="run a farm of simulated watches on a radio hub",
        description="Run N simulated watches from a scenario, attached to `wearable sim radio`.",
    )
    watches.add_argument("--radio", required=True, metavar="HOST:PORT", help="radio hub address")
    watches.add_argument("--scenario", required=True, type=Path, help="scenario TOML file")
    watches.add_argument(
        "--count", type=positive_int, help="number of watches, >= 1 (default: the scenario's)"
    )
    watches.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    watches.add_argument(
        "--speed",
        type=positive_float,
        default=1.0,
        help="simulated seconds per second, > 0 (default 1)",
    )
    watches.add_argument(
        "--duration",
        type=duration_arg,
        metavar="DURATION",
        help=(
            "stop producing records after this much simulated time (600, 90s, 6h, 2d; "
            "rounded up to whole minutes); keep serving backfill"
        ),
    )
    watches.add_argument(
        "--truth", type=output_dir, metavar="DIR", help="write every record to DIR"
    )
    watches.add_argument(
        "--delay-ms",
        type=non_negative_float,
        default=0.0,
        help="added latency per notification batch",
    )
    watches.add_argument(
        "--loss", type=float, default=0.0, help="probability a live notification is lost"
    )
    watches.set_defaults(handler=_run_watches)

    export = sub.add_parser(
        "export",
        help="write the records and labels a scenario produces, without a radio",
        description=(
            "Write per-stream record CSVs (docs/formats/records.md), labels.csv and "
            "watches.csv for every watch of the scenario. Same seed, same bytes."
        ),
    )
    export.add_argument("--scenario", required=True, type=Path, help="scenario TOML file")
    export.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    export.add_argument("--out", required=True, type=output_dir, help="output directory")
    export.add_argument(
        "--duration",
        type=duration_arg,
        metavar="DURATION",
        help="override the duration: 600, 90s, 6h, 2d (rounded up to whole minutes)",
    )
    export.set_defaults(handler=_run_export)

    probe = sub.add_parser(
        "probe",
        help="a bumble central: pair with watches on a hub, follow them, report what arrived",
        description=(
            "Connect to N watches on a radio hub, pair, subscribe to every stream, "
            "reconnect and backfill after drops, and print per-watch counts as JSON."
        ),
    )
    probe.add_argument("--radio", required=True, metavar="HOST:PORT", help="radio hub address")
    probe.add_argument("--count", type=positive_int, required=True, help="watches to follow")
    probe.add_argument(
        "--seconds",
        type=positive_duration,
        required=True,
        metavar="DURATION",
        help="wall-clock time to follow them (60, 90s, 2min)",
    )
    probe.set_defaults(handler=_run_probe)

    from wearable.cli import sim_replay as replay_cli

    replay_cli.register(sub)


def _quality(args: argparse.Namespace) -> RadioQuality:
    from firmware_sim.watch import RadioQuality

    try:
        return RadioQuality(delay_s=args.delay_ms / 1000.0, loss_probability=args.loss)
    except ValueError as error:
        raise SystemExit(f"wearable sim watches: {error}") from error


def _load(path: Path) -> Any:
    from firmware_sim.scenario import ScenarioError, scenario_load

    try:
        return scenario_load(path)
    except (OSError, ScenarioError) as error:
        raise SystemExit(f"wearable sim: {error}") from error


def _run_radio(args: argparse.Namespace) -> int:
    from bumble_radio.address import radio_address_parse
    from bumble_radio.hub import RadioHub

    try:
        host, port = radio_address_parse(args.listen, listening=True)
    except ValueError as error:
        raise SystemExit(f"wearable sim radio: --listen: {error}") from error

    async def serve() -> None:
        hub = RadioHub(host, port, supervision_timeout_s=args.supervision_timeout)
        await hub.start()
        print(f"radio hub listening on {hub.host}:{hub.port}", flush=True)
        await until_signalled()
        await hub.close()

    asyncio.run(serve())
    return 0


def _run_watches(args: argparse.Namespace) -> int:
    from firmware_sim.farm import FarmOptions, hub_farm

    scenario = _load(args.scenario)
    options = FarmOptions(
        seed=args.seed,
        count=args.count,
        speed=args.speed,
        duration_s=args.duration,
        truth_dir=args.truth,
        quality=_quality(args),
    )

    async def serve() -> None:
        stop = asyncio.ensure_future(until_signalled())
        async with hub_farm(scenario, options, args.radio, args.speed) as (farm, _clock):
            print(
                json.dumps(
                    {
                        "event": "started",
                        "watches": [
                            {"name": w.identity.name, "address": w.identity.address}
                            for w in farm.watches
                        ],
                    }
                ),
                flush=True,
            )
            run = asyncio.ensure_future(farm.run())
            await asyncio.wait([run, stop], return_when=asyncio.FIRST_COMPLETED)
            if run.done():
                run.result()
                print(json.dumps({"event": "finished", "simulated_s": farm.duration_s}), flush=True)
                # Keep serving backfill and reads until terminated.
                await stop
            else:
                run.cancel()
            stats = {w.identity.name: vars(w.stats) for w in farm.watches}
            print(json.dumps({"event": "stopped", "stats": stats}, default=str), flush=True)

    asyncio.run(serve())
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from firmware_sim.export import scenario_export

    scenario = _load(args.scenario)
    summary = scenario_export(scenario, args.out, seed=args.seed, duration_s=args.duration)
    print(json.dumps(vars(summary)))
    return 0


def _run_probe(args: argparse.Namespace) -> int:
    from bumble_radio.attach import hub_host_open
    from firmware_sim.probe_central import ProbeCentral, follow
    from wearable_core.contracts.streams import Stream

    async def probe() -> dict[str, Any]:
        async with hub_host_open(args.radio) as host:
            central = ProbeCentral(host)
            await central.start()
            found = await central.discover(args.count)
            stop = asyncio.Event()
            tasks = [asyncio.ensure_future(follow(central, a, stop)) for a in found]
            await asyncio.sleep(args.seconds)
            stop.set()
            sessions = await asyncio.gather(*tasks)
            report: dict[str, Any] = {}
            for address, session in zip(found, sessions, strict=True):
                if session is None:
                    report[address] = None
                    continue
                report[address] = {
                    "name": found[address],
                    "rejected": session.rejected,
                    **{s.value: len(session.records[s]) for s in Stream},
                }
            return report

    print(json.dumps(asyncio.run(probe()), indent=2))
    sys.stdout.flush()
    return 0
