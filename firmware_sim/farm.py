"""A farm of simulated watches in one process, on the in-process radio or a radio hub."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bumble.host import Host

from bumble_radio.attach import hub_host_open
from bumble_radio.local import VirtualRadio
from firmware_sim.firmware.watch_firmware import ProducedRecord
from firmware_sim.scenario import Scenario, WatchPlan
from firmware_sim.simclock import SimClock
from firmware_sim.truth import TruthWriter
from firmware_sim.watch import RadioQuality, SimulatedWatch
from firmware_sim.watch_assembly import firmware_build, identity_of, link_faults_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FarmOptions:
    """How to run the farm.

    ``count`` limits the cohort to its first watches; ``duration_s`` stops producing
    records after that much simulated time (watches keep serving backfill).
    """

    seed: int | None = None
    count: int | None = None
    speed: float = 1.0
    duration_s: int | None = None
    truth_dir: Path | None = None
    quality: RadioQuality = field(default_factory=RadioQuality)


class WatchFarm:
    """Runs the watches of a scenario against one radio.

    Parameters
    ----------
    scenario
        The cohort to simulate.
    options
        Seed, size, speed, duration, truth directory and radio impairments.
    """

    def __init__(self, scenario: Scenario, options: FarmOptions = FarmOptions()) -> None:
        self.scenario = scenario
        self.options = options
        plans = scenario.plan(options.seed)
        if options.count is not None:
            if options.count > len(plans):
                raise ValueError(
                    f"--count {options.count} exceeds the scenario's {len(plans)} watches; "
                    "raise [scenario].watches"
                )
            plans = plans[: options.count]
        self.plans: tuple[WatchPlan, ...] = plans
        self.duration_s = scenario.duration_s if options.duration_s is None else options.duration_s
        self.watches: list[SimulatedWatch] = []
        self.truth: TruthWriter | None = None

    def _recorder(self, address: str) -> Callable[[ProducedRecord], None] | None:
        truth = self.truth
        if truth is None:
            return None
        return lambda item: truth.write(address, item)

    async def start(self, hosts: Sequence[Host], clock: SimClock) -> None:
        """Create and power on one watch per host (``len(hosts) == len(self.plans)``)."""
        if self.options.truth_dir is not None:
            self.truth = TruthWriter(self.options.truth_dir)
        for plan, host in zip(self.plans, hosts, strict=True):
            identity = identity_of(plan)
            watch = SimulatedWatch(
                identity,
                firmware_build(plan, self.scenario, self.duration_s),
                host,
                clock,
                link_faults=link_faults_of(plan),
                quality=self.options.quality,
                on_record=self._recorder(identity.address),
            )
            self.watches.append(watch)
        for watch in self.watches:
            await watch.start()

    async def run(self) -> None:
        """Produce every record of the duration; returns when all watches are done."""
        await asyncio.gather(*(watch.run() for watch in self.watches))
        if self.truth is not None:
            self.truth.flush()

    async def close(self) -> None:
        for watch in self.watches:
            await watch.close()
        if self.truth is not None:
            self.truth.close()


@contextlib.asynccontextmanager
async def local_farm(
    scenario: Scenario, options: FarmOptions, radio: VirtualRadio, clock: SimClock
) -> AsyncIterator[WatchFarm]:
    """A started farm on the in-process radio."""
    farm = WatchFarm(scenario, options)
    hosts = [radio.new_host(plan.device_name) for plan in farm.plans]
    await farm.start(hosts, clock)
    try:
        yield farm
    finally:
        await farm.close()


@contextlib.asynccontextmanager
async def hub_farm(
    scenario: Scenario, options: FarmOptions, address: str, clock_speed: float
) -> AsyncIterator[tuple[WatchFarm, SimClock]]:
    """A started farm whose watches each attach to the radio hub at ``address``."""
    farm = WatchFarm(scenario, options)
    async with contextlib.AsyncExitStack() as stack:
        hosts = [await stack.enter_async_context(hub_host_open(address)) for _ in farm.plans]
        clock = SimClock(clock_speed)
        await farm.start(hosts, clock)
        try:
            yield farm, clock
        finally:
            await farm.close()
