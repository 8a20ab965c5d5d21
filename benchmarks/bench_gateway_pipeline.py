"""Benchmark: the whole gateway pipeline on one recorded watch-day, in multiples of real time.

Prints one JSON object.

One simulated watch, 24 h, every stream, with a few anomalies (so alerts open and close).
Its records are produced first, as notification bytes with their delivery times (not
timed). Then, timed with the process CPU clock (one core: everything runs in this
thread), the gateway's own code does what the running service does:

* ``ingest``: every notification through ``Ingestor.on_notification`` (strict decode,
  rejection check, clock alignment) into the SQLite store in 500-record batches;
* ``detect``: ``Detector.run_until_idle``: records read back by aligned time, windows
  (one ending every 15 s), the 25 features, one LiteRT call per step (an hour of
  windows), model gating, safety rules, the alert state machine, alerts and progress
  written to the store.

``x_real_time`` is 86,400 s over the CPU seconds of each stage and of the total
(target: 50,000x, a watch-day in under 1.73 s). ``baseline``: in the same run,
``features_only`` cuts the same records into windows and computes features straight from
memory, without the store, the model or alerts; ``ratio`` = pipeline detect time over it
(what reading back, inference and alert bookkeeping add); ``minute_grid_detect_s``
runs the detector with ``hop_s = 60`` (each minute assessed once, no overlapping
windows) on a second store, so ``ratio_detect_over_minute_grid`` is what the default
15 s hop costs.

Run: ``.venv/bin/python benchmarks/bench_gateway_pipeline.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from firmware_sim.scenario import scenario_parse
from firmware_sim.watch_assembly import firmware_build, identity_of
from gateway.config import DEFAULT_HOP_S
from gateway.detection.engine import Detector
from gateway.ingest import Ingestor
from gateway.store import Store
from wearable_core.assessment.policy import policies_load
from wearable_core.contracts.gatt.uuids import RECORD_CHAR_BY_STREAM
from wearable_core.contracts.streams import Stream
from wearable_core.features.extract import features_extract_many
from wearable_core.features.window import windows_from_records
from wearable_core.model.model_file import model_load

DAY_SCENARIO = """
[scenario]
name = "pipeline-bench"
seed = 2026
watches = 1
duration = "1d"

[[episode]]
watch = 0
kind = "desaturation"
at = "3h"
duration = "6min"
severity = 0.8

[[episode]]
watch = 0
kind = "af"
at = "9h"
duration = "40min"
severity = 0.5

[[episode]]
watch = 0
kind = "fall"
at = "15h"
duration = "10min"
severity = 0.6
"""
LATENCY_MS = 40


def produce() -> tuple[str, float, list[tuple[str, bytes, int]]]:
    """Every notification of one watch-day: (characteristic, bytes, delivery ms)."""
    scenario = scenario_parse(DAY_SCENARIO)
    (plan,) = scenario.plan()
    firmware = firmware_build(plan, scenario)
    base_ms = round(scenario.start_epoch_s * 1000)
    out = []
    while not firmware.finished:
        for item in firmware.advance(firmware.produced_until_s + 3600):
            at = base_ms + round(item.true_time_s * 1000) + LATENCY_MS
            out.append((RECORD_CHAR_BY_STREAM[item.stream], bytes(item.record), at))
    return identity_of(plan).address, scenario.start_epoch_s, out


def run_once(
    device: str, notifications: list[tuple[str, bytes, int]], hop_s: int = DEFAULT_HOP_S
) -> dict[str, float]:
    model = model_load(None)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.sqlite")
        now = [0]
        ingestor = Ingestor(store, batch_max=500, clock=lambda: now[0])
        ingestor.state(device).live_from = {s: 0 for s in Stream}
        t0 = time.process_time()
        for char, data, at in notifications:
            now[0] = at
            ingestor.on_notification(device, char, data)
        ingestor.flush()
        store.records.flush()
        t1 = time.process_time()
        detector = Detector(store, model, policies_load(), hop_s=hop_s)
        detector.run_until_idle()
        t2 = time.process_time()
        records = [r for s in Stream for r in store.records.iter_records(device, s)]
        t3 = time.process_time()
        features_extract_many(windows_from_records(records))
        t4 = time.process_time()
        alerts = len(store.alerts.list(device))
        windows = detector.windows_assessed
        assessments = detector.assessments
        store.close()
    return {
        "ingest_s": t1 - t0,
        "detect_s": t2 - t1,
        "features_only_s": t4 - t3,
        "windows": windows,
        "assessments": assessments,
        "alerts": alerts,
        "records": len(notifications),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device, _, notifications = produce()
    runs = [run_once(device, notifications) for _ in range(args.repeats)]
    grid_runs = [run_once(device, notifications, hop_s=60) for _ in range(args.repeats)]

    def med(key: str, of: list[dict[str, float]] = runs) -> float:
        return statistics.median(r[key] for r in of)

    grid = med("detect_s", grid_runs)

    ingest, detect, base = med("ingest_s"), med("detect_s"), med("features_only_s")
    total = ingest + detect
    print(
        json.dumps(
            {
                "benchmark": "gateway_pipeline",
                "machine": platform.platform(),
                "python": platform.python_version(),
                "date": time.strftime("%Y-%m-%d"),
                "records": runs[0]["records"],
                "windows": runs[0]["windows"],
                "assessments": runs[0]["assessments"],
                "hop_s": DEFAULT_HOP_S,
                "alerts": runs[0]["alerts"],
                "repeats": args.repeats,
                "cpu_s": {
                    "ingest": round(ingest, 3),
                    "detect": round(detect, 3),
                    "total": round(total, 3),
                },
                "x_real_time": {
                    "ingest": round(86_400 / ingest),
                    "detect": round(86_400 / detect),
                    "total": round(86_400 / total),
                },
                "baseline": {
                    "features_only_s": round(base, 3),
                    "ratio_detect_over_features_only": round(detect / base, 2),
                    "minute_grid_detect_s": round(grid, 3),
                    "ratio_detect_over_minute_grid": round(detect / grid, 2),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
