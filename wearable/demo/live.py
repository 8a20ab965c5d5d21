"""The live part of the demo: watches on the in-process radio, the gateway service, and
the cloud side stepping in once, mid-run.

The watches and the gateway run on the simulation's clock (``--speed`` simulated seconds
per second). At ``train_at_s`` simulated time stops, as if the night's training job ran
between two moments of the ward's day: the gateway catches up with everything the watches
sent and assesses it, syncs all of it, the clinician reviews the alerts, sync carries the
verdicts, and the training job runs in a subprocess. The gateway's own sync then finds a
published release, checks it and swaps it in, and time runs on. Stopping the clock gives
the job the windows before ``train_at_s`` and nothing after, and keeps the watches from
competing with TensorFlow for the CPU; it does not make a run repeatable (the radio's lag
decides when detection gives up waiting for a late stream, ``docs/demo.md``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bumble_radio.bleak_backend import BumbleAdapter
from bumble_radio.local import VirtualRadio
from firmware_sim.farm import FarmOptions, WatchFarm, local_farm
from firmware_sim.scenario import Scenario
from firmware_sim.simclock import SimClock
from gateway.config import GatewayConfig
from gateway.service import Backends, Gateway
from gateway.store import AlertRow, DataQualityRow
from wearable.demo.clinician import Review, clinician_review
from wearable.demo.workspace import Workspace
from wearable.evaluation.metrics import TruthEpisode
from wearable.progress import TerminalProgress, simulated_minutes
from wearable_core.contracts.features import WINDOW_S
from wearable_core.contracts.streams import Stream

#: Give up waiting for the store or detection to catch up after this many wall seconds
#: (what is still missing then is reported as lost).
CATCH_UP_S = 300.0


@dataclass
class ModelChange:
    """The gateway started serving ``version`` at simulated second ``at_s``."""

    at_s: float
    version: str
    wall_s: float


@dataclass
class LiveResult:
    """What the live run saw (the summary is computed from it)."""

    start_ms: int
    simulated_seconds: int
    produced: dict[tuple[str, Stream], int]
    stored: dict[tuple[str, Stream], int]
    per_watch: list[dict[str, Any]]
    alerts: list[AlertRow]
    quality: list[DataQualityRow]
    models: list[ModelChange]
    review: Review | None = None
    train_started_s: float | None = None
    train_report: dict[str, Any] | None = None
    train_wall_s: float | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _serving(gateway: Gateway) -> str:
    detector = gateway.detector
    model = None if detector is None else detector.model
    return "" if model is None else model.manifest.version


async def _watch_models(
    gateway: Gateway, clock: SimClock, changes: list[ModelChange], started: float
) -> None:
    while True:
        version = _serving(gateway)
        if not changes or changes[-1].version != version:
            changes.append(ModelChange(clock.now(), version, time.perf_counter() - started))
        await asyncio.sleep(0.2)


async def _train(space: Workspace) -> tuple[dict[str, Any] | None, float]:
    """``wearable train --json`` against the demo bucket, in a subprocess."""
    started = time.perf_counter()
    log = (space.reports / "job.log").open("wb")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wearable.cli",
            "train",
            "--bucket",
            str(space.bucket),
            "--key",
            str(space.private_key),
            "--json",
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        out, _ = await process.communicate()
    finally:
        log.close()
    (space.reports / "job.json").write_bytes(out)
    try:
        report: dict[str, Any] | None = json.loads(out)
    except json.JSONDecodeError:
        report = None
    return report, time.perf_counter() - started


async def _watch_progress(gateway: Gateway, clock: SimClock, progress: TerminalProgress) -> None:
    """Show the simulated time, the records stored and the alerts raised, twice a second."""
    while True:
        alerts = len(gateway.store.alerts.list())
        progress.advance(clock.now(), f"{gateway.ingestor.flushed} records, {alerts} alerts")
        await asyncio.sleep(0.5)


def _counts(farm: WatchFarm, gateway: Gateway) -> tuple[dict[Any, int], dict[Any, int]]:
    produced = {
        (w.identity.address, s): w.firmware.flash.next_seq(s) for w in farm.watches for s in Stream
    }
    gateway.ingestor.flush()
    stored = {
        key: len(gateway.store.records.sequences(*key) & set(range(count)))
        for key, count in produced.items()
    }
    return produced, stored


async def _catch_up(farm: WatchFarm, gateway: Gateway) -> tuple[dict[Any, int], dict[Any, int]]:
    """Wait until the store holds every record produced so far and detection has assessed
    every complete window of them (or :data:`CATCH_UP_S` passed); return the counts."""
    deadline = time.perf_counter() + CATCH_UP_S
    produced, stored = _counts(farm, gateway)
    while time.perf_counter() < deadline and stored != produced:
        await asyncio.sleep(0.5)
        produced, stored = _counts(farm, gateway)
    detector = gateway.detector
    while (
        detector is not None
        and time.perf_counter() < deadline
        and any(detector.due(w.identity.address) is not None for w in farm.watches)
    ):
        await asyncio.sleep(0.5)
    return produced, stored


async def live_run(
    scenario: Scenario,
    options: FarmOptions,
    config: GatewayConfig,
    space: Workspace,
    episodes: Sequence[TruthEpisode],
    train_at_s: float | None,
    progress: TerminalProgress | None = None,
) -> LiveResult:
    """Run the watches and the gateway through the scenario, with the cloud step.

    ``progress`` (a terminal's live display) is told the phase and the simulated time.
    """
    progress = progress or TerminalProgress(None, 0, simulated_minutes)
    started = time.perf_counter()
    radio = VirtualRadio()
    clock = SimClock(options.speed)
    start_ms = round(scenario.start_epoch_s * 1000)
    adapter = BumbleAdapter.on_local(radio, keystore_path=space.store.parent / "bonds.json")
    await adapter.start()
    models: list[ModelChange] = []
    async with local_farm(scenario, options, radio, clock) as farm:
        # The gateway's clock is the simulation's: alert windows and batch hours are in
        # simulated time.
        gateway = Gateway(
            config,
            Backends(adapter.scanner_backend, adapter.client_backend),
            clock=lambda: start_ms + round(clock.now() * 1000),
        )
        serving = asyncio.ensure_future(gateway.run())
        watcher = asyncio.ensure_future(_watch_models(gateway, clock, models, started))
        showing = (
            asyncio.ensure_future(_watch_progress(gateway, clock, progress))
            if progress.enabled
            else None
        )
        progress.phase("streaming")
        producing = asyncio.ensure_future(farm.run())
        result = LiveResult(start_ms, farm.duration_s, {}, {}, [], [], [], models)
        if train_at_s is not None and train_at_s < farm.duration_s:
            # Half a window past the minute: every window before it is complete on every
            # run, and the next one on none, whatever the scheduling of the watches.
            await clock.sleep_until(train_at_s + WINDOW_S / 2)
            clock.pause()
            progress.phase("clinician review, training job")
            result.train_started_s = clock.now()
            await _catch_up(farm, gateway)
            await gateway.sync_now(flush=True)
            result.review = clinician_review(gateway.store, episodes)
            await gateway.sync_now(flush=True)
            result.train_report, result.train_wall_s = await _train(space)
            await gateway.sync_now()  # installs and swaps in a published release
            clock.resume()
            progress.phase("streaming")
        await producing
        progress.phase("catching up, final sync")
        result.timings["live"] = time.perf_counter() - started
        produced, stored = await _catch_up(farm, gateway)
        # Everything left goes to the bucket.
        await gateway.sync_now(flush=True)
        result.produced, result.stored = produced, stored
        result.alerts = gateway.store.alerts.list()
        result.quality = gateway.store.quality_events.list()
        devices = {d.id: d for d in gateway.store.devices.list()}
        for watch in farm.watches:
            address = watch.identity.address
            status = devices.get(address)
            result.per_watch.append(
                {
                    "name": watch.identity.name,
                    "address": address,
                    "produced": sum(produced[(address, s)] for s in Stream),
                    "stored": sum(stored[(address, s)] for s in Stream),
                    "link_drops": watch.stats.link_faults.get("drop", 0),
                    "out_of_range": watch.stats.link_faults.get("out_of_range", 0),
                    "reconnects": max(watch.stats.connections - 1, 0),
                    "backfilled": watch.stats.records_backfilled,
                    "rejected": status.rejected if status else None,
                    "gaps": status.gaps if status else None,
                }
            )
        watcher.cancel()
        if showing is not None:
            showing.cancel()
        gateway.stop()
        await serving
    await adapter.close()
    result.timings["total_live"] = time.perf_counter() - started
    return result
