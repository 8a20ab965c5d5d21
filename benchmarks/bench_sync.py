"""Benchmark: bytes uploaded per user-day, and the time to drain a 3-day backlog.

Prints one JSON object with two parts.

``bytes``: watches of ``examples/eval.toml`` (anomaly rates far above real life, so
many windows are notable: a pessimistic case) for ``--hours``. Each watch's
notifications go through the gateway's ingest, store and detection (the evaluation
pipeline), and a sync cycle runs after every simulated hour, as the service would, into
a local-directory bucket. Reported per user-day: bytes of the objects in the bucket
(aggregates and alerts; diagnostics separately, as they are per gateway, not per user),
against the bytes of notification payloads the watch sent (``raw``). Target: at most
10 KB per user-day.

``drain``: a gateway with ``--devices`` users that was offline for 3 days (window
summaries every 15 minutes, a sync cycle every 15 minutes, network offline) comes back
online; one ``run_once`` uploads the whole outbox. Timed against a local-directory
bucket and against fake-gcs-server on 127.0.0.1 through the real client. Baseline in the
same run: the same payloads written with bare ``bucket.create`` calls into a fresh
bucket, without the outbox (what the bookkeeping adds).

Run: ``.venv/bin/python benchmarks/bench_sync.py [--watches 2 --hours 24 --devices 10]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

# The repository root: the GCS emulator is tests.support.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_sim.scenario import scenario_load
from firmware_sim.watch_assembly import firmware_build, identity_of
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import Store, WindowSummary
from gateway.sync.engine import SyncEngine, SyncSettings
from gateway.sync.network import NetworkState
from tests.support.gcs_emulator import GcsEmulator
from wearable.evaluation.pipeline import watch_run
from wearable.evaluation.run import produced_batches
from wearable_core.assessment.policy import policies_load
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES
from wearable_core.model.model_file import model_load

SCENARIO = Path(__file__).resolve().parents[1] / "examples" / "eval.toml"
KEY = PseudonymKey(bytes(range(32)))
DAY_MS = 86_400_000


def measure_bytes(watches: int, hours: int, seed: int, workdir: Path) -> dict[str, object]:
    """Simulate, ingest, detect and sync ``watches`` x ``hours``; bytes in the bucket."""
    scenario = scenario_load(SCENARIO)
    model = model_load(None)
    bucket_dir = workdir / "bytes-bucket"
    bucket = bucket_open(str(bucket_dir))
    raw = 0
    for index in range(watches):
        plan = scenario.plan_watch(index, seed)
        firmware = firmware_build(plan, scenario, hours * 3600)
        store_path = workdir / f"watch-{index}.sqlite"
        engine: list[SyncEngine] = []

        def sync(store: Store, now_ms: int, engine: list[SyncEngine] = engine) -> None:
            if not engine:
                engine.append(SyncEngine(store, KEY, bucket, SyncSettings(), clock=lambda: 0))
            engine[0].clock = lambda: now_ms
            engine[0].run_once()

        def counted(batches: object) -> object:
            nonlocal raw
            for batch in batches:  # type: ignore[attr-defined]
                raw += sum(len(data) for _, data, _ in batch)
                yield batch

        watch_run(
            identity_of(plan).address,
            counted(produced_batches(firmware)),  # type: ignore[arg-type]
            scenario.start_epoch_s,
            store_path,
            model,
            policies_load(None),
            after_batch=sync,
        )
        # The end of the run: whatever is still pending goes out, as at the next cycle.
        with Store(store_path) as store:
            SyncEngine(store, KEY, bucket, clock=lambda: 1 << 50).run_once(flush=True)
    sizes: Counter[str] = Counter()
    objects: Counter[str] = Counter()
    for info in bucket.list():
        kind = info.name.split("/")[0]
        sizes[kind] += info.size
        objects[kind] += 1
    user_days = watches * hours / 24
    per_user = (sizes["aggregates"] + sizes["alerts"]) / user_days
    return {
        "scenario": "examples/eval.toml",
        "seed": seed,
        "watches": watches,
        "hours": hours,
        "user_days": user_days,
        "objects": dict(objects),
        "bytes": dict(sizes),
        "uploaded_bytes_per_user_day": round(per_user),
        "diagnostics_bytes_per_gateway_day": round(sizes["diagnostics"] / user_days),
        "raw_bytes_per_user_day": round(raw / user_days),
        "raw_over_uploaded": round(raw / max(1, sizes["aggregates"] + sizes["alerts"]), 1),
        "target_bytes_per_user_day": 10_000,
        "met": per_user <= 10_000,
    }


def _outage(store: Store, devices: int, days: int) -> SyncEngine:
    """``days`` offline for ``devices`` users: windows and a sync cycle every 15 min."""
    t0 = 1_767_571_200_000
    clock = [t0]
    engine = SyncEngine(
        store,
        KEY,
        None,
        SyncSettings(),
        network=lambda: NetworkState.OFFLINE,
        clock=lambda: clock[0],
        rng=random.Random(0),
    )
    rng = np.random.default_rng(0)
    base = rng.uniform(0.0, 100.0, len(FEATURE_NAMES))
    for step in range(days * 96):
        start = t0 + step * 900_000
        clock[0] = start + 900_000
        for d in range(devices):
            device = f"C4:00:00:00:{d // 256:02X}:{d % 256:02X}"
            windows = [
                WindowSummary(
                    start + i * 60_000,
                    "baseline-1",
                    (base + rng.normal(0, 1, base.size)).astype(np.float32),
                    rng.uniform(0.0, 0.1, len(ANOMALY_TYPES)).astype(np.float32),
                    0,
                    0,
                    notable=(step * 15 + i) % 40 == 0,
                )
                for i in range(15)
            ]
            store.detection_state.save(
                device, start + 900_000, {}, windows=windows, assessed_ms=clock[0]
            )
        engine.run_once()
    clock[0] += 900_000
    engine.clock = lambda: clock[0]
    engine.run_once(flush=True)
    return engine


def measure_drain(
    devices: int, days: int, workdir: Path, open_bucket: Callable[[str], Bucket]
) -> dict[str, object]:
    """Build a ``days`` backlog offline, then time one online cycle that drains it."""
    store_path = workdir / f"drain-{time.monotonic_ns()}.sqlite"
    with Store(store_path) as store:
        engine = _outage(store, devices, days)
        backlog = store.outbox.usage()
        payloads = [(i.name, i.payload) for i in store.outbox.items()]
        engine.bucket = open_bucket("drain")
        engine.network = lambda: NetworkState.UNMETERED
        start = time.perf_counter()
        report = engine.run_once()
        drain_s = time.perf_counter() - start
        assert report.error is None and store.outbox.usage().total_items == 0, report.error
    baseline_bucket = open_bucket("baseline")
    start = time.perf_counter()
    for name, data in payloads:
        baseline_bucket.create(name, data)
    baseline_s = time.perf_counter() - start
    return {
        "devices": devices,
        "days": days,
        "objects": backlog.total_items,
        "bytes": backlog.total_bytes,
        "drain_s": round(drain_s, 3),
        "objects_per_s": round(backlog.total_items / drain_s, 1),
        "baseline_bare_create_s": round(baseline_s, 3),
        "ratio": round(drain_s / baseline_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watches", type=int, default=2)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--devices", type=int, default=10, help="users behind the drained gateway")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        result: dict[str, object] = {
            "benchmark": "sync",
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d"),
        }
        result["bytes"] = measure_bytes(args.watches, args.hours, args.seed, workdir)
        counter = iter(range(1000))
        result["drain_local"] = measure_drain(
            args.devices,
            3,
            workdir,
            lambda tag: bucket_open(str(workdir / f"{tag}-{next(counter)}")),
        )
        with GcsEmulator() as emulator:
            os.environ["STORAGE_EMULATOR_HOST"] = emulator.endpoint

            def gcs(tag: str) -> Bucket:
                name = f"{tag}-{next(counter)}"
                emulator.create_bucket(name)
                return bucket_open(f"gs://{name}/gateway")

            result["drain_gcs_emulator"] = measure_drain(args.devices, 3, workdir, gcs)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
