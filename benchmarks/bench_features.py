"""Benchmark: windowed features for one simulated watch-day (1440 windows of 60 s).

Prints one JSON object. A day of one watch (an AF episode, a fall, an off-wrist spell)
is produced by the simulated firmware as gateway records (not timed). Timed, best of
``--repeats``: ``windows_s`` (decoding every payload and cutting 1440 windows),
``features_s`` (``features_extract_many``) and their sum ``total_s``, with
``x_real_time`` = 86400 s / ``total_s``. HRV baseline, same run, on the same 1440 RR
series: RMSSD + SDNN + pNN50 by ``gateway.features.hrv`` vs ``neurokit2.hrv_time``
(which computes all its time-domain indices; that is the price of using it).

Run: ``.venv/bin/python benchmarks/bench_features.py``
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from firmware_sim.cohort import build_firmware, identity_of
from firmware_sim.scenario import parse_scenario
from gateway.features import features_extract_many, windows_from_records
from gateway.features.hrv import hrv_pnn50, hrv_rmssd, hrv_sdnn
from gateway.records import IngestRecord

SCENARIO = """
[scenario]
name = "bench-features"
seed = 5
watches = 1
duration = "1d"

[[episode]]
watch = 0
kind = "af"
at = "3h"
duration = "40min"

[[episode]]
watch = 0
kind = "fall"
at = "14h"
duration = "10min"

[[episode]]
watch = 0
kind = "off_wrist"
at = "18h"
duration = "30min"
"""

T = TypeVar("T")


def best(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    assert out is not None
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    scenario = parse_scenario(SCENARIO)
    plan = scenario.plan()[0]
    device = identity_of(plan).address
    firmware = build_firmware(plan, scenario)
    records = []
    while not firmware.finished:
        for item in firmware.advance(firmware.produced_until_s + 3600):
            r = item.record
            t = r.watch_time_ms
            records.append(IngestRecord(device, item.stream, r.seq, t, t, t, r.payload))

    windows_s, windows = best(lambda: list(windows_from_records(records)), args.repeats)
    features_s, features = best(lambda: features_extract_many(windows), args.repeats)
    total = windows_s + features_s

    series = [w.rr_ms for w in windows if w.rr_ms.size >= 2]

    def ours() -> int:
        for rr in series:
            hrv_rmssd(rr), hrv_sdnn(rr), hrv_pnn50(rr)
        return len(series)

    ours_s, _ = best(ours, args.repeats)
    result: dict[str, object] = {
        "benchmark": "features_watch_day",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "records": len(records),
        "windows": len(windows),
        "features": int(features.shape[1]),
        "windows_s": round(windows_s, 4),
        "features_s": round(features_s, 4),
        "total_s": round(total, 4),
        "x_real_time": round(86400.0 / total, 1),
        "ms_per_window": round(1000.0 * total / len(windows), 4),
        "hrv_series": len(series),
        "hrv_ours_s": round(ours_s, 4),
    }
    try:
        import neurokit2 as nk  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        result["hrv_neurokit2_s"] = None
    else:

        def theirs() -> int:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for rr in series:
                    nk.hrv_time({"RRI": rr, "RRI_Time": np.cumsum(rr) / 1000.0})
            return len(series)

        nk_s, _ = best(theirs, 1)
        result["hrv_neurokit2_s"] = round(nk_s, 4)
        result["hrv_speedup"] = round(nk_s / ours_s, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
