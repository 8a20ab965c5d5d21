"""Notifications per second the virtual radio sustains for many watches, in one process.

N simulated watches and one probe central share an in-process bumble radio. After every
watch is connected, paired, subscribed and caught up, we measure for a fixed wall-clock
window: records offered (produced by the watches), records delivered (received live by
the central), the latency from production to reception, and the process's CPU use.
Each configuration runs our tuned bumble classes; the baseline, measured in the same
run, is stock bumble (per-packet debug formatting, 27-byte ACL buffers).

Usage::

    python benchmarks/bench_radio_throughput.py --watches 50 --seconds 10 --speeds 4,8,16

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import time
from typing import Any

from bumble_radio.local import VirtualRadio
from firmware_sim.farm import FarmOptions, WatchFarm
from firmware_sim.probe_central import ProbeCentral, follow
from firmware_sim.scenario import scenario_parse
from firmware_sim.simclock import SimClock
from wearable_core.contracts.gatt.record_envelope import SequencedRecord
from wearable_core.contracts.streams import Stream


def _scenario(watches: int) -> str:
    return f"""
[scenario]
name = "bench"
seed = 1
watches = {watches}
duration = "6h"
"""


async def measure(watches: int, speed: float, seconds: float, stock: bool) -> dict[str, Any]:
    scenario = scenario_parse(_scenario(watches))
    radio = VirtualRadio(stock_bumble=stock)
    clock = SimClock(speed)
    farm = WatchFarm(scenario, FarmOptions(speed=speed))
    await farm.start([radio.new_host(p.device_name) for p in farm.plans], clock)
    window = {"open": False}
    produced_at: dict[tuple[str, Stream, int], float] = {}
    latencies: list[float] = []
    offered = 0
    for watch in farm.watches:
        address = watch.identity.address

        def on_produced(item: Any, address: str = address) -> None:
            nonlocal offered
            if window["open"]:
                offered += 1
                produced_at[(address, item.stream, item.record.seq)] = time.perf_counter()

        watch.on_record = on_produced

    central = ProbeCentral(radio.new_host("central"))
    delivered = 0

    def on_received(address: str, stream: Stream, record: SequencedRecord) -> None:
        nonlocal delivered
        sent = produced_at.pop((address, stream, record.seq), None)
        if sent is not None:
            delivered += 1
            latencies.append(time.perf_counter() - sent)

    central.on_record = on_received
    await central.start()
    runner = asyncio.ensure_future(farm.run())
    setup_started = time.perf_counter()
    found = await central.discover(watches, timeout=120)
    stop = asyncio.Event()
    followers = [asyncio.ensure_future(follow(central, a, stop)) for a in found]
    while len(central.sessions) < watches:
        await asyncio.sleep(0.1)
    setup_s = time.perf_counter() - setup_started
    await asyncio.sleep(2.0)  # let the first catch-up backfills finish
    window["open"] = True
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    window["open"] = False
    cpu1, wall1 = time.process_time(), time.perf_counter()
    await asyncio.sleep(1.0)  # stragglers produced inside the window
    stop.set()
    runner.cancel()
    for task in followers:
        task.cancel()
    await asyncio.gather(*followers, return_exceptions=True)
    await farm.close()
    wall = wall1 - wall0
    ordered = sorted(latencies)
    return {
        "bumble": "stock" if stock else "tuned",
        "watches": watches,
        "speed": speed,
        "setup_s": round(setup_s, 2),
        "window_s": round(wall, 2),
        "offered_per_s": round(offered / wall, 1),
        "delivered_per_s": round(delivered / wall, 1),
        "delivered_fraction": round(delivered / offered, 4) if offered else None,
        "latency_ms_p50": round(1000 * statistics.median(ordered), 2) if ordered else None,
        "latency_ms_p99": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 2)
        if ordered
        else None,
        "cpu_fraction": round((cpu1 - cpu0) / wall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watches", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--speeds", default="4,8,16", help="comma-separated sim speeds")
    parser.add_argument("--baseline-speed", type=float, default=8.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    speeds = [float(s) for s in args.speeds.split(",")]
    runs = [asyncio.run(measure(args.watches, s, args.seconds, stock=False)) for s in speeds]
    baseline = asyncio.run(measure(args.watches, args.baseline_speed, args.seconds, stock=True))
    tuned_at_baseline = next((r for r in runs if r["speed"] == args.baseline_speed), None)
    result = {
        "benchmark": "radio_throughput",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "date": time.strftime("%Y-%m-%d"),
        "runs": runs,
        "baseline_stock_bumble": baseline,
    }
    if tuned_at_baseline and baseline["cpu_fraction"]:
        result["cpu_ratio_tuned_vs_stock"] = round(
            tuned_at_baseline["cpu_fraction"] / baseline["cpu_fraction"], 3
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
