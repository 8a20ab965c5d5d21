"""Memory of the gateway's clock models after days of hourly clock resyncs.

Each clock write (at connect, and every ``ble.clock_resync_s``: an hour by default)
starts a clock epoch, and a device keeps up to 64 (``gateway.clock_sync.DeviceClock``).
For ``--devices`` watches, each observed live every 20 s between ``--resyncs`` hourly
writes (clock 40 ppm slow, 30 ms latency), we measure with tracemalloc what their
``DeviceClock`` objects hold. Every watch is fed the same, so the per-device figures
are exact and the ``_100_watches_mb`` ones are them times 100. The baseline (same
run) is the same epochs with every model kept as it learnt, bins and all: what
``DeviceClock`` held before superseded epochs were frozen.

Usage::

    python benchmarks/bench_clock_epochs.py --devices 10 --resyncs 64

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from gateway.clock_sync import DeviceClock
from gateway.timealign import ClockModel
from wearable_core.contracts.streams import Stream

G0 = 1_796_083_200_000
HOUR_MS = 3_600_000
#: An observation every 20 s of gateway time: each 30 s bin gets one or two, as with
#: one a second, in a fraction of the time.
STEP_MS = 20_000


def _observe_hour(model: ClockModel, hour: int) -> None:
    start = G0 + hour * HOUR_MS
    for k in range(0, HOUR_MS, STEP_MS):
        watch = start + k
        model.observe(watch, watch + 2_000 + round(k * 40e-6) + 30)


def _next_seq(hour: int) -> dict[Stream, int]:
    return {stream: (hour + 1) * 3_600 for stream in Stream}


def _device_clock(resyncs: int) -> DeviceClock:
    device = DeviceClock()
    for h in range(resyncs):
        _observe_hour(device.current, h)
        write_ms = G0 + (h + 1) * HOUR_MS
        device.clock_set(_next_seq(h), write_ms, write_ms)
    return device


def _every_model_kept(resyncs: int) -> list[tuple[dict[Stream, int], ClockModel]]:
    """The same epochs with every model as it learnt (bins and all), trimmed like
    ``DeviceClock`` trims them: the first epoch and the last 63."""
    epochs: list[tuple[dict[Stream, int], ClockModel]] = [({}, ClockModel())]
    for h in range(resyncs):
        model = epochs[-1][1]
        _observe_hour(model, h)
        write_ms = G0 + (h + 1) * HOUR_MS
        epochs.append((_next_seq(h), model.after_clock_set(write_ms, write_ms)))
    return epochs[:1] + epochs[1:][-63:]


def _held_bytes(build: Callable[[], list[Any]]) -> tuple[int, list[Any]]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, held


def measure(devices: int, resyncs: int) -> dict[str, Any]:
    baseline, _ = _held_bytes(lambda: [_every_model_kept(resyncs) for _ in range(devices)])
    held, clocks = _held_bytes(lambda: [_device_clock(resyncs) for _ in range(devices)])
    return {
        "devices": devices,
        "hourly_resyncs": resyncs,
        "epochs_per_device": len(clocks[0].epochs),
        "baseline_every_model_with_bins_mb": round(baseline / 2**20, 2),
        "device_clocks_mb": round(held / 2**20, 2),
        "baseline_per_device_kb": round(baseline / devices / 1024, 1),
        "per_device_kb": round(held / devices / 1024, 1),
        "baseline_100_watches_mb": round(baseline / devices * 100 / 2**20, 1),
        "device_clocks_100_watches_mb": round(held / devices * 100 / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--resyncs", type=int, default=64)
    args = parser.parse_args()
    print(
        json.dumps(
            {
                "benchmark": "clock_epochs",
                "date": time.strftime("%Y-%m-%d"),
                "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                "result": measure(args.devices, args.resyncs),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
