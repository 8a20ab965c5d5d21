"""Benchmark: windowed features for one simulated watch-day (1440 windows of 60 s).

Prints one JSON object. A day of one watch (an AF episode, a fall, an off-wrist spell)
is produced by the simulated firmware as gateway records (not timed). Timed, best of
``--repeats``: ``windows_s`` (batched numpy decoding of every payload and cutting 1440
windows), ``features_s`` (``features_extract_many``) and their sum ``total_s``, the
records-to-features time of one watch-day, with ``x_real_time`` = 86400 s / ``total_s``.

Baseline, same run (the machine is shared and noisy, so only same-run ratios mean
much), best of ``--baseline-repeats``: ``baseline_windows_s`` decodes payload by payload
with the contract dataclass codecs (the per-record reference path kept for the tests),
``baseline_features_s`` runs every public feature function on the raw window (each
recomputing |a|, as before). Both paths' windows and features are checked to be
bit-identical. HRV, same run, on the same RR series: RMSSD + SDNN + pNN50 by
``wearable_core.features.hrv`` vs ``neurokit2.hrv_time`` (which computes all its time-domain
indices; that is the price of using it).

Run: ``.venv/bin/python benchmarks/bench_features.py`` (``--no-neurokit`` skips the
slow neurokit2 comparison).
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
import numpy.typing as npt

from firmware_sim.scenario import scenario_parse
from firmware_sim.watch_assembly import firmware_build, identity_of
from wearable_core.features import (
    features_extract_many,
    windows_from_records,
)
from wearable_core.features.hrv import hrv_pnn50, hrv_rmssd, hrv_sdnn
from wearable_core.features.registry import features_reference
from wearable_core.features.window import WindowData, _cut, _decode_per_record
from wearable_core.records import IngestRecord

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


def baseline_windows(records: list[IngestRecord]) -> list[WindowData]:
    """The per-record path: every payload through its contract dataclass codec."""
    device, tables = _decode_per_record(records)
    assert device is not None
    return list(_cut(tables, device, 60))


def baseline_features(windows: list[WindowData]) -> npt.NDArray[np.float32]:
    """Every feature's reference function on the raw window (|a| recomputed by each)."""
    return np.stack([features_reference(w) for w in windows])


def identical(a: list[WindowData], b: list[WindowData]) -> bool:
    fields = ("hr_bpm", "rr_ms", "rr_second", "spo2_pct", "temp_c", "accel_g", "contact")
    return len(a) == len(b) and all(
        x.start_ms == y.start_ms
        and all(getattr(x, f).tobytes() == getattr(y, f).tobytes() for f in fields)
        and x.present.tobytes() == y.present.tobytes()
        for x, y in zip(a, b, strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-repeats", type=int, default=1)
    parser.add_argument("--no-neurokit", action="store_true")
    args = parser.parse_args()

    scenario = scenario_parse(SCENARIO)
    plan = scenario.plan()[0]
    device = identity_of(plan).address
    firmware = firmware_build(plan, scenario)
    records = []
    while not firmware.finished:
        for item in firmware.advance(firmware.produced_until_s + 3600):
            r = item.record
            t = r.watch_time_ms
            records.append(IngestRecord(device, item.stream, r.seq, t, t, t, r.payload))

    windows_s, windows = best(lambda: list(windows_from_records(records)), args.repeats)
    features_s, features = best(lambda: features_extract_many(windows), args.repeats)
    total = windows_s + features_s
    base_windows_s, base_windows = best(lambda: baseline_windows(records), args.baseline_repeats)
    base_features_s, base_features = best(
        lambda: baseline_features(base_windows), args.baseline_repeats
    )
    base_total = base_windows_s + base_features_s
    assert identical(windows, base_windows), "batched decoding changed the windows"
    assert features.tobytes() == base_features.tobytes(), "features changed"

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
        "baseline_windows_s": round(base_windows_s, 4),
        "baseline_features_s": round(base_features_s, 4),
        "baseline_total_s": round(base_total, 4),
        "baseline_x_real_time": round(86400.0 / base_total, 1),
        "windows_speedup": round(base_windows_s / windows_s, 1),
        "total_speedup": round(base_total / total, 1),
        "identical_to_baseline": True,
        "hrv_series": len(series),
        "hrv_ours_s": round(ours_s, 4),
    }
    try:
        if args.no_neurokit:
            raise ImportError
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
