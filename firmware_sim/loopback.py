"""Watches and a probe central on one in-process radio: what was sent, what arrived.

The early demo and the integration tests use this to show the watch side works end to
end: pairing, subscriptions, live notifications, drops, reconnects and backfill.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from firmware_sim.farm import FarmOptions, local_farm
from firmware_sim.probe_central import ProbeCentral, ProbeSession, follow
from firmware_sim.radio.local import VirtualRadio
from firmware_sim.scenario import Scenario
from firmware_sim.simclock import SimClock
from firmware_sim.watch import SimulatedWatch
from wearable.contracts.streams import Stream


@dataclass
class WatchOutcome:
    """Per watch: records produced vs received, and the radio events seen."""

    name: str
    address: str
    produced: dict[str, int]
    received: dict[str, int]
    missing: dict[str, int]
    unexpected: int
    link_drops: int
    out_of_range: int
    reconnects: int
    backfilled: int
    overwritten: dict[str, int]


@dataclass
class LoopbackReport:
    watches: list[WatchOutcome] = field(default_factory=list)
    simulated_s: int = 0
    wall_s: float = 0.0

    @property
    def records_produced(self) -> int:
        return sum(sum(w.produced.values()) for w in self.watches)

    @property
    def records_received(self) -> int:
        return sum(sum(w.received.values()) for w in self.watches)

    @property
    def records_missing(self) -> int:
        return sum(sum(w.missing.values()) for w in self.watches)


def _complete(session: ProbeSession | None, produced: dict[Stream, int]) -> bool:
    if session is None:
        return False
    return all(len(session.records[s]) >= n for s, n in produced.items())


async def run_loopback(
    scenario: Scenario, options: FarmOptions, settle_timeout_s: float = 30.0
) -> LoopbackReport:
    """Run the scenario's watches and a following central; report per-watch outcomes."""
    started = time.perf_counter()
    radio = VirtualRadio()
    clock = SimClock(options.speed)
    async with local_farm(scenario, options, radio, clock) as farm:
        central = ProbeCentral(radio.new_host("probe-central"))
        await central.start()
        found = await central.discover(len(farm.watches))
        stop = asyncio.Event()
        followers = {
            w.identity.address: asyncio.ensure_future(follow(central, w.identity.address, stop))
            for w in farm.watches
            if w.identity.address in found
        }
        await farm.run()
        # Give the central time to reconnect and backfill what the last drops hid.
        deadline = time.perf_counter() + settle_timeout_s
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
            if all(
                _complete(central.sessions.get(w.identity.address), _produced(w))
                for w in farm.watches
            ):
                break
        stop.set()
        sessions = dict(zip(followers, await asyncio.gather(*followers.values()), strict=True))
        report = LoopbackReport(simulated_s=farm.duration_s)
        for watch in farm.watches:
            produced = _produced(watch)
            session = sessions.get(watch.identity.address)
            received = {s: (set(session.records[s]) if session else set()) for s in Stream}
            flash = watch.firmware.flash
            report.watches.append(
                WatchOutcome(
                    name=watch.identity.name,
                    address=watch.identity.address,
                    produced={s.value: n for s, n in produced.items()},
                    received={s.value: len(received[s]) for s in Stream},
                    missing={s.value: len(set(range(produced[s])) - received[s]) for s in Stream},
                    unexpected=sum(len(received[s] - set(range(produced[s]))) for s in Stream),
                    link_drops=watch.stats.link_faults.get("drop", 0),
                    out_of_range=watch.stats.link_faults.get("out_of_range", 0),
                    reconnects=max(watch.stats.connections - 1, 0),
                    backfilled=watch.stats.records_backfilled,
                    overwritten={s.value: flash.overwritten(s) for s in Stream},
                )
            )
    report.wall_s = time.perf_counter() - started
    return report


def _produced(watch: SimulatedWatch) -> dict[Stream, int]:
    # Sequence numbers start at 0 and are contiguous, so the next one is the count.
    flash = watch.firmware.flash
    return {s: flash.next_seq(s) for s in Stream}
