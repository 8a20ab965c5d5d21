"""Benchmark: simulate 24 h of one person wearing a watch (every stream, a few episodes).

Prints one JSON object. ``wall_s`` is the best of ``--repeats`` runs (imports and the
first warm-up run excluded). Two baselines are measured in the same process so the
number can be compared across machines. ``with_firmware`` adds what the watch's
firmware does with the signals (encoding every record of every stream, the flash ring
buffer), measured once. Baselines: simulating 1 h (``ratio_day_to_hour`` should be
close to 24 if the cost is linear in duration) and a plain numpy pass of comparable size
(drawing and filtering the day's 2.16 M x 3 accelerometer noise samples).

Run: ``.venv/bin/python benchmarks/bench_simulate_day.py``
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import scipy.signal

from firmware_sim.episodes import AnomalyKind, Episode, FaultKind
from firmware_sim.firmware.watch_firmware import FirmwareConfig, WatchFirmware
from firmware_sim.physiology import PersonProfile, SignalChunk, simulate
from firmware_sim.physiology.generator import SignalGenerator

T = TypeVar("T")

DAY_S = 86_400
START_EPOCH_S = 1_699_920_000.0  # 2023-11-14 00:00 UTC
EPISODES = (
    Episode(2 * 3600, 2 * 3600 + 900, FaultKind.OFF_WRIST),
    Episode(10 * 3600, 10 * 3600 + 1800, AnomalyKind.AF, 0.5),
    Episode(13 * 3600, 13 * 3600 + 600, AnomalyKind.DESATURATION, 0.7),
    Episode(15 * 3600, 15 * 3600 + 900, AnomalyKind.FALL, 0.8),
    Episode(18 * 3600, 21 * 3600, AnomalyKind.FEVER, 0.6),
)


def best_of(repeats: int, fn: Callable[[], T]) -> tuple[float, T]:
    best = float("inf")
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def numpy_baseline() -> float:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((DAY_S * 25, 3))
    y = scipy.signal.lfilter([0.4], [1.0, -0.6], x, axis=0)
    return float(np.linalg.norm(y, axis=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    profile = PersonProfile.sample(np.random.default_rng(args.seed))

    def day() -> SignalChunk:
        return simulate(profile, EPISODES, args.seed, START_EPOCH_S, DAY_S)

    def hour() -> SignalChunk:
        return simulate(profile, EPISODES, args.seed, START_EPOCH_S + 10 * 3600, 3600)

    def day_with_firmware() -> tuple[int, int]:
        # Everything a watch does in a day: signals, encoding every record, flash.
        chunks = SignalGenerator(profile, EPISODES, args.seed, START_EPOCH_S, DAY_S).iter_chunks()
        firmware = WatchFirmware(FirmwareConfig(START_EPOCH_S), chunks, DAY_S)
        records = payload = 0
        while not firmware.finished:
            produced = firmware.advance(firmware.produced_until_s + 3600)
            records += len(produced)
            payload += sum(len(p.record.payload) for p in produced)
        return records, payload

    hour()  # warm-up: first-call costs (allocators, lazy imports)
    hour_s, _ = best_of(args.repeats, hour)
    day_s, chunk = best_of(args.repeats, day)
    numpy_s, _ = best_of(args.repeats, numpy_baseline)
    firmware_s, (records, payload_bytes) = best_of(1, day_with_firmware)
    beats = int(chunk.beat_times_s.size)
    accel = int(chunk.accel_g.shape[0])
    print(
        json.dumps(
            {
                "simulated_s": DAY_S,
                "wall_s": round(day_s, 4),
                "beats": beats,
                "accel_samples": accel,
                "realtime_factor": round(DAY_S / day_s),
                "with_firmware": {
                    "wall_s": round(firmware_s, 3),
                    "records": records,
                    "payload_bytes": payload_bytes,
                    "realtime_factor": round(DAY_S / firmware_s),
                },
                "baseline": {
                    "hour_wall_s": round(hour_s, 4),
                    "ratio_day_to_hour": round(day_s / hour_s, 2),
                    "numpy_accel_noise_wall_s": round(numpy_s, 4),
                    "ratio_day_to_numpy": round(day_s / numpy_s, 2),
                },
                "repeats": args.repeats,
                "python": platform.python_version(),
                "numpy": np.__version__,
                "scipy": scipy.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
