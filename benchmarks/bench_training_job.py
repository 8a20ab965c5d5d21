"""Benchmark: the whole training job on N user-days of aggregates (target: 1,000 in 10 min).

Prints one JSON object.

Setup (not timed): a local-directory bucket with a small labelled training and validation
cohort (``wearable train cohort`` on a 20-minute, 2-watch scenario) and ``--user-days``
aggregate batches written exactly as gateways write them (``windows_batches`` with the
default 1-in-10 sample; one batch per user-day; feature rows are a fixed profile plus
noise, with every 40th window notable) plus one confirmed alert per 10 user-days.

Timed: one ``job_run`` (default strategy, ``--epochs``), stage by stage: ingest, load,
train, convert, gate, publish. ``windows_per_s`` is training throughput. Baseline in the
same run: decoding every batch with bare ``batch_decode`` (what ingest costs beyond
reading the format).

Run: ``.venv/bin/python benchmarks/bench_training_job.py [--user-days 1000 --epochs 30]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from cloud_training.job import JobSettings, job_run
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import AlertRow, StoredWindow, WindowSummary
from gateway.sync.aggregates import alerts_batch, windows_batches
from wearable.cohort_simulation import cohort_write
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket
from wearable_core.contracts.aggregate_batch import batch_decode, batch_encode, batch_object_name
from wearable_core.contracts.model_release import keypair_generate, private_key_parse

SCENARIO = """
[scenario]
name = "bench"
seed = 3
watches = 2
duration = "20min"

[[episode]]
watch = 0
kind = "tachycardia"
at = "5min"
duration = "8min"
severity = 1.0
"""
T0_MS = 1_767_571_200_000
DAY_MS = 86_400_000


def write_fleet(bucket: Bucket, user_days: int, seed: int) -> tuple[int, int]:
    """``user_days`` device-day batches (and an alert every 10); returns (objects, rows)."""
    key = PseudonymKey(bytes(range(32)))
    rng = np.random.default_rng(seed)
    profile = rng.uniform(5.0, 100.0, 25).astype(np.float32)
    rows = objects = 0
    for u in range(user_days):
        device = f"C4:00:00:{u // 65536:02X}:{u // 256 % 256:02X}:{u % 256:02X}"
        features = profile + rng.normal(0, 2, (1440, 25)).astype(np.float32)
        outputs = rng.uniform(0.0, 0.05, (1440, 6)).astype(np.float32)
        windows = [
            StoredWindow(
                i + 1,
                device,
                T0_MS,
                WindowSummary(
                    T0_MS + i * 60_000, "baseline-1", features[i], outputs[i], 0, 0, i % 40 == 0
                ),
            )
            for i in range(1440)
        ]
        alert = AlertRow(
            u, device, "tachycardia", "warning", T0_MS + 3_600_000, T0_MS + 5_400_000,
            T0_MS, T0_MS, 0.9, None, "confirmed", T0_MS, "", "baseline-1",
        )  # fmt: skip
        # One user in ten has a confirmed alert; windows name the alerts holding them.
        alerts = [alert] if u % 10 == 0 else []
        for part in windows_batches(key, device, windows, sample_every=10, alerts=alerts):
            data = batch_encode(part.batch)
            bucket.create(batch_object_name(part.batch.kind, data, part.first_hour), data)
            rows += len(part.batch.windows)
            objects += 1
        if alerts:
            batch = alerts_batch(key, device, alerts)
            data = batch_encode(batch)
            bucket.create(batch_object_name(batch.kind, data, T0_MS // 3_600_000), data)
            objects += 1
    return objects, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--user-days", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        scenario = root / "bench.toml"
        scenario.write_text(SCENARIO, encoding="utf-8")
        bucket = bucket_open(str(root / "bucket"))
        start = time.perf_counter()
        cohort_write(bucket, "train", scenario, seed=3, workdir=root)
        cohort_write(bucket, "validation", scenario, seed=4, workdir=root)
        objects, rows = write_fleet(bucket, args.user_days, args.seed)
        setup_s = time.perf_counter() - start

        start = time.perf_counter()
        for info in bucket.list("aggregates/") + bucket.list("alerts/"):
            batch_decode(bucket.read(info.name)[0])
        decode_s = time.perf_counter() - start

        pem, _ = keypair_generate()
        settings = JobSettings(epochs=args.epochs, seed=args.seed)
        start = time.perf_counter()
        report = job_run(bucket, private_key_parse(pem), settings)
        wall_s = time.perf_counter() - start
    result = {
        "benchmark": "training_job",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "user_days": args.user_days,
        "objects": objects,
        "fleet_rows": rows,
        "epochs": args.epochs,
        "setup_s": round(setup_s, 1),
        "outcome": report.outcome.name.lower(),
        "stages_s": {k: round(v, 2) for k, v in report.seconds.items()},
        "job_wall_s": round(wall_s, 1),
        "training_windows": report.training.get("windows"),
        "windows_per_s": report.training.get("windows_per_s"),
        "baseline_bare_decode_s": round(decode_s, 2),
        "ingest_over_bare_decode": round(report.seconds.get("ingest", 0.0) / decode_s, 2),
        "target_job_s": 600,
        "met": wall_s <= 600,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
